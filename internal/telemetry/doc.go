// Package telemetry turns a vehicle's positions into business events on
// the shipment it is assigned to: geofence arrival and departure at the
// stops (with hysteresis), driven distance (implausible jumps dropped as
// glitches), ETA to the next stop and a delay against its window,
// temperature excursions against the order's range, and deviation from the
// planned route.
//
// It is a functional core: Step reads a shipment state and one position and
// returns derived events and an updated shipment.Track. It does no I/O,
// keeps no clock (every time is the position's), and never moves a track
// back in time: a position older than the newest applied one is counted as
// late and ignored, the same invariant the status model keeps. The
// pipeline stores raw positions, calls Step inside the transaction that
// stores them, and appends the effects as events with source
// crossdock/telemetry.
//
// Geofences are found through the vehicle's assignment, not a global
// spatial index: a position is tested only against the stops of the one
// shipment its vehicle is driving, so the cost per position does not grow
// with the number of active geofences (see BenchmarkStep).
package telemetry
