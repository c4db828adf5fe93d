package odata

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

var options = map[string]string{"sales_organization": "1710", "distribution_channel": "10", "division": "00", "material": "SRV_FREIGHT"}

func config(url, user, password string) Config {
	return Config{Name: "erp", URL: url + servicePath, Username: user, Password: password, Timeout: 5 * time.Second, Options: options}
}

func open(t *testing.T, cfg Config) *Connector {
	t.Helper()
	c, err := New(cfg)
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

func TestContract(t *testing.T) {
	f := newFakeSAP(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	_ = l.Close()
	connectortest.Run(t, connectortest.Destination{
		Connector: func(t *testing.T) connector.Connector { return open(t, config(f.srv.URL, f.user, f.password)) },
		Down: func(t *testing.T) connector.Connector {
			cfg := config(down, f.user, f.password)
			cfg.Timeout = 2 * time.Second
			return open(t, cfg)
		},
		Held:  func(t *testing.T, d connector.Delivery) int { return f.held(invoiceID(t, d.Event)) },
		Event: connectortest.Invoice,
		// CUST-9 is no customer of this SAP system: 400.
		Refused: func() store.EventRecord {
			e := connectortest.Invoice(900)
			e.Data = []byte(strings.Replace(string(e.Data), `"customer_id":"CUST-0"`, `"customer_id":"CUST-9"`, 1))
			return e
		},
		WantRef: true,
	})
}

// fixedInvoice is an invoice with ids that do not change between runs.
func fixedInvoice() store.EventRecord {
	e := connectortest.Invoice(1)
	var inv map[string]any
	_ = json.Unmarshal(e.Data, &inv)
	inv["id"], inv["shipment_id"], inv["customer_id"] = "INV-2026-000042", "SHP-2026-0042", "17100001"
	inv["lines"] = append(inv["lines"].([]any), map[string]any{"code": "detention", "description": "Detention at the consignee's dock door 1 h 20 min",
		"quantity": "1.333", "unit_price": "45.00", "amount": "60.00"})
	inv["subtotal"], inv["tax"], inv["total"] = "651.33", "65.13", "716.46"
	e.Data, _ = json.Marshal(inv)
	e.ID, e.CorrelationID = "inv-SHP-2026-0042", "corr-SHP-2026-0042"
	return e
}

// The requests a delivery makes, compared with the transcript in
// testdata: the protocol and the field mapping, kept in review.
func TestDeliverTranscript(t *testing.T) {
	f := newFakeSAP(t)
	cfg := config(f.srv.URL, f.user, f.password)
	cfg.Options = map[string]string{"sales_organization": "1710", "distribution_channel": "10", "division": "00",
		"material": "SRV_FREIGHT", "material.fuel_surcharge": "SRV_FUEL", "unit.distance": "KM", "sap_client": "100"}
	r, err := open(t, cfg).Deliver(context.Background(), connectortest.Delivery(fixedInvoice()))
	if err != nil {
		t.Fatal(err)
	}
	o := f.order("INV-2026-000042")
	if o == nil || r.Ref != o["SalesOrder"] || o["TotalNetAmount"] != "651.33" {
		t.Fatalf("ref %q, order %v", r.Ref, o)
	}
	for _, h := range f.headers {
		if h.Get("X-Correlation-ID") != "corr-SHP-2026-0042" {
			t.Errorf("X-Correlation-ID %q", h.Get("X-Correlation-ID"))
		}
	}
	got := strings.Join(f.transcript, "\n")
	path := filepath.Join("testdata", "deliver.golden")
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
}

func TestLinePricing(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		l                erpinvoice.Line
		text, qty, price string
	}{
		{erpinvoice.Line{Description: "Distance 412.5 km", Quantity: "412.5", UnitPrice: "1.20", Amount: "495.00"}, "Distance 412.5 km", "412.5", "1.20"},
		{erpinvoice.Line{Description: "Detention", Quantity: "1.333", UnitPrice: "45.00", Amount: "60.00"}, "Detention (1.333 × 45.00)", "1", "60.00"},
		{erpinvoice.Line{Description: "Waiting", Quantity: "0.0625", UnitPrice: "80.00", Amount: "5.00"}, "Waiting (0.0625 × 80.00)", "1", "5.00"},
		{erpinvoice.Line{Code: "stop", Quantity: "2", UnitPrice: "25.00", Amount: "50.00"}, "stop", "2", "25.00"},
		{erpinvoice.Line{Description: "Detention at the consignee's dock door 1 h 20 min", Quantity: "1.333", UnitPrice: "45.00", Amount: "60.00"},
			"Detention at the consig… (1.333 × 45.00)", "1", "60.00"},
		{erpinvoice.Line{Description: "Waiting time at the shipper's yard, two drivers", Quantity: "2", UnitPrice: "80.00", Amount: "160.00"},
			"Waiting time at the shipper's yard, two…", "2", "80.00"},
	} {
		text, qty, price := priced(c.l, 40)
		if text != c.text || qty != c.qty || price != c.price {
			t.Errorf("%+v: %q %s × %s", c.l, text, qty, price)
		}
	}
}

func TestNewNamesTheBadField(t *testing.T) {
	t.Parallel()
	good := Config{Name: "erp", URL: "https://s4.example" + servicePath, Username: "u", Password: "p", Options: options}
	with := func(k, v string) map[string]string {
		o := map[string]string{}
		for a, b := range options {
			o[a] = b
		}
		if v == "" {
			delete(o, k)
		} else {
			o[k] = v
		}
		return o
	}
	for _, c := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.Name = "" }, "odata: name: required"},
		{func(c *Config) { c.URL = "s4.example" }, "odata: erp: url: want http:// or https://"},
		{func(c *Config) { c.URL = "https://u:secret@s4.example" }, "odata: erp: url: no credentials"},
		{func(c *Config) { c.URL = "https://s4.example/x?sap-client=100" }, "odata: erp: url: want the service root"},
		{func(c *Config) { c.Password = "" }, "odata: erp: password: required"},
		{func(c *Config) { c.Options = with("division", "") }, "odata: erp: options: division: required"},
		{func(c *Config) { c.Options = with("material", "") }, "odata: erp: options: material: required"},
		{func(c *Config) { c.Options = with("plant", "1710") }, "odata: erp: options: plant: unknown"},
		{func(c *Config) { c.Options = with("entity_set", "A_SalesOrder?$x") }, `odata: erp: options: entity_set: "A_SalesOrder?$x" is not an SAP name`},
		{func(c *Config) { c.Options = with("sap_client", "1") }, `odata: erp: options: sap_client: want three digits, got "1"`},
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
	cfg := good
	cfg.Options = with("material.fuel_surcharge", "SRV_FUEL")
	if _, err := New(cfg); err != nil {
		t.Fatal(err)
	}
}

