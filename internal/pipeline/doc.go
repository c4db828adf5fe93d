// Package pipeline is crossdock's write path: the single writer that turns
// validated submissions into durable, applied state.
//
// Inputs (the HTTP API today; device and broker adapters later) parse and
// validate events, then Submit them. Submissions queue for one writer
// goroutine that groups everything waiting into one transaction (group
// commit): dedupe on (source, id), append to the event log, apply to the
// shipment and vehicle projections, append derived events with their
// causation, keep rejected payloads in quarantine — then commit once and
// answer every submission of the batch. Nothing is answered before its
// commit, so an acknowledged event survives kill -9.
//
// The pipeline owns the order of writes; it does not parse HTTP, decide
// statuses (package shipment does) or know SQL (package store does).
package pipeline
