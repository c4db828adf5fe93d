package tryton

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fake is a trytond stand-in speaking its JSON-RPC 1.0: one company (EUR),
// one revenue journal, one revenue, receivable and tax account, and the
// parties and invoices the connector creates. override, when it answers,
// replaces the fake's own answer to a call.
type fake struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	calls    []string // methods, in order
	logins   int
	key      string // the valid session's key
	parties  map[string]int64
	invoices map[int64]*fakeInvoice
	nextID   int64
	// hook serialises the test's override and bodyCheck, and the test's
	// reads of what they saw (locked).
	hook      sync.Mutex
	override  func(method string, params []json.RawMessage) *reply
	bodyCheck func(body map[string]json.RawMessage, auth string)
}

// locked runs fn under the hook lock.
func (f *fake) locked(fn func()) {
	f.hook.Lock()
	defer f.hook.Unlock()
	fn()
}

// setOverride replaces the override.
func (f *fake) setOverride(o func(method string, params []json.RawMessage) *reply) {
	f.locked(func() { f.override = o })
}

func (f *fake) loginCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logins
}

// addParty makes the ERP hold customer as party id.
func (f *fake) addParty(customer string, id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.parties[customer] = id
}

type fakeInvoice struct {
	ref, state, number string
	total, currency    string // total_amount and currency.code; "" reads as 0 and no currency
	created            time.Time
}

// reply is an answer of the fake: HTTP status (0: 200), a result or a
// JSON-RPC error, headers.
type reply struct {
	status int
	result any
	err    any
	header map[string]string
}

const fakePassword = "s3cret-pw"