func TestClassifiesErrorBodies(t *testing.T) {
	t.Parallel()
	for file, c := range map[string]struct {
		status          int
		permanent, auth bool
		message         string
	}{
		"v2_400_sold_to_party.json":    {400, true, false, "V1/320: Sold-to party CUST-9 not maintained for sales area 1710 10 00 (details: V1/555 The sales document is not yet complete: Edit data [SoldToParty])"},
		"v2_400_property_invalid.json": {400, true, false, "/IWBEP/CM_MGW_RT/020: Property 'InvoiceTotal' is invalid"},
		"v2_500_runtime.json":          {500, false, false, "unknown internal server error occurred (details: /IWBEP/CX_MGW_TECH_EXCEPTION Lock table overflow)"},
		"v2_400_too_long.xml":          {400, true, false, "/IWBEP/CM_MGW_RT/021: Value 'INV-2026-000000000000000000000000000042' of property 'PurchaseOrderByCustomer' is too long (max. 35)"},
		"v4_400_validation.json":       {400, true, false, "SALES_ORDER/042: The sales document is not yet complete (details: V1/315 Enter a value for field OrganizationDivision [OrganizationDivision])"},
		"v2_403_no_authorization.json": {403, false, true, "or no authorization"},
		"logon_401.html":               {401, false, true, "Logon failed"},
		"csrf_403.txt":                 {403, false, true, "CSRF token validation failed"},
	} {
		body, err := os.ReadFile(filepath.Join("testdata", "errors", file))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := parseError(body); ok != (strings.HasSuffix(file, ".json") || strings.HasSuffix(file, ".xml")) {
			t.Errorf("%s: parsed %v", file, ok)
		}
		got := classify("POST A_SalesOrder", c.status, http.Header{}, body, time.Now())
		if outbox.IsPermanent(got) != c.permanent || errors.Is(got, errAuth) != c.auth {
			t.Errorf("%s: permanent %v auth %v: %v", file, outbox.IsPermanent(got), errors.Is(got, errAuth), got)
		}
		if !strings.Contains(got.Error(), c.message) || strings.Contains(got.Error(), "Error_Resolution") {
			t.Errorf("%s: %q", file, got)
		}
	}
	for _, c := range []struct {
		status int
		header string
		delay  time.Duration
		ok     bool
	}{
		{429, "30", 30 * time.Second, true}, {503, "7", 7 * time.Second, true}, {503, "later", 0, false}, {500, "30", 0, false},
	} {
		err := classify("op", c.status, http.Header{"Retry-After": {c.header}}, nil, time.Now())
		if d, ok := outbox.RetryDelay(err); d != c.delay || ok != c.ok || outbox.IsPermanent(err) {
			t.Errorf("%d %q: %v %v", c.status, c.header, d, ok)
		}
	}
}

