package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var testAnchor = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// envelope is a decoded event, checked against the contract.
type envelope struct {
	SpecVersion string          `json:"specversion"`
	ID          string          `json:"id"`
	Source      string          `json:"source"`
	Type        string          `json:"type"`
	Subject     string          `json:"subject"`
	Time        string          `json:"time"`
	Data        json.RawMessage `json:"data"`

	at   time.Time
	data map[string]any
}

// checker checks events structurally against CONTRACT.md ("Events in",
// canonical event types); it deliberately knows nothing of the hub's code.
type checker struct {
	t      *testing.T
	runID  string
	anchor time.Time
	ids    map[string]bool
}

func newChecker(t *testing.T, runID string, anchor time.Time) *checker {
	return &checker{t: t, runID: runID, anchor: anchor, ids: map[string]bool{}}
}

func (c *checker) check(raw []byte) envelope {
	c.t.Helper()
	if !json.Valid(raw) {
		c.t.Fatalf("not JSON: %s", raw)
	}
	var e envelope
	if err := json.Unmarshal(raw, &e); err != nil {
		c.t.Fatalf("decoding %s: %v", raw, err)
	}
	fail := func(format string, args ...any) {
		c.t.Helper()
		c.t.Fatalf("%s: %s", fmt.Sprintf(format, args...), raw)
	}
	if e.SpecVersion != "1.0" {
		fail("specversion %q", e.SpecVersion)
	}
	num, ok := strings.CutPrefix(e.ID, c.runID+"-")
	if _, err := strconv.ParseUint(num, 10, 64); !ok || err != nil {
		fail("id %q is not %s-<n>", e.ID, c.runID)
	}
	if c.ids[e.ID] {
		fail("id %q repeats", e.ID)
	}
	c.ids[e.ID] = true
	if e.Subject == "" || e.Type == "" {
		fail("no subject or type")
	}
	wantSource := map[string]string{
		"order.released": "bench/tms", "route.assigned": "bench/tms",
		"shipment.milestone": "bench/driver-app", "delivery.completed": "bench/driver-app",
		"telemetry.position": "bench/fleet",
	}[e.Type]
	if wantSource == "" {
		fail("unexpected type %q", e.Type)
	}
	if e.Source != wantSource {
		fail("source %q, want %q", e.Source, wantSource)
	}
	e.at = c.time(raw, e.Time)
	if !e.at.Before(c.anchor) || e.at.Before(c.anchor.Add(-history)) {
		fail("time %s is not in the %s before %s", e.Time, history, c.anchor)
	}
	if err := json.Unmarshal(e.Data, &e.data); err != nil || e.data == nil {
		fail("data is not an object")
	}
	d := e.data
	switch e.Type {
	case "order.released":
		c.str(raw, d, "order_id")
		if n, err := strconv.Atoi(strings.TrimPrefix(c.str(raw, d, "customer_id"), "CUST-")); err != nil || n < 1 || n > customers {
			fail("customer_id %v not in the pool", d["customer_id"])
		}
		stops, _ := d["stops"].([]any)
		if len(stops) < 2 || len(stops) > 4 {
			fail("%d stops", len(stops))
		}
		seen := map[string]bool{}
		for i, s := range stops {
			st := c.obj(raw, s)
			id := c.str(raw, st, "id")
			if seen[id] {
				fail("stop id %q repeats", id)
			}
			seen[id] = true
			want := "delivery"
			if i == 0 {
				want = "pickup"
			}
			if typ := c.str(raw, st, "type"); typ != want {
				fail("stop %d type %q, want %q", i, typ, want)
			}
			loc := c.obj(raw, st["location"])
			c.str(raw, loc, "id")
			c.latLon(raw, loc)
			if r := c.num(raw, loc, "radius_m"); r < 150 || r > 300 || r != math.Trunc(r) {
				fail("radius_m %v", r)
			}
			w := c.obj(raw, st["window"])
			from, to := c.time(raw, c.str(raw, w, "from")), c.time(raw, c.str(raw, w, "to"))
			if !from.Before(to) || !to.Before(c.anchor) {
				fail("window %s–%s", from, to)
			}
		}
		if a, ok := d["accessorials"]; ok {
			list, _ := a.([]any)
			for _, code := range list {
				if s, _ := code.(string); s == "" {
					fail("accessorial %v", code)
				}
			}
		}
		if c.num(raw, d, "weight_kg") <= 0 || c.num(raw, d, "pieces") < 1 {
			fail("weight or pieces")
		}
		c.obj(raw, d["references"])
	case "route.assigned":
		c.str(raw, d, "vehicle_id")
		c.str(raw, d, "driver_id")
		if pd := c.time(raw, c.str(raw, d, "planned_departure")); pd.Before(e.at) || !pd.Before(c.anchor) {
			fail("planned_departure %s", pd)
		}
	case "shipment.milestone":
		if code := c.str(raw, d, "code"); code != "arrived" && code != "departed" {
			fail("code %q", code)
		}
		c.str(raw, d, "stop_id")
		c.latLon(raw, c.obj(raw, d["location"]))
	case "delivery.completed":
		c.str(raw, d, "stop_id")
		c.str(raw, d, "signed_by")
		c.latLon(raw, c.obj(raw, d["location"]))
		if c.num(raw, d, "pieces") < 1 {
			fail("pieces")
		}
	case "telemetry.position":
		c.latLon(raw, d)
		if v := c.num(raw, d, "speed_kph"); v < 0 || v > 130 {
			fail("speed_kph %v", v)
		}
		if h := c.num(raw, d, "heading"); h < 0 || h > 360 {
			fail("heading %v", h)
		}
		if c.num(raw, d, "odometer_km") <= 0 {
			fail("odometer_km")
		}
	}
	return e
}

