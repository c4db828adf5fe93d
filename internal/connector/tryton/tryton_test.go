package tryton

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/store"
)

func deliver(t *testing.T, c *Connector, e store.EventRecord) (connector.Receipt, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Deliver(ctx, connectortest.Delivery(e))
}

func invoiceRef(t *testing.T, e store.EventRecord) string {
	t.Helper()
	inv, err := parseInvoice(e.Data)
	if err != nil {
		t.Fatal(err)
	}
	return inv.ID
}

func TestNewValidates(t *testing.T) {
	ok := Config{Name: "erp", URL: "http://127.0.0.1:8000/db", Username: "admin", Password: "pw"}
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" for no error
	}{
		{"ok", func(*Config) {}, ""},
		{"no name", func(c *Config) { c.Name = "" }, "tryton: name: required"},
		{"not http", func(c *Config) { c.URL = "ftp://host/db/" }, "tryton: erp: url: want http:// or https://"},
		{"credentials in url", func(c *Config) { c.URL = "http://admin:pw@host/db/" }, "tryton: erp: url: no credentials"},
		{"no database", func(c *Config) { c.URL = "http://host:8000/" }, "tryton: erp: url: want the database in the path"},
		{"no username", func(c *Config) { c.Username = "" }, "tryton: erp: username: required"},
		{"no password", func(c *Config) { c.Password = "" }, "tryton: erp: password: required"},
		{"unknown option", func(c *Config) { c.Options = map[string]string{"jounral": "REV"} }, `tryton: erp: options: unknown key "jounral"`},
		{"empty option", func(c *Config) { c.Options = map[string]string{OptJournal: " "} }, "tryton: erp: options: journal: empty"},
		{"known options", func(c *Config) {
			c.Options = map[string]string{OptCompany: "1", OptJournal: "REV", OptRevenueAccount: "4000",
				OptReceivableAccount: "1200", OptTaxAccount: "2400", OptPaymentTerm: "Net 30"}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			c, err := New(cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.cfg.URL != "http://127.0.0.1:8000/db/" || c.cfg.Timeout != 10*time.Second {
					t.Errorf("defaults: url %q, timeout %s", c.cfg.URL, c.cfg.Timeout)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %v, want one starting %q", err, tt.want)
			}
		})
	}
}

func TestDeliverCreatesPostsAndRepeats(t *testing.T) {
	f := newFake(t)
	var bad []string
	f.locked(func() {
		f.bodyCheck = func(body map[string]json.RawMessage, auth string) {
			keys := make([]string, 0, len(body))
			for k := range body {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, []string{"id", "method", "params"}) {
				bad = append(bad, "body keys "+strings.Join(keys, ","))
			}
			var method string
			_ = json.Unmarshal(body["method"], &method)
			if method != "common.db.login" && auth != "Session YWRtaW46MTprZXkx" { // admin:1:key1
				bad = append(bad, method+": Authorization "+auth)
			}
		}
	})
	c := f.connector(t, nil)
	e := connectortest.Invoice(1)
	r, err := deliver(t, c, e)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := deliver(t, c, e)
	if err != nil {
		t.Fatal(err)
	}
	if r.Ref == "" || r2.Ref != r.Ref {
		t.Fatalf("references %q then %q", r.Ref, r2.Ref)
	}
	if n := f.called("model.account.invoice.create"); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	if n := f.called("model.account.invoice.post"); n != 1 {
		t.Errorf("%d posts, want 1", n)
	}
	if n := f.loginCount(); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
	f.locked(func() {
		for _, b := range bad {
			t.Error(b)
		}
	})
}

func TestDeliverInvoiceValues(t *testing.T) {
	f := newFake(t)
	var created map[string]any
	f.setOverride(func(method string, params []json.RawMessage) *reply {
		if method == "model.account.invoice.create" {
			var vals []map[string]any
			_ = json.Unmarshal(params[0], &vals)
			created = vals[0]
			var ctx map[string]any
			_ = json.Unmarshal(params[len(params)-1], &ctx)
			if ctx["company"] != float64(1) {
				t.Errorf("context %v, want company 1", ctx)
			}
		}
		return nil
	})
	if _, err := deliver(t, f.connector(t, nil), connectortest.Invoice(1)); err != nil {
		t.Fatal(err)
	}
	var got []byte
	f.locked(func() { got, _ = json.Marshal(created) })
	for _, want := range []string{
		`"type":"out"`, `"company":1`, `"journal":3`, `"account":5`, `"payment_term":2`, `"invoice_address":9`,
		`"reference":"` + invoiceRef(t, connectortest.Invoice(1)) + `"`,
		`"description":"Distance 412.5 km","quantity":412.5,"type":"line","unit_price":{"__class__":"Decimal","decimal":"1.20"}`,
		`"amount":{"__class__":"Decimal","decimal":"59.13"},"base":{"__class__":"Decimal","decimal":"591.33"},"description":"Tax","manual":true`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("created %s\nwant it to contain %s", got, want)
		}
	}
}

