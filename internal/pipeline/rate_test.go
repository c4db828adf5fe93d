package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/crossdockhq/crossdock/internal/billing"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
)

func engine(t *testing.T, customer string) *billing.Engine {
	t.Helper()
	e, err := billing.Compile(billing.Config{Currency: "EUR", TaxRate: "0.10", RateCards: []billing.RateCard{{
		CustomerID: customer, PerKm: "1.20", PerStop: "25.00", Minimum: "150.00", FuelSurchargePct: "8.5",
		Accessorials: map[string]string{"liftgate": "75.00", "detention_per_hour": "60.00", "detention_free_minutes": "120"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const twoStops = `{"order_id":"SO-1","customer_id":"C","accessorials":["liftgate"],"stops":[` +
	`{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68}},` +
	`{"id":"S2","type":"delivery","location":{"lat":48.14,"lon":11.58}}]}`

func deliver(t *testing.T, p *pipeline.Pipeline, id string) {
	t.Helper()
	items := []pipeline.Item{
		item(t, id+"-o", "order.released", id, twoStops),
		item(t, id+"-p", "delivery.completed", id, `{"stop_id":"S2","signed_by":"A. Meyer","location":{"lat":48.14,"lon":11.58}}`),
		item(t, id+"-d", "shipment.milestone", id, `{"code":"departed","stop_id":"S2"}`),
	}
	res, err := p.Submit(context.Background(), pipeline.Submission{Items: items})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != pipeline.Accepted {
			t.Fatalf("%+v", r)
		}
	}
}

// The last stop's departure after every POD rates the shipment in the
// same transaction: invoice.ready, status invoiced, a gapless number.
func TestDepartureAfterPODInvoices(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	p := pipeline.New(st, pipeline.Options{Billing: engine(t, "*")})
	defer p.Close(context.Background())
	ctx := context.Background()
	deliver(t, p, "SHP-R1")
	deliver(t, p, "SHP-R2")
	invs, err := st.Invoices(ctx, store.InvoiceFilter{})
	if err != nil || len(invs) != 2 {
		t.Fatalf("invoices: %+v %v", invs, err)
	}
	year := invs[0].CreatedAt.Year()
	for i, want := range []string{"SHP-R1", "SHP-R2"} {
		if invs[i].ShipmentID != want || invs[i].ID != fmt.Sprintf("INV-%d-%06d", year, i+1) {
			t.Fatalf("invoice %d: %+v", i, invs[i])
		}
	}
	var inv pipeline.Invoice
	if err := json.Unmarshal(invs[0].Data, &inv); err != nil {
		t.Fatal(err)
	}
	codes := []string{}
	for _, l := range inv.Lines {
		codes = append(codes, l.Code)
	}
	if inv.Status != "ready" || inv.Rule != "last stop departed" || strings.Join(codes, ",") != "distance,stop,minimum,fuel_surcharge,liftgate" && strings.Join(codes, ",") != "distance,stop,fuel_surcharge,liftgate" {
		t.Fatalf("invoice %+v", inv)
	}
	rec, _ := st.Shipment(ctx, "SHP-R1")
	if rec.Status != "invoiced" {
		t.Fatalf("status %s", rec.Status)
	}
	tl, _ := st.Timeline(ctx, "SHP-R1", nil, 100)
	types := []string{}
	for _, e := range tl {
		types = append(types, e.Type)
	}
	if !strings.Contains(strings.Join(types, ","), "invoice.ready") || !strings.Contains(strings.Join(types, ","), "workflow.rated") {
		t.Fatalf("timeline %v", types)
	}
	// Later facts do not touch an invoice: a departure reported again.
	res, err := p.Submit(ctx, pipeline.Submission{Items: []pipeline.Item{item(t, "late-d", "shipment.milestone", "SHP-R1", `{"code":"departed","stop_id":"S2"}`)}})
	if err != nil || res[0].Status != pipeline.Accepted {
		t.Fatal(err, res)
	}
	if invs, _ := st.Invoices(ctx, store.InvoiceFilter{ShipmentID: "SHP-R1"}); len(invs) != 1 {
		t.Fatalf("invoiced twice: %+v", invs)
	}
}

func TestNoRateCardOpensACase(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	p := pipeline.New(st, pipeline.Options{Billing: engine(t, "OTHER")})
	defer p.Close(context.Background())
	ctx := context.Background()
	deliver(t, p, "SHP-N")
	cases, _ := st.Cases(ctx, store.CaseFilter{ShipmentID: "SHP-N", Status: store.CaseOpen})
	if len(cases) != 1 || cases[0].Code != "no_rate_card" || !cases[0].Blocking {
		t.Fatalf("cases %+v", cases)
	}
	if invs, _ := st.Invoices(ctx, store.InvoiceFilter{}); len(invs) != 0 {
		t.Fatalf("invoiced without a card: %+v", invs)
	}
	rec, _ := st.Shipment(ctx, "SHP-N")
	if rec.Status != "delivered" || !strings.Contains(string(rec.State), `"on_hold":true`) {
		t.Fatalf("shipment %s %s", rec.Status, rec.State)
	}
}

// An accessorial the card does not price opens a blocking case, never a
// zero line.
func TestUnpricedAccessorialOpensACase(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	p := pipeline.New(st, pipeline.Options{Billing: engine(t, "*")})
	defer p.Close(context.Background())
	ctx := context.Background()
	order := strings.Replace(twoStops, `["liftgate"]`, `["liftgate","tail_lift"]`, 1)
	res, err := p.Submit(ctx, pipeline.Submission{Items: []pipeline.Item{
		item(t, "o", "order.released", "SHP-U", order),
		item(t, "p", "delivery.completed", "SHP-U", `{"stop_id":"S2","signed_by":"A","location":{"lat":48.14,"lon":11.58}}`),
		item(t, "d", "shipment.milestone", "SHP-U", `{"code":"departed","stop_id":"S2"}`),
	}})
	if err != nil || res[2].Status != pipeline.Accepted {
		t.Fatal(err, res)
	}
	cases, _ := st.Cases(ctx, store.CaseFilter{ShipmentID: "SHP-U", Status: store.CaseOpen})
	if len(cases) != 1 || cases[0].Code != "unpriced_accessorial" || !strings.Contains(cases[0].Detail, "tail_lift") {
		t.Fatalf("cases %+v", cases)
	}
	if invs, _ := st.Invoices(ctx, store.InvoiceFilter{}); len(invs) != 0 {
		t.Fatalf("invoiced: %+v", invs)
	}
}
