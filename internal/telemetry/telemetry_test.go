package telemetry

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
)

var t0 = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

// Depot S1 in Frankfurt, customer S2 about 30 km east (Hanau direction).
var (
	s1 = canonical.Stop{ID: "S1", Type: canonical.StopPickup, Location: canonical.Location{Lat: 50.1100, Lon: 8.6800, RadiusM: 200}}
	s2 = canonical.Stop{ID: "S2", Type: canonical.StopDelivery, Location: canonical.Location{Lat: 50.1300, Lon: 9.1000, RadiusM: 250},
		Window: &canonical.Window{From: t0, To: t0.Add(2 * time.Hour)}}
)

func newShipment(mod func(o *canonical.OrderReleased, a *canonical.RouteAssigned)) *shipment.State {
	o := canonical.OrderReleased{OrderID: "SO-1", CustomerID: "C", Stops: []canonical.Stop{s1, s2}}
	a := canonical.RouteAssigned{VehicleID: "TRK-1", DriverID: "D"}
	if mod != nil {
		mod(&o, &a)
	}
	st := &shipment.State{ID: "SHP-1"}
	ev := func(typ string, i int) canonical.Event {
		return canonical.Event{Source: "tms", ID: fmt.Sprint(i), Type: typ, Subject: "SHP-1", Time: t0.Add(-time.Hour)}
	}
	if _, err := shipment.Apply(st, ev(canonical.TypeOrderReleased, 1), &o); err != nil {
		panic(err)
	}
	if _, err := shipment.Apply(st, ev(canonical.TypeRouteAssigned, 2), &a); err != nil {
		panic(err)
	}
	return st
}

// offset returns the point dNorth, dEast metres from (lat, lon).
func offset(lat, lon, dNorth, dEast float64) (float64, float64) {
	const m = earthRadiusKm * 1000 * math.Pi / 180
	return lat + dNorth/m, lon + dEast/(m*math.Cos(lat*math.Pi/180))
}

type ping struct {
	at       time.Duration
	lat, lon float64
	speed    *float64
	temp     *float64
}

func near(s canonical.Stop, dNorth, dEast float64, at time.Duration) ping {
	lat, lon := offset(s.Location.Lat, s.Location.Lon, dNorth, dEast)
	return ping{at: at, lat: lat, lon: lon}
}

func f64(v float64) *float64 { return &v }

// drive steps every ping through st, applying the effects as the pipeline
// does, and returns the effects in order as "code stop" strings.
func drive(t *testing.T, st *shipment.State, cfg Config, pings ...ping) []string {
	t.Helper()
	var got []string
	for i, p := range pings {
		pos := Position{Time: t0.Add(p.at), Lat: p.lat, Lon: p.lon, SpeedKph: p.speed, TemperatureC: p.temp}
		out := Step(st, "TRK-1", pos, cfg.WithDefaults())
		for j, fx := range out.Effects {
			ev := canonical.Event{Source: "crossdock/telemetry", ID: fmt.Sprintf("d%d-%d", i, j), Type: fx.Type, Subject: st.ID, Time: pos.Time}
			if _, err := shipment.Apply(st, ev, fx.Data); err != nil {
				t.Fatalf("applying %+v: %v", fx.Data, err)
			}
			switch d := fx.Data.(type) {
			case *canonical.ShipmentMilestone:
				got = append(got, d.Code+" "+d.StopID)
			case *canonical.ShipmentException:
				got = append(got, d.Code)
			}
		}
	}
	return got
}

