package pipeline_test

import (
	"context"
	"testing"

	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/reconcile"
	"github.com/crossdockhq/crossdock/internal/store"
)

// A derived event is appended once, on its shipment's timeline, with its
// deliveries queued; one without a crossdock/ source is refused.
func TestRecordDerived(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	p := pipeline.New(st, pipeline.Options{Subscribers: map[string][]string{"trip.cost": {"erp"}}})
	defer p.Close(context.Background())
	ctx := context.Background()
	rec := store.EventRecord{Source: pipeline.SourceReconcile, ID: "trip-cost/SHP-1", Type: "trip.cost", Subject: "SHP-1", ShipmentID: "SHP-1",
		Time: t0, CorrelationID: "c1", Data: []byte(`{"amount":"12.34","currency":"EUR"}`)}
	for i, want := range []int{1, 0} {
		n, err := p.RecordDerived(ctx, []store.EventRecord{rec})
		if err != nil || n != want {
			t.Fatalf("record %d: %d new, err %v; want %d", i, n, err, want)
		}
	}
	tl, err := st.Timeline(ctx, "SHP-1", nil, 10)
	if err != nil || len(tl) != 1 || tl[0].Type != "trip.cost" {
		t.Fatalf("timeline %+v, %v", tl, err)
	}
	if _, err := st.Job(ctx, pipeline.JobDeliver, pipeline.DeliveryKey("erp", rec.Key())); err != nil {
		t.Fatalf("no delivery queued: %v", err)
	}
	rec.Source = "erp/acme"
	if _, err := p.RecordDerived(ctx, []store.EventRecord{rec}); err == nil {
		t.Fatal("a derived event under a partner's source was recorded")
	}
}

// A finding about a shipment opens one non-blocking case, however often
// it is found; a finding about an unknown shipment is skipped.
func TestOpenFindingCases(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	p := pipeline.New(st, pipeline.Options{})
	defer p.Close(context.Background())
	ctx := context.Background()
	if _, err := p.Submit(ctx, pipeline.Submission{Items: []pipeline.Item{item(t, "o1", "order.released", "SHP-F", order)}}); err != nil {
		t.Fatal(err)
	}
	f := reconcile.CaseFinding{ID: "abc", ShipmentID: "SHP-F", Code: reconcile.CodeDuplicatePOD, Detail: "stop S2 has 2 proofs of delivery", At: t0}
	for range 2 {
		if err := p.OpenFindingCases(ctx, []reconcile.CaseFinding{f, {ID: "x", ShipmentID: "SHP-NONE", Code: reconcile.CodeDuplicatePOD, At: t0}}); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := st.Cases(ctx, store.CaseFilter{ShipmentID: "SHP-F", Limit: 10})
	if err != nil || len(cs) != 1 {
		t.Fatalf("cases %+v, %v", cs, err)
	}
	if c := cs[0]; c.Code != "reconciliation_duplicate_pod" || c.Blocking || c.Status != store.CaseOpen || c.Detail != f.Detail {
		t.Errorf("case %+v", c)
	}
	sh, err := st.Shipment(ctx, "SHP-F")
	if err != nil {
		t.Fatal(err)
	}
	if sh.Status != "released" {
		t.Errorf("status %s after a finding", sh.Status)
	}
}
