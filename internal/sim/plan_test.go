package sim

import (
	"testing"
	"time"
)

func TestSimPlan(t *testing.T) {
	t.Parallel()
	origin := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		seed     int64
		vehicles int
		carrier  bool
	}{{1, 12, true}, {2, 12, false}, {3, 1, true}, {4, 60, true}} {
		s := newScenario(c.seed, c.vehicles, origin, c.carrier)
		firstDraws := map[uint64]int{}
		for _, v := range s.vehicles {
			// Each truck draws from streams of its own.
			if k, ok := firstDraws[v.plan.Uint64()]; ok {
				t.Fatalf("seed %d: trucks %d and %d share a random stream", c.seed, k, v.index)
			}
			firstDraws[v.plan.Uint64()] = v.index
			// The first wave: every truck leaves its last stop of the day's
			// first shipment within 45 minutes of the origin.
			if v.end.Before(origin.Add(firstWaveFrom)) || v.end.After(origin.Add(firstWaveFrom+firstWaveSpan+time.Minute)) {
				t.Errorf("seed %d: truck %s finishes its first shipment at %s", c.seed, v.id, v.end)
			}
			if v.carrier != (c.carrier && v.index%4 == 3) {
				t.Errorf("seed %d: truck %s carrier %t", c.seed, v.id, v.carrier)
			}
			if (v.fixAt.Sub(v.gridBase))%fixEvery != 0 || v.fixAt.Before(v.legs[0].from) {
				t.Errorf("seed %d: truck %s's first fix %s is off its grid", c.seed, v.id, v.fixAt)
			}
		}
		// Plan a day ahead and check every leg: continuous in time and place,
		// at a plausible speed.
		s.advance(origin.Add(24 * time.Hour))
		for _, v := range s.vehicles {
			for i := 1; i < len(v.legs); i++ {
				a, b := v.legs[i-1], v.legs[i]
				if !a.to.Equal(b.from) || distanceKm(a.b, b.a) > 0.001 {
					t.Fatalf("seed %d: truck %s jumps between legs %v and %v", c.seed, v.id, a, b)
				}
				if h := b.to.Sub(b.from).Hours(); b.km > 0 && (b.km/h > 86 || b.km/h < 10) {
					t.Fatalf("seed %d: truck %s drives %.1f km in %.2f h", c.seed, v.id, b.km, h)
				}
			}
		}
	}
}
