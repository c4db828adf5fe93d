// Package backoff computes retry delays: exponential from a base, capped,
// optionally spread by jitter so many retries do not fire at once. It is
// shared by the broker inputs' reconnects, the outbox's job retries and the
// connectors' delivery policies. Pure functions; no clock, no sleeping.
package backoff