func TestDeliverRecoversAnEarlierAttempt(t *testing.T) {
	tests := []struct {
		state      string
		wantCalls  []string // of validate_invoice, post, create
		wantRef    string
		permanent  bool
		wantErrMsg string
	}{
		{state: "draft", wantCalls: []string{"validate_invoice", "post"}, wantRef: "INV-101"},
		{state: "validated", wantCalls: []string{"post"}, wantRef: "INV-101"},
		{state: "posted", wantRef: "INV-2026-00007"},
		{state: "paid", wantRef: "INV-2026-00007"},
		{state: "cancelled", permanent: true, wantErrMsg: "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			f := newFake(t)
			e := connectortest.Invoice(3)
			number := ""
			if tt.state == "posted" || tt.state == "paid" || tt.state == "cancelled" {
				number = "INV-2026-00007"
			}
			f.seed(invoiceRef(t, e), tt.state, number)
			r, err := deliver(t, f.connector(t, nil), e)
			if tt.wantErrMsg != "" {
				if err == nil || outbox.IsPermanent(err) != tt.permanent || !strings.Contains(err.Error(), tt.wantErrMsg) {
					t.Fatalf("error %v, want permanent=%v containing %q", err, tt.permanent, tt.wantErrMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Ref != tt.wantRef {
				t.Errorf("ref %q, want %q", r.Ref, tt.wantRef)
			}
			var calls []string
			for _, m := range f.methods() {
				for _, w := range []string{"validate_invoice", "post", "create"} {
					if m == "model.account.invoice."+w {
						calls = append(calls, w)
					}
				}
			}
			if !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("calls %v, want %v", calls, tt.wantCalls)
			}
		})
	}
}

func TestDeliverClassifiesAnswers(t *testing.T) {
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name      string
		rep       reply
		permanent bool
		retryIn   time.Duration // RetryAfter's delay; 0 for none
		contains  string
	}{
		{"user error", reply{err: []any{"UserError", []any{"The value for field \"Account\" is not valid.", "", nil}}}, true, 0, `tryton refused: The value for field "Account" is not valid.`},
		{"user warning", reply{err: []any{"UserWarning", []any{"inv_future", "The invoice date is in the future.", ""}}}, true, 0, "warning: inv_future: The invoice date is in the future."},
		{"long user error kept bounded", reply{err: []any{"UserError", []any{long, "", nil}}}, true, 0, "xxx…"},
		{"concurrency", reply{err: []any{"ConcurrencyException", "Records were modified in the meanwhile"}}, false, 0, "ConcurrencyException"},
		{"rate limit", reply{err: []any{"RateLimitException"}}, false, 0, "RateLimitException"},
		{"server error", reply{err: []any{"could not obtain lock on row in relation \"ir_sequence_strict\"", "Traceback …"}}, false, 0, "could not obtain lock"},
		{"500", reply{status: 500}, false, 0, "tryton answered 500"},
		{"502", reply{status: 502}, false, 0, "tryton answered 502"},
		{"503 retry after", reply{status: 503, header: map[string]string{"Retry-After": "7"}}, false, 7 * time.Second, "503"},
		{"429 retry after", reply{status: 429, header: map[string]string{"Retry-After": "30"}}, false, 30 * time.Second, "429"},
		{"429", reply{status: 429}, false, 0, "tryton answered 429"},
		{"408", reply{status: 408}, false, 0, "tryton answered 408"},
		{"404 no database", reply{status: 404}, false, 0, "tryton answered 404"},
		{"403 after a new login", reply{status: 403}, false, 0, "tryton answered 403"},
		{"400", reply{status: 400}, true, 0, "tryton answered 400"},
		{"413", reply{status: 413}, true, 0, "tryton answered 413"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.setOverride(func(method string, _ []json.RawMessage) *reply {
				if method == "model.account.invoice.create" {
					return &tt.rep
				}
				return nil
			})
			_, err := deliver(t, f.connector(t, nil), connectortest.Invoice(1))
			if err == nil {
				t.Fatal("delivered")
			}
			if outbox.IsPermanent(err) != tt.permanent {
				t.Errorf("permanent = %v, want %v: %v", outbox.IsPermanent(err), tt.permanent, err)
			}
			d, ok := outbox.RetryDelay(err)
			if (tt.retryIn != 0) != ok || d != tt.retryIn {
				t.Errorf("retry delay %s (%v), want %s", d, ok, tt.retryIn)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not say %q", err, tt.contains)
			}
			if len(err.Error()) > maxKept+500 {
				t.Errorf("error of %d bytes: not bounded", len(err.Error()))
			}
		})
	}
}

