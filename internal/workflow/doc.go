// Package workflow decides what a shipment's facts mean for the business:
// which cases are open (proofs of delivery that fail validation, exceptions
// telemetry reported), whether billing is on hold, and — as the issue
// grows — when to rate and invoice.
//
// It is a functional core: Cases computes the case set of a shipment state
// as a pure function of its facts, so the same events in any arrival order
// give the same cases (the spine's permutation property extends to them).
// A case whose condition stops holding — a POD replaced by a better one —
// is superseded rather than silently forgotten. The pipeline calls it after
// every change, inside the same transaction, and commits the differences
// (the cases projection, their timeline events and the shipment's on_hold).
//
// It must not touch: storage, HTTP, clocks (times come from the facts), or
// the status model's merge rules (package shipment owns those).
package workflow