// A session SAP dropped (a restart) answers 403 x-csrf-token: Required:
// the connector fetches a token once more and posts again.
func TestCSRFRefetch(t *testing.T) {
	f := newFakeSAP(t)
	c := open(t, config(f.srv.URL, f.user, f.password))
	ctx := context.Background()
	if _, err := c.Deliver(ctx, connectortest.Delivery(connectortest.Invoice(1))); err != nil {
		t.Fatal(err)
	}
	f.expire()
	d := connectortest.Delivery(connectortest.Invoice(2))
	if _, err := c.Deliver(ctx, d); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	fetches, posts := f.fetches, f.posts
	f.mu.Unlock()
	if fetches != 2 || posts != 3 || f.held(invoiceID(t, d.Event)) != 1 {
		t.Fatalf("%d fetches, %d posts, held %d: want 2, 3 and 1", fetches, posts, f.held(invoiceID(t, d.Event)))
	}
	// A token refused even when fresh is retried later, not dead.
	required := injection{op: "POST A_SalesOrder", times: 2, status: 403, header: http.Header{"X-Csrf-Token": {"Required"}}, body: "CSRF token validation failed"}
	f.fail(required)
	_, err := c.Deliver(ctx, connectortest.Delivery(connectortest.Invoice(3)))
	if err == nil || outbox.IsPermanent(err) || !strings.Contains(err.Error(), "freshly fetched") {
		t.Fatalf("%v", err)
	}
}

// Sixteen deliveries at once on a new connector fetch one token.
func TestOneTokenFetchForConcurrentDeliveries(t *testing.T) {
	f := newFakeSAP(t)
	c := open(t, config(f.srv.URL, f.user, f.password))
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
	defer f.mu.Unlock()
	if f.fetches != 1 || len(f.orders) != 16 {
		t.Fatalf("%d token fetches, %d orders: want 1 and 16", f.fetches, len(f.orders))
	}
}

// An order SAP committed whose answer was lost is found, not made twice.
func TestAnswerLost(t *testing.T) {
	f := newFakeSAP(t)
	d := connectortest.Delivery(connectortest.Invoice(4))
	f.fail(injection{op: "POST A_SalesOrder", times: 1, after: true, status: 504, body: "<html>504 Gateway Time-out</html>"})
	if _, err := open(t, config(f.srv.URL, f.user, f.password)).Deliver(context.Background(), d); err == nil || outbox.IsPermanent(err) {
		t.Fatalf("first attempt: %v", err)
	}
	d.Attempt = 2
	r, err := open(t, config(f.srv.URL, f.user, f.password)).Deliver(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if o := f.order(invoiceID(t, d.Event)); f.held(invoiceID(t, d.Event)) != 1 || o["SalesOrder"] != r.Ref {
		t.Fatalf("ref %q, held %d", r.Ref, f.held(invoiceID(t, d.Event)))
	}
}

func TestDeliverErrors(t *testing.T) {
	f := newFakeSAP(t)
	ctx := context.Background()
	c := open(t, config(f.srv.URL, f.user, f.password))
	d := connectortest.Delivery(connectortest.Invoice(5))

	f.fail(injection{op: "GET A_SalesOrder", times: 1, status: 503, header: http.Header{"Retry-After": {"7"}}, body: "Service unavailable"})
	if _, err := c.Deliver(ctx, d); func() bool { dl, ok := outbox.RetryDelay(err); return !ok || dl != 7*time.Second }() {
		t.Errorf("503: %v", err)
	}
	f.fail(injection{op: "POST A_SalesOrder", times: 1, status: 429, header: http.Header{"Retry-After": {"30"}}})
	if _, err := c.Deliver(ctx, d); func() bool { dl, ok := outbox.RetryDelay(err); return !ok || dl != 30*time.Second }() {
		t.Errorf("429: %v", err)
	}
	if _, err := c.Deliver(ctx, connectortest.Delivery(connectortest.Milestone(1))); !outbox.IsPermanent(err) {
		t.Errorf("a milestone: %v", err)
	}
	long := connectortest.Invoice(6)
	long.Data = []byte(strings.Replace(string(long.Data), `"customer_id":"CUST-1"`, `"customer_id":"CUSTOMER-000000001"`, 1))
	f.mu.Lock()
	requests := len(f.transcript)
	f.mu.Unlock()
	if _, err := c.Deliver(ctx, connectortest.Delivery(long)); !outbox.IsPermanent(err) || !strings.Contains(err.Error(), "SoldToParty takes 10") {
		t.Errorf("a customer id SAP cannot hold: %v", err)
	}
	f.mu.Lock()
	if len(f.transcript) != requests {
		t.Error("a customer id SAP cannot hold reached SAP")
	}
	f.mu.Unlock()
	if _, err := c.Deliver(ctx, d); err != nil {
		t.Fatalf("after the errors: %v", err)
	}
	if n := f.held(invoiceID(t, d.Event)); n != 1 {
		t.Fatalf("held %d", n)
	}
}

// Refused credentials are retried, never dead, and not in the error.
func TestCredentials(t *testing.T) {
	f := newFakeSAP(t)
	const wrong = "wrong-password-9876543210"
	for _, cfg := range []Config{config(f.srv.URL, f.user, wrong), config(f.srv.URL, "", wrong)} {
		_, err := open(t, cfg).Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(7)))
		if err == nil || outbox.IsPermanent(err) || !errors.Is(err, errAuth) || strings.Contains(err.Error(), wrong) {
			t.Errorf("user %q: %v", cfg.Username, err)
		}
	}
	// With no username, the password is a bearer token.
	if _, err := open(t, config(f.srv.URL, "", f.bearer)).Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(8))); err != nil {
		t.Fatalf("bearer: %v", err)
	}
}
