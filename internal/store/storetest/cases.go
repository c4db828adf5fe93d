package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

func caseRec(id, shipment, code, status string, opened time.Duration) store.CaseRecord {
	return store.CaseRecord{
		ID: id, ShipmentID: shipment, Code: code, StopID: "S2", Detail: code + " at S2", Cause: "app e1", Blocking: true,
		Status: status, OpenedAt: t0.Add(opened), ResolvedBy: "", CustomerID: "CUST-7", Carrier: "acme", Region: "DE",
		Comments: []byte(`[]`), UpdatedAt: t0.Add(time.Hour),
	}
}

func testCases(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	a := caseRec("c-a", "SHP-1", "damaged", store.CaseOpen, 0)
	b := caseRec("c-b", "SHP-1", "missing_signature", store.CaseOpen, time.Minute)
	c := caseRec("c-c", "SHP-2", "damaged", store.CaseOpen, 2*time.Minute)
	c.CustomerID, c.Carrier, c.Region, c.Blocking = "CUST-9", "beta", "FR", false
	write(t, st, func(ctx context.Context, tx store.Tx) error { return tx.PutCases(ctx, []store.CaseRecord{a, b, c}) })

	got, err := st.Case(ctx, "c-b")
	if err != nil || !reflect.DeepEqual(got, b) {
		t.Fatalf("case: %+v %v, want %+v", got, err, b)
	}
	if _, err := st.Case(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent case: %v", err)
	}

	// People's annotations survive the writer putting the case again.
	who := "ops-anna"
	if _, err := st.AnnotateCase(ctx, "c-a", &who, []byte(`{"by":"ops-anna","text":"called the consignee"}`), t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AnnotateCase(ctx, "c-a", nil, []byte(`{"by":"ops-bob","text":"photos received"}`), t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AnnotateCase(ctx, "nope", &who, nil, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("annotating an absent case: %v", err)
	}
	a.Status, a.ClosedAt, a.ResolvedBy, a.Resolution, a.UpdatedAt = store.CaseResolved, t0.Add(4*time.Hour), "ops-anna", "credited", t0.Add(4*time.Hour)
	write(t, st, func(ctx context.Context, tx store.Tx) error { return tx.PutCases(ctx, []store.CaseRecord{a}) })
	got, err = st.Case(ctx, "c-a")
	var comments []map[string]string
	if err != nil || got.Status != store.CaseResolved || got.Assignee != "ops-anna" || json.Unmarshal(got.Comments, &comments) != nil || len(comments) != 2 {
		t.Fatalf("resolved case keeps annotations: %+v %v", got, err)
	}

	ids := func(f store.CaseFilter) []string {
		recs, err := st.Cases(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, r := range recs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    store.CaseFilter
		want []string
	}{
		{"all", store.CaseFilter{}, []string{"c-a", "c-b", "c-c"}},
		{"open", store.CaseFilter{Status: store.CaseOpen}, []string{"c-b", "c-c"}},
		{"shipment", store.CaseFilter{ShipmentID: "SHP-1"}, []string{"c-a", "c-b"}},
		{"code", store.CaseFilter{Code: "damaged"}, []string{"c-a", "c-c"}},
		{"customer", store.CaseFilter{CustomerID: "CUST-9"}, []string{"c-c"}},
		{"carrier", store.CaseFilter{Carrier: "acme"}, []string{"c-a", "c-b"}},
		{"region", store.CaseFilter{Region: "FR"}, []string{"c-c"}},
		{"older than", store.CaseFilter{OpenedBefore: t0.Add(90 * time.Second)}, []string{"c-a", "c-b"}},
		{"page", store.CaseFilter{Limit: 2}, []string{"c-a", "c-b"}},
		{"after", store.CaseFilter{After: &store.CaseCursor{OpenedAt: t0.Add(time.Minute), ID: "c-b"}}, []string{"c-c"}},
	} {
		if got := ids(c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
