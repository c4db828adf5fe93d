package sim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

// sentEvent is an event as a simulation sent it, with the wall clock of
// its request.
type sentEvent struct {
	raw  json.RawMessage
	wall time.Time
	e    struct {
		ID, Source, Type, Subject string
		Time                      time.Time
		Data                      struct {
			Lat, Lon float64
			Liters   float64
			Amount   string
			Currency string
			Station  string
		}
	}
}

// sentEvents are the events of rs in the order they were sent.
func sentEvents(t *testing.T, rs []request) []sentEvent {
	t.Helper()
	var out []sentEvent
	for _, r := range rs {
		if r.Path != "/api/v1/events" {
			continue
		}
		var raws []json.RawMessage
		if err := json.Unmarshal(r.Body, &raws); err != nil {
			t.Fatal(err)
		}
		for _, raw := range raws {
			s := sentEvent{raw: raw, wall: r.Wall}
			if err := json.Unmarshal(raw, &s.e); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
	}
	return out
}

// TestSimFuelPurchases: over the first 25½ simulated hours (three
// minutes at 600×, until the simulated clock catches up) every truck of
// ours, and none of the carrier's, fills up about once a day with
// realistic litres and prices, at a station within a kilometre of its
// road and between two of its positions half a minute apart; one truck's
// card is used once at least 400 km from where that truck is, before the
// finance clerk's first fuel run.
func TestSimFuelPurchases(t *testing.T) {
	t.Parallel()
	amount := regexp.MustCompile(`^[0-9]+\.[0-9]{2}$`)
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rs := simulate(t, seed, 12, 600, 3*time.Minute)
			origin := NewTimeline(simStart, 600).Origin()
			evs := sentEvents(t, rs)
			fixes := map[string][]sentEvent{} // vehicle → positions in time order
			for _, s := range evs {
				if s.e.Type == "telemetry.position" {
					fixes[s.e.Subject] = append(fixes[s.e.Subject], s)
				}
			}
			ids := map[string]bool{}
			fills := map[string]int{}
			var misused []string
			for _, s := range evs {
				if s.e.Type != "fuel.purchased" {
					continue
				}
				e, d := s.e, s.e.Data
				if e.Source != SourceFuelCard || ids[e.ID] {
					t.Fatalf("seed %d: purchase %s from %s (seen before: %t)", seed, e.ID, e.Source, ids[e.ID])
				}
				ids[e.ID] = true
				price, _ := strconv.ParseFloat(d.Amount, 64)
				price /= d.Liters
				if d.Liters < 150 || d.Liters > 400 || !amount.MatchString(d.Amount) || price < 1.65 || price > 1.85 || d.Currency != "EUR" || d.Station == "" {
					t.Errorf("seed %d: %s buys %.2f l for %s %s (%.3f a litre) at %q", seed, e.ID, d.Liters, d.Amount, d.Currency, price, d.Station)
				}
				fs := fixes[e.Subject]
				i, _ := slices.BinarySearchFunc(fs, e.Time, func(f sentEvent, t time.Time) int { return f.e.Time.Compare(t) })
				if i == len(fs) && i > 0 && e.Time.Sub(fs[i-1].e.Time) <= fixEvery {
					continue // the simulation ended before the next position
				}
				if i == 0 || i == len(fs) || e.Time.Sub(fs[i-1].e.Time) > fixEvery || fs[i].e.Time.Sub(e.Time) > fixEvery {
					t.Fatalf("seed %d: %s at %s is not between two positions of %s half a minute apart", seed, e.ID, e.Time, e.Subject)
				}
				station := point{d.Lat, d.Lon}
				before, after := distanceKm(station, point{fs[i-1].e.Data.Lat, fs[i-1].e.Data.Lon}), distanceKm(station, point{fs[i].e.Data.Lat, fs[i].e.Data.Lon})
				switch {
				case min(before, after) <= 1.8: // under a kilometre off the road, and the truck moves up to 0.75 km between fixes
					fills[e.Subject]++
				case min(before, after) >= misuseMinKm:
					misused = append(misused, e.Subject)
					if !e.Time.Before(origin.Add(reconcileAt)) {
						t.Errorf("seed %d: %s's card is misused at %s, after the clerk's first fuel run", seed, e.Subject, e.Time)
					}
				default:
					t.Errorf("seed %d: %s at %q is %.1f km from %s", seed, e.ID, d.Station, min(before, after), e.Subject)
				}
			}
			if len(misused) != 1 {
				t.Errorf("seed %d: cards misused on %v, want one", seed, misused)
			}
			for v := range fixes {
				if n := fills[v]; n < 1 || n > 3 {
					t.Errorf("seed %d: %s filled up %d times in 25 hours", seed, v, n)
				}
			}
			for v := range fills {
				if len(fixes[v]) == 0 {
					t.Errorf("seed %d: %s, a carrier's truck, bought fuel on our card", seed, v)
				}
			}
			t.Logf("seed %d: %d purchases, card misused on %v", seed, len(ids), misused)
		})
	}
}

// TestSimFuelDoesNotDependOnTiming: the purchases are the same, byte for
// byte, however fast the day runs.
func TestSimFuelDoesNotDependOnTiming(t *testing.T) {
	t.Parallel()
	purchases := func(rs []request) []string {
		var out []string
		for _, s := range sentEvents(t, rs) {
			if s.e.Type == "fuel.purchased" {
				out = append(out, string(s.raw))
			}
		}
		slices.Sort(out)
		return out
	}
	// Both until three minutes after the start: the simulated clock has
	// caught up after 25½ simulated hours at 600× (and 3600×).
	a, b := purchases(simulate(t, 1, 6, 600, 3*time.Minute)), purchases(simulate(t, 1, 6, 3600, 3*time.Minute))
	if len(a) == 0 || !slices.Equal(a, b) {
		t.Fatalf("at 600×:\n%v\nat 3600×:\n%v", a, b)
	}
}
