package sim

import "time"

// Clock tells the wall-clock time and waits on it; tests inject a fake one
// (see the package documentation for how the simulated clock derives from
// it).
type Clock interface {
	Now() time.Time
	// After delivers the time once d has passed, like time.After.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

const (
	// Behind is how far the simulated clock stays behind the wall clock at
	// least. It exceeds every wall-clock wait the hub applies to event times
	// (POD overdue 4 h, a stop window's end, the 2 h rating wait), so the hub
	// judges the simulated day by its facts alone — see the package
	// documentation.
	Behind = 12 * time.Hour
	// accelerated is the least simulated time before the simulated clock
	// meets Behind; the day starts at dayStart UTC on top of that.
	accelerated = 24 * time.Hour
	dayStart    = 8 * time.Hour
)

// Timeline maps the wall clock to the simulated clock: the simulated day
// starts at Origin, 08:00 UTC at least Behind + 24 h before the wall-clock
// start, runs speed times faster than the wall clock until it is Behind
// the wall clock, and keeps that distance (1×) from then on. The zero
// Timeline is not usable; make one with NewTimeline.
type Timeline struct {
	start, origin time.Time
	speed         float64
}

// NewTimeline starts a timeline at the wall-clock instant start; speed is
// at least 1.
func NewTimeline(start time.Time, speed float64) Timeline {
	base := start.Add(-Behind - accelerated).UTC()
	origin := time.Date(base.Year(), base.Month(), base.Day(), 0, 0, 0, 0, time.UTC).Add(dayStart)
	if origin.After(base) {
		origin = origin.AddDate(0, 0, -1)
	}
	return Timeline{start: start, origin: origin, speed: max(speed, 1)}
}

// Origin is the simulated time at the wall-clock start: 08:00 UTC of the
// simulated day.
func (t Timeline) Origin() time.Time { return t.origin }

// Sim is the simulated time at the wall-clock instant wall; it never
// passes wall − Behind, and never goes back.
func (t Timeline) Sim(wall time.Time) time.Time {
	e := max(wall.Sub(t.start), 0)
	s := t.origin.Add(time.Duration(float64(e) * t.speed))
	if live := wall.Add(-Behind); s.After(live) {
		return live.UTC()
	}
	return s
}

// Elapsed is the simulated time since the day's origin at wall.
func (t Timeline) Elapsed(wall time.Time) time.Duration { return t.Sim(wall).Sub(t.origin) }
