// Package connector defines what a destination of outbound deliveries
// implements and builds the body every connector starts from: the event as
// a CloudEvent. Kinds live in subpackages (rest, …); the outbox runs their
// deliveries with retries and dead letters.
//
// A connector delivers and never ingests; it must not touch the store or
// the pipeline. Its errors steer the outbox: outbox.Permanent for a
// delivery that can never succeed (a 400: the payload is wrong), and
// outbox.RetryAfter when the destination asked to come back later.
package connector
