package workflow

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
)

var t0 = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

type event struct {
	ev   canonical.Event
	data any
}

func mk(id, source string, min int, typ string, data any) event {
	return event{canonical.Event{SpecVersion: "1.0", ID: id, Source: source, Type: typ, Subject: "SHP-1", Time: t0.Add(time.Duration(min) * time.Minute)}, data}
}

func order(pieces int) event {
	p := pieces
	return mk("o", "erp", 0, canonical.TypeOrderReleased, &canonical.OrderReleased{OrderID: "SO-1", CustomerID: "C", Pieces: &p, Stops: []canonical.Stop{
		{ID: "S1", Type: canonical.StopPickup, Location: canonical.Location{Lat: 50.11, Lon: 8.68, RadiusM: 200}},
		{ID: "S2", Type: canonical.StopDelivery, Location: canonical.Location{Lat: 48.14, Lon: 11.58, RadiusM: 200}},
		{ID: "S3", Type: canonical.StopDelivery, Location: canonical.Location{Lat: 48.37, Lon: 10.89}},
	}})
}

func pod(id, source string, min int, stop, by string, lat, lon float64, pieces int, exc ...string) event {
	d := &canonical.DeliveryCompleted{StopID: stop, SignedBy: by, Location: canonical.Point{Lat: lat, Lon: lon}}
	if pieces >= 0 {
		d.Pieces = &pieces
	}
	for _, x := range exc {
		d.Exceptions = append(d.Exceptions, canonical.PODException{Code: x, Note: "seen at unloading"})
	}
	return mk(id, source, min, canonical.TypeDeliveryCompleted, d)
}

func exception(id string, min int, code, stop string) event {
	return mk(id, "crossdock/telemetry", min, canonical.TypeShipmentException, &canonical.ShipmentException{Code: code, StopID: stop, Detail: code + " at " + stop})
}

func apply(t *testing.T, evs ...event) *shipment.State {
	t.Helper()
	st := &shipment.State{ID: "SHP-1"}
	for _, e := range evs {
		if _, err := shipment.Apply(st, e.ev, e.data); err != nil {
			t.Fatalf("%s: %v", e.ev.ID, err)
		}
	}
	return st
}

func codes(cs []Case) []string {
	out := []string{}
	for _, c := range cs {
		s := c.Code
		if c.StopID != "" {
			s += "@" + c.StopID
		}
		out = append(out, s)
	}
	return out
}

func TestPODValidation(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		evs  []event
		want []string
		hold bool
	}{
		{"clean PODs", []event{order(10), pod("p2", "app", 60, "S2", "A. Meyer", 48.1405, 11.5805, 6), pod("p3", "app", 90, "S3", "B. Kurz", 48.37, 10.89, 4)}, []string{}, false},
		{"no signer", []event{order(10), pod("p2", "app", 60, "S2", "  ", 48.14, 11.58, -1)}, []string{"missing_signature@S2"}, true},
		{"taken far away", []event{order(10), pod("p2", "app", 60, "S2", "A", 48.20, 11.58, -1)}, []string{"pod_location_mismatch@S2"}, true},
		{"inside radius plus tolerance", []event{order(10), pod("p2", "app", 60, "S2", "A", 48.1426, 11.58, -1)}, []string{}, false},
		{"default radius for a stop without one", []event{order(10), pod("p3", "app", 60, "S3", "A", 48.3725, 10.89, -1)}, []string{}, false},
		{"POD exceptions", []event{order(10), pod("p2", "app", 60, "S2", "A", 48.14, 11.58, -1, "damaged", "refused")}, []string{"damaged@S2", "refused@S2"}, true},
		{"shortage once every delivery stop has its POD", []event{order(10), pod("p2", "app", 60, "S2", "A", 48.14, 11.58, 5), pod("p3", "app", 90, "S3", "B", 48.37, 10.89, 4)}, []string{"shortage"}, true},
		{"no shortage before the last POD", []event{order(10), pod("p2", "app", 60, "S2", "A", 48.14, 11.58, 5)}, []string{}, false},
		{"PODs wait for the order", []event{pod("p2", "app", 60, "S2", "", 0, 0, -1)}, []string{}, false},
		{"route deviation does not block", []event{order(10), exception("x1", 30, canonical.ExceptionRouteDeviation, "")}, []string{"route_deviation"}, false},
		{"temperature blocks", []event{order(10), exception("x1", 30, canonical.ExceptionTemperature, "S2")}, []string{"temperature_excursion@S2"}, true},
		{"a cancelled shipment calls for none", []event{order(10), pod("p2", "app", 60, "S2", "", 48.14, 11.58, -1, "damaged"),
			mk("c", "erp", 70, canonical.TypeShipmentCancelled, &canonical.ShipmentCancelled{Reason: "customer"})}, []string{}, false},
		{"arrival after the window: late, not blocking", []event{windowed(), milestone("a2", 200, "arrived", "S2")}, []string{"late_arrival@S2"}, false},
		{"arrival inside the window", []event{windowed(), milestone("a2", 100, "arrived", "S2")}, []string{}, false},
		{"an unknown exception code blocks", []event{order(10), pod("p2", "app", 60, "S2", "A", 48.14, 11.58, -1, "wet_pallet")}, []string{"wet_pallet@S2"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs := Cases(apply(t, c.evs...), Options{})
			got := codes(cs)
			slices.Sort(got) // cases of one cause share its time; their order is by id
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("cases %v, want %v", got, c.want)
			}
			if OnHold(cs) != c.hold {
				t.Fatalf("on hold %v, want %v", OnHold(cs), c.hold)
			}
		})
	}
}

