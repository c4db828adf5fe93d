package rest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
)

// erp answers GET /invoices/<id> from invoices (raw JSON bodies by id;
// absent: 404) and records the requests.
type erp struct {
	srv      *httptest.Server
	invoices map[string]string
	status   int // when not 0, every answer's status

	mu       sync.Mutex
	requests []*http.Request
	paths    []string // escaped, as sent
	inFlight atomic.Int32
	maxIn    atomic.Int32
	delay    time.Duration
}

func newERP(t *testing.T, invoices map[string]string) *erp {
	t.Helper()
	e := &erp{invoices: invoices}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *erp) serve(w http.ResponseWriter, r *http.Request) {
	n := e.inFlight.Add(1)
	defer e.inFlight.Add(-1)
	for m := e.maxIn.Load(); n > m && !e.maxIn.CompareAndSwap(m, n); m = e.maxIn.Load() {
	}
	e.mu.Lock()
	e.requests = append(e.requests, r.Clone(context.Background()))
	e.paths = append(e.paths, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
	e.mu.Unlock()
	time.Sleep(e.delay)
	if e.status != 0 {
		w.WriteHeader(e.status)
		_, _ = w.Write([]byte(`{"error":"internal detail: customer ACME owes 5000"}`))
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/invoices/")
	if q := r.URL.Query().Get("ref"); q != "" {
		id = q
	}
	body, ok := e.invoices[id]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(body))
}

func looker(t *testing.T, cfg Config) connector.InvoiceLooker {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, ok := c.(connector.InvoiceLooker)
	if !ok {
		t.Fatalf("%T is no InvoiceLooker", c)
	}
	return l
}

func TestLookupInvoices(t *testing.T) {
	t.Parallel()
	invoices := map[string]string{
		"INV-1":         `{"id": 4711, "number": "RE-2026-0001", "total": "650.46", "currency": "EUR", "state": "posted"}`,
		"INV-2":         `{"id": "a7f3", "total": 650.10, "status": "paid"}`,
		"INV-3":         `{"total": 12345678901234567890.05}`,
		"INV-4":         `{"total": 6.5046e2}`,
		"INV/5 ä&x=1#?": `{"total": "1.00"}`,
		"INV-6":         `{"amounts": {"gross": "99.90", "net": 84}, "currency": "CHF", "number": 17}`,
		"INV-7":         `{"amounts": {"gross": 99.9}}`,
		"INV-8":         `{"amounts": {"gross": 120}}`,
	}
	tests := []struct {
		name, jq string
		ids      []string
		want     map[string]connector.ERPInvoice
	}{
		{"found, string total", "", []string{"INV-1"}, map[string]connector.ERPInvoice{
			"INV-1": {InvoiceID: "INV-1", Ref: "RE-2026-0001", Total: "650.46", Currency: "EUR", State: "posted"}}},
		{"number total kept as sent", "", []string{"INV-2", "INV-3"}, map[string]connector.ERPInvoice{
			"INV-2": {InvoiceID: "INV-2", Ref: "a7f3", Total: "650.10", State: "paid"},
			"INV-3": {InvoiceID: "INV-3", Total: "12345678901234567890.05"}}},
		{"exponent written out", "", []string{"INV-4"}, map[string]connector.ERPInvoice{
			"INV-4": {InvoiceID: "INV-4", Total: "650.46"}}},
		{"absent", "", []string{"INV-9", "INV-10"}, map[string]connector.ERPInvoice{}},
		{"none", "", nil, map[string]connector.ERPInvoice{}},
		{"id needing escapes", "", []string{"INV/5 ä&x=1#?"}, map[string]connector.ERPInvoice{
			"INV/5 ä&x=1#?": {InvoiceID: "INV/5 ä&x=1#?", Total: "1.00"}}},
		{"jq picks a string", ".amounts.gross", []string{"INV-6", "INV-9"}, map[string]connector.ERPInvoice{
			"INV-6": {InvoiceID: "INV-6", Ref: "17", Total: "99.90", Currency: "CHF"}}},
		{"jq picks a number", ".amounts.gross", []string{"INV-7", "INV-8"}, map[string]connector.ERPInvoice{
			"INV-7": {InvoiceID: "INV-7", Total: "99.9"}, "INV-8": {InvoiceID: "INV-8", Total: "120"}}},
		{"jq computes", ".amounts.net + 15.9", []string{"INV-6"}, map[string]connector.ERPInvoice{
			"INV-6": {InvoiceID: "INV-6", Ref: "17", Total: "99.9", Currency: "CHF"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newERP(t, invoices)
			l := looker(t, Config{Name: "erp", URL: e.srv.URL + "/hub", ReconcileURL: e.srv.URL + "/invoices/{invoice_id}", ReconcileJQ: tt.jq})
			got, err := l.LookupInvoices(context.Background(), tt.ids)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if len(e.requests) != len(tt.ids) {
				t.Errorf("%d GETs for %d ids", len(e.requests), len(tt.ids))
			}
		})
	}
}

// The id is one path segment, or one query value, whatever it holds.
func TestLookupEscapesTheID(t *testing.T) {
	t.Parallel()
	id := "INV/5 ä&x=1#?+%"
	for _, tt := range []struct{ url, want string }{
		{"/invoices/{invoice_id}", "/invoices/INV%2F5%20%C3%A4%26x%3D1%23%3F%2B%25?"},
		{"/api/invoices?ref={invoice_id}&v=2", "/api/invoices?ref=INV%2F5%20%C3%A4%26x%3D1%23%3F%2B%25&v=2"},
	} {
		e := newERP(t, map[string]string{id: `{"total": "1.00"}`})
		l := looker(t, Config{Name: "erp", URL: e.srv.URL, ReconcileURL: e.srv.URL + tt.url})
		got, err := l.LookupInvoices(context.Background(), []string{id})
		if err != nil {
			t.Fatal(err)
		}
		if got[id].Total != "1.00" || len(e.paths) != 1 || e.paths[0] != tt.want {
			t.Errorf("%s: sent %v, found %+v", tt.url, e.paths, got)
		}
	}
}

// Lookups carry the deliveries' headers and credentials.
func TestLookupSendsCredentials(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"bearer", Config{Bearer: "secret-token"}, "Bearer secret-token"},
		{"basic", Config{BasicUser: "hub", BasicPassword: "pw"}, "Basic aHViOnB3"},
	} {
		e := newERP(t, map[string]string{"INV-1": `{"total": "1.00"}`})
		cfg := tt.cfg
		cfg.Name, cfg.URL, cfg.ReconcileURL, cfg.Headers = "erp", e.srv.URL, e.srv.URL+"/invoices/{invoice_id}", map[string]string{"X-Tenant": "eu"}
		if _, err := looker(t, cfg).LookupInvoices(context.Background(), []string{"INV-1"}); err != nil {
			t.Fatal(err)
		}
		h := e.requests[0].Header
		if h.Get("Authorization") != tt.want || h.Get("X-Tenant") != "eu" || h.Get("Accept") != "application/json" || e.requests[0].Method != http.MethodGet {
			t.Errorf("%s: %s with %v", tt.name, e.requests[0].Method, h)
		}
	}
}