func (c *checker) time(raw []byte, s string) time.Time {
	c.t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		c.t.Fatalf("time %q is not RFC 3339: %s", s, raw)
	}
	return at
}

func (c *checker) str(raw []byte, m map[string]any, key string) string {
	c.t.Helper()
	s, _ := m[key].(string)
	if s == "" {
		c.t.Fatalf("%s: want a non-empty string: %s", key, raw)
	}
	return s
}

func (c *checker) num(raw []byte, m map[string]any, key string) float64 {
	c.t.Helper()
	v, ok := m[key].(float64)
	if !ok {
		c.t.Fatalf("%s: want a number: %s", key, raw)
	}
	return v
}

func (c *checker) obj(raw []byte, v any) map[string]any {
	c.t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		c.t.Fatalf("want an object, got %v: %s", v, raw)
	}
	return m
}

// latLon checks a point lies in Europe, around the generator's cities.
func (c *checker) latLon(raw []byte, m map[string]any) {
	c.t.Helper()
	lat, lon := c.num(raw, m, "lat"), c.num(raw, m, "lon")
	if lat < 38 || lat > 56 || lon < -6 || lon > 24 {
		c.t.Fatalf("lat/lon %v,%v outside Europe: %s", lat, lon, raw)
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	t.Parallel()
	stream := func(seed int64, runID, mix string) [][]byte {
		g := NewGenerator(seed, runID, 40, mix, WithNow(testAnchor))
		out := make([][]byte, 3000)
		for i := range out {
			out[i] = g.Next()
		}
		return out
	}
	for _, mix := range []string{MixRealistic, MixPositions, MixTracking} {
		a, b := stream(7, "r", mix), stream(7, "r", mix)
		for i := range a {
			if !bytes.Equal(a[i], b[i]) {
				t.Fatalf("%s: event %d differs for the same seed:\n%s\n%s", mix, i, a[i], b[i])
			}
		}
		c := stream(8, "r", mix)
		same := 0
		for i := range a {
			if bytes.Equal(a[i], c[i]) {
				same++
			}
		}
		if same == len(a) {
			t.Errorf("%s: seeds 7 and 8 give the same stream", mix)
		}
	}
}

func TestGeneratorEventsMatchContract(t *testing.T) {
	t.Parallel()
	for _, mix := range []string{MixRealistic, MixPositions, MixTracking} {
		t.Run(mix, func(t *testing.T) {
			t.Parallel()
			g := NewGenerator(3, "run-x", 25, mix, WithNow(testAnchor))
			c := newChecker(t, "run-x", testAnchor)
			types := map[string]int{}
			for range 5000 {
				types[c.check(g.Next()).Type]++
			}
			if mix == MixPositions {
				if len(types) != 1 || types["telemetry.position"] != 5000 {
					t.Errorf("positions mix gave %v", types)
				}
				return
			}
			if mix == MixTracking {
				if len(types) != 3 || types["telemetry.position"] < 4500 || types["order.released"] == 0 || types["route.assigned"] == 0 {
					t.Errorf("tracking mix gave %v", types)
				}
				return
			}
			for _, typ := range []string{"order.released", "route.assigned", "shipment.milestone", "delivery.completed", "telemetry.position"} {
				if types[typ] == 0 {
					t.Errorf("no %s in %v", typ, types)
				}
			}
		})
	}
}

// shipmentState follows one shipment through its lifecycle.
type shipmentState struct {
	vehicle   string
	stops     []string          // stop ids in order
	kinds     map[string]string // stop id → pickup|delivery
	locs      map[string][3]float64
	next      int // index of the stop to be arrived at next
	atStop    string
	pods      map[string]bool
	last      time.Time
	assigned  bool
	completed bool
}

// TestGeneratorCausalOrder follows every shipment of a long stream: its
// events come in lifecycle order with non-decreasing times, positions
// belong to the assigned vehicle, every delivery stop gets one POD inside
// its geofence — and each vehicle's times only move forward.
func TestGeneratorCausalOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		shipments int
		events    int
		epochs    bool // the stream is long enough for vehicles to roll over
	}{
		{"many shipments", 60, 8000, false},
		{"few shipments, vehicles roll over", 2, 4000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewGenerator(11, "co", tc.shipments, MixRealistic, WithNow(testAnchor))
			c := newChecker(t, "co", testAnchor)
			ships := map[string]*shipmentState{}
			vehicleShip := map[string]*shipmentState{}
			vehicleLast := map[string]time.Time{}
			completed, rolled := 0, false
			for range tc.events {
				raw := g.Next()
				e := c.check(raw)
				fail := func(format string, args ...any) {
					t.Helper()
					t.Fatalf("%s: %s", fmt.Sprintf(format, args...), raw)
				}
				if e.Type == "telemetry.position" {
					if e.at.Before(vehicleLast[e.Subject]) {
						fail("vehicle %s went back in time", e.Subject)
					}
					vehicleLast[e.Subject] = e.at
					s := vehicleShip[e.Subject]
					if s == nil || s.completed {
						fail("position of %s, which runs no shipment", e.Subject)
					}
					if e.at.Before(s.last) {
						fail("position before the shipment's previous event")
					}
					s.last = e.at
					continue
				}
				s := ships[e.Subject]
				if e.Type == "order.released" {
					if s != nil {
						fail("shipment %s released twice", e.Subject)
					}
					s = &shipmentState{kinds: map[string]string{}, locs: map[string][3]float64{}, pods: map[string]bool{}, last: e.at}
					for _, st := range e.data["stops"].([]any) {
						m := st.(map[string]any)
						loc := m["location"].(map[string]any)
						id := m["id"].(string)
						s.stops = append(s.stops, id)
						s.kinds[id] = m["type"].(string)
						s.locs[id] = [3]float64{loc["lat"].(float64), loc["lon"].(float64), loc["radius_m"].(float64)}
					}
					ships[e.Subject] = s
					continue
				}
				if s == nil {
					fail("%s before order.released", e.Type)
				}
				if e.at.Before(s.last) {
					fail("time %s before the shipment's previous event at %s", e.at, s.last)
				}
				s.last = e.at
				switch e.Type {
				case "route.assigned":
					if s.assigned {
						fail("assigned twice")
					}
					s.assigned = true
					s.vehicle = e.data["vehicle_id"].(string)
					if strings.Contains(s.vehicle, ".") {
						rolled = true
					}
					if prev := vehicleShip[s.vehicle]; prev != nil && !prev.completed {
						fail("vehicle %s assigned while its previous shipment runs", s.vehicle)
					}
					vehicleShip[s.vehicle] = s
				case "shipment.milestone":
					if !s.assigned {
						fail("milestone before route.assigned")
					}
					stop := e.data["stop_id"].(string)
					switch e.data["code"] {
					case "arrived":
						if s.atStop != "" || s.next >= len(s.stops) || s.stops[s.next] != stop {
							fail("arrived at %s out of order", stop)
						}
						s.atStop = stop
					case "departed":
						if s.atStop != stop {
							fail("departed %s without arriving", stop)
						}
						if s.kinds[stop] == "delivery" && !s.pods[stop] {
							fail("departed delivery stop %s without a POD", stop)
						}
						s.atStop = ""
						s.next++
						if s.next == len(s.stops) {
							s.completed = true
							completed++
						}
					}
				case "delivery.completed":
					stop := e.data["stop_id"].(string)
					if s.atStop != stop || s.kinds[stop] != "delivery" || s.pods[stop] {
						fail("POD for %s out of place", stop)
					}
					s.pods[stop] = true
					loc := e.data["location"].(map[string]any)
					want := s.locs[stop]
					if d := distanceKm(loc["lat"].(float64), loc["lon"].(float64), want[0], want[1]) * 1000; d > want[2] {
						fail("POD %.0f m from the stop, outside its %v m geofence", d, want[2])
					}
				}
			}
			if completed == 0 {
				t.Fatal("no shipment completed its lifecycle")
			}
			if rolled != tc.epochs {
				t.Errorf("vehicles rolled over: %v, want %v", rolled, tc.epochs)
			}
		})
	}
}

