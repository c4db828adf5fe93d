// Package bench is the engine of `crossdock bench`: it drives a running hub
// over HTTP with a realistic, generated stream of CloudEvents and reports
// throughput and per-request latency.
//
// Generator makes the stream. In the "realistic" mix every shipment runs its
// lifecycle in causal order — order.released, route.assigned, telemetry
// positions on the way to each stop, arrived / delivery.completed / departed
// per stop — while the events of many shipments interleave, so statuses
// arrive concurrently. The "positions" mix is telemetry.position only.
// Streams are deterministic for a seed; event and shipment ids carry a run id
// so repeated runs never collide.
//
// Run posts that stream to POST /api/v1/events from many concurrent clients,
// singly or in batches, counts the per-event results (accepted, duplicate,
// rejected) and failed requests, and computes exact latency percentiles.
// It refuses any target that is not a loopback address or "localhost":
// load tests never leave the machine.
//
// RunScenario instead runs the simulators of `crossdock demo` (package sim,
// a client of the public API like this one) against the hub as fast as
// they go: the realistic mix at fleet scale.
//
// The package talks to the hub only through its public HTTP contract; it must
// not import the hub's own packages (canonical, pipeline, store, …), so it
// measures exactly what a partner would see.
package bench
