// Package hubtest runs the real crossdock binary for end-to-end tests: it
// builds the binary once per test process, starts it on a free loopback
// port with its own data directory, waits for readiness, and can stop it
// gracefully (SIGTERM) or kill it (SIGKILL) and start it again on the same
// data. It never reaches into the hub's packages: tests talk HTTP only.
// OTLPReceiver stands in for an OpenTelemetry collector, decoding the
// OTLP/HTTP trace exports a hub sends it.
package hubtest