func TestGeneratorPositionsRollOver(t *testing.T) {
	t.Parallel()
	g := NewGenerator(5, "pr", 1, MixPositions, WithNow(testAnchor))
	last := map[string]time.Time{}
	for range 30000 { // 30000 fixes of 15–60 s are more than the history
		raw := g.Next()
		var e envelope
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		at, err := time.Parse(time.RFC3339, e.Time)
		if err != nil || !at.Before(testAnchor) || at.Before(testAnchor.Add(-history)) {
			t.Fatalf("time %s (%v) outside the history before %s", e.Time, err, testAnchor)
		}
		if at.Before(last[e.Subject]) {
			t.Fatalf("vehicle %s went back in time at %s", e.Subject, e.ID)
		}
		last[e.Subject] = at
	}
	if len(last) < 2 {
		t.Errorf("vehicles %v: want a roll-over to a fresh id", last)
	}
}

func TestGeneratorPartitionsAreDisjoint(t *testing.T) {
	t.Parallel()
	const parts = 3
	ids := map[string]int{}
	subjects := map[string]int{}
	for k := range parts {
		g := NewGenerator(9, "p", 10, MixRealistic, WithNow(testAnchor), WithPartition(k, parts))
		c := newChecker(t, "p", testAnchor)
		for range 2000 {
			e := c.check(g.Next())
			n, _ := strconv.Atoi(strings.TrimPrefix(e.ID, "p-"))
			if n%parts != k {
				t.Fatalf("partition %d made id %s", k, e.ID)
			}
			if prev, ok := ids[e.ID]; ok {
				t.Fatalf("id %s made by partitions %d and %d", e.ID, prev, k)
			}
			ids[e.ID] = k
			if prev, ok := subjects[e.Subject]; ok && prev != k {
				t.Fatalf("subject %s made by partitions %d and %d", e.Subject, prev, k)
			}
			subjects[e.Subject] = k
		}
	}
}