func TestLookupErrors(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	_ = l.Close()
	for _, tt := range []struct {
		name, body, jq, url string
		status              int
		delay               time.Duration
		want                string
	}{
		{name: "server error", status: 500, want: "rest: erp: lookup invoice INV-1: answered 500"},
		{name: "refused", status: 401, want: "rest: erp: lookup invoice INV-1: answered 401"},
		{name: "no total", body: `{"amount": "1.00"}`, want: "rest: erp: lookup invoice INV-1: answer has no total"},
		{name: "total not a decimal", body: `{"total": "1,00"}`, want: `rest: erp: lookup invoice INV-1: total "1,00" is not a decimal`},
		{name: "total an object", body: `{"total": {"value": 1}}`, want: "rest: erp: lookup invoice INV-1: total is of type object, not a string or a number"},
		{name: "not JSON", body: `<html>ok</html>`, want: "rest: erp: lookup invoice INV-1: answer is not JSON"},
		{name: "jq gives nothing", body: `{"total": "1.00"}`, jq: "empty", want: "rest: erp: lookup invoice INV-1: reconcile_jq gave no total"},
		{name: "jq fails", body: `{"total": "1.00"}`, jq: `error("nope")`, want: "rest: erp: lookup invoice INV-1: reconcile_jq: error: nope"},
		{name: "too slow", body: `{"total": "1.00"}`, delay: 300 * time.Millisecond, want: "rest: erp: lookup invoice INV-1: "},
		{name: "down", url: down + "/invoices/{invoice_id}?token=t0ken-in-url", want: "rest: erp: lookup invoice INV-1: dial tcp"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newERP(t, map[string]string{"INV-1": tt.body})
			e.status, e.delay = tt.status, tt.delay
			u := e.srv.URL + "/invoices/{invoice_id}?token=t0ken-in-url"
			if tt.url != "" {
				u = tt.url
			}
			lk := looker(t, Config{Name: "erp", URL: e.srv.URL, ReconcileURL: u, ReconcileJQ: tt.jq, Timeout: 100 * time.Millisecond})
			got, err := lk.LookupInvoices(context.Background(), []string{"INV-1"})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("got %v, %v; want an error starting %q", got, err, tt.want)
			}
			for _, secret := range []string{"t0ken-in-url", "ACME"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("%q is in the error %q", secret, err)
				}
			}
		})
	}
}

