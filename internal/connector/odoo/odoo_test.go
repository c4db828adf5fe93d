package odoo

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
	"github.com/crossdockhq/crossdock/internal/connector/erpinvoice"
	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/store"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the requests sent now")

var apis = []string{APIJSON2, APIJSONRPC}

func open(t *testing.T, f *fakeOdoo, api string) *Connector {
	t.Helper()
	c, err := New(Config{Name: "erp", URL: f.srv.URL, Username: f.login, Password: f.apiKey, Timeout: 5 * time.Second,
		Options: map[string]string{"api": api, "database": f.db}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func invoiceID(t *testing.T, e store.EventRecord) string {
	t.Helper()
	var inv struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(e.Data, &inv); err != nil {
		t.Fatal(err)
	}
	return inv.ID
}

// closedURL is an address nothing listens on.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	_ = l.Close()
	return u
}

func TestContract(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFakeOdoo(t)
			down := closedURL(t)
			connectortest.Run(t, connectortest.Destination{
				Connector: func(t *testing.T) connector.Connector { return open(t, f, api) },
				Down: func(t *testing.T) connector.Connector {
					c, err := New(Config{Name: "erp", URL: down, Username: f.login, Password: f.apiKey, Timeout: 2 * time.Second,
						Options: map[string]string{"api": api, "database": f.db}})
					if err != nil {
						t.Fatal(err)
					}
					return c
				},
				Held:  func(t *testing.T, d connector.Delivery) int { return f.held(invoiceID(t, d.Event)) },
				Event: connectortest.Invoice,
				// GBP is archived in this Odoo: no invoice can be made in it.
				Refused: func() store.EventRecord {
					e := connectortest.Invoice(900)
					e.Data = []byte(strings.Replace(string(e.Data), `"currency":"EUR"`, `"currency":"GBP"`, 1))
					return e
				},
				WantRef: true,
			})
		})
	}
}

// fixedInvoice is an invoice with ids that do not change between runs.
func fixedInvoice() store.EventRecord {
	e := connectortest.Invoice(1)
	var inv map[string]any
	_ = json.Unmarshal(e.Data, &inv)
	inv["id"], inv["shipment_id"], inv["customer_id"] = "INV-2026-000042", "SHP-2026-0042", "CUST-42"
	inv["lines"] = append(inv["lines"].([]any), map[string]any{"code": "detention", "description": "Detention 1 h 20 min",
		"quantity": "1.333", "unit_price": "45.00", "amount": "60.00"})
	inv["subtotal"], inv["tax"], inv["total"] = "651.33", "65.13", "716.46"
	e.Data, _ = json.Marshal(inv)
	e.ID, e.CorrelationID = "inv-SHP-2026-0042", "corr-SHP-2026-0042"
	return e
}

// The requests a delivery makes, compared with the transcripts in
// testdata: the protocol as Odoo documents it, kept in review.
func TestDeliverTranscript(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFakeOdoo(t)
			c := open(t, f, api)
			d := connectortest.Delivery(fixedInvoice())
			r, err := c.Deliver(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			if r.Ref != "INV/2026/00001" {
				t.Errorf("ref %q", r.Ref)
			}
			m := f.moves("INV-2026-000042")
			if len(m) != 1 || m[0]["state"] != "posted" || m[0]["amount_total"] != 716.46 || m[0]["amount_tax"] != 0.0 {
				t.Fatalf("moves %v", m)
			}
			for _, h := range f.headers {
				if h.Get("X-Correlation-ID") != "corr-SHP-2026-0042" {
					t.Errorf("X-Correlation-ID %q", h.Get("X-Correlation-ID"))
				}
			}
			got := strings.Join(f.transcript, "\n")
			path := filepath.Join("testdata", "deliver_"+api+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("requests differ from %s (go test -update to accept):\n%s", path, got)
			}
		})
	}
}

func TestLinePricing(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		l                  erpinvoice.Line
		label, qty, amount string
	}{
		{erpinvoice.Line{Description: "Distance 412.5 km", Quantity: "412.5", UnitPrice: "1.20", Amount: "495.00"}, "Distance 412.5 km", "412.5", "1.20"},
		{erpinvoice.Line{Description: "Detention", Quantity: "1.333", UnitPrice: "45.00", Amount: "60.00"}, "Detention (1.333 × 45.00)", "1", "60.00"},
		{erpinvoice.Line{Code: "stop", Quantity: "2", UnitPrice: "25.00", Amount: "50.00"}, "stop", "2", "25.00"},
	} {
		label, qty, price := priced(c.l)
		if label != c.label || string(qty) != c.qty || string(price) != c.amount {
			t.Errorf("%+v: %q %s × %s", c.l, label, qty, price)
		}
	}
}

