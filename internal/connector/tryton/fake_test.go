package tryton

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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
		if ref, ok := value(params, "reference").(string); ok {
			var rows []any
			for id, inv := range f.invoices {
				if inv.ref == ref {
					rows = append(rows, map[string]any{"id": id, "state": inv.state, "number": inv.number})
				}
			}
			return &reply{result: rows}
		}
		id := int64(value(params, "id").(float64))
		inv := f.invoices[id]
		return &reply{result: []any{map[string]any{"id": id, "state": inv.state, "number": inv.number}}}
	case "model.account.invoice.create":
		var vals []map[string]any
		_ = json.Unmarshal(params[0], &vals)
		f.nextID++
		f.invoices[f.nextID] = &fakeInvoice{ref: vals[0]["reference"].(string), state: "draft"}
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
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.invoices[f.nextID] = &fakeInvoice{ref: ref, state: state, number: number}
}