func TestLookupConcurrencyIsBounded(t *testing.T) {
	t.Parallel()
	invoices := map[string]string{}
	var ids []string
	for i := range connector.LookupBatch {
		id := "INV-" + string(rune('A'+i%26)) + strings.Repeat("x", i/26)
		invoices[id] = `{"total": "1.00"}`
		ids = append(ids, id, id) // twice: asked once
	}
	e := newERP(t, invoices)
	e.delay = 5 * time.Millisecond
	got, err := looker(t, Config{Name: "erp", URL: e.srv.URL, ReconcileURL: e.srv.URL + "/invoices/{invoice_id}"}).
		LookupInvoices(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != connector.LookupBatch || len(e.requests) != connector.LookupBatch {
		t.Errorf("found %d in %d GETs, want %d in as many", len(got), len(e.requests), connector.LookupBatch)
	}
	if m := e.maxIn.Load(); m > lookupConcurrency || m < 2 {
		t.Errorf("%d GETs in flight at most, want 2..%d", m, lookupConcurrency)
	}
}

func TestNewReconciling(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		cfg    Config
		looker bool
		err    string
	}{
		{"deliveries only", Config{}, false, ""},
		{"reconcile_url", Config{ReconcileURL: "https://erp.example/invoices/{invoice_id}"}, true, ""},
		{"with jq", Config{ReconcileURL: "https://erp.example/invoices/{invoice_id}", ReconcileJQ: ".amounts.gross"}, true, ""},
		{"jq without url", Config{ReconcileJQ: ".total"}, false, "rest: erp: reconcile_jq: needs reconcile_url"},
		{"not http", Config{ReconcileURL: "ftp://erp.example/{invoice_id}"}, false, "rest: erp: reconcile_url: want http:// or https://"},
		{"no placeholder", Config{ReconcileURL: "https://erp.example/invoices"}, false, "rest: erp: reconcile_url: want {invoice_id}"},
		{"other placeholder", Config{ReconcileURL: "https://erp.example/{shipment}/{invoice_id}"}, false, "rest: erp: reconcile_url: only {invoice_id}"},
		{"jq syntax", Config{ReconcileURL: "https://erp.example/{invoice_id}", ReconcileJQ: ".total |"}, false, "rest: erp: reconcile_jq: unexpected EOF"},
	} {
		cfg := tt.cfg
		cfg.Name, cfg.URL = "erp", "https://erp.example/hub"
		c, err := New(cfg)
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("%s: %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if _, ok := c.(connector.InvoiceLooker); ok != tt.looker {
			t.Errorf("%s: %T an InvoiceLooker: %v, want %v", tt.name, c, ok, tt.looker)
		}
	}
}

// FuzzReadAnswer: whatever an ERP answers, reading it ends quickly with
// a decimal total or an error, never a panic.
func FuzzReadAnswer(f *testing.F) {
	for _, s := range []string{`{"total":"12.50","currency":"EUR","number":"ERP-1"}`, `{"total":12.5}`, `{"total":1e-3}`,
		`{"total":1e-1000000}`, `{"total":1E+99999999}`, `{"total":null}`, `[]`, `"x"`, `{"total":{"a":1}}`, `{"total":"-0.00"}`} {
		f.Add([]byte(s))
	}
	r := &Reconciling{}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := r.read(context.Background(), body)
		if err == nil && !decimalText.MatchString(e.Total) {
			t.Fatalf("total %q of %q is not decimal text", e.Total, body)
		}
	})
}
