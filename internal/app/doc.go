// Package app wires crossdock together from a config.Config: it opens the
// store, starts the pipeline, mounts the API and serves HTTP, and on
// shutdown stops them in reverse order — stop accepting, finish in-flight
// requests, flush the writer, close the store.
package app
