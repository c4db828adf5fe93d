// Package obs holds crossdock's observability plumbing: the slog logger
// that stamps every line with the request's correlation id, the correlation
// id's context helpers and parsing, the Prometheus metrics every layer
// reports to, and the OpenTelemetry tracer with the rule that maps a
// correlation id to its trace (TraceID, EventSpanID). It knows nothing of
// HTTP routes or storage.
package obs