func newFake(t *testing.T) *fake {
	f := &fake{t: t, parties: map[string]int64{}, invoices: map[int64]*fakeInvoice{}, nextID: 100}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) connector(t *testing.T, opts map[string]string) *Connector {
	t.Helper()
	c, err := New(Config{Name: "erp", URL: f.srv.URL + "/db/", Username: "admin", Password: fakePassword, Timeout: 2 * time.Second, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fake) methods() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fake) called(method string) int {
	n := 0
	for _, m := range f.methods() {
		if m == method {
			n++
		}
	}
	return n
}

// expire makes trytond forget the current session.
func (f *fake) expire() {
	f.mu.Lock()
	f.key = ""
	f.mu.Unlock()
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	var method string
	var params []json.RawMessage
	_ = json.Unmarshal(body["method"], &method)
	_ = json.Unmarshal(body["params"], &params)
	f.mu.Lock()
	f.calls = append(f.calls, method)
	f.mu.Unlock()
	f.hook.Lock()
	if f.bodyCheck != nil {
		f.bodyCheck(body, r.Header.Get("Authorization"))
	}
	var rep *reply
	if f.override != nil {
		rep = f.override(method, params)
	}
	f.hook.Unlock()
	if rep != nil {
		f.write(w, body["id"], rep)
		return
	}
	if method == "common.db.login" {
		f.write(w, body["id"], f.login(params))
		return
	}
	if !f.authorized(r.Header.Get("Authorization")) {
		f.write(w, body["id"], &reply{status: http.StatusUnauthorized})
		return
	}
	f.write(w, body["id"], f.answer(method, params))
}

func (f *fake) write(w http.ResponseWriter, id json.RawMessage, rep *reply) {
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if rep.status != 0 && rep.status != http.StatusOK {
		w.WriteHeader(rep.status)
		fmt.Fprintf(w, "<h1>%d</h1>", rep.status)
		return
	}
	out := map[string]any{"id": id}
	if rep.err != nil {
		out["error"] = rep.err
	} else {
		out["result"] = rep.result
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fake) login(params []json.RawMessage) *reply {
	var user string
	var pw struct {
		Password string `json:"password"`
	}
	if len(params) < 2 || json.Unmarshal(params[0], &user) != nil || json.Unmarshal(params[1], &pw) != nil ||
		user != "admin" || pw.Password != fakePassword {
		return &reply{status: http.StatusUnauthorized}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins++
	f.key = fmt.Sprintf("key%d", f.logins)
	return &reply{result: []any{1, f.key}}
}

func (f *fake) authorized(h string) bool {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Session "))
	if err != nil || !strings.HasPrefix(h, "Session ") {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.key != "" && string(raw) == "admin:1:"+f.key
}

// value returns the value the domain (params[0]) compares field with.
func value(params []json.RawMessage, field string) any {
	if len(params) == 0 {
		return nil
	}
	var domain []any
	_ = json.Unmarshal(params[0], &domain)
	for _, c := range domain {
		if l, ok := c.([]any); ok && len(l) == 3 && l[0] == field {
			return l[2]
		}
	}
	return nil
}

func (f *fake) answer(method string, params []json.RawMessage) *reply {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch method {
	case "model.company.company.search_read":
		return &reply{result: []any{map[string]any{"id": 1, "currency.": map[string]any{"id": 1, "code": "EUR"}}}}
	case "model.account.journal.search_read":
		return &reply{result: []any{map[string]any{"id": 3}}}
	case "model.account.account.search_read":
		return &reply{result: []any{map[string]any{"id": 6}}}
	case "model.account.tax.search_read":
		return &reply{result: []any{map[string]any{"id": 1, "invoice_account": 7}}}
	case "model.account.configuration.read":
		return &reply{result: []any{map[string]any{"id": 1, "default_account_receivable": 5, "default_customer_payment_term": 2}}}
	case "model.party.party.fields_get":
		return &reply{result: map[string]any{"credit_limit_amount": map[string]any{"type": "numeric"}}}
	case "model.currency.currency.search_read":
		if value(params, "code") == "EUR" {
			return &reply{result: []any{map[string]any{"id": 1}}}
		}
		return &reply{result: []any{}}
	case "model.party.identifier.search_read":
		code, _ := value(params, "code").(string)
		if id, ok := f.parties[code]; ok {
			return &reply{result: []any{map[string]any{"id": id + 1000, "party": id}}}
		}
		return &reply{result: []any{}}
	case "model.party.party.create":
		var vals []map[string]any
		_ = json.Unmarshal(params[0], &vals)
		f.nextID++
		f.parties[vals[0]["name"].(string)] = f.nextID
		return &reply{result: []int64{f.nextID}}
	case "model.party.party.search_read":
		return &reply{result: []any{map[string]any{"id": value(params, "id"), "account_receivable": nil, "customer_payment_term": nil,
			"receivable": map[string]any{"__class__": "Decimal", "decimal": "650.46"}, "credit_limit_amount": nil}}}
	case "model.party.address.search_read":
		return &reply{result: []any{map[string]any{"id": 9, "invoice": true}}}
	case "model.account.invoice.search_read":
		return &reply{result: f.searchInvoices(params)}
	case "model.account.invoice.create":
		var vals []map[string]any
		_ = json.Unmarshal(params[0], &vals)
		f.nextID++
		f.invoices[f.nextID] = &fakeInvoice{ref: vals[0]["reference"].(string), state: "draft",
			total: invoiceTotal(params[0]), currency: "EUR", created: time.Now()}
		return &reply{result: []int64{f.nextID}}
	case "model.account.invoice.validate_invoice", "model.account.invoice.post":
		var ids []int64
		_ = json.Unmarshal(params[0], &ids)
		for _, id := range ids {
			inv := f.invoices[id]
			if method == "model.account.invoice.validate_invoice" {
				inv.state = "validated"
				continue
			}
			inv.state = "posted"
			inv.number = fmt.Sprintf("INV-%d", id)
		}
		return &reply{result: nil}
	}
	return &reply{status: http.StatusForbidden}
}

// seed stores an invoice of reference ref in state, as if an earlier
// attempt had made it.
func (f *fake) seed(ref, state, number string) {
	f.add(fakeInvoice{ref: ref, state: state, number: number, created: time.Now()})
}

// add stores inv and returns its id.
func (f *fake) add(inv fakeInvoice) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.invoices[f.nextID] = &inv
	return f.nextID
}

// searchInvoices is account.invoice.search_read(domain, offset, limit,
// order, fields) over the held invoices, ordered by id. The domain's terms
// on id, reference (=, in, like) and create_date (>=, <) filter; the
// others (company, type) hold for every invoice.
func (f *fake) searchInvoices(params []json.RawMessage) []any {
	var domain [][]any
	var offset int
	var limit *int
	var fields []string
	if len(params) > 4 {
		_ = json.Unmarshal(params[0], &domain)
		_ = json.Unmarshal(params[1], &offset)
		_ = json.Unmarshal(params[2], &limit)
		_ = json.Unmarshal(params[4], &fields)
	}
	ids := slices.Sorted(maps.Keys(f.invoices))
	rows := []any{}
	for _, id := range ids {
		inv := f.invoices[id]
		if !slices.ContainsFunc(domain, func(term []any) bool { return !inv.matches(id, term) }) {
			rows = append(rows, inv.row(id, fields))
		}
	}
	rows = rows[min(offset, len(rows)):]
	if limit != nil && *limit < len(rows) {
		rows = rows[:*limit]
	}
	return rows
}

// matches reports whether invoice id holds the domain term [field,
// operator, value].
func (inv *fakeInvoice) matches(id int64, term []any) bool {
	if len(term) != 3 {
		return false
	}
	op := term[1]
	switch term[0] {
	case "id":
		return op == "=" && term[2] == float64(id)
	case "reference":
		switch op {
		case "=":
			return term[2] == inv.ref
		case "in":
			list, _ := term[2].([]any)
			return slices.Contains(list, any(inv.ref))
		case "like":
			pattern, _ := term[2].(string)
			return likeMatch(pattern, inv.ref)
		}
		return false
	case "create_date":
		at := fakeDatetime(term[2])
		switch op {
		case ">=":
			return !inv.created.Before(at)
		case "<":
			return inv.created.Before(at)
		}
		return false
	}
	return true
}

// row is the invoice as search_read answers fields of it: "currency.code"
// under "currency.", total_amount as a Decimal.
func (inv *fakeInvoice) row(id int64, fields []string) map[string]any {
	all := map[string]any{"id": id, "reference": inv.ref, "state": inv.state, "number": inv.number,
		"total_amount": map[string]any{"__class__": "Decimal", "decimal": cmp.Or(inv.total, "0")}}
	if inv.number == "" {
		all["number"] = nil
	}
	out := map[string]any{"id": id}
	for _, fl := range fields {
		if fl == "currency.code" {
			out["currency."] = map[string]any{"id": 1, "code": inv.currency}
			continue
		}
		if v, ok := all[fl]; ok {
			out[fl] = v
		}
	}
	if len(fields) == 0 {
		out = all
	}
	return out
}

// likeMatch is SQL's like with trytond's backslash escape.
func likeMatch(pattern, s string) bool {
	var re strings.Builder
	re.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch ch := pattern[i]; {
		case ch == '\\' && i+1 < len(pattern):
			i++
			re.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		case ch == '%':
			re.WriteString("(?s:.*)")
		case ch == '_':
			re.WriteString("(?s:.)")
		default:
			re.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	return regexp.MustCompile(re.String() + "$").MatchString(s)
}

// fakeDatetime reads trytond's JSON datetime (naive UTC).
func fakeDatetime(v any) time.Time {
	m, _ := v.(map[string]any)
	n := func(k string) int { f, _ := m[k].(float64); return int(f) }
	return time.Date(n("year"), time.Month(n("month")), n("day"), n("hour"), n("minute"), n("second"), n("microsecond")*1000, time.UTC)
}

// invoiceTotal is the total of an account.invoice.create's values: its
// lines' quantity × unit price and its taxes' amounts.
func invoiceTotal(raw json.RawMessage) string {
	type dec struct {
		Decimal string `json:"decimal"`
	}
	var vals []struct {
		Lines []json.RawMessage `json:"lines"`
		Taxes []json.RawMessage `json:"taxes"`
	}
	_ = json.Unmarshal(raw, &vals)
	if len(vals) != 1 {
		return ""
	}
	sum := new(big.Rat)
	each := func(cmds []json.RawMessage, fn func(json.RawMessage)) {
		for _, c := range cmds {
			var cmd []json.RawMessage
			if json.Unmarshal(c, &cmd) != nil || len(cmd) != 2 {
				continue
			}
			var items []json.RawMessage
			_ = json.Unmarshal(cmd[1], &items)
			for _, it := range items {
				fn(it)
			}
		}
	}
	each(vals[0].Lines, func(it json.RawMessage) {
		var l struct {
			Quantity  json.Number `json:"quantity"`
			UnitPrice dec         `json:"unit_price"`
		}
		_ = json.Unmarshal(it, &l)
		q, _ := new(big.Rat).SetString(l.Quantity.String())
		p, _ := new(big.Rat).SetString(l.UnitPrice.Decimal)
		if q != nil && p != nil {
			sum.Add(sum, new(big.Rat).Mul(q, p))
		}
	})
	each(vals[0].Taxes, func(it json.RawMessage) {
		var t struct {
			Amount dec `json:"amount"`
		}
		_ = json.Unmarshal(it, &t)
		if a, ok := new(big.Rat).SetString(t.Amount.Decimal); ok {
			sum.Add(sum, a)
		}
	})
	return sum.FloatString(2)
}