func TestDeliverRefusesWithoutCalling(t *testing.T) {
	bad := func(edit func(map[string]any)) store.EventRecord {
		e := connectortest.Invoice(1)
		var inv map[string]any
		_ = json.Unmarshal(e.Data, &inv)
		edit(inv)
		e.Data, _ = json.Marshal(inv)
		return e
	}
	tests := []struct {
		name     string
		event    store.EventRecord
		contains string
	}{
		{"milestone", connectortest.Milestone(1), "tryton takes invoice.ready only"},
		{"not json", func() store.EventRecord { e := connectortest.Invoice(1); e.Data = []byte("{"); return e }(), "invoice:"},
		{"lines off", bad(func(inv map[string]any) { inv["subtotal"] = "591.34" }), "lines add up to 591.33, subtotal is 591.34"},
		{"total off", bad(func(inv map[string]any) { inv["total"] = "650.00" }), "is not the total 650.00"},
		{"amount format", bad(func(inv map[string]any) { inv["tax"] = "59.1" }), "tax: want a decimal with two places"},
		{"no customer", bad(func(inv map[string]any) { inv["customer_id"] = "" }), "customer_id: empty"},
		{"no lines", bad(func(inv map[string]any) { inv["lines"] = []any{} }), "no lines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			_, err := deliver(t, f.connector(t, nil), tt.event)
			if !outbox.IsPermanent(err) || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("error %v, want a permanent one saying %q", err, tt.contains)
			}
			if n := len(f.methods()); n != 0 {
				t.Errorf("%d calls to Tryton, want none", n)
			}
		})
	}
}

func TestDeliverUnknownCurrencyIsPermanent(t *testing.T) {
	f := newFake(t)
	e := connectortest.Invoice(1)
	e.Data = []byte(strings.Replace(string(e.Data), `"currency":"EUR"`, `"currency":"XTS"`, 1))
	_, err := deliver(t, f.connector(t, nil), e)
	if !outbox.IsPermanent(err) || !strings.Contains(err.Error(), `currency "XTS" is unknown to the ERP`) {
		t.Fatalf("error %v", err)
	}
	if f.called("model.account.invoice.create") != 0 {
		t.Error("created an invoice")
	}
}

func TestSessionExpiryLogsInOnceAgain(t *testing.T) {
	f := newFake(t)
	c := f.connector(t, nil)
	if _, err := deliver(t, c, connectortest.Invoice(1)); err != nil {
		t.Fatal(err)
	}
	f.expire()
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = deliver(t, c, connectortest.Invoice(10+i))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("delivery %d: %v", i, err)
		}
	}
	if n := f.loginCount(); n != 2 {
		t.Errorf("%d logins, want 2: one at the start, one after the expiry", n)
	}
}

// post is a fresh_session call: trytond answers 401 (and deletes the
// session) when it was idle too long; one new login, and post goes through.
func TestPostWithStaleSession(t *testing.T) {
	f := newFake(t)
	stale := true
	f.setOverride(func(method string, _ []json.RawMessage) *reply {
		if method == "model.account.invoice.post" && stale {
			stale = false
			f.expire()
			return &reply{status: http.StatusUnauthorized}
		}
		return nil
	})
	r, err := deliver(t, f.connector(t, nil), connectortest.Invoice(1))
	if err != nil {
		t.Fatal(err)
	}
	if r.Ref == "" || f.loginCount() != 2 || f.called("model.account.invoice.post") != 2 {
		t.Errorf("ref %q, %d logins, %d posts; want a ref, 2 and 2", r.Ref, f.loginCount(), f.called("model.account.invoice.post"))
	}
}

