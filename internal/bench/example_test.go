package bench_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/crossdockhq/crossdock/internal/bench"
)

// A generator replays the same stream for the same seed, run id, working
// set, mix and anchor: the first events start one shipment's lifecycle.
func ExampleNewGenerator() {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	g := bench.NewGenerator(1, "demo", 1, bench.MixRealistic, bench.WithNow(now))
	for range 3 {
		var e struct{ ID, Source, Type, Subject string }
		_ = json.Unmarshal(g.Next(), &e)
		fmt.Println(e.ID, e.Source, e.Type, e.Subject)
	}
	// Output:
	// demo-0 bench/tms order.released demo-SHP-0
	// demo-1 bench/tms route.assigned demo-SHP-0
	// demo-2 bench/fleet telemetry.position demo-TRK-0
}
