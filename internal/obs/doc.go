// Package obs holds crossdock's observability plumbing: the slog logger
// that stamps every line with the request's correlation id, the correlation
// id's context helpers and parsing, and the Prometheus metrics every layer
// reports to. It knows nothing of HTTP routes or storage.
package obs
