package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/store/sqlite"
)

func TestAllocate(t *testing.T) {
	tests := []struct {
		name    string
		vf      VehicleFuel
		legs    []leg
		amounts []string
	}{
		{"by distance share, the rest empty running", VehicleFuel{VehicleID: "T", DistanceKm: 100, Liters: 30, Amount: "90.00", Currency: "EUR"},
			[]leg{{shipmentID: "A", km: 50}, {shipmentID: "B", km: 25}}, []string{"45.00", "22.50"}},
		{"shipments longer than the period's driving share it all", VehicleFuel{VehicleID: "T", DistanceKm: 60, Amount: "100.00"},
			[]leg{{shipmentID: "A", km: 60}, {shipmentID: "B", km: 40}}, []string{"60.00", "40.00"}},
		{"cents rounded half up", VehicleFuel{VehicleID: "T", DistanceKm: 3, Amount: "1.00"},
			[]leg{{shipmentID: "A", km: 1}, {shipmentID: "B", km: 1}, {shipmentID: "C", km: 1}}, []string{"0.33", "0.33", "0.33"}},
		{"a leg without distance gets nothing", VehicleFuel{VehicleID: "T", DistanceKm: 10, Amount: "5.00"},
			[]leg{{shipmentID: "A", km: 0}, {shipmentID: "B", km: 10}}, []string{"5.00"}},
		{"no distance at all", VehicleFuel{VehicleID: "T", Amount: "5.00"}, []leg{{shipmentID: "A"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, tc := range allocate(tt.vf, tt.legs) {
				got = append(got, tc.Amount)
				if tc.VehicleID != "T" || tc.ShipmentID == "" {
					t.Errorf("trip cost %+v", tc)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.amounts) {
				t.Errorf("amounts %v, want %v", got, tt.amounts)
			}
		})
	}
}

// recorder keeps what a run derives.
type recorder struct{ recs []store.EventRecord }

func (r *recorder) RecordDerived(_ context.Context, recs []store.EventRecord) (int, error) {
	r.recs = append(r.recs, recs...)
	return len(recs), nil
}

// TestScheduledFuelRunAllocatesTripCosts drives one truck through two
// shipments in a stored day, buys fuel, and runs the nightly fuel check:
// each shipment gets its share of the cost as a trip.cost event; a run
// started by hand records none.
func TestScheduledFuelRunAllocatesTripCosts(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "hub.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	// Shipments as the pipeline leaves them: SHP-A drove 30 km, SHP-B 60.
	state := func(id string, km float64, pod time.Time) []byte {
		b, _ := json.Marshal(map[string]any{
			"id": id, "correlation_id": "corr-" + id,
			"order": map[string]any{"stamp": map[string]any{"time": day, "source": "tms", "id": "o-" + id},
				"data": map[string]any{"order_id": "O", "customer_id": "C", "stops": []any{}}},
			"stops": map[string]any{"S2": map[string]any{"completed": map[string]any{"stamp": map[string]any{"time": pod, "source": "app", "id": "p-" + id},
				"data": map[string]any{"stop_id": "S2", "signed_by": "X", "location": map[string]any{"lat": 0, "lon": 0}}}}},
			"track": map[string]any{"vehicle_id": "TRK-A", "distance_km": km},
		})
		return b
	}
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tx.PutShipments(ctx, []store.ShipmentRecord{
		{ID: "SHP-A", Visible: true, Status: "delivered", State: state("SHP-A", 30, at(10, 0)), UpdatedAt: at(10, 0)},
		{ID: "SHP-B", Visible: true, Status: "delivered", State: state("SHP-B", 60, at(14, 0)), UpdatedAt: at(14, 0)},
	}))
	evs := []store.EventRecord{
		{Source: "tms", ID: "a-A", Type: canonical.TypeRouteAssigned, Subject: "SHP-A", ShipmentID: "SHP-A", Time: at(8, 0), ReceivedAt: at(8, 0), Data: []byte(`{"vehicle_id":"TRK-A","driver_id":"D"}`)},
		{Source: "tms", ID: "a-B", Type: canonical.TypeRouteAssigned, Subject: "SHP-B", ShipmentID: "SHP-B", Time: at(11, 0), ReceivedAt: at(11, 0), Data: []byte(`{"vehicle_id":"TRK-A","driver_id":"D"}`)},
		{Source: "card", ID: "f1", Type: canonical.TypeFuelPurchased, Subject: "TRK-A", Time: at(12, 0), ReceivedAt: at(12, 0), Data: []byte(`{"liters":40,"amount":"72.00","currency":"EUR"}`)},
	}
	must(tx.AppendEvents(ctx, evs))
	// 120 km driven over the day: a position every 10 minutes, 5 km apart.
	var ps []store.PositionRecord
	for i := range 25 {
		ps = append(ps, store.PositionRecord{VehicleID: "TRK-A", Time: at(8, 10*i), Source: "test", EventID: fmt.Sprint("p", i), ReceivedAt: at(8, 10*i),
			Lat: 50, Lon: 8 + float64(i)*5/71.5})
	}
	must(tx.AppendPositions(ctx, ps))
	must(tx.Commit())

	rec := &recorder{}
	r := New(Options{Store: st, Derive: rec, Now: func() time.Time { return day.Add(26 * time.Hour) }})
	work := func(trigger string) store.ReconciliationRecord {
		run, _, err := r.Start(ctx, Request{Kind: KindFuel, From: day, To: day.Add(24 * time.Hour), Trigger: trigger, RequestedBy: trigger})
		must(err)
		must(r.Handle(ctx, store.JobRecord{Key: run.ID}))
		run, err = st.Reconciliation(ctx, run.ID)
		must(err)
		return run
	}
	if run := work(TriggerAPI); run.Status != store.ReconcileDone || len(rec.recs) != 0 {
		t.Fatalf("a run by hand: %+v, %d trip costs", run, len(rec.recs))
	}
	if run := work(TriggerSchedule); run.Status != store.ReconcileDone {
		t.Fatalf("scheduled run: %+v", run)
	}
	if len(rec.recs) != 2 {
		t.Fatalf("%d trip costs, want 2: %+v", len(rec.recs), rec.recs)
	}
	sum := new(big.Rat)
	want := map[string]float64{"SHP-A": 18, "SHP-B": 36} // 30 and 60 of about 120 km of 72.00
	for _, e := range rec.recs {
		var tc TripCost
		must(json.Unmarshal(e.Data, &tc))
		if e.Type != TypeTripCost || e.Source != SourceReconcile || e.ID != "trip-cost/"+e.ShipmentID || e.CorrelationID != "corr-"+e.ShipmentID {
			t.Errorf("event %+v", e)
		}
		a, _ := new(big.Rat).SetString(tc.Amount)
		f, _ := a.Float64()
		if tc.Currency != "EUR" || tc.VehicleKm < 119 || tc.VehicleKm > 121 || f < want[e.ShipmentID]-0.1 || f > want[e.ShipmentID]+0.1 {
			t.Errorf("%s: %+v, want about %.2f EUR of about 120 km", e.ShipmentID, tc, want[e.ShipmentID])
		}
		sum.Add(sum, a)
	}
	if s := sum.FloatString(2); s < "53.90" || s > "54.10" {
		t.Errorf("allocated %s of 72.00, want about 54 (the rest is empty running)", s)
	}
}