func TestGeofenceArrivalDeparture(t *testing.T) {
	tests := []struct {
		name  string
		pings []ping
		want  []string
	}{
		{"outside only", []ping{near(s1, 0, 1000, 0), near(s1, 0, 800, time.Minute)}, nil},
		{"enter and leave", []ping{near(s1, 0, 1000, 0), near(s1, 0, 100, time.Minute), near(s1, 0, 1000, 10*time.Minute)},
			[]string{"arrived S1", "departed S1"}},
		{"jitter at the boundary does not flap", []ping{
			near(s1, 0, 190, 0),               // inside: arrived
			near(s1, 0, 230, time.Minute),     // beyond the radius, inside the hysteresis
			near(s1, 0, 195, 2*time.Minute),   // back inside
			near(s1, 0, 240, 3*time.Minute),   // out again, still within 250 m
			near(s1, 0, 260, 10*time.Minute),  // beyond radius + hysteresis: departed
			near(s1, 0, 180, 11*time.Minute),  // back in a departed stop: nothing
			near(s1, 0, 2000, 12*time.Minute), // and away
		}, []string{"arrived S1", "departed S1"}},
		{"a stop without a radius uses the default", []ping{near(s1, 0, 1000, 0), near(s1, 0, 150, time.Minute)}, []string{"arrived S1"}},
		{"whole trip", []ping{
			near(s1, 0, 50, 0), near(s1, 0, 5000, 10*time.Minute), near(s2, 0, -5000, 30*time.Minute),
			near(s2, 0, 100, 40*time.Minute), near(s2, 0, 3000, 70*time.Minute),
		}, []string{"arrived S1", "departed S1", "arrived S2", "departed S2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newShipment(func(o *canonical.OrderReleased, _ *canonical.RouteAssigned) {
				o.Stops[1].Window = nil // delays are TestDelayRaisedOnceAndCleared's
				if strings.Contains(tt.name, "default") {
					o.Stops[0].Location.RadiusM = 0
				}
			})
			got := drive(t, st, Config{}, tt.pings...)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("effects %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStopStatusAndDwellFromTelemetry(t *testing.T) {
	st := newShipment(nil)
	drive(t, st, Config{}, near(s1, 0, 50, 0), near(s1, 0, 80, 25*time.Minute), near(s1, 0, 3000, 31*time.Minute))
	v := st.View(t0)
	if got := v.Stops[0]; got.Status != shipment.StopDeparted || got.DwellMinutes == nil || *got.DwellMinutes != 31 {
		t.Fatalf("stop S1 %+v, want departed after 31 minutes", got)
	}
	if v.Status != shipment.StatusInTransit {
		t.Errorf("status %s, want in_transit", v.Status)
	}
}

func TestDistance(t *testing.T) {
	st := newShipment(nil)
	// 1 km east every minute (60 km/h), a glitch 300 km away in between,
	// then a late position that must not count.
	var pings []ping
	for i := range 6 {
		pings = append(pings, near(s1, 0, 5000+float64(i)*1000, time.Duration(i)*time.Minute))
	}
	glitch := ping{at: 5*time.Minute + 30*time.Second, lat: 52.52, lon: 13.40}
	late := near(s1, 0, 20000, 90*time.Second)
	pings = append(pings[:5], glitch, pings[5], late)
	drive(t, st, Config{}, pings...)
	tr := st.Track
	if math.Abs(tr.DistanceKm-5) > 0.01 {
		t.Errorf("distance %.4f km, want 5", tr.DistanceKm)
	}
	if tr.Glitches != 1 || tr.Late != 1 {
		t.Errorf("glitches %d late %d, want 1 and 1", tr.Glitches, tr.Late)
	}
	if v := st.View(t0); math.Abs(v.DistanceKm-5) > 0.01 {
		t.Errorf("view distance_km %v", v.DistanceKm)
	}
}

func TestTripOverOrCancelled(t *testing.T) {
	st := newShipment(nil)
	drive(t, st, Config{}, near(s1, 0, 50, 0), near(s1, 0, 5000, time.Minute), near(s2, 0, 0, 30*time.Minute), near(s2, 0, 5000, 40*time.Minute))
	km := st.Track.DistanceKm
	if out := Step(st, "TRK-1", Position{Time: t0.Add(time.Hour), Lat: s1.Location.Lat, Lon: s1.Location.Lon}, Config{}.WithDefaults()); out.Changed || st.Track.DistanceKm != km {
		t.Errorf("after the last departure: %+v, distance %v → %v", out, km, st.Track.DistanceKm)
	}
	st = newShipment(nil)
	st.Cancelled = &shipment.CancelFact{}
	if out := Step(st, "TRK-1", Position{Time: t0, Lat: s1.Location.Lat, Lon: s1.Location.Lon}, Config{}.WithDefaults()); out.Changed || st.Track != nil {
		t.Errorf("cancelled shipment tracked: %+v", out)
	}
}

func TestLateAndDuplicatePositionsChangeNothing(t *testing.T) {
	st := newShipment(nil)
	drive(t, st, Config{}, near(s1, 0, 50, 10*time.Minute))
	before := *st.Track
	for _, p := range []ping{near(s1, 0, 5000, 10*time.Minute), near(s1, 0, 5000, 5*time.Minute)} {
		out := Step(st, "TRK-1", Position{Time: t0.Add(p.at), Lat: p.lat, Lon: p.lon}, Config{}.WithDefaults())
		if !out.Late || len(out.Effects) != 0 {
			t.Fatalf("position at %v: %+v, want late without effects", p.at, out)
		}
	}
	if st.Track.Inside != before.Inside || st.Track.Last.Time != before.Last.Time || st.Track.DistanceKm != before.DistanceKm {
		t.Errorf("late positions moved the track: %+v, was %+v", st.Track, before)
	}
}

func TestDelayRaisedOnceAndCleared(t *testing.T) {
	st := newShipment(func(o *canonical.OrderReleased, _ *canonical.RouteAssigned) {
		o.Stops[1].Window = &canonical.Window{From: t0, To: t0.Add(45 * time.Minute)}
	})
	slow, fast := f64(5), f64(90)
	p := func(dEast float64, at time.Duration, speed *float64) ping {
		q := near(s1, 0, dEast, at)
		q.speed = speed
		return q
	}
	got := drive(t, st, Config{},
		p(50, 0, slow), p(3000, 10*time.Minute, slow), // ~27 km left at the fallback 50 km/h × 1.3: late
		p(3100, 11*time.Minute, slow), p(3200, 12*time.Minute, slow), // still late: no second delay
		p(9000, 16*time.Minute, fast), p(15000, 20*time.Minute, fast), // faster, still late
		p(21000, 24*time.Minute, fast), // on time again, inside the margin
	)
	want := []string{"arrived S1", "departed S1", "delayed S2", "in_transit S2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("effects %q, want %q", got, want)
	}
	v := st.View(t0)
	if v.Delay != nil {
		t.Errorf("delay still shown after on_time: %+v", v.Delay)
	}
	if v.ETA == nil || v.NextStopID == nil || *v.NextStopID != "S2" || !v.ETA.Before(t0.Add(45*time.Minute)) {
		t.Errorf("eta %v next %v", v.ETA, v.NextStopID)
	}
}

func TestETA(t *testing.T) {
	st := newShipment(nil)
	drive(t, st, Config{}, ping{at: 0, lat: s1.Location.Lat, lon: 8.9, speed: f64(80)})
	tr := st.Track
	// S1 is still the next stop (never departed): ~15.7 km × 1.3 at 80 km/h.
	km := HaversineKm(s1.Location.Lat, 8.9, s1.Location.Lat, s1.Location.Lon) * 1.3
	want := t0.Add(time.Duration(km / 80 * float64(time.Hour))).Truncate(time.Second)
	if tr.NextStop != "S1" || tr.ETA == nil || !tr.ETA.Equal(want) {
		t.Fatalf("next %s eta %v, want S1 at %v", tr.NextStop, tr.ETA, want)
	}
}

func TestTemperatureExcursion(t *testing.T) {
	st := newShipment(func(o *canonical.OrderReleased, _ *canonical.RouteAssigned) {
		o.Temperature = &canonical.TemperatureRange{MinC: 2, MaxC: 8}
	})
	p := func(at time.Duration, c float64) ping {
		q := near(s1, 0, 5000, at)
		q.temp = f64(c)
		return q
	}
	got := drive(t, st, Config{TemperatureGrace: 10 * time.Minute},
		p(0, 5), p(time.Minute, 9), p(5*time.Minute, 9.5), // 4 minutes out: within grace
		p(6*time.Minute, 7),                         // back in range: the clock restarts
		p(7*time.Minute, 10), p(16*time.Minute, 10), // 9 minutes: nothing yet
		p(17*time.Minute, 11), p(20*time.Minute, 12), // 10 minutes: one exception, not two
		p(21*time.Minute, 6), p(22*time.Minute, 1), p(40*time.Minute, 0), // a second excursion, too cold
	)
	want := []string{"temperature_excursion", "temperature_excursion"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("effects %q, want %q", got, want)
	}
}

func TestTemperatureIgnoredWithoutRangeOrReading(t *testing.T) {
	st := newShipment(nil)
	q := near(s1, 0, 5000, 0)
	q.temp = f64(40)
	later := near(s1, 0, 5000, time.Hour)
	later.temp = f64(40)
	if got := drive(t, st, Config{}, q, later); len(got) != 0 {
		t.Fatalf("effects %q without a range", got)
	}
}

func TestRouteDeviation(t *testing.T) {
	st := newShipment(func(_ *canonical.OrderReleased, a *canonical.RouteAssigned) {
		a.Route = &canonical.LineString{Type: "LineString", Coordinates: [][2]float64{
			{s1.Location.Lon, s1.Location.Lat}, {s2.Location.Lon, s1.Location.Lat}, {s2.Location.Lon, s2.Location.Lat},
		}}
	})
	on := func(at time.Duration, dEast float64) ping { return near(s1, 300, dEast, at) } // 300 m north of the route
	off := func(at time.Duration, dEast float64) ping { return near(s1, 2500, dEast, at) }
	got := drive(t, st, Config{},
		on(0, 1000), off(time.Minute, 2000), off(4*time.Minute, 3000), // 3 minutes off: nothing
		on(5*time.Minute, 4000), off(6*time.Minute, 5000), off(11*time.Minute, 6000), off(12*time.Minute, 7000),
	)
	if fmt.Sprint(got) != fmt.Sprint([]string{"route_deviation"}) {
		t.Fatalf("effects %q, want one route_deviation", got)
	}
}

func TestAnotherVehicleTakesOver(t *testing.T) {
	st := newShipment(nil)
	drive(t, st, Config{}, near(s1, 0, 5000, 0), near(s1, 0, 6000, time.Minute))
	out := Step(st, "TRK-2", Position{Time: t0.Add(30 * time.Second), Lat: s1.Location.Lat, Lon: s1.Location.Lon}, Config{}.WithDefaults())
	if out.Late || st.Track.VehicleID != "TRK-2" || math.Abs(st.Track.DistanceKm-1) > 0.01 {
		t.Fatalf("take over: %+v, track %+v", out, st.Track)
	}
}

func TestHaversine(t *testing.T) {
	tests := []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		wantKm, tolKm          float64
	}{
		{"same point", 50.11, 8.68, 50.11, 8.68, 0, 1e-9},
		{"one degree of latitude", 0, 0, 1, 0, 111.195, 0.001},
		{"Paris to London", 48.8566, 2.3522, 51.5074, -0.1278, 343.56, 0.1},
		{"across the antimeridian", 0, 179.5, 0, -179.5, 111.195, 0.001},
		{"antipodes", 0, 0, 0, 180, math.Pi * earthRadiusKm, 1e-6},
	}
	for _, tt := range tests {
		if got := HaversineKm(tt.lat1, tt.lon1, tt.lat2, tt.lon2); math.Abs(got-tt.wantKm) > tt.tolKm {
			t.Errorf("%s: %.4f km, want %.4f", tt.name, got, tt.wantKm)
		}
	}
}

func TestDistanceToLine(t *testing.T) {
	line := [][2]float64{{8.0, 50.0}, {9.0, 50.0}}
	lat, lon := offset(50.0, 8.5, 1000, 0)
	if got := DistanceToLineM(lat, lon, line); math.Abs(got-1000) > 5 {
		t.Errorf("1 km north of the segment: %.1f m", got)
	}
	lat, lon = offset(50.0, 9.0, 0, 3000)
	if got := DistanceToLineM(lat, lon, line); math.Abs(got-3000) > 15 {
		t.Errorf("3 km past its end: %.1f m", got)
	}
	if got := DistanceToLineM(50, 8.25, line); got > 0.01 {
		t.Errorf("on the line: %.3f m", got)
	}
}

// BenchmarkStep measures one position against a shipment with ten stops,
// a planned route of 500 points and a temperature range: the whole
// per-position cost of the rules. It does not depend on how many other
// geofences are active: a position is tested only against its vehicle's
// shipment.
func BenchmarkStep(b *testing.B) {
	stops := make([]canonical.Stop, 10)
	for i := range stops {
		lat, lon := offset(50.11, 8.68, 0, float64(i)*20000)
		stops[i] = canonical.Stop{ID: fmt.Sprintf("S%d", i), Type: canonical.StopDelivery,
			Location: canonical.Location{Lat: lat, Lon: lon, RadiusM: 300}, Window: &canonical.Window{From: t0, To: t0.Add(10 * time.Hour)}}
	}
	route := make([][2]float64, 500)
	for i := range route {
		lat, lon := offset(50.11, 8.68, 0, float64(i)*400)
		route[i] = [2]float64{lon, lat}
	}
	st := newShipment(func(o *canonical.OrderReleased, a *canonical.RouteAssigned) {
		o.Stops, o.Temperature = stops, &canonical.TemperatureRange{MinC: 2, MaxC: 8}
		a.Route = &canonical.LineString{Type: "LineString", Coordinates: route}
	})
	cfg := Config{}.WithDefaults()
	temp, speed := 4.0, 70.0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		lat, lon := offset(50.11, 8.68, 100, float64(i%200000)*1)
		Step(st, "TRK-1", Position{Time: t0.Add(time.Duration(i) * time.Second), Lat: lat, Lon: lon, SpeedKph: &speed, TemperatureC: &temp}, cfg)
	}
}

