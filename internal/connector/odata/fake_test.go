package odata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

const servicePath = "/sap/opu/odata/sap/API_SALES_ORDER_SRV"

// fakeSAP is an S/4HANA system's API_SALES_ORDER_SRV as far as a
// delivery uses it, with the field names and lengths of the service
// definition in /work/shared/testdata/external/04_sap_s4hana_odata.txt:
//   - every request needs Basic (or Bearer) credentials, else 401 with
//     SAP's HTML logon page;
//   - GET of the service root with x-csrf-token: Fetch answers a token
//     and a session cookie (SAP_SESSIONID_S4H_100); a POST needs that
//     token with that cookie, else 403 with x-csrf-token: Required;
//   - GET A_SalesOrder with $filter=<field> eq '<value>' (and $select)
//     answers {"d":{"results":[…]}};
//   - POST A_SalesOrder creates an order with its items (deep insert)
//     and answers 201 {"d":{…,"SalesOrder":"…"}}; an unknown or
//     read-only property, a value longer than its field, a missing
//     mandatory field or an unknown sold-to party is 400 with an OData
//     V2 error body (code, message.value, innererror.errordetails).
type fakeSAP struct {
	srv            *httptest.Server
	user, password string
	bearer         string

	mu         sync.Mutex
	sessions   map[string]string // SAP_SESSIONID → its CSRF token
	nextID     int
	orders     []map[string]any
	customers  []string
	injections []*injection
	fetches    int
	posts      int
	// pageSize > 0 makes queries answer pages of that many orders with a
	// __next link (server-driven paging).
	pageSize   int
	transcript []string
	headers    []http.Header
}

// injection makes the next times requests op ("GET /", "GET
// A_SalesOrder", "POST A_SalesOrder") answer status, header and body;
// after lets the request run first (the answer is lost).
type injection struct {
	op     string
	times  int
	after  bool
	status int
	header http.Header
	body   string
}

// Properties of A_SalesOrder and A_SalesOrderItem a create may set,
// with their lengths (0: not a string), from the service definition;
// the read-only ones (sap:creatable false) are refused.
var (
	orderProps = map[string]int{"SalesOrderType": 4, "SalesOrganization": 4, "DistributionChannel": 2, "OrganizationDivision": 2,
		"SoldToParty": 10, "PurchaseOrderByCustomer": 35, "TransactionCurrency": 5, "SalesOrderDate": 0, "to_Item": 0,
		"CustomerPaymentTerms": 4, "PurchaseOrderByShipToParty": 35}
	orderReadOnly = []string{"SalesOrder", "CreationDate", "TotalNetAmount", "ExternalDocumentID", "OverallSDProcessStatus"}
	itemProps     = map[string]int{"SalesOrderItem": 6, "Material": 40, "SalesOrderItemText": 40, "RequestedQuantity": 0,
		"RequestedQuantityUnit": 3, "to_PricingElement": 0}
	pricingProps = map[string]int{"ConditionType": 4, "ConditionRateValue": 0, "ConditionCurrency": 5}
)

func newFakeSAP(t testing.TB) *fakeSAP {
	f := &fakeSAP{user: "CROSSDOCK_API", password: "pw-0123456789", bearer: "token-abcdef0123456789",
		sessions: map[string]string{}, nextID: 1000000,
		customers: []string{"CUST-0", "CUST-1", "CUST-2", "CUST-3", "CUST-4", "17100001"}}
	mux := http.NewServeMux()
	mux.HandleFunc(servicePath+"/", f.serve)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSAP) fail(in injection) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.injections = append(f.injections, &in)
}

// expire drops every session, as an application server restart does.
func (f *fakeSAP) expire() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions = map[string]string{}
}

func (f *fakeSAP) held(invoiceID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, o := range f.orders {
		if o["PurchaseOrderByCustomer"] == invoiceID {
			n++
		}
	}
	return n
}

func (f *fakeSAP) order(invoiceID string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range f.orders {
		if o["PurchaseOrderByCustomer"] == invoiceID {
			return o
		}
	}
	return nil
}

func (f *fakeSAP) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(r, body)
	user, pw, basic := r.BasicAuth()
	if !(basic && user == f.user && pw == f.password) && r.Header.Get("Authorization") != "Bearer "+f.bearer {
		w.Header().Set("WWW-Authenticate", `Basic realm="SAP NetWeaver Application Server [S4H/100]"`)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, "<html><head><title>Logon Error Message</title></head><body>Anmeldung fehlgeschlagen / Logon failed</body></html>")
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, servicePath+"/")
	op := r.Method + " " + rest
	if rest == "" {
		op = r.Method + " /"
	}
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
		writeRaw(w, in)
		return
	}
	target := http.ResponseWriter(w)
	if in != nil {
		target = httptest.NewRecorder() // the answer is lost
	}
	switch {
	case op == "GET /":
		f.serviceDocument(target, r)
	case r.Method == http.MethodGet && rest == "A_SalesOrder":
		f.query(target, r)
	case r.Method == http.MethodPost && rest == "A_SalesOrder":
		f.create(target, r, body)
	default:
		writeError(target, http.StatusNotFound, "/IWFND/MED/170", fmt.Sprintf("No service found for namespace '', name '%s', version '0001'", rest))
	}
	if in != nil {
		writeRaw(w, in)
	}
}