func TestGeneratorPanicsOnBadArguments(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		make func()
	}{
		{"unknown mix", func() { NewGenerator(1, "r", 10, "chaos") }},
		{"no shipments", func() { NewGenerator(1, "r", 0, MixRealistic) }},
		{"partition index out of range", func() { NewGenerator(1, "r", 10, MixRealistic, WithPartition(3, 3)) }},
		{"more partitions than shipments", func() { NewGenerator(1, "r", 2, MixRealistic, WithPartition(0, 3)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.make()
		})
	}
}

func TestGeneratorConcurrentUse(t *testing.T) {
	t.Parallel()
	g := NewGenerator(2, "cc", 30, MixRealistic)
	var mu sync.Mutex
	ids := map[string]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				var e envelope
				if err := json.Unmarshal(g.Next(), &e); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if ids[e.ID] {
					t.Errorf("id %s twice", e.ID)
				}
				ids[e.ID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(ids) != 4000 {
		t.Errorf("%d ids, want 4000", len(ids))
	}
}

func TestGeneratorSourceAndOddRunID(t *testing.T) {
	t.Parallel()
	runID := "r\"1\\ü\t"
	g := NewGenerator(1, runID, 5, MixRealistic, WithNow(testAnchor), WithSource("partner/acme"))
	for i := range 200 {
		raw := g.Next()
		var e envelope
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("event %d: %v: %s", i, err, raw)
		}
		if want := runID + "-" + strconv.Itoa(i); e.ID != want {
			t.Fatalf("id %q, want %q", e.ID, want)
		}
		if !strings.HasPrefix(e.Source, "partner/acme/") {
			t.Fatalf("source %q", e.Source)
		}
	}
}

func TestAppendString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "tab\tnl\ncr\r", "\x00\x01\x1f", "Müller García Novák", "<html>&", "emoji 🚚"} {
		var got string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil || got != s {
			t.Errorf("appendString(%q) = %s: decodes to %q, %v", s, appendString(nil, s), got, err)
		}
	}
	var got string
	if err := json.Unmarshal(appendString(nil, "bad\xffutf8"), &got); err != nil || got != "bad\ufffdutf8" {
		t.Errorf("invalid UTF-8: %q, %v", got, err)
	}
}

func BenchmarkGeneratorNext(b *testing.B) {
	for _, mix := range []string{MixRealistic, MixPositions, MixTracking} {
		b.Run(mix, func(b *testing.B) {
			g := NewGenerator(1, "bench", 10000, mix)
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				buf = g.AppendNext(buf[:0])
			}
		})
	}
}
