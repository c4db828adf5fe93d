package tryton

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/store"
)

// liveConfig is the configuration of the Tryton that .ci/tryton/start runs.
func liveConfig(t *testing.T) Config {
	t.Helper()
	url := os.Getenv("CROSSDOCK_TEST_TRYTON_URL")
	if url == "" {
		t.Skip("CROSSDOCK_TEST_TRYTON_URL not set: the tests against a real Tryton 6.0 are skipped (.ci/tryton/start runs one)")
	}
	user := os.Getenv("CROSSDOCK_TEST_TRYTON_USER")
	if user == "" {
		user = "admin"
	}
	return Config{Name: "erp", URL: url, Username: user, Password: os.Getenv("CROSSDOCK_TEST_TRYTON_PASSWORD"), Timeout: 10 * time.Second}
}

func newLive(t *testing.T, cfg Config) *Connector {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// closedURL is a Tryton URL on a port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/crossdock/"
}

// invoices reads the customer invoices whose reference is ref.
func invoices(t *testing.T, c *Connector, ref string) []record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := c.searchRead(ctx, 0, "account.invoice", []any{[]any{"reference", "=", ref}}, 0,
		"state", "number", "total_amount", "tax_amount", "party")
	if err != nil {
		t.Fatalf("search invoices %s: %v", ref, err)
	}
	return rows
}

// posted counts the posted (or paid) customer invoices of reference ref.
func posted(t *testing.T, c *Connector, ref string) int {
	t.Helper()
	n := 0
	for _, r := range invoices(t, c, ref) {
		if s := r.text("state"); s == "posted" || s == "paid" {
			n++
		}
	}
	return n
}

func invoiceID(t *testing.T, e store.EventRecord) string {
	t.Helper()
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(e.Data, &v); err != nil || v.ID == "" {
		t.Fatalf("event %s carries no invoice id: %v", e.ID, err)
	}
	return v.ID
}

// edited is e with its invoice changed by edit.
func edited(e store.EventRecord, edit func(inv map[string]any)) store.EventRecord {
	var inv map[string]any
	if err := json.Unmarshal(e.Data, &inv); err != nil {
		panic(err)
	}
	edit(inv)
	data, err := json.Marshal(inv)
	if err != nil {
		panic(err)
	}
	e.Data = data
	return e
}

func TestIntegrationTrytonContract(t *testing.T) {
	cfg := liveConfig(t)
	probe := newLive(t, cfg)
	connectortest.Run(t, connectortest.Destination{
		Connector: func(t *testing.T) connector.Connector { return newLive(t, cfg) },
		Down: func(t *testing.T) connector.Connector {
			down := cfg
			down.URL = closedURL(t)
			return newLive(t, down)
		},
		Held:  func(t *testing.T, d connector.Delivery) int { return posted(t, probe, invoiceID(t, d.Event)) },
		Event: connectortest.Invoice,
		Refused: func() store.EventRecord {
			// XTS, ISO 4217's code for testing, is no currency of the ERP.
			return edited(connectortest.Invoice(900), func(inv map[string]any) { inv["currency"] = "XTS" })
		},
		WantRef: true,
	})
}

