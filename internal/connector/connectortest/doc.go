// Package connectortest is the contract every connector kind keeps,
// written once and run against each kind's real destination (or, where no
// real one can run here, a fake built from the destination's documented
// shapes): a delivery is held once; a repeat of it (same ID, a later
// attempt) is harmless and answers the same reference; deliveries running
// at once are each held once; a destination that does not answer gives a
// retryable error within the timeout; a refused payload gives a permanent
// one. It also builds the realistic events the suites deliver. Imported
// only by tests.
package connectortest