// A better POD (from a trusted source, or an earlier one) replaces the
// kept POD: the replaced POD's cases are no longer called for.
func TestBetterPODSupersedes(t *testing.T) {
	t.Parallel()
	bad := pod("edi-d1", "partner/carrier", 70, "S2", "", 48.14, 11.58, -1)
	good := pod("app-1", "partner/driver-app", 60, "S2", "A. Meyer", 48.14, 11.58, -1)
	st := apply(t, order(1), bad)
	first := Cases(st, Options{})
	if got := codes(first); !reflect.DeepEqual(got, []string{"missing_signature@S2"}) {
		t.Fatalf("before: %v", got)
	}
	if _, err := shipment.Apply(st, good.ev, good.data); err != nil {
		t.Fatal(err)
	}
	if got := Cases(st, Options{}); len(got) != 0 {
		t.Fatalf("after the earlier, signed POD: %v", codes(got))
	}
}

func TestResolution(t *testing.T) {
	t.Parallel()
	st := apply(t, order(1), pod("p2", "app", 60, "S2", "A", 48.14, 11.58, -1, "damaged"), exception("x", 30, canonical.ExceptionRouteDeviation, ""))
	cs := Cases(st, Options{})
	if !OnHold(cs) || len(cs) != 2 {
		t.Fatalf("cases %v", codes(cs))
	}
	damaged := cs[1]
	if damaged.Code != "damaged" || damaged.OpenedAt != t0.Add(60*time.Minute) {
		t.Fatalf("cases are ordered by when their cause happened: %+v", cs)
	}
	if !st.Resolve(damaged.ID, shipment.ResolutionFact{At: t0.Add(3 * time.Hour), By: "ops", Resolution: "credit note"}) {
		t.Fatal("first resolution refused")
	}
	if st.Resolve(damaged.ID, shipment.ResolutionFact{At: t0.Add(4 * time.Hour), By: "ops2", Resolution: "again"}) {
		t.Fatal("a second resolution must be refused")
	}
	cs = Cases(st, Options{})
	if OnHold(cs) || cs[1].Open() || cs[1].Resolution.By != "ops" || !cs[0].Open() {
		t.Fatalf("after resolving the blocking case: %+v", cs)
	}
}

// The permutation property of the spine, extended to cases: the same
// events in any order give the same cases with the same ids.
func TestCasesIndependentOfArrivalOrder(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 5))
	for n := range 200 {
		evs := []event{order(1 + r.IntN(12))}
		for i := range 1 + r.IntN(6) {
			stop := []string{"S2", "S3"}[r.IntN(2)]
			by := []string{"", "A. Meyer"}[r.IntN(2)]
			lat := []float64{48.14, 48.37, 48.5}[r.IntN(3)]
			lon := map[float64]float64{48.14: 11.58, 48.37: 10.89, 48.5: 11}[lat]
			var exc []string
			if r.IntN(3) == 0 {
				exc = []string{"damaged"}
			}
			src := []string{"app", "partner/carrier"}[r.IntN(2)]
			evs = append(evs, pod(fmt.Sprintf("p%d", i), src, 30+r.IntN(120), stop, by, lat, lon, r.IntN(8)-1, exc...))
		}
		for i := range r.IntN(3) {
			evs = append(evs, exception(fmt.Sprintf("x%d", i), r.IntN(200), []string{canonical.ExceptionTemperature, canonical.ExceptionRouteDeviation}[r.IntN(2)], "S2"))
		}
		want := Cases(apply(t, evs...), Options{})
		for range 20 {
			perm := make([]event, len(evs))
			for i, j := range r.Perm(len(evs)) {
				perm[i] = evs[j]
			}
			if got := Cases(apply(t, perm...), Options{}); !reflect.DeepEqual(got, want) {
				t.Fatalf("set %d: another order gave other cases:\n%v\n%v", n, codes(got), codes(want))
			}
		}
	}
}

func TestRegion(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		lat, lon float64
		want     string
	}{{50.11, 8.68, "N50E008"}, {-34.6, -58.4, "S34W058"}, {0.5, -0.5, "N00W000"}, {40.7, -74.0, "N40W074"}} {
		if got := Region(c.lat, c.lon); got != c.want {
			t.Errorf("Region(%v, %v) = %s, want %s", c.lat, c.lon, got, c.want)
		}
	}
}

// windowed is order(1) with a window on S2 from minute 60 to 120.
func windowed() event {
	o := order(1)
	d := o.data.(*canonical.OrderReleased)
	d.Stops[1].Window = &canonical.Window{From: t0.Add(time.Hour), To: t0.Add(2 * time.Hour)}
	return o
}
