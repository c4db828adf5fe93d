// Package shipment is the shipment projection and its status model: a pure
// function from (state, event) to new state, with no I/O.
//
// A shipment's State is a join-semilattice of facts. Each event contributes
// facts (an order version, an assignment, a stop arrival, a POD, a
// cancellation); merging a fact keeps, for each slot, the report that wins a
// fixed total order of Stamps (event time, then source, then id) — the
// earliest for milestones, the latest for replaceable data such as the order
// or the assignment. Merging is therefore commutative, associative and
// idempotent: any arrival order of the same events, with any duplicates,
// yields the same State. The status is a monotone function of the facts
// (more facts never lower its rank), so a late or replayed event can never
// move a shipment backwards.
//
// The package must not touch storage, HTTP or other projections; the
// pipeline loads State, calls Apply and stores the result.
package shipment