func TestIntegrationTrytonTotalsAndOtherEvents(t *testing.T) {
	c := newLive(t, liveConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Quantities and prices Tryton cannot hold exactly go as one unit at
	// the line's amount; totals stay ours.
	e := edited(connectortest.Invoice(600), func(inv map[string]any) {
		inv["lines"] = []map[string]string{
			{"code": "fuel_surcharge", "description": "Fuel surcharge", "quantity": "8.125", "unit_price": "5.4500", "amount": "44.28"},
			{"code": "detention", "description": "Detention", "quantity": "0.5", "unit_price": "0.05", "amount": "0.03"}, // half-up; Tryton: 0.02
			{"code": "distance", "description": "Distance", "quantity": "100", "unit_price": "1.23456", "amount": "123.46"},
		}
		inv["subtotal"], inv["tax"], inv["total"] = "167.77", "16.78", "184.55"
	})
	r, err := c.Deliver(ctx, connectortest.Delivery(e))
	if err != nil {
		t.Fatal(err)
	}
	rows := invoices(t, c, invoiceID(t, e))
	if len(rows) != 1 {
		t.Fatalf("%d invoices, want 1", len(rows))
	}
	if got := rows[0].text("number"); got != r.Ref || got == "" {
		t.Errorf("number %q, receipt %q", got, r.Ref)
	}
	if total, tax := formatMoney(rows[0].numeric("total_amount")), formatMoney(rows[0].numeric("tax_amount")); total != "184.55" || tax != "16.78" {
		t.Errorf("Tryton's total %s and tax %s, want ours: 184.55 and 16.78", total, tax)
	}

	_, err = c.Deliver(ctx, connectortest.Delivery(connectortest.Milestone(1)))
	if !outbox.IsPermanent(err) {
		t.Errorf("a milestone: want a permanent error, got %v", err)
	}
}

// A crash between create and post leaves a draft invoice: the next attempt
// posts it instead of creating another.
func TestIntegrationTrytonDraftRecovery(t *testing.T) {
	c := newLive(t, liveConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := connectortest.Invoice(700)
	inv, err := parseInvoice(e.Data)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.defaults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.createInvoice(ctx, d, inv); err != nil {
		t.Fatal(err)
	}
	if rows := invoices(t, c, inv.ID); len(rows) != 1 || rows[0].text("state") != "draft" {
		t.Fatalf("after create: %v, want one draft", rows)
	}
	// A restarted hub retries.
	r, err := newLive(t, liveConfig(t)).Deliver(ctx, connectortest.Delivery(e))
	if err != nil {
		t.Fatal(err)
	}
	rows := invoices(t, c, inv.ID)
	if len(rows) != 1 || rows[0].text("state") != "posted" || rows[0].text("number") != r.Ref {
		t.Fatalf("after the retry: %v, receipt %q; want one posted invoice with that number", rows, r.Ref)
	}
	if total := formatMoney(rows[0].numeric("total_amount")); total != inv.Total.String() {
		t.Errorf("Tryton's total %s, want %s", total, inv.Total)
	}
}

// A session trytond no longer knows (expired, or deleted as not fresh for
// post) is replaced by one login, and the call goes through.
func TestIntegrationTrytonSessionExpired(t *testing.T) {
	c := newLive(t, liveConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stale := "Session " + base64.StdEncoding.EncodeToString([]byte(c.cfg.Username+":1:0000expired0000"))
	c.rpc.session = stale
	if _, err := c.Deliver(ctx, connectortest.Delivery(connectortest.Invoice(710))); err != nil {
		t.Fatal(err)
	}
	if c.rpc.session == stale || c.rpc.session == "" {
		t.Fatal("the stale session was kept")
	}
}

func TestIntegrationTrytonCredit(t *testing.T) {
	c := newLive(t, liveConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	customer := "CUST-CREDIT-" + strconv.FormatInt(time.Now().UnixNano(), 36)

	if _, err := c.Credit(ctx, customer); !errors.Is(err, connector.ErrUnknownCustomer) {
		t.Fatalf("before any invoice: want ErrUnknownCustomer, got %v", err)
	}
	e := edited(connectortest.Invoice(800), func(inv map[string]any) { inv["customer_id"] = customer })
	if _, err := c.Deliver(ctx, connectortest.Delivery(e)); err != nil {
		t.Fatal(err)
	}
	got, err := c.Credit(ctx, customer)
	if err != nil {
		t.Fatal(err)
	}
	want := connector.Credit{CustomerID: customer, Currency: "EUR", Balance: "650.46"}
	if got != want {
		t.Fatalf("credit %+v, want %+v", got, want)
	}

	d, err := c.defaults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.findParty(ctx, d.company, customer)
	if err != nil || id == 0 {
		t.Fatalf("find party: %d, %v", id, err)
	}
	if err := c.rpc.call(ctx, "model.party.party.write", nil, []int64{id},
		map[string]any{"credit_limit_amount": decimal("5000")}, c.trytonContext(d.company)); err != nil {
		t.Fatal(err)
	}
	got, err = c.Credit(ctx, customer)
	if err != nil {
		t.Fatal(err)
	}
	want.Limit = "5000.00"
	if got != want {
		t.Fatalf("with a limit: credit %+v, want %+v", got, want)
	}
}

// Three invoices delivered, one never sent and one keyed in Tryton by hand
// (a draft whose amount was then changed there): a lookup finds the three
// with Tryton's numbers and our totals, and the draft with its changed
// total; the listing of the run's prefix finds the four Tryton holds.
func TestIntegrationTrytonLookupAndList(t *testing.T) {
	c := newLive(t, liveConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	prefix := "INV-RC-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
	start := time.Now()

	events := []store.EventRecord{
		edited(connectortest.Invoice(1000), func(inv map[string]any) { inv["id"] = prefix + "1" }),
		edited(connectortest.Invoice(1001), func(inv map[string]any) {
			inv["id"] = prefix + "2"
			inv["lines"] = []map[string]string{
				{"code": "fuel_surcharge", "description": "Fuel surcharge", "quantity": "8.125", "unit_price": "5.4500", "amount": "44.28"},
				{"code": "distance", "description": "Distance", "quantity": "100", "unit_price": "1.23456", "amount": "123.46"},
			}
			inv["subtotal"], inv["tax"], inv["total"] = "167.74", "16.77", "184.51"
		}),
		edited(connectortest.Invoice(1002), func(inv map[string]any) {
			inv["id"] = prefix + "3"
			inv["lines"] = []map[string]string{{"code": "flat", "description": "Flat rate", "quantity": "1", "unit_price": "100.00", "amount": "100.00"}}
			inv["subtotal"], inv["tax"], inv["total"] = "100.00", "0.00", "100.00"
		}),
	}
	want := map[string]connector.ERPInvoice{}
	var ids []string
	for _, e := range events {
		r, err := c.Deliver(ctx, connectortest.Delivery(e))
		if err != nil {
			t.Fatal(err)
		}
		inv, err := parseInvoice(e.Data)
		if err != nil {
			t.Fatal(err)
		}
		want[inv.ID] = connector.ERPInvoice{InvoiceID: inv.ID, Ref: r.Ref, Total: inv.Total.String(), Currency: "EUR", State: "posted"}
		ids = append(ids, inv.ID)
	}

	got, err := c.LookupInvoices(ctx, append(ids, prefix+"4"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Tryton holds %+v", got)
	if len(got) != len(want) {
		t.Errorf("found %d invoices, want %d: %+v", len(got), len(want), got)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: got %+v, want %+v", id, got[id], w)
		}
	}
	if _, ok := got[prefix+"4"]; ok {
		t.Errorf("%s4 was never sent, yet found", prefix)
	}

	// Keyed in Tryton by hand, then its fuel surcharge changed there.
	keyed, err := parseInvoice(edited(connectortest.Invoice(1004), func(inv map[string]any) { inv["id"] = prefix + "5" }).Data)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.defaults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id5, err := c.createInvoice(ctx, d, keyed)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := c.searchRead(ctx, d.company, "account.invoice.line", []any{[]any{"invoice", "=", id5}}, 0, "unit_price")
	if err != nil {
		t.Fatal(err)
	}
	var fuel int64
	for _, l := range lines {
		if formatMoney(l.numeric("unit_price")) == "46.33" {
			fuel = l.id("id")
		}
	}
	if fuel == 0 {
		t.Fatalf("no line at 46.33 among %v", lines)
	}
	if err := c.rpc.call(ctx, "model.account.invoice.line.write", nil, []int64{fuel},
		map[string]any{"unit_price": decimal("50.00")}, c.trytonContext(d.company)); err != nil {
		t.Fatal(err)
	}
	got, err = c.LookupInvoices(ctx, []string{prefix + "5"})
	if err != nil {
		t.Fatal(err)
	}
	tampered := connector.ERPInvoice{InvoiceID: prefix + "5", Ref: strconv.FormatInt(id5, 10), Total: "654.13", Currency: "EUR", State: "draft"}
	if g := got[prefix+"5"]; g != tampered {
		t.Errorf("the invoice changed in Tryton: got %+v, want %+v", g, tampered)
	}

	list := func(from, to time.Time) []string {
		t.Helper()
		var refs []string
		if err := c.ListInvoices(ctx, prefix, from, to, func(page []connector.ERPInvoice) error {
			for _, e := range page {
				refs = append(refs, e.InvoiceID)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return refs
	}
	c.listPage = 3 // two pages
	if refs, wantRefs := list(start.Add(-time.Minute), time.Now().Add(time.Minute)), append(ids, prefix+"5"); !slices.Equal(refs, wantRefs) {
		t.Errorf("listed %v, want %v", refs, wantRefs)
	}
	if refs := list(start.Add(-2*time.Hour), start.Add(-time.Hour)); len(refs) != 0 {
		t.Errorf("listed %v created an hour before the test", refs)
	}
}