func TestNewNamesTheBadField(t *testing.T) {
	t.Parallel()
	good := Config{Name: "erp", URL: "https://odoo.example", Username: "api", Password: "k", Options: map[string]string{"database": "db"}}
	for _, c := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.Name = "" }, "odoo: name: required"},
		{func(c *Config) { c.URL = "ftp://odoo.example" }, "odoo: erp: url: want http:// or https://"},
		{func(c *Config) { c.URL = "https://api:secret@odoo.example" }, "odoo: erp: url: no credentials"},
		{func(c *Config) { c.Password = "" }, "odoo: erp: password: required"},
		{func(c *Config) { c.Options = map[string]string{"api": "xmlrpc"} }, `odoo: erp: options: api: want json2 or jsonrpc, got "xmlrpc"`},
		{func(c *Config) { c.Options = map[string]string{"journal": "1"} }, "odoo: erp: options: journal: unknown"},
		{func(c *Config) { c.Options = map[string]string{"api": "jsonrpc"} }, "odoo: erp: options: database: required by api jsonrpc"},
		{func(c *Config) { c.Username = ""; c.Options = map[string]string{"api": "jsonrpc", "database": "db"} }, "odoo: erp: username: required by api jsonrpc"},
	} {
		cfg := good
		c.change(&cfg)
		_, err := New(cfg)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%v, want %q", err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("a secret in %v", err)
		}
	}
	if _, err := New(good); err != nil {
		t.Fatal(err)
	}
}