func (f *fakeSAP) record(r *http.Request, body []byte) {
	head := r.Method + " " + r.URL.RequestURI()
	if t := r.Header.Get("X-Csrf-Token"); t != "" {
		if !strings.EqualFold(t, "fetch") {
			t = "<token>"
		}
		head += "\nx-csrf-token: " + t
	}
	if len(body) > 0 {
		var v any
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		if d.Decode(&v) == nil {
			b, _ := json.MarshalIndent(v, "", "  ")
			body = b
		}
		head += "\n" + string(body)
	}
	f.transcript = append(f.transcript, head+"\n")
	f.headers = append(f.headers, r.Header.Clone())
}

func (f *fakeSAP) serviceDocument(w http.ResponseWriter, r *http.Request) {
	if strings.EqualFold(r.Header.Get("X-Csrf-Token"), "fetch") {
		f.fetches++
		sid := fmt.Sprintf("sid-%d", f.fetches)
		token := fmt.Sprintf("tok%04d==", f.fetches)
		f.sessions[sid] = token
		http.SetCookie(w, &http.Cookie{Name: "SAP_SESSIONID_S4H_100", Value: sid, Path: "/", HttpOnly: true})
		http.SetCookie(w, &http.Cookie{Name: "sap-usercontext", Value: "sap-client=100", Path: "/"})
		w.Header().Set("X-Csrf-Token", token)
	}
	writeJSON(w, http.StatusOK, map[string]any{"d": map[string]any{"EntitySets": []string{"A_SalesOrder", "A_SalesOrderItem",
		"A_SalesOrderHeaderPartner", "A_SalesOrderItemPrElement"}}})
}

// A $filter the fake understands: equalities joined by or
// (PurchaseOrderByCustomer eq 'x' or …), or terms joined by and, each
// <field> eq '<value>', startswith(<field>,'<value>') eq true or <field>
// ge|lt datetime'<yyyy-mm-ddThh:mm:ss>'.
var (
	eqTerm     = regexp.MustCompile(`^(\w+) eq '((?:[^']|'')*)'$`)
	startsTerm = regexp.MustCompile(`^startswith\((\w+),'((?:[^']|'')*)'\) eq true$`)
	dateTerm   = regexp.MustCompile(`^(\w+) (ge|lt) datetime'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)'$`)
)

// maxRequestURI is the longest request line the fake takes, as SAP's ICM
// refuses longer ones.
const maxRequestURI = 7000

func (f *fakeSAP) query(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.RequestURI()) > maxRequestURI {
		w.WriteHeader(http.StatusRequestURITooLong)
		_, _ = io.WriteString(w, "414 Request-URI Too Long")
		return
	}
	q := r.URL.Query()
	match, ok := parseFilter(q.Get("$filter"))
	if !ok {
		writeError(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/022", "Invalid filter expression: '"+q.Get("$filter")+"'")
		return
	}
	var window []map[string]any
	for _, o := range f.orders { // created in SalesOrder order
		if match(o) {
			window = append(window, o)
		}
	}
	skip, _ := strconv.Atoi(q.Get("$skip"))
	window = window[min(skip, len(window)):]
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top < len(window) {
		window = window[:top]
	}
	token, _ := strconv.Atoi(q.Get("$skiptoken"))
	page := window[min(token, len(window)):]
	d := map[string]any{}
	if f.pageSize > 0 && len(page) > f.pageSize {
		page = page[:f.pageSize]
		q.Set("$skiptoken", strconv.Itoa(token+f.pageSize))
		d["__next"] = f.srv.URL + servicePath + "/A_SalesOrder?" + q.Encode()
	}
	results := []any{}
	for _, o := range page {
		results = append(results, view(f.srv.URL, o, q))
	}
	d["results"] = results
	writeJSON(w, http.StatusOK, map[string]any{"d": d})
}

