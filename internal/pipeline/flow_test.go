package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
)

// A carrier's unsigned 214 D1 opens a case; the driver app's signed POD,
// which outranks the carrier, supersedes it and releases billing.
func TestFlowSupersedesCasesOfReplacedPOD(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	p := pipeline.New(st, pipeline.Options{Precedence: shipment.Precedence{"partner/driver-app"}, StateCache: 10})
	defer p.Close(context.Background())
	ctx := context.Background()
	submit := func(items ...pipeline.Item) {
		t.Helper()
		res, err := p.Submit(ctx, pipeline.Submission{Items: items})
		if err != nil || res[0].Status != pipeline.Accepted {
			t.Fatalf("submit: %v %+v", err, res)
		}
	}
	order := `{"order_id":"SO-1","customer_id":"C","stops":[{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68}},` +
		`{"id":"S2","type":"delivery","location":{"lat":48.14,"lon":11.58}}]}`
	submit(item(t, "o1", "order.released", "SHP-F", order))
	d1 := item(t, "edi-1", "delivery.completed", "SHP-F", `{"stop_id":"S2","signed_by":"","location":{"lat":48.14,"lon":11.58}}`)
	d1.Event.Source = "partner/carrier/x12"
	submit(d1)

	cases := func(status string) []store.CaseRecord {
		t.Helper()
		recs, err := st.Cases(ctx, store.CaseFilter{ShipmentID: "SHP-F", Status: status})
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	open := cases(store.CaseOpen)
	if len(open) != 1 || open[0].Code != "missing_signature" || !open[0].Blocking {
		t.Fatalf("open cases %+v", open)
	}
	rec, _ := st.Shipment(ctx, "SHP-F")
	if !contains(string(rec.State), `"on_hold":true`) {
		t.Fatalf("on hold: %s", rec.State)
	}

	app := item(t, "app-1", "delivery.completed", "SHP-F", `{"stop_id":"S2","signed_by":"A. Meyer","location":{"lat":48.14,"lon":11.58}}`)
	app.Event.Source, app.Event.Time = "partner/driver-app", app.Event.Time.Add(time.Hour)
	submit(app)
	if open := cases(store.CaseOpen); len(open) != 0 {
		t.Fatalf("still open: %+v", open)
	}
	sup := cases(store.CaseSuperseded)
	if len(sup) != 1 || sup[0].ClosedAt.IsZero() {
		t.Fatalf("superseded: %+v", sup)
	}
	rec, _ = st.Shipment(ctx, "SHP-F")
	if contains(string(rec.State), `"on_hold":true`) {
		t.Fatalf("released: %s", rec.State)
	}
	// A superseded case cannot be resolved.
	err := p.ResolveCase(ctx, pipeline.Resolution{CaseID: sup[0].ID, ShipmentID: "SHP-F", By: "ops", Resolution: "x"})
	if !errors.Is(err, pipeline.ErrCaseClosed) {
		t.Fatalf("resolving a superseded case: %v", err)
	}
	if err := p.ResolveCase(ctx, pipeline.Resolution{CaseID: "nope", ShipmentID: "SHP-NONE", By: "ops", Resolution: "x"}); !errors.Is(err, pipeline.ErrCaseNotFound) {
		t.Fatalf("resolving on an unknown shipment: %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// Cancelling a shipment cancels its open cases and releases billing;
// resolved cases stay resolved.
func TestCancellationCancelsOpenCases(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	p := pipeline.New(st, pipeline.Options{})
	defer p.Close(context.Background())
	ctx := context.Background()
	order := `{"order_id":"SO-1","customer_id":"C","stops":[{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68}},` +
		`{"id":"S2","type":"delivery","location":{"lat":48.14,"lon":11.58}}]}`
	if _, err := p.Submit(ctx, pipeline.Submission{Items: []pipeline.Item{
		item(t, "o1", "order.released", "SHP-X", order),
		item(t, "p1", "delivery.completed", "SHP-X", `{"stop_id":"S2","signed_by":"","location":{"lat":48.14,"lon":11.58},"exceptions":[{"code":"damaged"}]}`),
	}}); err != nil {
		t.Fatal(err)
	}
	open, _ := st.Cases(ctx, store.CaseFilter{ShipmentID: "SHP-X", Status: store.CaseOpen})
	if len(open) != 2 {
		t.Fatalf("open: %+v", open)
	}
	if err := p.ResolveCase(ctx, pipeline.Resolution{CaseID: open[0].ID, ShipmentID: "SHP-X", By: "ops", Resolution: "ok"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Submit(ctx, pipeline.Submission{Items: []pipeline.Item{item(t, "c1", "shipment.cancelled", "SHP-X", `{"reason":"customer"}`)}}); err != nil {
		t.Fatal(err)
	}
	all, _ := st.Cases(ctx, store.CaseFilter{ShipmentID: "SHP-X"})
	got := map[string]string{}
	for _, c := range all {
		got[c.ID] = c.Status
	}
	if got[open[0].ID] != store.CaseResolved || got[open[1].ID] != store.CaseCancelled {
		t.Fatalf("after cancellation: %v", got)
	}
	rec, _ := st.Shipment(ctx, "SHP-X")
	if strings.Contains(string(rec.State), `"on_hold":true`) {
		t.Fatalf("a cancelled shipment is not on hold: %s", rec.State)
	}
}
