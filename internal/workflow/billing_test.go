package workflow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
)

func milestone(id string, min int, code, stop string) event {
	return mk(id, "tms", min, canonical.TypeShipmentMilestone, &canonical.ShipmentMilestone{Code: code, StopID: stop})
}

func TestRatingReadiness(t *testing.T) {
	t.Parallel()
	wait := 2 * time.Hour
	signed := func(id, stop string, min int) event { return pod(id, "app", min, stop, "A. Meyer", 48.14, 11.58, -1) }
	atS3 := func(id string, min int) event { return pod(id, "app", min, "S3", "B", 48.37, 10.89, -1) }
	for _, c := range []struct {
		name   string
		evs    []event
		ready  bool
		due    time.Time
		reason string
	}{
		{"no order", []event{signed("p2", "S2", 60)}, false, time.Time{}, "no order"},
		{"a delivery stop without POD", []event{order(1), signed("p2", "S2", 60)}, false, time.Time{}, "stop S3 has no proof of delivery"},
		{"every POD, no departure: wait", []event{order(1), signed("p2", "S2", 60), atS3("p3", 90)}, true, t0.Add(90*time.Minute + wait), "rating wait after the last proof of delivery"},
		{"last stop departed: now", []event{order(1), signed("p2", "S2", 60), atS3("p3", 90), milestone("d3", 100, "departed", "S3")}, true, time.Time{}, "last stop departed"},
		{"blocking case", []event{order(1), pod("p2", "app", 60, "S2", "", 48.14, 11.58, -1), atS3("p3", 90)}, false, time.Time{}, "on hold: a case that blocks billing is open"},
		{"cancelled", []event{order(1), signed("p2", "S2", 60), atS3("p3", 90), mk("c", "erp", 95, canonical.TypeShipmentCancelled, &canonical.ShipmentCancelled{})}, false, time.Time{}, "cancelled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := apply(t, c.evs...)
			r := RatingReadiness(st, Cases(st, Options{}), wait)
			if r.Ready != c.ready || !r.Due.Equal(c.due) || r.Reason != c.reason {
				t.Fatalf("got %+v, want ready=%v due=%v reason=%q", r, c.ready, c.due, c.reason)
			}
		})
	}
	st := apply(t, order(1), signed("p2", "S2", 60), atS3("p3", 90))
	st.Flow.Invoice = &shipment.InvoiceFact{ID: "INV-2026-000001"}
	if r := RatingReadiness(st, nil, wait); r.Ready || r.Reason != "invoiced" {
		t.Fatalf("invoiced: %+v", r)
	}
}

func TestRatingInput(t *testing.T) {
	t.Parallel()
	st := apply(t, order(1), milestone("a2", 50, "arrived", "S2"), milestone("d2", 95, "departed", "S2"))
	in := RatingInput(st, 1.3)
	if in.CustomerID != "C" || len(in.Stops) != 3 || in.Stops[1].DwellMinutes == nil || *in.Stops[1].DwellMinutes != 45 || in.DistanceKm != 0 {
		t.Fatalf("input %+v", in)
	}
	// Frankfurt → Munich → Augsburg in straight lines (~304 + ~57 km) × 1.3.
	if math.Abs(in.PlannedKm-1.3*(304.1+57.1)) > 3 {
		t.Fatalf("planned km %.1f", in.PlannedKm)
	}
	st.Track = &shipment.Track{DistanceKm: 371.25}
	if in := RatingInput(st, 1.3); in.DistanceKm != 371.25 {
		t.Fatalf("measured km %.2f", in.DistanceKm)
	}
}

// The permutation property extended to billing: the same events in any
// arrival order give the same rating input, hence the same invoice (the
// engine is a pure function of it; see package billing's property test).
func TestRatingInputIndependentOfArrivalOrder(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(11, 13))
	for n := range 200 {
		evs := []event{order(1 + r.IntN(12))}
		for i := range 2 + r.IntN(8) {
			stop := []string{"S1", "S2", "S3"}[r.IntN(3)]
			code := []string{"arrived", "departed"}[r.IntN(2)]
			src := []string{"tms", "partner/carrier", "crossdock/telemetry"}[r.IntN(3)]
			e := milestone(fmt.Sprintf("m%d", i), 20+r.IntN(300), code, stop)
			e.ev.Source = src
			evs = append(evs, e)
		}
		evs = append(evs, pod("p2", "app", 100+r.IntN(100), "S2", "A", 48.14, 11.58, -1), pod("p3", "app", 150+r.IntN(100), "S3", "B", 48.37, 10.89, -1))
		want := RatingInput(apply(t, evs...), 1.3)
		for range 20 {
			perm := make([]event, len(evs))
			for i, j := range r.Perm(len(evs)) {
				perm[i] = evs[j]
			}
			if got := RatingInput(apply(t, perm...), 1.3); !reflect.DeepEqual(got, want) {
				t.Fatalf("set %d: another order gave another rating input:\n%+v\n%+v", n, got, want)
			}
		}
	}
}