// view is order o as a query with $select and $expand answers it.
func view(base string, o map[string]any, q url.Values) map[string]any {
	v := map[string]any{"__metadata": metadata(base, o["SalesOrder"].(string))}
	expand := q.Get("$expand") == "to_Item"
	var itemProps []string
	for _, s := range strings.Split(q.Get("$select"), ",") {
		if p, ok := strings.CutPrefix(s, "to_Item/"); ok {
			itemProps = append(itemProps, p)
		} else if s != "" {
			v[s] = o[s]
		}
	}
	if q.Get("$select") == "" {
		for k, x := range o {
			v[k] = x
		}
	}
	if expand {
		items := []any{}
		list, _ := o["to_Item"].([]any)
		for _, it := range list {
			item, _ := it.(map[string]any)
			out := map[string]any{}
			for _, p := range itemProps {
				out[p] = item[p]
			}
			if len(itemProps) == 0 {
				out = item
			}
			items = append(items, out)
		}
		v["to_Item"] = map[string]any{"results": items}
	}
	return v
}

// parseFilter reads a $filter the fake understands; ok is false for any
// other.
func parseFilter(filter string) (match func(map[string]any) bool, ok bool) {
	if filter == "" {
		return func(map[string]any) bool { return true }, true
	}
	var terms []func(map[string]any) bool
	or := splitOutside(filter, " or ")
	for _, t := range or {
		m := eqTerm.FindStringSubmatch(t)
		if m == nil {
			break
		}
		terms = append(terms, func(o map[string]any) bool { return fmt.Sprint(o[m[1]]) == unquote(m[2]) })
	}
	if len(or) > 1 {
		if len(terms) != len(or) {
			return nil, false
		}
		return func(o map[string]any) bool {
			return slices.ContainsFunc(terms, func(t func(map[string]any) bool) bool { return t(o) })
		}, true
	}
	terms = nil
	for _, t := range splitOutside(filter, " and ") {
		if m := eqTerm.FindStringSubmatch(t); m != nil {
			terms = append(terms, func(o map[string]any) bool { return fmt.Sprint(o[m[1]]) == unquote(m[2]) })
			continue
		}
		if m := startsTerm.FindStringSubmatch(t); m != nil {
			terms = append(terms, func(o map[string]any) bool { return strings.HasPrefix(fmt.Sprint(o[m[1]]), unquote(m[2])) })
			continue
		}
		m := dateTerm.FindStringSubmatch(t)
		if m == nil {
			return nil, false
		}
		bound, err := time.Parse("2006-01-02T15:04:05", m[3])
		if err != nil {
			return nil, false
		}
		terms = append(terms, func(o map[string]any) bool {
			at := sapTime(o[m[1]])
			if m[2] == "ge" {
				return !at.Before(bound)
			}
			return at.Before(bound)
		})
	}
	return func(o map[string]any) bool {
		return !slices.ContainsFunc(terms, func(t func(map[string]any) bool) bool { return !t(o) })
	}, true
}

// splitOutside splits s at each sep outside a quoted literal.
func splitOutside(s, sep string) []string {
	var out []string
	quoted, last := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			quoted = !quoted
		case !quoted && strings.HasPrefix(s[i:], sep):
			out = append(out, s[last:i])
			last = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(out, s[last:])
}

func unquote(s string) string { return strings.ReplaceAll(s, "''", "'") }

// sapDate is t's day as OData V2 writes an Edm.DateTime: /Date(<ms>)/.
func sapDate(t time.Time) string {
	y, m, d := t.UTC().Date()
	return fmt.Sprintf("/Date(%d)/", time.Date(y, m, d, 0, 0, 0, 0, time.UTC).UnixMilli())
}

// sapTime reads sapDate's text; zero for anything else.
func sapTime(v any) time.Time {
	s, _ := v.(string)
	ms, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(s, "/Date("), ")/"), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// addOrder stores a sales order as if made in SAP, and returns its number.
func (f *fakeSAP) addOrder(o map[string]any) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	id := fmt.Sprint(f.nextID)
	o["SalesOrder"] = id
	f.orders = append(f.orders, o)
	return id
}

