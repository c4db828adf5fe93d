package shipment

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
)

type testEvent struct {
	ev   canonical.Event
	data any
}

var t0 = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

func mk(id, source string, at time.Duration, data any) testEvent {
	typ := map[string]string{
		"*canonical.OrderReleased":     canonical.TypeOrderReleased,
		"*canonical.RouteAssigned":     canonical.TypeRouteAssigned,
		"*canonical.ShipmentMilestone": canonical.TypeShipmentMilestone,
		"*canonical.DeliveryCompleted": canonical.TypeDeliveryCompleted,
		"*canonical.ShipmentCancelled": canonical.TypeShipmentCancelled,
		"*canonical.TenderResponded":   canonical.TypeTenderResponded,
	}[fmt.Sprintf("%T", data)]
	return testEvent{
		ev:   canonical.Event{SpecVersion: "1.0", ID: id, Source: source, Type: typ, Subject: "SHP-1", Time: t0.Add(at)},
		data: data,
	}
}

func order(customer string, stops ...string) *canonical.OrderReleased {
	o := &canonical.OrderReleased{OrderID: "SO-1", CustomerID: customer}
	for i, id := range stops {
		typ := canonical.StopDelivery
		if i == 0 {
			typ = canonical.StopPickup
		}
		o.Stops = append(o.Stops, canonical.Stop{ID: id, Type: typ, Location: canonical.Location{Lat: 50 + float64(i), Lon: 8, RadiusM: 200}})
	}
	return o
}

func ms(code, stop string) *canonical.ShipmentMilestone {
	return &canonical.ShipmentMilestone{Code: code, StopID: stop}
}

func pod(stop, by string) *canonical.DeliveryCompleted {
	return &canonical.DeliveryCompleted{StopID: stop, SignedBy: by, Location: canonical.Point{Lat: 51, Lon: 8}}
}

// randomEvents builds a plausible, sometimes contradictory event set for one
// shipment: order amendments, reassignment, milestones reported by two
// sources with different times, PODs, sometimes a cancellation and a delay.
func randomEvents(r *rand.Rand) []testEvent {
	min := func(m int) time.Duration { return time.Duration(m) * time.Minute }
	evs := []testEvent{mk("o1", "erp", 0, order("C1", "S1", "S2", "S3"))}
	if r.IntN(2) == 0 {
		evs = append(evs, mk("o2", "erp", min(5+r.IntN(300)), order("C2", "S1", "S2", "S3", "S4")))
	}
	evs = append(evs, mk("a1", "tms", min(10), &canonical.RouteAssigned{VehicleID: "TRK-1", DriverID: "D1"}))
	if r.IntN(2) == 0 {
		evs = append(evs, mk("a2", "tms", min(10+r.IntN(60)), &canonical.RouteAssigned{VehicleID: "TRK-2", DriverID: "D2"}))
	}
	for i, stop := range []string{"S1", "S2", "S3"} {
		base := 60 + i*90
		for _, src := range []string{"driver-app", "gps"} {
			if r.IntN(3) == 0 {
				continue
			}
			jitter := r.IntN(5)
			evs = append(evs,
				mk(fmt.Sprintf("%s-arr-%s", src, stop), src, min(base+jitter), ms(canonical.MilestoneArrived, stop)),
				mk(fmt.Sprintf("%s-dep-%s", src, stop), src, min(base+30+jitter), ms(canonical.MilestoneDeparted, stop)))
		}
		if i > 0 && r.IntN(4) != 0 {
			evs = append(evs, mk("pod-"+stop, "driver-app", min(base+20), pod(stop, "Jane")))
			if r.IntN(3) == 0 { // the same POD reported again by another source, same time
				evs = append(evs, mk("pod-"+stop, "portal", min(base+20), pod(stop, "J. Doe")))
			}
		}
	}
	if r.IntN(3) == 0 {
		evs = append(evs, mk("c1", "erp", min(r.IntN(400)), &canonical.ShipmentCancelled{Reason: "customer"}))
	}
	if r.IntN(2) == 0 {
		evs = append(evs, mk("d1", "tms", min(100), &canonical.ShipmentMilestone{Code: canonical.MilestoneDelayed, Reason: "traffic"}))
	}
	if r.IntN(2) == 0 {
		evs = append(evs, mk("t1", "edi", min(1), &canonical.TenderResponded{Carrier: "ACME", Response: canonical.TenderAccepted}))
	}
	return evs
}