// BenchmarkGeofence measures the geofence test alone for one position.
func BenchmarkGeofence(b *testing.B) {
	st := newShipment(nil)
	cfg := Config{}.WithDefaults()
	st.Track = &shipment.Track{VehicleID: "TRK-1"}
	lat, lon := offset(50.11, 8.68, 0, 5000)
	p := Position{Time: t0, Lat: lat, Lon: lon}
	b.ReportAllocs()
	for b.Loop() {
		geofence(st, st.Track, st.Order.Data.Stops, p, cfg)
	}
}

// A long route: the windowed search must not mistake a vehicle that moved
// far along it (or started mid-route) for one off route.
func TestRouteDeviationOnALongRoute(t *testing.T) {
	route := make([][2]float64, 1000)
	for i := range route {
		lat, lon := offset(50.0, 8.0, 0, float64(i)*200)
		route[i] = [2]float64{lon, lat}
	}
	st := newShipment(func(_ *canonical.OrderReleased, a *canonical.RouteAssigned) {
		a.Route = &canonical.LineString{Type: "LineString", Coordinates: route}
	})
	var pings []ping
	for i, east := range []float64{100, 150000, 30000, 199000, 5000} { // jumps along the route
		lat, lon := offset(50.0, 8.0, 400, east)
		pings = append(pings, ping{at: time.Duration(i) * 10 * time.Minute, lat: lat, lon: lon})
	}
	if got := drive(t, st, Config{MaxSpeedKph: 2000}, pings...); len(got) != 0 {
		t.Fatalf("effects %q on route", got)
	}
	if st.Track.RouteSeg == 0 {
		t.Error("nearest segment not remembered")
	}
}