func (f *fakeSAP) create(w http.ResponseWriter, r *http.Request, body []byte) {
	f.posts++
	cookie, err := r.Cookie("SAP_SESSIONID_S4H_100")
	token := r.Header.Get("X-Csrf-Token")
	if err != nil || token == "" || f.sessions[cookie.Value] != token {
		w.Header().Set("X-Csrf-Token", "Required")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, "CSRF token validation failed")
		return
	}
	var o map[string]any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&o); err != nil {
		writeError(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004", "Malformed syntax in JSON content: "+err.Error())
		return
	}
	if msg := checkProps("A_SalesOrderType", o, orderProps); msg != "" {
		writeError(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/020", msg)
		return
	}
	var details []map[string]string
	for _, k := range []string{"SalesOrderType", "SalesOrganization", "DistributionChannel", "OrganizationDivision", "SoldToParty"} {
		if s, _ := o[k].(string); s == "" {
			details = append(details, map[string]string{"code": "V1/315", "message": "Enter a value for field " + k, "target": k, "severity": "error"})
		}
	}
	if sold, _ := o["SoldToParty"].(string); sold != "" && !slices.Contains(f.customers, sold) {
		details = append(details, map[string]string{"code": "V1/320",
			"message": fmt.Sprintf("Sold-to party %s not maintained for sales area %v %v %v", sold, o["SalesOrganization"], o["DistributionChannel"], o["OrganizationDivision"]),
			"target":  "SoldToParty", "severity": "error"})
	}
	net := new(big.Rat)
	items, _ := o["to_Item"].([]any)
	if len(items) == 0 {
		details = append(details, map[string]string{"code": "V1/555", "message": "The sales document is not yet complete: Edit data", "severity": "error"})
	}
	for _, it := range items {
		item, _ := it.(map[string]any)
		if msg := checkProps("A_SalesOrderItemType", item, itemProps); msg != "" {
			writeError(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/020", msg)
			return
		}
		qty, _ := new(big.Rat).SetString(fmt.Sprint(item["RequestedQuantity"]))
		prices, _ := item["to_PricingElement"].([]any)
		for _, p := range prices {
			pe, _ := p.(map[string]any)
			if msg := checkProps("A_SalesOrderItemPrElementType", pe, pricingProps); msg != "" {
				writeError(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/020", msg)
				return
			}
			rate, _ := new(big.Rat).SetString(fmt.Sprint(pe["ConditionRateValue"]))
			if qty != nil && rate != nil {
				itemNet := new(big.Rat).Mul(qty, rate)
				net.Add(net, itemNet)
				// SAP's tax determination: 10 % output tax.
				item["NetAmount"] = itemNet.FloatString(2)
				item["TaxAmount"] = new(big.Rat).Mul(itemNet, big.NewRat(1, 10)).FloatString(2)
			}
		}
	}
	if len(details) > 0 {
		writeError(w, http.StatusBadRequest, details[0]["code"], details[0]["message"], details...)
		return
	}
	f.nextID++
	id := fmt.Sprint(f.nextID)
	o["SalesOrder"], o["TotalNetAmount"] = id, net.FloatString(2)
	o["CreationDate"], o["OverallSDProcessStatus"] = sapDate(time.Now()), "A"
	f.orders = append(f.orders, o)
	w.Header().Set("Location", f.srv.URL+servicePath+"/A_SalesOrder('"+id+"')")
	ans := map[string]any{"__metadata": metadata(f.srv.URL, id)}
	for k, v := range o {
		ans[k] = v
	}
	ans["to_Item"] = map[string]any{"results": items}
	writeJSON(w, http.StatusCreated, map[string]any{"d": ans})
}

// checkProps is SAP Gateway's check of a create's properties.
func checkProps(typ string, v map[string]any, props map[string]int) string {
	for k, x := range v {
		n, ok := props[k]
		if !ok {
			if slices.Contains(orderReadOnly, k) {
				return fmt.Sprintf("Property '%s' is read-only", k)
			}
			return fmt.Sprintf("Property '%s' is invalid", k)
		}
		if s, isString := x.(string); isString && n > 0 && utf8.RuneCountInString(s) > n {
			return fmt.Sprintf("Value '%s' of property '%s' of type '%s' is too long (max. %d)", s, k, typ, n)
		}
	}
	return ""
}

func metadata(base, id string) map[string]any {
	uri := base + servicePath + "/A_SalesOrder('" + id + "')"
	return map[string]any{"id": uri, "uri": uri, "type": "API_SALES_ORDER_SRV.A_SalesOrderType"}
}

// writeError writes an SAP Gateway OData V2 error body.
func writeError(w http.ResponseWriter, status int, code, message string, details ...map[string]string) {
	ds := []any{map[string]string{"code": code, "message": message, "propertyref": "", "severity": "error", "target": ""}}
	for _, d := range details {
		ds = append(ds, d)
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": map[string]string{"lang": "en", "value": message},
		"innererror": map[string]any{
			"application":   map[string]string{"component_id": "SD-SLS-API", "service_namespace": "/SAP/", "service_id": "API_SALES_ORDER_SRV", "service_version": "0001"},
			"transactionid": "4C5E6A1B2F3D4E5F8091A2B3C4D5E6F7", "timestamp": "20261120080000.1234560",
			"Error_Resolution": map[string]string{"SAP_Transaction": "For backend administrators: use ADT feed reader \"SAP Gateway Error Log\" or run transaction /IWFND/ERROR_LOG on SAP Gateway hub system and search for entries with the timestamp above for more details",
				"SAP_Note": "See SAP Note 1797736 for error analysis (https://service.sap.com/sap/support/notes/1797736)"},
			"errordetails": ds,
		}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Dataserviceversion", "2.0")
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
	_, _ = io.WriteString(w, in.body)
}
