package odoo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeOdoo is an Odoo server as the external API documentation
// (external_api.rst, Odoo 19) and the legacy /jsonrpc controller describe
// it, for the models a delivery uses: res.partner, res.currency and
// account.move. It keeps what it is sent, so a test counts the invoices
// it holds, and it behaves as Odoo does where a connector can get it
// wrong:
//   - JSON-2: POST /json/2/<model>/<method>, all parameters named, ids in
//     "ids"; Authorization: bearer <API key>, else 401 with the documented
//     Unauthorized body; errors as {"name","message","arguments",
//     "context","debug"} with UserError/ValidationError at 422,
//     MissingError 404, AccessError 403 and anything else 500 (Odoo 19's
//     Json2Dispatcher.handle_error);
//   - JSON-RPC: common.login answers the uid or false; object.execute_kw
//     checks (db, uid, password or API key) on every call and answers
//     AccessDenied in an HTTP 200 error envelope (code 200, "Odoo Server
//     Error", data.name/message); ids come first in args unless the
//     method is @api.model; create with a dict answers an id, with a list
//     a list of ids;
//   - an unknown field is a builtins.ValueError; invoice lines without
//     tax_ids get the company's default sales tax (15 %); a draft move is
//     named "/" and gets INV/<year>/<n> when posted; action_post refuses a
//     posted move, a move without lines, a negative total and a date on or
//     before the lock date with UserError; archived records are hidden
//     unless context active_test is false.
type fakeOdoo struct {
	srv                         *httptest.Server
	db, login, password, apiKey string

	mu         sync.Mutex
	uid        int64
	nextID     int64
	models     map[string][]map[string]any
	seq        int
	lockDate   string // YYYY-MM-DD; "" for none
	injections []*injection
	logins     int
	calls      []string // model/method in order
	transcript []string // requests as sent, for golden files
	headers    []http.Header
}

// injection makes the next times calls of op fail: with err in the
// protocol's own format, or with a raw HTTP answer (a proxy's 502).
// After runs the call first, as when Odoo committed and the answer was
// lost.
type injection struct {
	op     string
	times  int
	after  bool
	err    *odooErr
	status int
	raw    string
	header http.Header
}

type odooErr struct {
	name, message string
	status        int // the JSON-2 status
}

func userError(msg string) *odooErr { return &odooErr{"odoo.exceptions.UserError", msg, 422} }
func validationError(msg string) *odooErr {
	return &odooErr{"odoo.exceptions.ValidationError", msg, 422}
}
func missingError(msg string) *odooErr { return &odooErr{"odoo.exceptions.MissingError", msg, 404} }
func valueError(msg string) *odooErr   { return &odooErr{"builtins.ValueError", msg, 500} }
func accessDenied() *odooErr           { return &odooErr{"odoo.exceptions.AccessDenied", "Access Denied", 403} }

var fields = map[string][]string{
	"res.partner":  {"name", "ref", "is_company", "customer_rank", "active", "email", "credit", "credit_limit", "currency_id"},
	"res.currency": {"name", "active", "symbol"},
	"account.move": {"move_type", "partner_id", "currency_id", "ref", "invoice_origin", "invoice_date", "invoice_line_ids",
		"name", "state", "amount_untaxed", "amount_tax", "amount_total", "create_date"},
}