func TestLoginRefusedIsRetryableAndHidesThePassword(t *testing.T) {
	f := newFake(t)
	c, err := New(Config{Name: "erp", URL: f.srv.URL + "/db/", Username: "admin", Password: "wrong-" + fakePassword})
	if err != nil {
		t.Fatal(err)
	}
	_, err = deliver(t, c, connectortest.Invoice(1))
	if err == nil || outbox.IsPermanent(err) {
		t.Fatalf("error %v, want a retryable one", err)
	}
	if !strings.Contains(err.Error(), "login as \"admin\" refused") || strings.Contains(err.Error(), fakePassword) {
		t.Errorf("error %q", err)
	}
}

func TestDeliverTimesOut(t *testing.T) {
	f := newFake(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.setOverride(func(method string, _ []json.RawMessage) *reply {
		if method == "model.account.invoice.search_read" {
			<-release
		}
		return nil
	})
	c, err := New(Config{Name: "erp", URL: f.srv.URL + "/db/", Username: "admin", Password: fakePassword, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = deliver(t, c, connectortest.Invoice(1))
	if err == nil || outbox.IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want a retryable deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %s: the timeout is 100ms", d)
	}
}

func TestDefaultsNeedOptions(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		result   any
		opts     map[string]string
		contains string
	}{
		{"several companies", "model.company.company.search_read", []any{map[string]any{"id": 1}, map[string]any{"id": 2}}, nil, "set option company"},
		{"unknown company", "model.company.company.search_read", []any{}, map[string]string{OptCompany: "ACME"}, `no company "ACME"`},
		{"several journals", "model.account.journal.search_read", []any{map[string]any{"id": 1}, map[string]any{"id": 2}}, nil, "set option journal"},
		{"no revenue account", "model.account.account.search_read", []any{}, nil, "the ERP has no revenue account: create one or set option revenue_account"},
		{"unknown revenue account", "model.account.account.search_read", []any{}, map[string]string{OptRevenueAccount: "7000"}, `revenue account "7000" (option revenue_account) is not in the ERP`},
		{"several taxes", "model.account.tax.search_read", []any{map[string]any{"id": 1, "invoice_account": 7}, map[string]any{"id": 2, "invoice_account": 8}}, nil, "several taxes: set option tax_account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.setOverride(func(method string, _ []json.RawMessage) *reply {
				if method == tt.method {
					return &reply{result: tt.result}
				}
				return nil
			})
			c := f.connector(t, tt.opts)
			_, err := deliver(t, c, connectortest.Invoice(1))
			if err == nil || outbox.IsPermanent(err) || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("error %v, want a retryable one saying %q", err, tt.contains)
			}
			// Not cached: once the ERP is set up, it goes through.
			f.setOverride(nil)
			if _, err := deliver(t, c, connectortest.Invoice(1)); err != nil {
				t.Fatalf("after the fix: %v", err)
			}
		})
	}
}

func TestCredit(t *testing.T) {
	tests := []struct {
		name     string
		limit    any
		fields   map[string]any
		customer string
		want     connector.Credit
		unknown  bool
	}{
		{name: "no limit set", customer: "CUST-1", want: connector.Credit{CustomerID: "CUST-1", Currency: "EUR", Balance: "650.46"}},
		{name: "limit", customer: "CUST-1", limit: map[string]any{"__class__": "Decimal", "decimal": "5000"},
			want: connector.Credit{CustomerID: "CUST-1", Currency: "EUR", Balance: "650.46", Limit: "5000.00"}},
		{name: "no credit limit module", customer: "CUST-1", fields: map[string]any{},
			want: connector.Credit{CustomerID: "CUST-1", Currency: "EUR", Balance: "650.46"}},
		{name: "unknown", customer: "CUST-404", unknown: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.addParty("CUST-1", 42)
			f.setOverride(func(method string, params []json.RawMessage) *reply {
				switch method {
				case "model.party.party.fields_get":
					if tt.fields != nil {
						return &reply{result: tt.fields}
					}
				case "model.party.party.search_read":
					var fields []string
					_ = json.Unmarshal(params[4], &fields)
					if tt.fields != nil && slices.Contains(fields, "credit_limit_amount") {
						t.Errorf("read credit_limit_amount, a field the ERP lacks")
					}
					return &reply{result: []any{map[string]any{"id": 42, "receivable": map[string]any{"__class__": "Decimal", "decimal": "650.46"}, "credit_limit_amount": tt.limit}}}
				}
				return nil
			})
			got, err := f.connector(t, nil).Credit(context.Background(), tt.customer)
			if tt.unknown {
				if !errors.Is(err, connector.ErrUnknownCustomer) {
					t.Fatalf("error %v, want ErrUnknownCustomer", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("credit %+v, want %+v", got, tt.want)
			}
		})
	}
}
