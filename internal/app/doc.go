// Package app wires crossdock together from a config.Config: it opens the
// store, starts the pipeline, the job scheduler and the SLA monitors,
// mounts the API and serves HTTP, and on shutdown stops them in reverse
// order — stop accepting, finish in-flight requests, let the monitors and
// jobs in hand settle, flush the writer, close the store, export the last
// spans.
package app
