// Package outbox runs the jobs table: it claims due jobs with a lease,
// hands each to the handler registered for its kind, and records the
// outcome — done, retried with exponential backoff and jitter, or dead.
// Workflow timers run on it today; outbound deliveries (issue 6) will.
//
// A job is enqueued by the pipeline in the transaction of its cause, so
// what a handler does must be idempotent: a node can die after the work
// and before marking the job done, and the job then runs again after its
// lease expires. Handlers steer retries with Permanent and RetryAfter.
//
// It must not touch: what a job means (the handlers know), HTTP, or the
// writer's transactions (handlers submit to the pipeline like any input).
package outbox
