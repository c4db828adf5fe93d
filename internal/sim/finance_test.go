package sim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestSimFinanceClerk: at noon of every simulated day, at the first tick
// when no connector has deliveries waiting, the finance clerk starts an
// invoices run over the wall clock since the start (or since its last
// invoices run started) to a minute from now, and a fuel run over the
// simulated time since the day's origin (or its last fuel run's end),
// after every purchase in that period went out; then it follows both
// runs.
func TestSimFinanceClerk(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		start      time.Time
		speed      float64
		d          time.Duration
		backlogFor time.Duration // the hub's connectors have deliveries waiting this long
		days       int           // days reconciled
	}{
		{"at noon", simStart, 600, 30 * time.Second, 0, 1},
		{"once the hub's backlog is gone", simStart, 600, 50 * time.Second, 40 * time.Second, 1},
		// Started at 07:59 the simulated day runs 36 h before it catches up.
		{"every day", time.Date(2026, 11, 25, 7, 59, 0, 0, time.UTC), 3600, 40 * time.Second, 0, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{clk: &fakeClock{now: c.start}, backlogUntil: c.start.Add(c.backlogFor)}
			rs := simulateOn(t, rec, 1, 4, c.speed, c.d)
			tl := NewTimeline(c.start, c.speed)
			ready := func(wall time.Time, due time.Time) bool {
				return !tl.Sim(wall).Before(due) && !wall.Before(c.start.Add(c.backlogFor))
			}
			type body struct {
				Kind     string
				From, To time.Time
			}
			var posts []body
			followed := map[string]bool{}
			fuelFrom, invoicesFrom := tl.Origin(), c.start
			for i, r := range rs {
				if strings.HasPrefix(r.Path, "/api/v1/reconciliations/") {
					followed[strings.TrimSuffix(strings.TrimPrefix(r.Path, "/api/v1/reconciliations/"), "?limit=1")] = true
				}
				if r.Path != "/api/v1/reconciliations" {
					continue
				}
				var b body
				if err := json.Unmarshal(r.Body, &b); err != nil {
					t.Fatal(err)
				}
				day := len(posts) / 2
				posts = append(posts, b)
				due := tl.Origin().Add(time.Duration(day)*24*time.Hour + reconcileAt)
				if !ready(r.Wall, due) || ready(r.Wall.Add(-DefaultTick), due) {
					t.Errorf("day %d: %s run started at %s (simulated %s), not at the first tick at noon with nothing waiting",
						day, b.Kind, r.Wall, tl.Sim(r.Wall))
				}
				switch want := reconcileKinds[(len(posts)-1)%2]; {
				case b.Kind != want:
					t.Fatalf("day %d: a %s run, want %s", day, b.Kind, want)
				case b.Kind == "invoices":
					if !b.From.Equal(invoicesFrom) || !b.To.Equal(r.Wall.Add(invoiceMargin)) {
						t.Errorf("day %d: invoices over %s – %s at %s, want from %s", day, b.From, b.To, r.Wall, invoicesFrom)
					}
					invoicesFrom = r.Wall
				default:
					if !b.From.Equal(fuelFrom) || !b.To.Equal(due) {
						t.Errorf("day %d: fuel over %s – %s, want %s – %s", day, b.From, b.To, fuelFrom, due)
					}
					fuelFrom = b.To
					for _, s := range sentEvents(t, rs[i+1:]) {
						if s.e.Type == "fuel.purchased" && s.e.Time.Before(due) {
							t.Errorf("day %d: %s at %s sent after the fuel run started", day, s.e.ID, s.e.Time)
						}
					}
				}
			}
			if len(posts) != 2*c.days {
				t.Fatalf("%d runs started, want %d: %+v", len(posts), 2*c.days, posts)
			}
			if len(followed) != len(posts) {
				t.Errorf("followed %d of %d runs", len(followed), len(posts))
			}
		})
	}
}