// The documented error bodies, each classified as the outbox needs.
func TestClassifiesErrorBodies(t *testing.T) {
	t.Parallel()
	type want struct {
		permanent, auth bool
		message         string
	}
	for file, c := range map[string]struct {
		status int
		want
	}{
		"json2_401_invalid_apikey.json":   {401, want{false, true, "Invalid apikey"}},
		"json2_422_validation_error.json": {422, want{true, false, "a mandatory field is not set"}},
		"json2_422_user_error.json":       {422, want{true, false, "lock date 2025-12-31"}},
		"json2_404_missing_error.json":    {404, want{false, false, "Record does not exist"}},
		"json2_403_access_error.json":     {403, want{false, false, "not allowed to create"}},
		"json2_500_value_error.json":      {500, want{true, false, "Invalid field 'invoice_lines'"}},
		"json2_500_server_error.json":     {500, want{false, false, "could not serialize"}},
		"json2_404_not_found.json":        {404, want{true, false, "URL was not found"}},
		"jsonrpc_access_denied.json":      {200, want{false, true, "Access Denied"}},
		"jsonrpc_validation_error.json":   {200, want{true, false, "currency (id 3) is not active"}},
		"jsonrpc_user_error.json":         {200, want{true, false, "add a line before posting"}},
		"jsonrpc_session_expired.json":    {200, want{false, true, "Session expired"}},
		"jsonrpc_server_error.json":       {200, want{false, false, "terminating connection"}},
		"proxy_502.html":                  {502, want{false, false, "502 Bad Gateway"}},
	} {
		body, err := os.ReadFile(filepath.Join("testdata", "errors", file))
		if err != nil {
			t.Fatal(err)
		}
		e, ok := parseError(body)
		if !ok {
			e = rpcError{Message: bound(string(body), maxKept)}
		}
		if strings.HasSuffix(file, ".json") && !ok {
			t.Errorf("%s: not parsed", file)
		}
		got := classify("account.move/create", c.status, http.Header{}, e, time.Now())
		if outbox.IsPermanent(got) != c.permanent || errors.Is(got, errAuth) != c.auth {
			t.Errorf("%s: permanent %v auth %v: %v", file, outbox.IsPermanent(got), errors.Is(got, errAuth), got)
		}
		if !strings.Contains(got.Error(), c.message) || strings.Contains(got.Error(), "Traceback") {
			t.Errorf("%s: message %q", file, got)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		status int
		header string
		delay  time.Duration
		ok     bool
	}{
		{429, "30", 30 * time.Second, true},
		{503, now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{503, "soon", 0, false},
		{502, "30", 0, false},
	} {
		err := classify("op", c.status, http.Header{"Retry-After": {c.header}}, rpcError{Message: "busy"}, now)
		d, ok := outbox.RetryDelay(err)
		if ok != c.ok || d != c.delay || outbox.IsPermanent(err) {
			t.Errorf("%d %q: %v %v (%v)", c.status, c.header, d, ok, err)
		}
	}
}

// Errors met while delivering, through the fake.
func TestDeliverErrors(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFakeOdoo(t)
			c := open(t, f, api)
			ctx := context.Background()

			f.fail(injection{op: "account.move/create", times: 1, err: validationError("The field 'Partner' is required.")})
			d := connectortest.Delivery(connectortest.Invoice(7))
			_, err := c.Deliver(ctx, d)
			if !outbox.IsPermanent(err) || !strings.Contains(err.Error(), "The field 'Partner' is required.") {
				t.Errorf("validation error: %v", err)
			}
			if n := f.held(invoiceID(t, d.Event)); n != 0 {
				t.Errorf("held %d", n)
			}

			f.fail(injection{op: "account.move/search_read", times: 1, status: 503, raw: "maintenance", header: http.Header{"Retry-After": {"7"}}})
			_, err = c.Deliver(ctx, d)
			if delay, ok := outbox.RetryDelay(err); !ok || delay != 7*time.Second {
				t.Errorf("503: %v %v (%v)", delay, ok, err)
			}

			f.fail(injection{op: "account.move/search_read", times: 1, status: 502, raw: "<html>502 Bad Gateway</html>"})
			if _, err = c.Deliver(ctx, d); err == nil || outbox.IsPermanent(err) {
				t.Errorf("502: %v", err)
			}

			if _, err := c.Deliver(ctx, connectortest.Delivery(connectortest.Milestone(1))); !outbox.IsPermanent(err) {
				t.Errorf("a milestone: %v", err)
			}
			bad := connectortest.Invoice(8)
			bad.Data = []byte(strings.Replace(string(bad.Data), `"total":"650.46"`, `"total":"650.47"`, 1))
			calls := len(f.calls)
			if _, err := c.Deliver(ctx, connectortest.Delivery(bad)); !outbox.IsPermanent(err) || !strings.Contains(err.Error(), "not the total") {
				t.Errorf("an invoice that does not add up: %v", err)
			}
			if len(f.calls) != calls {
				t.Error("an invoice that does not add up reached Odoo")
			}
			if _, err := c.Deliver(ctx, d); err != nil {
				t.Fatalf("after the errors: %v", err)
			}
		})
	}
}

// Wrong credentials are retried, and no error carries a secret.
func TestWrongCredentials(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFakeOdoo(t)
			const wrong = "wrong-key-9876543210"
			c, err := New(Config{Name: "erp", URL: f.srv.URL, Username: f.login, Password: wrong,
				Options: map[string]string{"api": api, "database": f.db}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(1)))
			if err == nil || outbox.IsPermanent(err) || !errors.Is(err, errAuth) {
				t.Fatalf("wrong key: %v", err)
			}
			if strings.Contains(err.Error(), wrong) {
				t.Fatalf("the key in %v", err)
			}
			if _, err := c.Credit(context.Background(), "CUST-CREDIT"); err == nil || strings.Contains(err.Error(), wrong) || outbox.IsPermanent(err) {
				t.Fatalf("credit with a wrong key: %v", err)
			}
		})
	}
}

// An attempt that created the draft but did not post it (a timeout, a
// lost answer, a crash) is finished by the next: the draft is posted,
// never duplicated.
func TestDraftRecovery(t *testing.T) {
	for _, api := range apis {
		for _, c := range []struct {
			name string
			in   injection
		}{
			{"PostFails", injection{op: "account.move/action_post", times: 1, status: 502, raw: "bad gateway"}},
			{"CreateAnswerLost", injection{op: "account.move/create", times: 1, after: true, status: 504, raw: "gateway timeout"}},
		} {
			t.Run(api+"/"+c.name, func(t *testing.T) {
				f := newFakeOdoo(t)
				d := connectortest.Delivery(connectortest.Invoice(3))
				id := invoiceID(t, d.Event)
				f.fail(c.in)
				if _, err := open(t, f, api).Deliver(context.Background(), d); err == nil || outbox.IsPermanent(err) {
					t.Fatalf("first attempt: %v", err)
				}
				if m := f.moves(id); len(m) != 1 || m[0]["state"] != "draft" || m[0]["name"] != "/" {
					t.Fatalf("after the first attempt: %v", m)
				}
				d.Attempt = 2
				r, err := open(t, f, api).Deliver(context.Background(), d)
				if err != nil {
					t.Fatal(err)
				}
				m := f.moves(id)
				if len(m) != 1 || m[0]["state"] != "posted" || r.Ref != m[0]["name"] {
					t.Fatalf("ref %q, moves %v", r.Ref, m)
				}
			})
		}
	}
}

