package sim_test

import (
	"fmt"
	"time"

	"github.com/crossdockhq/crossdock/internal/sim"
)

// The simulated day starts at 08:00 UTC at least 36 hours back, runs 60×
// faster than the wall clock, and from 12 hours behind the wall clock on
// keeps pace with it.
func ExampleTimeline() {
	start := time.Date(2026, 11, 24, 21, 30, 0, 0, time.UTC)
	tl := sim.NewTimeline(start, 60)
	fmt.Println(tl.Origin())
	fmt.Println(tl.Sim(start.Add(time.Minute)))
	fmt.Println(tl.Sim(start.Add(2 * time.Hour)))
	// Output:
	// 2026-11-23 08:00:00 +0000 UTC
	// 2026-11-23 09:00:00 +0000 UTC
	// 2026-11-24 11:30:00 +0000 UTC
}
