// Package monitor runs the SLA monitors of the config's monitors: block.
// Each evaluation reads one business figure (propagation lag, POD to
// invoice, the oldest invoice waiting for the ERP, dead letters, the
// quarantine, open cases, a connector's backlog) and compares it with the
// monitor's threshold. Crossing it submits an alert.raised event through
// the pipeline, so it is delivered like any other event to the connectors
// subscribed to it; falling back submits alert.resolved.
//
// A monitor's state lives in the store (master data of kind "monitor"),
// not in memory, and its alerts are idempotent (their ids count the
// monitor's raises), so a restart or several nodes sharing one database
// raise each alert once. The package only reads figures and records
// alerts through the pipeline; it never delivers anything itself.
package monitor