// Odoo refusing to post keeps the draft for an operator, and says so.
func TestPostRefused(t *testing.T) {
	f := newFakeOdoo(t)
	f.lockDate = "2026-12-31"
	d := connectortest.Delivery(connectortest.Invoice(5))
	_, err := open(t, f, APIJSON2).Deliver(context.Background(), d)
	if !outbox.IsPermanent(err) || !strings.Contains(err.Error(), "lock date 2026-12-31") || !strings.Contains(err.Error(), "kept") {
		t.Fatalf("%v", err)
	}
	if m := f.moves(invoiceID(t, d.Event)); len(m) != 1 || m[0]["state"] != "draft" {
		t.Fatalf("moves %v", m)
	}
	// The operator moves the lock date; a replay posts the same draft.
	f.mu.Lock()
	f.lockDate = ""
	f.mu.Unlock()
	if _, err := open(t, f, APIJSON2).Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if m := f.moves(invoiceID(t, d.Event)); len(m) != 1 || m[0]["state"] != "posted" {
		t.Fatalf("moves %v", m)
	}
}

// A draft someone else made under our ref with another total is not
// posted: the ERP would then hold an invoice that is not ours.
func TestForeignDraftWithAnotherTotal(t *testing.T) {
	f := newFakeOdoo(t)
	d := connectortest.Delivery(connectortest.Invoice(6))
	f.mu.Lock()
	f.models["account.move"] = append(f.models["account.move"], map[string]any{"id": int64(50), "move_type": "out_invoice",
		"ref": invoiceID(t, d.Event), "name": "/", "state": "draft", "amount_total": 100.0,
		"invoice_line_ids": []map[string]any{{"name": "x"}}})
	f.mu.Unlock()
	_, err := open(t, f, APIJSON2).Deliver(context.Background(), d)
	if !outbox.IsPermanent(err) || !strings.Contains(err.Error(), "total Odoo computes is 100.00, ours is 650.46") {
		t.Fatalf("%v", err)
	}
	if m := f.moves(invoiceID(t, d.Event)); len(m) != 1 || m[0]["state"] != "draft" {
		t.Fatalf("moves %v", m)
	}
}

// jsonrpc logs in once for all goroutines, and again when Odoo stops
// taking the session's uid (the user was recreated).
func TestJSONRPCSession(t *testing.T) {
	f := newFakeOdoo(t)
	c := open(t, f, APIJSONRPC)
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(200+i)))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%d: %v", i, err)
		}
	}
	f.mu.Lock()
	logins := f.logins
	f.uid = 7
	f.mu.Unlock()
	if logins != 1 {
		t.Fatalf("%d logins for 16 deliveries, want 1", logins)
	}
	if _, err := c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(300))); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.logins != 2 || c.uid.Load() != 7 {
		t.Fatalf("%d logins, uid %d: want a second login and uid 7", f.logins, c.uid.Load())
	}
}

func TestCredit(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFakeOdoo(t)
			c := open(t, f, api)
			got, err := c.Credit(context.Background(), "CUST-CREDIT")
			want := connector.Credit{CustomerID: "CUST-CREDIT", Currency: "EUR", Limit: "5000.00", Balance: "1250.50"}
			if err != nil || got != want {
				t.Errorf("%+v %v, want %+v", got, err, want)
			}
			got, err = c.Credit(context.Background(), "CUST-ARCHIVED")
			want = connector.Credit{CustomerID: "CUST-ARCHIVED", Currency: "EUR", Balance: "0.00"}
			if err != nil || got != want {
				t.Errorf("archived: %+v %v, want %+v", got, err, want)
			}
			if _, err := c.Credit(context.Background(), "CUST-NONE"); !errors.Is(err, connector.ErrUnknownCustomer) {
				t.Errorf("unknown: %v", err)
			}
		})
	}
}