func newFakeOdoo(t testing.TB) *fakeOdoo {
	f := &fakeOdoo{db: "crossdock", login: "api@crossdock.example", password: "pw-0123456789", apiKey: "key-0123456789abcdef",
		uid: 2, nextID: 100, models: map[string][]map[string]any{
			"res.currency": {
				{"id": int64(1), "name": "EUR", "active": true, "symbol": "€"},
				{"id": int64(2), "name": "USD", "active": true, "symbol": "$"},
				{"id": int64(3), "name": "GBP", "active": false, "symbol": "£"},
			},
			"res.partner": {
				{"id": int64(10), "name": "CUST-ARCHIVED", "ref": "CUST-ARCHIVED", "active": false, "credit": 0.0, "credit_limit": 0.0},
				{"id": int64(11), "name": "ACME Logistics", "ref": "CUST-CREDIT", "active": true, "credit": 1250.5, "credit_limit": 5000.0},
			},
			"account.move": {},
		}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /json/2/{model}/{method}", f.json2)
	mux.HandleFunc("POST /jsonrpc", f.jsonrpc)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// fail queues an injection.
func (f *fakeOdoo) fail(in injection) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.injections = append(f.injections, &in)
}

// held counts the customer invoices whose ref is invoiceID, in any state.
func (f *fakeOdoo) held(invoiceID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.models["account.move"] {
		if m["ref"] == invoiceID && m["move_type"] == "out_invoice" {
			n++
		}
	}
	return n
}

// moves returns copies of the customer invoices whose ref is invoiceID.
func (f *fakeOdoo) moves(invoiceID string) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, m := range f.models["account.move"] {
		if m["ref"] == invoiceID {
			c := map[string]any{}
			for k, v := range m {
				c[k] = v
			}
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeOdoo) record(r *http.Request, body []byte) {
	var v any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	pretty := string(body)
	if d.Decode(&v) == nil {
		b, _ := json.MarshalIndent(v, "", "  ")
		pretty = string(b)
	}
	pretty = strings.ReplaceAll(strings.ReplaceAll(pretty, f.password, "<password>"), f.apiKey, "<api key>")
	head := r.Method + " " + r.URL.Path
	if db := r.Header.Get("X-Odoo-Database"); db != "" {
		head += "\nX-Odoo-Database: " + db
	}
	f.transcript = append(f.transcript, head+"\n"+pretty+"\n")
	f.headers = append(f.headers, r.Header.Clone())
}

func (f *fakeOdoo) json2(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(r, body)
	auth := r.Header.Get("Authorization")
	if scheme, key, _ := strings.Cut(auth, " "); !strings.EqualFold(scheme, "bearer") || key != f.apiKey {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"name": "werkzeug.exceptions.Unauthorized", "message": "Invalid apikey",
			"arguments": []any{"Invalid apikey", 401}, "context": map[string]any{}, "debug": ""})
		return
	}
	var params map[string]any
	if len(body) > 0 {
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		if err := d.Decode(&params); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"name": "werkzeug.exceptions.BadRequest",
				"message": "could not parse the body as json: " + err.Error(), "arguments": []any{}, "context": map[string]any{}, "debug": ""})
			return
		}
	}
	ids, _ := toIDs(params["ids"])
	delete(params, "ids")
	res, oe, raw := f.exec(r.PathValue("model"), r.PathValue("method"), ids, params, false)
	switch {
	case raw != nil:
		writeRaw(w, raw)
	case oe != nil:
		writeJSON(w, oe.status, map[string]any{"name": oe.name, "message": oe.message, "arguments": []any{oe.message},
			"context": map[string]any{}, "debug": "Traceback (most recent call last):\n  ...\n" + oe.name + ": " + oe.message})
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

func (f *fakeOdoo) jsonrpc(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(r, body)
	var req struct {
		ID     any `json:"id"`
		Params struct {
			Service string `json:"service"`
			Method  string `json:"method"`
			Args    []any  `json:"args"`
		} `json:"params"`
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&req); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	answer := func(res any, oe *odooErr) {
		env := map[string]any{"jsonrpc": "2.0", "id": req.ID}
		if oe != nil {
			env["error"] = map[string]any{"code": 200, "message": "Odoo Server Error", "data": map[string]any{
				"name": oe.name, "debug": "Traceback (most recent call last):\n  ...", "message": oe.message,
				"arguments": []any{oe.message}, "context": map[string]any{}}}
		} else {
			env["result"] = res
		}
		writeJSON(w, http.StatusOK, env)
	}
	p := req.Params
	switch p.Service + "." + p.Method {
	case "common.version":
		answer(map[string]any{"server_version": "18.0", "server_version_info": []any{18, 0, 0, "final", 0, ""}, "protocol_version": 1}, nil)
	case "common.login":
		f.logins++
		if len(p.Args) == 3 && p.Args[0] == f.db && p.Args[1] == f.login && (p.Args[2] == f.password || p.Args[2] == f.apiKey) {
			answer(f.uid, nil)
			return
		}
		answer(false, nil)
	case "object.execute_kw":
		if len(p.Args) < 6 {
			answer(nil, &odooErr{"builtins.TypeError", "execute_kw() missing required positional arguments", 500})
			return
		}
		uid, _ := toID(p.Args[1])
		if p.Args[0] != f.db || uid != f.uid || (p.Args[2] != f.password && p.Args[2] != f.apiKey) {
			answer(nil, accessDenied())
			return
		}
		model, _ := p.Args[3].(string)
		method, _ := p.Args[4].(string)
		args, _ := p.Args[5].([]any)
		kwargs := map[string]any{}
		if len(p.Args) > 6 {
			kwargs, _ = p.Args[6].(map[string]any)
		}
		ids, params, single, oe := positional(method, args, kwargs)
		if oe != nil {
			answer(nil, oe)
			return
		}
		res, oe, raw := f.exec(model, method, ids, params, single)
		if raw != nil {
			writeRaw(w, raw)
			return
		}
		answer(res, oe)
	default:
		answer(nil, &odooErr{"builtins.NameError", "unknown service or method " + p.Service + "." + p.Method, 500})
	}
}

// signatures are the positional parameters of the methods served, after
// the ids of the methods that take records.
var signatures = map[string]struct {
	records bool
	params  []string
}{
	"search_read": {false, []string{"domain", "fields", "offset", "limit", "order"}},
	"search":      {false, []string{"domain", "offset", "limit", "order"}},
	"create":      {false, []string{"vals_list"}},
	"read":        {true, []string{"fields"}},
	"action_post": {true, nil},
}

// positional maps execute_kw's args and kwargs onto named parameters.
// single says create got one dict (it then answers one id).
func positional(method string, args []any, kwargs map[string]any) (ids []int64, params map[string]any, single bool, oe *odooErr) {
	sig, ok := signatures[method]
	if !ok {
		return nil, nil, false, &odooErr{"builtins.AttributeError", "The method '" + method + "' does not exist", 500}
	}
	if sig.records {
		if len(args) == 0 {
			return nil, nil, false, &odooErr{"builtins.TypeError", method + "() missing the record ids", 500}
		}
		if ids, ok = toIDs(args[0]); !ok {
			return nil, nil, false, valueError("ids must be a list of integers")
		}
		args = args[1:]
	}
	if len(args) > len(sig.params) {
		return nil, nil, false, &odooErr{"builtins.TypeError", method + "() takes too many positional arguments", 500}
	}
	params = map[string]any{}
	for k, v := range kwargs {
		params[k] = v
	}
	for i, a := range args {
		params[sig.params[i]] = a
	}
	if vals, ok := params["vals_list"].(map[string]any); ok && method == "create" {
		params["vals_list"], single = []any{vals}, true
	}
	return ids, params, single, nil
}

// exec runs model.method, applying an injection queued for it.
func (f *fakeOdoo) exec(model, method string, ids []int64, params map[string]any, single bool) (any, *odooErr, *injection) {
	op := model + "/" + method
	f.calls = append(f.calls, op)
	var in *injection
	for i, c := range f.injections {
		if c.op == op && c.times > 0 {
			in = c
			if c.times--; c.times == 0 {
				f.injections = slices.Delete(f.injections, i, i+1)
			}
			break
		}
	}
	if in != nil && !in.after {
		if in.err != nil {
			return nil, in.err, nil
		}
		return nil, nil, in
	}
	res, oe := f.run(model, method, ids, params, single)
	if in != nil {
		if in.err != nil {
			return nil, in.err, nil
		}
		return nil, nil, in
	}
	return res, oe, nil
}

func (f *fakeOdoo) run(model, method string, ids []int64, params map[string]any, single bool) (any, *odooErr) {
	known, ok := fields[model]
	if !ok {
		return nil, &odooErr{"builtins.KeyError", "'" + model + "'", 500}
	}
	ctx, _ := params["context"].(map[string]any)
	activeTest := ctx == nil || ctx["active_test"] != false
	switch method {
	case "search_read":
		domain, _ := params["domain"].([]any)
		var want []string
		if fs, ok := params["fields"].([]any); ok {
			for _, fl := range fs {
				s, _ := fl.(string)
				if s != "id" && !slices.Contains(known, s) {
					return nil, valueError(fmt.Sprintf("Invalid field %q on model %q", s, model))
				}
				want = append(want, s)
			}
		}
		limit, _ := toID(params["limit"])
		offset, _ := toID(params["offset"])
		out := []any{}
		for _, rec := range f.models[model] {
			if activeTest && rec["active"] == false {
				continue
			}
			if !matches(rec, domain) {
				continue
			}
			if offset > 0 {
				offset--
				continue
			}
			out = append(out, f.view(model, rec, want))
			if limit > 0 && int64(len(out)) == limit {
				break
			}
		}
		return out, nil
	case "read":
		var want []string
		if fs, ok := params["fields"].([]any); ok {
			for _, fl := range fs {
				s, _ := fl.(string)
				want = append(want, s)
			}
		}
		out := []any{}
		for _, id := range ids {
			rec := f.find(model, id)
			if rec == nil {
				return nil, missingError(fmt.Sprintf("Record does not exist or has been deleted.\n(Record: %s(%d,), User: %d)", model, id, f.uid))
			}
			out = append(out, f.view(model, rec, want))
		}
		return out, nil
	case "create":
		list, ok := params["vals_list"].([]any)
		if !ok {
			return nil, &odooErr{"builtins.TypeError", "create() missing 1 required positional argument: 'vals_list'", 500}
		}
		var made []int64
		for _, v := range list {
			vals, _ := v.(map[string]any)
			for k := range vals {
				if !slices.Contains(known, k) {
					return nil, valueError(fmt.Sprintf("Invalid field '%s' in '%s'", k, model))
				}
			}
			rec, oe := f.build(model, vals)
			if oe != nil {
				return nil, oe
			}
			f.nextID++
			rec["id"] = f.nextID
			f.models[model] = append(f.models[model], rec)
			made = append(made, f.nextID)
		}
		if single {
			return made[0], nil
		}
		return made, nil
	case "action_post":
		for _, id := range ids {
			m := f.find(model, id)
			if m == nil {
				return nil, missingError(fmt.Sprintf("Record does not exist or has been deleted.\n(Record: %s(%d,), User: %d)", model, id, f.uid))
			}
			if oe := f.post(m); oe != nil {
				return nil, oe
			}
		}
		return false, nil
	}
	return nil, &odooErr{"builtins.AttributeError", fmt.Sprintf("The method '%s' does not exist on the model '%s'", method, model), 500}
}

// build checks vals and computes what Odoo computes on create.
func (f *fakeOdoo) build(model string, vals map[string]any) (map[string]any, *odooErr) {
	rec := map[string]any{}
	for k, v := range vals {
		rec[k] = v
	}
	switch model {
	case "res.partner":
		if name, _ := vals["name"].(string); name == "" {
			return nil, validationError("The operation cannot be completed:\n- Create/update: a mandatory field is not set.\nModel: Contact (res.partner)\nField: Name (name)")
		}
		rec["active"], rec["credit"], rec["credit_limit"] = true, 0.0, 0.0
	case "account.move":
		if vals["move_type"] != "out_invoice" {
			return nil, valueError(fmt.Sprintf("Wrong value for account.move.move_type: %v", vals["move_type"]))
		}
		pid, _ := toID(vals["partner_id"])
		if f.find("res.partner", pid) == nil {
			return nil, missingError(fmt.Sprintf("Record does not exist or has been deleted.\n(Record: res.partner(%d,), User: %d)", pid, f.uid))
		}
		cid, _ := toID(vals["currency_id"])
		if cur := f.find("res.currency", cid); cur == nil || cur["active"] == false {
			return nil, validationError(fmt.Sprintf("The currency (id %d) is not active.", cid))
		}
		if d, ok := vals["invoice_date"]; ok {
			s, _ := d.(string)
			if _, err := time.Parse(time.DateOnly, s); err != nil {
				return nil, valueError(fmt.Sprintf("time data '%v' does not match format '%%Y-%%m-%%d'", d))
			}
		}
		var untaxed, tax float64
		var lines []map[string]any
		cmds, _ := vals["invoice_line_ids"].([]any)
		for _, c := range cmds {
			cmd, _ := c.([]any)
			if len(cmd) != 3 || fmt.Sprint(cmd[0]) != "0" {
				return nil, valueError(fmt.Sprintf("Invalid command %v for invoice_line_ids", c))
			}
			lv, _ := cmd[2].(map[string]any)
			for k := range lv {
				if !slices.Contains([]string{"name", "quantity", "price_unit", "tax_ids", "product_id", "account_id"}, k) {
					return nil, valueError(fmt.Sprintf("Invalid field '%s' in 'account.move.line'", k))
				}
			}
			q, p := num(lv["quantity"]), num(lv["price_unit"])
			if _, ok := lv["quantity"]; !ok {
				q = 1
			}
			sub := round2(q * p)
			untaxed += sub
			if _, cleared := lv["tax_ids"]; !cleared {
				tax += round2(sub * 0.15) // the company's default sales tax
			}
			lines = append(lines, lv)
		}
		rec["invoice_line_ids"] = lines
		rec["name"], rec["state"] = "/", "draft"
		rec["create_date"] = time.Now().UTC().Format("2006-01-02 15:04:05")
		rec["amount_untaxed"], rec["amount_tax"], rec["amount_total"] = round2(untaxed), round2(tax), round2(untaxed+tax)
	}
	return rec, nil
}

// post is account.move._post's checks, then the sequence.
func (f *fakeOdoo) post(m map[string]any) *odooErr {
	lines, _ := m["invoice_line_ids"].([]map[string]any)
	date, _ := m["invoice_date"].(string)
	if date == "" {
		date = time.Now().UTC().Format(time.DateOnly)
	}
	switch {
	case m["state"] == "posted":
		return userError(fmt.Sprintf("The entry %s (id %d) is already posted.", m["name"], m["id"]))
	case len(lines) == 0:
		return userError("You need to add a line before posting.")
	case m["amount_total"].(float64) < 0:
		return userError("You cannot validate an invoice with a negative total amount. You should create a credit note instead. Use the action menu to transform it into a credit note or refund.")
	case f.lockDate != "" && date <= f.lockDate:
		return userError("You cannot add/modify entries prior to and inclusive of the lock date " + f.lockDate + ".")
	}
	f.seq++
	m["name"], m["state"], m["invoice_date"] = fmt.Sprintf("INV/%s/%05d", date[:4], f.seq), "posted", date
	return nil
}

// view is rec with the wanted fields, many2one as [id, display name].
func (f *fakeOdoo) view(model string, rec map[string]any, want []string) map[string]any {
	out := map[string]any{"id": rec["id"]}
	for _, k := range want {
		v, ok := rec[k]
		switch {
		case k == "currency_id" && model == "res.partner":
			v = []any{1, "EUR"} // the company currency
		case k == "currency_id" || k == "partner_id":
			target := map[string]string{"currency_id": "res.currency", "partner_id": "res.partner"}[k]
			id, _ := toID(v)
			if r := f.find(target, id); r != nil {
				v = []any{id, r["name"]}
			}
		case !ok:
			v = false
		}
		out[k] = v
	}
	return out
}

func (f *fakeOdoo) find(model string, id int64) map[string]any {
	for _, r := range f.models[model] {
		if r["id"] == id {
			return r
		}
	}
	return nil
}

// matches evaluates a domain of [field, operator, value] terms joined by
// the implicit "&".
func matches(rec map[string]any, domain []any) bool {
	for _, t := range domain {
		term, ok := t.([]any)
		if !ok {
			continue // "&"
		}
		if len(term) != 3 {
			return false
		}
		field, _ := term[0].(string)
		v := fmt.Sprint(rec[field])
		switch term[1] {
		case "=":
			if v != fmt.Sprint(term[2]) {
				return false
			}
		case "in":
			vals, _ := term[2].([]any)
			if !slices.ContainsFunc(vals, func(x any) bool { return fmt.Sprint(x) == v }) {
				return false
			}
		case "=like":
			pattern, _ := term[2].(string)
			if !likeMatch(pattern, v) {
				return false
			}
		case ">=", "<":
			// Datetimes as Odoo writes them sort as text.
			bound, _ := term[2].(string)
			if (term[1] == ">=") != (v >= bound) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func toID(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case int64:
		return n, true
	case float64:
		return int64(n), n == math.Trunc(n)
	}
	return 0, false
}

func toIDs(v any) ([]int64, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	var ids []int64
	for _, x := range list {
		id, ok := toID(x)
		if !ok {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

func num(v any) float64 {
	if n, ok := v.(json.Number); ok {
		f, _ := n.Float64()
		return f
	}
	f, _ := v.(float64)
	return f
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeRaw(w http.ResponseWriter, in *injection) {
	for k, vs := range in.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(in.status)
	_, _ = io.WriteString(w, in.raw)
}

// likeMatch is SQL's like with PostgreSQL's backslash escape.
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

// addMove stores a customer invoice as if made in Odoo, and returns its
// id: fields are account.move's, currency_id an id.
func (f *fakeOdoo) addMove(fields map[string]any) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	rec := map[string]any{"move_type": "out_invoice", "id": f.nextID}
	for k, v := range fields {
		rec[k] = v
	}
	f.models["account.move"] = append(f.models["account.move"], rec)
	return f.nextID
}
