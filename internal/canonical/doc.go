// Package canonical holds crossdock's canonical objects and event types (v1):
// the CloudEvents envelope, the typed data of every event type in the
// contract, their validation (naming the exact field path and rule) and the
// JSON Schemas published at /api/v1/schemas/.
//
// It does no I/O and imports no other crossdock package; every other layer
// depends on it, never the other way round.
package canonical
