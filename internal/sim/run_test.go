package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/x12"
)

// request is one request a simulation sent.
type request struct {
	Method, Path, Key, ContentType string
	Body                           []byte
	Wall                           time.Time // the fake wall clock when it was sent
}

// recorder is a stand-in hub: it records every request and answers it as
// the hub would when all goes well. Its cases endpoint lists one open
// case of each exception kind for any shipment; a reconciliation run it
// starts is done at once, and its connectors have nothing waiting.
type recorder struct {
	clk *fakeClock
	// backlogUntil: the connectors have deliveries waiting until then.
	backlogUntil time.Time
	mu           sync.Mutex
	got          []request
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.got = append(rec.got, request{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body, rec.clk.Now()})
	n := len(rec.got)
	rec.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/api/v1/events":
		var evs []struct{ ID, Source string }
		if err := json.Unmarshal(body, &evs); err != nil {
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		res := make([]map[string]string, len(evs))
		for i, e := range evs {
			res[i] = map[string]string{"id": e.ID, "source": e.Source, "status": "accepted"}
		}
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]any{"results": res})
	case strings.HasSuffix(r.URL.Path, "/keys"):
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"key":"carrier-key","prefix":"carrier"}`)
	case strings.HasSuffix(r.URL.Path, "/edi"):
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"results":[],"ack":""}`)
	case r.URL.Path == "/api/v1/reconciliations":
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"id":"run-%d","status":"running"}`, n)
	case r.URL.Path == "/api/v1/connectors":
		backlog := 0
		if rec.clk.Now().Before(rec.backlogUntil) {
			backlog = 2
		}
		fmt.Fprintf(w, `{"items":[{"name":"erp","state":"closed","backlog":%d}]}`, backlog)
	case strings.HasPrefix(r.URL.Path, "/api/v1/reconciliations/"):
		_, _ = io.WriteString(w, `{"status":"done","checked":3,"findings_count":1,"counts":{"amount_mismatch":1}}`)
	case r.URL.Path == "/api/v1/cases":
		s := r.URL.Query().Get("shipment_id")
		fmt.Fprintf(w, `{"items":[{"id":"c1-%[1]s","code":"damaged"},{"id":"c2-%[1]s","code":"missing_signature"},{"id":"c3-%[1]s","code":"shortage"},{"id":"c4-%[1]s","code":"late_arrival"}]}`, s)
	default:
		_, _ = io.WriteString(w, `{}`)
	}
}

// simStart is when simulate starts on the fake wall clock.
var simStart = time.Date(2026, 11, 24, 21, 30, 0, 0, time.UTC)

// simulate runs a whole simulation against a recorder on a fake clock
// from simStart and returns what it sent.
func simulate(t *testing.T, seed int64, vehicles int, speed float64, d time.Duration) []request {
	t.Helper()
	return simulateOn(t, &recorder{clk: &fakeClock{now: simStart}}, seed, vehicles, speed, d)
}

// simulateOn runs a whole simulation against rec, from the time on its
// clock, and returns what it sent.
func simulateOn(t *testing.T, rec *recorder, seed int64, vehicles int, speed float64, d time.Duration) []request {
	t.Helper()
	clk := rec.clk
	srv := httptest.NewServer(rec)
	defer srv.Close()
	err := Run(context.Background(), Options{BaseURL: srv.URL, Key: "admin-key", Speed: speed, Vehicles: vehicles, Seed: seed,
		Carrier: "northline-carrier", Clock: clk, Duration: d})
	if err != nil {
		t.Fatal(err)
	}
	return rec.got
}

func digest(rs []request) string {
	h := sha256.New()
	for _, r := range rs {
		fmt.Fprintf(h, "%s %s %s %s %d\n", r.Method, r.Path, r.Key, r.ContentType, len(r.Body))
		h.Write(r.Body)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestSimSameSeedSameRequests(t *testing.T) {
	t.Parallel()
	a := simulate(t, 1, 12, 60, 5*time.Minute)
	b := simulate(t, 1, 12, 60, 5*time.Minute)
	if len(a) < 500 {
		t.Fatalf("only %d requests in five simulated hours", len(a))
	}
	if digest(a) != digest(b) {
		for i := range min(len(a), len(b)) {
			if !bytes.Equal(a[i].Body, b[i].Body) || a[i].Path != b[i].Path {
				t.Fatalf("request %d differs:\n%s %s\n%s %s", i, a[i].Path, a[i].Body, b[i].Path, b[i].Body)
			}
		}
		t.Fatalf("%d and %d requests", len(a), len(b))
	}
	if c := simulate(t, 2, 12, 60, 5*time.Minute); digest(c) == digest(a) {
		t.Fatal("seeds 1 and 2 sent the same requests")
	}
}

// TestSimScenarioDoesNotDependOnTiming: the events are the same whatever
// the speed and the tick; only how they are batched differs.
func TestSimScenarioDoesNotDependOnTiming(t *testing.T) {
	t.Parallel()
	byID := func(rs []request) map[string]string {
		out := map[string]string{}
		for _, r := range rs {
			if r.Path != "/api/v1/events" {
				continue
			}
			var evs []json.RawMessage
			if err := json.Unmarshal(r.Body, &evs); err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				var h struct{ Source, ID, Time string }
				_ = json.Unmarshal(e, &h)
				out[h.Source+" "+h.ID] = string(e)
			}
		}
		return out
	}
	// 4 h of simulated time each: 4 min at 60×, 24 s at 600×.
	slow, fast := byID(simulate(t, 7, 6, 60, 4*time.Minute)), byID(simulate(t, 7, 6, 600, 24*time.Second))
	common := 0
	for k, v := range slow {
		if w, ok := fast[k]; ok {
			common++
			if v != w {
				t.Fatalf("%s differs:\n%s\n%s", k, v, w)
			}
		}
	}
	if common < len(slow)*9/10 {
		t.Fatalf("only %d of %d events in common", common, len(slow))
	}
}

// event is a CloudEvent as sent, with the data fields the checks read.
type event struct {
	ID, Source, Type, Subject, Time string
	Data                            struct {
		Stops []struct {
			ID       string
			Type     string
			Location struct {
				Lat, Lon float64
				RadiusM  float64 `json:"radius_m"`
			}
			Window struct{ From, To time.Time }
		}
		VehicleID  string `json:"vehicle_id"`
		StopID     string `json:"stop_id"`
		SignedBy   string `json:"signed_by"`
		Lat, Lon   float64
		SpeedKph   float64 `json:"speed_kph"`
		Exceptions []struct{ Code string }
	}
}

// TestSimStreamIsSound checks what a hub relies on in a day of requests:
// no event time ahead of the wall clock minus Behind; each truck's
// positions in time order at realistic speeds; a POD only once the truck
// is seen beyond the stop's geofence plus the hub's hysteresis (or, for a
// carrier's truck, once its departure 214 went out); a case resolved only
// after its POD; 214 interchanges that parse, with unique control
// numbers.
func TestSimStreamIsSound(t *testing.T) {
	t.Parallel()
	type stopRef struct {
		lat, lon, radius float64
	}
	var (
		stops     = map[string]stopRef{} // shipment/stop
		vehicleOf = map[string]string{}  // shipment → vehicle
		last      = map[string]event{}   // vehicle → its last position
		departed  = map[string]bool{}    // shipment/stop → the carrier's departure status went out
		podSent   = map[string]bool{}    // shipment
		controls  = map[string]bool{}
		counts    = map[string]int{}
	)
	rs := simulate(t, 1, 12, 120, 6*time.Minute) // 12 simulated hours
	for _, r := range rs {
		switch {
		case r.Path == "/api/v1/events":
			var evs []event
			if err := json.Unmarshal(r.Body, &evs); err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				counts[e.Type]++
				at, err := time.Parse(time.RFC3339, e.Time)
				if err != nil || at.After(r.Wall.Add(-Behind)) {
					t.Fatalf("%s %s: time %s with the wall clock at %s", e.Type, e.ID, e.Time, r.Wall)
				}
				switch e.Type {
				case "order.released":
					for _, s := range e.Data.Stops {
						stops[e.Subject+"/"+s.ID] = stopRef{s.Location.Lat, s.Location.Lon, s.Location.RadiusM}
						if !s.Window.From.Before(s.Window.To) {
							t.Errorf("%s %s: window %s..%s", e.Subject, s.ID, s.Window.From, s.Window.To)
						}
					}
				case "route.assigned":
					vehicleOf[e.Subject] = e.Data.VehicleID
				case "telemetry.position":
					if p, ok := last[e.Subject]; ok {
						pt, _ := time.Parse(time.RFC3339, p.Time)
						if !at.After(pt) {
							t.Fatalf("%s: position at %s after one at %s", e.Subject, e.Time, p.Time)
						}
						if kph := distanceKm(point{p.Data.Lat, p.Data.Lon}, point{e.Data.Lat, e.Data.Lon}) / at.Sub(pt).Hours(); kph > 95 {
							t.Fatalf("%s: %.0f km/h between %s and %s", e.Subject, kph, p.Time, e.Time)
						}
					}
					last[e.Subject] = e
				case "delivery.completed":
					podSent[e.Subject] = true
					s, v := stops[e.Subject+"/"+e.Data.StopID], vehicleOf[e.Subject]
					if strings.HasPrefix(v, "NLC-") {
						if !departed[e.Subject+"/"+e.Data.StopID] {
							t.Errorf("%s %s: POD before the carrier reported the departure", e.Subject, e.Data.StopID)
						}
						continue
					}
					p := last[v]
					if m := 1000 * distanceKm(point{s.lat, s.lon}, point{p.Data.Lat, p.Data.Lon}); m <= s.radius+50 {
						t.Errorf("%s %s: POD while %s is %.0f m from the stop (geofence %.0f m)", e.Subject, e.Data.StopID, v, m, s.radius)
					}
					if e.Data.SignedBy == "" {
						counts["missing signature"]++
					}
					if len(e.Data.Exceptions) > 0 {
						counts["damaged"]++
					}
				}
			}
		case strings.HasSuffix(r.Path, "/edi"):
			if r.Key != "Bearer carrier-key" || r.ContentType != "application/edi-x12" {
				t.Fatalf("214 sent with %q as %q", r.Key, r.ContentType)
			}
			ic, err := x12.Parse(r.Body)
			if err != nil {
				t.Fatalf("214: %v\n%s", err, r.Body)
			}
			for _, set := range x12.Translate(ic, x12.TranslateOptions{}) {
				if len(set.Errors) > 0 {
					t.Fatalf("214 set %s: %v\n%s", set.ControlNumber, set.Errors, r.Body)
				}
				for _, e := range set.Events {
					id := strings.Join(strings.Split(e.ID, "-")[:2], "-") // ISA06-ISA13
					controls[id] = true
					if d, _ := e.Data["code"].(string); d == "departed" {
						departed[e.Subject+"/"+e.Data["stop_id"].(string)] = true
					}
					counts["214 status"]++
				}
			}
		case strings.HasSuffix(r.Path, "/resolve"):
			id := strings.TrimSuffix(strings.TrimPrefix(r.Path, "/api/v1/cases/"), "/resolve")
			shipment := id[strings.Index(id, "-")+1:]
			if !podSent[shipment] {
				t.Errorf("case %s resolved before its POD", id)
			}
			counts["resolved"]++
		}
	}
	interchanges := 0
	for _, r := range rs {
		if strings.HasSuffix(r.Path, "/edi") {
			interchanges++
		}
	}
	if len(controls) != interchanges {
		t.Errorf("%d interchanges with %d distinct control numbers", interchanges, len(controls))
	}
	t.Logf("%v", counts)
	for _, k := range []string{"order.released", "route.assigned", "telemetry.position", "delivery.completed", "shipment.cancelled",
		"214 status", "missing signature", "damaged", "resolved"} {
		if counts[k] == 0 {
			t.Errorf("no %s in 12 simulated hours", k)
		}
	}
}

// TestSimFirstHour: everything the demo promises shows in the first
// simulated hour (the first minute at 60×).
func TestSimFirstHour(t *testing.T) {
	t.Parallel()
	rs := simulate(t, 1, 12, 60, time.Minute)
	var lastPOD = map[string]time.Time{} // shipment → wall clock of its last POD
	var resolvedAfterPOD, cancelled, missing, damaged int
	for _, r := range rs {
		if strings.HasSuffix(r.Path, "/resolve") {
			id := strings.TrimSuffix(strings.TrimPrefix(r.Path, "/api/v1/cases/c1-"), "/resolve")
			if _, ok := lastPOD[id]; ok {
				resolvedAfterPOD++
			}
		}
		if r.Path != "/api/v1/events" {
			continue
		}
		var evs []event
		_ = json.Unmarshal(r.Body, &evs)
		for _, e := range evs {
			switch e.Type {
			case "shipment.cancelled":
				cancelled++
			case "delivery.completed":
				lastPOD[e.Subject] = r.Wall
				if e.Data.SignedBy == "" {
					missing++
				}
				if len(e.Data.Exceptions) > 0 {
					damaged++
				}
			}
		}
	}
	if len(lastPOD) < 10 || resolvedAfterPOD < 1 || cancelled < 1 || missing < 1 || damaged < 1 {
		t.Fatalf("first hour: %d shipments with PODs, %d damaged case resolved, %d cancelled, %d missing signatures, %d damaged",
			len(lastPOD), resolvedAfterPOD, cancelled, missing, damaged)
	}
}
