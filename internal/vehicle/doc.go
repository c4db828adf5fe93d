// Package vehicle is the vehicle projection: last known position and
// current shipment, merged from telemetry.position and route.assigned events
// as order-independent facts (the latest report by event time wins, ties
// broken by source and id). Pure: no I/O; the pipeline loads and stores it.
package vehicle
