package vehicle

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
)

func TestApplyIsOrderIndependent(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	pos := func(id string, min int, lat float64) (canonical.Event, any) {
		return canonical.Event{ID: id, Source: "fleet", Type: canonical.TypeTelemetryPosition, Subject: "TRK-1", Time: t0.Add(time.Duration(min) * time.Minute)},
			&canonical.TelemetryPosition{Lat: lat, Lon: 8}
	}
	asg := func(id, shp string, min int) (canonical.Event, any) {
		return canonical.Event{ID: id, Source: "tms", Type: canonical.TypeRouteAssigned, Subject: shp, Time: t0.Add(time.Duration(min) * time.Minute)},
			&canonical.RouteAssigned{VehicleID: "TRK-1", DriverID: "D-" + shp}
	}
	type pair struct {
		ev   canonical.Event
		data any
	}
	var evs []pair
	for _, f := range []func() (canonical.Event, any){
		func() (canonical.Event, any) { return pos("p1", 1, 50.1) },
		func() (canonical.Event, any) { return pos("p2", 3, 50.3) },
		func() (canonical.Event, any) { return pos("p3", 2, 50.2) },
		func() (canonical.Event, any) { return asg("a1", "SHP-1", 0) },
		func() (canonical.Event, any) { return asg("a2", "SHP-2", 5) },
	} {
		e, d := f()
		evs = append(evs, pair{e, d})
	}
	var want *State
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		st := &State{ID: "TRK-1"}
		for _, e := range evs {
			Apply(st, e.ev, e.data)
		}
		if want == nil {
			want = st
		} else if !reflect.DeepEqual(st, want) {
			t.Fatalf("order changed the result: %+v vs %+v", st, want)
		}
	}
	v := want.View(t0)
	if v.Position.Lat != 50.3 || *v.ShipmentID != "SHP-2" || *v.DriverID != "D-SHP-2" {
		t.Fatalf("view = %+v", v)
	}
}