func applyAll(t *testing.T, evs []testEvent) *State {
	t.Helper()
	st := &State{ID: "SHP-1"}
	rank := 0
	for _, e := range evs {
		if _, err := Apply(st, e.ev, e.data); err != nil {
			t.Fatalf("apply %s/%s: %v", e.ev.Source, e.ev.ID, err)
		}
		r := Rank(st.Status())
		if r < rank {
			t.Fatalf("status moved back to %q after %s/%s", st.Status(), e.ev.Source, e.ev.ID)
		}
		rank = r
	}
	return st
}

func encode(t *testing.T, st *State) string {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	v, err := json.Marshal(st.View(t0))
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n" + string(v)
}

// TestPermutationInvariance is the spine's central property: for any set of
// events, every arrival order — with duplicates interleaved — yields the
// same final state and view, and the status never moves backwards on the way.
func TestPermutationInvariance(t *testing.T) {
	t.Parallel()
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 7))
		evs := randomEvents(r)
		want := encode(t, applyAll(t, evs))
		for range 40 {
			perm := append([]testEvent(nil), evs...)
			for range r.IntN(4) { // interleave duplicates
				perm = append(perm, evs[r.IntN(len(evs))])
			}
			r.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			if got := encode(t, applyAll(t, perm)); got != want {
				t.Fatalf("seed %d: arrival order changed the result\nwant %s\ngot  %s", seed, want, got)
			}
		}
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	m := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	tests := []struct {
		name   string
		events []testEvent
		want   string
	}{
		{"nothing known", nil, ""},
		{"milestone before order stays invisible", []testEvent{mk("m", "gps", m(5), ms("arrived", "S1"))}, ""},
		{"released", []testEvent{mk("o", "erp", 0, order("C", "S1", "S2"))}, StatusReleased},
		{"planned", []testEvent{mk("o", "erp", 0, order("C", "S1", "S2")), mk("a", "tms", m(1), &canonical.RouteAssigned{VehicleID: "V", DriverID: "D"})}, StatusPlanned},
		{"in transit after departure", []testEvent{mk("o", "erp", 0, order("C", "S1", "S2")), mk("m", "gps", m(5), ms("departed", "S1"))}, StatusInTransit},
		{"delay does not move", []testEvent{mk("o", "erp", 0, order("C", "S1", "S2")), mk("m", "tms", m(5), ms("delayed", ""))}, StatusReleased},
		{"delivered when every delivery stop has a POD", []testEvent{mk("o", "erp", 0, order("C", "S1", "S2", "S3")), mk("p2", "app", m(5), pod("S2", "A")), mk("p3", "app", m(9), pod("S3", "B"))}, StatusDelivered},
		{"not delivered with one POD missing", []testEvent{mk("o", "erp", 0, order("C", "S1", "S2", "S3")), mk("p2", "app", m(5), pod("S2", "A"))}, StatusInTransit},
		{"cancelled", []testEvent{mk("o", "erp", 0, order("C", "S1", "S2")), mk("m", "gps", m(5), ms("departed", "S1")), mk("c", "erp", m(6), &canonical.ShipmentCancelled{})}, StatusCancelled},
		{"late cancellation cannot undo delivery", []testEvent{mk("o", "erp", 0, order("C", "S1", "S2")), mk("p", "app", m(5), pod("S2", "A")), mk("c", "erp", m(1), &canonical.ShipmentCancelled{})}, StatusDelivered},
		{"late departure cannot undo delivery", []testEvent{mk("o", "erp", 0, order("C", "S1", "S2")), mk("p", "app", m(5), pod("S2", "A")), mk("m", "gps", m(2), ms("departed", "S1"))}, StatusDelivered},
		{"amendment adding a stop after delivery keeps it delivered", []testEvent{mk("o", "erp", 0, order("C", "S1", "S2")), mk("p", "app", m(5), pod("S2", "A")), mk("o2", "erp", m(9), order("C", "S1", "S2", "S3"))}, StatusDelivered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := applyAll(t, tt.events).Status(); got != tt.want {
				t.Fatalf("status = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStopStatusAndTimes(t *testing.T) {
	t.Parallel()
	m := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	st := applyAll(t, []testEvent{
		mk("o", "erp", 0, order("C", "S1", "S2")),
		mk("g-arr", "gps", m(62), ms("arrived", "S1")),
		mk("d-arr", "driver", m(60), ms("arrived", "S1")), // earlier report wins, whatever arrives first
		mk("d-dep", "driver", m(90), ms("departed", "S1")),
	})
	v := st.View(t0)
	s1 := v.Stops[0]
	if s1.Status != StopDeparted || !s1.ArrivedAt.Equal(t0.Add(m(60))) || !s1.DepartedAt.Equal(t0.Add(m(90))) {
		t.Fatalf("stop S1 = %+v", s1)
	}
	if v.Stops[1].Status != StopPending || v.Stops[1].ArrivedAt != nil {
		t.Fatalf("stop S2 = %+v", v.Stops[1])
	}
	changed, err := Apply(st, mk("g-arr", "gps", m(62), ms("arrived", "S1")).ev, ms("arrived", "S1"))
	if err != nil || changed {
		t.Fatalf("re-applying a known report: changed=%v err=%v", changed, err)
	}
}

func TestApplyRejectsUnknownStop(t *testing.T) {
	t.Parallel()
	st := applyAll(t, []testEvent{mk("o", "erp", 0, order("C", "S1", "S2"))})
	for _, e := range []testEvent{mk("m", "gps", time.Minute, ms("arrived", "S9")), mk("p", "app", time.Minute, pod("S9", "A"))} {
		changed, err := Apply(st, e.ev, e.data)
		var ve *canonical.ValidationError
		if !errors.As(err, &ve) || changed || ve.Errors[0].Field != "data.stop_id" {
			t.Fatalf("%s: changed=%v err=%v", e.ev.ID, changed, err)
		}
	}
	if st.Stops["S9"] != nil {
		t.Fatal("a rejected event left a fact behind")
	}
}

func BenchmarkApplyMilestone(b *testing.B) {
	st := &State{ID: "SHP-1"}
	o := mk("o", "erp", 0, order("C", "S1", "S2", "S3"))
	if _, err := Apply(st, o.ev, o.data); err != nil {
		b.Fatal(err)
	}
	e := mk("m", "gps", time.Hour, ms("arrived", "S2"))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.ev.ID = fmt.Sprint(i)
		if _, err := Apply(st, e.ev, e.data); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPrecedenceRank(t *testing.T) {
	t.Parallel()
	p := Precedence{"partner/driver-app", "crossdock/telemetry", "partner/acme"}
	for _, c := range []struct {
		source string
		want   int
	}{
		{"partner/driver-app", 3}, {"partner/driver-app/eu", 3}, {"crossdock/telemetry", 2},
		{"partner/acme/x12", 1}, {"partner/acme-freight", 0}, {"partner/driver", 0}, {"", 0},
	} {
		if got := p.Rank(c.source); got != c.want {
			t.Errorf("Rank(%q) = %d, want %d", c.source, got, c.want)
		}
	}
}

// A trusted source's stop facts win over a less trusted one's whatever
// their times and whatever order they arrive in: the driver app's POD
// outranks the carrier's earlier 214 D1.
func TestPrecedenceWinsInAnyOrder(t *testing.T) {
	t.Parallel()
	p := Precedence{"partner/driver-app", "crossdock/telemetry"}
	m := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	evs := []testEvent{
		mk("o", "erp", 0, order("C", "S1", "S2")),
		mk("edi-d1", "partner/carrier/x12", m(100), pod("S2", "")),
		mk("app-pod", "partner/driver-app", m(130), pod("S2", "J. Doe")),
		mk("edi-x1", "partner/carrier/x12", m(90), ms("arrived", "S2")),
		mk("gps-arr", "crossdock/telemetry", m(95), ms("arrived", "S2")),
		mk("gps-dep", "crossdock/telemetry", m(140), ms("departed", "S2")),
		mk("edi-cd", "partner/carrier/x12", m(120), ms("departed", "S2")),
	}
	r := rand.New(rand.NewPCG(7, 9))
	var first []byte
	for n := range 50 {
		perm := r.Perm(len(evs))
		st := &State{ID: "SHP-1"}
		for _, i := range perm {
			e := evs[i]
			if _, err := ApplyRanked(st, e.ev, e.data, p.Rank(e.ev.Source)); err != nil {
				t.Fatal(err)
			}
		}
		s2 := st.Stops["S2"]
		if s2.Completed == nil || s2.Completed.Data.SignedBy != "J. Doe" || !s2.Arrived.Time.Equal(t0.Add(m(95))) || !s2.Departed.Time.Equal(t0.Add(m(140))) {
			t.Fatalf("permutation %v: S2 = arrived %v departed %v pod %+v", perm, s2.Arrived, s2.Departed, s2.Completed)
		}
		b, _ := json.Marshal(st.View(t0))
		if n == 0 {
			first = b
		} else if string(b) != string(first) {
			t.Fatalf("permutation %v gave another view:\n%s\n%s", perm, b, first)
		}
	}
}
