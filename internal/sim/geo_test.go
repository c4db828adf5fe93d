package sim

import (
	"math"
	"testing"
	"time"
)

func TestSimGeo(t *testing.T) {
	t.Parallel()
	rtm, ams, anr, bru := point{51.9244, 4.4777}, point{52.3676, 4.9041}, point{51.2194, 4.4025}, point{50.8503, 4.3517}
	cgn, dus, fra, mhg := point{50.9375, 6.9603}, point{51.2277, 6.7735}, point{50.1109, 8.6821}, point{49.4875, 8.4660}
	lux := point{49.6116, 6.1319}
	// Reference values: haversine on a 6371 km sphere, computed apart.
	for _, c := range []struct {
		name    string
		a, b    point
		km, deg float64
	}{
		{"Rotterdam–Amsterdam", rtm, ams, 57.23, 30.4},
		{"Antwerp–Brussels", anr, bru, 41.20, 185.0},
		{"Cologne–Düsseldorf", cgn, dus, 34.81, 338.1},
		{"Frankfurt–Mannheim", fra, mhg, 71.03, 192.7},
		{"Rotterdam–Luxembourg", rtm, lux, 282.24, 155.0},
		{"same place", rtm, rtm, 0, 0},
		{"due north on the equator", point{0, 0}, point{1, 0}, 111.19, 0},
		{"due east on the equator", point{0, 0}, point{0, 1}, 111.19, 90},
		{"due west", point{50, 8}, point{50, 7}, 71.47, 270.4},
	} {
		if got := distanceKm(c.a, c.b); math.Abs(got-c.km) > 0.01 {
			t.Errorf("%s: distance %.3f km, want %.2f", c.name, got, c.km)
		}
		if got := bearingDeg(c.a, c.b); math.Abs(got-c.deg) > 0.05 {
			t.Errorf("%s: bearing %.2f°, want %.1f", c.name, got, c.deg)
		}
	}
}

func TestSimOffsetAndLerp(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		from        point
		km, bearing float64
	}{
		{point{51.92, 4.48}, 0.25, 0},
		{point{51.92, 4.48}, 0.35, 137},
		{point{50.11, 8.68}, 5, 270},
		{point{49.61, 6.13}, 40, 45},
		{point{52.37, 4.90}, 150, 200},
	} {
		to := offsetKm(c.from, c.km, c.bearing)
		if d := distanceKm(c.from, to); math.Abs(d-c.km) > c.km*0.005 {
			t.Errorf("offset %g km at %g° from %v lands %.4f km away", c.km, c.bearing, c.from, d)
		}
		if c.km >= 1 {
			if b := bearingDeg(c.from, to); math.Abs(math.Mod(b-c.bearing+540, 360)-180) > 1 {
				t.Errorf("offset at %g° heads %.2f°", c.bearing, b)
			}
		}
		mid := lerp(c.from, to, 0.5)
		if d1, d2 := distanceKm(c.from, mid), distanceKm(mid, to); math.Abs(d1-d2) > c.km*0.01 {
			t.Errorf("midpoint of %g km: %.4f and %.4f km to the ends", c.km, d1, d2)
		}
	}
}

func TestSimTimeline(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 24, 21, 30, 0, 0, time.UTC)
	origin := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC) // the last 08:00 UTC at least 36 h before
	for _, c := range []struct {
		name  string
		speed float64
		after time.Duration // wall-clock time since start
		want  time.Time
	}{
		{"at the start", 60, 0, origin},
		{"before the start", 60, -time.Minute, origin},
		{"one wall minute is an hour", 60, time.Minute, origin.Add(time.Hour)},
		{"half a second", 60, 500 * time.Millisecond, origin.Add(30 * time.Second)},
		{"at 600×", 600, 6 * time.Second, origin.Add(time.Hour)},
		{"just before catching up", 60, 25 * time.Minute, origin.Add(25 * time.Hour)},
		{"caught up: Behind the wall clock", 60, time.Hour, start.Add(time.Hour - Behind)},
		{"real time never catches up", 1, 48 * time.Hour, origin.Add(48 * time.Hour)},
	} {
		tl := NewTimeline(start, c.speed)
		if tl.Origin() != origin {
			t.Fatalf("origin %s, want %s", tl.Origin(), origin)
		}
		if got := tl.Sim(start.Add(c.after)); !got.Equal(c.want) {
			t.Errorf("%s: sim %s, want %s", c.name, got, c.want)
		}
		if got := tl.Sim(start.Add(c.after)); got.After(start.Add(c.after - Behind)) {
			t.Errorf("%s: sim %s is less than Behind before the wall clock", c.name, got)
		}
	}
	for _, c := range []struct{ start, origin time.Time }{
		{time.Date(2026, 11, 24, 19, 59, 0, 0, time.UTC), time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)},
		{time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)},
		{time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)},
		{time.Date(2026, 11, 25, 7, 0, 0, 0, time.FixedZone("CET", 3600)), time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)},
	} {
		if got := NewTimeline(c.start, 60).Origin(); !got.Equal(c.origin) {
			t.Errorf("start %s: origin %s, want %s", c.start, got, c.origin)
		}
	}
}

// TestSimMap checks the fixed map the plans rely on: every city has
// neighbours to deliver to, and sites far enough from its depot.
func TestSimMap(t *testing.T) {
	t.Parallel()
	ids := map[string]bool{}
	for _, c := range cities() {
		if len(c.neighbours) == 0 {
			t.Errorf("%s has no neighbour within %d–%d km", c.name, neighbourMinKm, neighbourMaxKm)
		}
		far := 0
		for _, s := range c.sites {
			if distanceKm(s.at, c.depot.at) >= minHopKm {
				far++
			}
			if d := distanceKm(s.at, c.centre); d > 12.01 {
				t.Errorf("%s is %.1f km from %s", s.id, d, c.name)
			}
		}
		if far == 0 {
			t.Errorf("%s: every site within %g km of its depot", c.name, minHopKm)
		}
		for _, p := range append([]place{c.depot}, c.sites...) {
			if ids[p.id] {
				t.Errorf("location id %s twice", p.id)
			}
			ids[p.id] = true
		}
	}
}
