// Package mqtt is the MQTT 3.1.1 connector: it publishes each event, as
// its CloudEvent JSON, with QoS 1 (not retained) to a topic and reports it
// delivered only once the broker acknowledged it (PUBACK).
//
// It owns its client: connected on the first delivery, reconnected in the
// background after that, shared by every delivery. It never subscribes,
// and never touches the store or the pipeline.
//
// # Options
//
//	topic      where events go; {type} is the event type, {shipment} the
//	           shipment id, each one level ('/', '+', '#' in a value
//	           become '_'; an empty value becomes "_").
//	           Default "crossdock/events/{type}/{shipment}".
//	client_id  the client id, stable across restarts so the broker's ACLs
//	           and logs can name it; {host} is replaced by the hostname.
//	           Default "crossdock-<connector name>". The session is clean: a
//	           publisher has nothing for the broker to keep. Brokers allow
//	           one connection per client id, so hubs sharing a database
//	           (several nodes) need "crossdock-<name>-{host}".
//
// # What a subscriber receives
//
// MQTT 3.1.1 has no headers, so the message is the CloudEvent alone, in
// structured mode: connector.Body with one extension attribute added,
// idempotencykey (ExtensionKey), the delivery id, stable across retries
// and restarts. The CloudEvent's id, type, source and correlationid
// attributes carry what the other kinds put in headers.
//
// # Exactly once in effect
//
// QoS 1 is at least once, and a broker keeps nothing to drop a repeat (a
// retry after a lost PUBACK, a restarted hub): subscribers drop repeats
// by idempotencykey.
//
// # Errors
//
// Every failure is retried: the broker unreachable, a refused connection
// (bad credentials, a client id it rejects), the connection lost (a
// delivery fails at once while the client reconnects), no PUBACK within
// Config.Timeout. Only a topic over MQTT's 65535 bytes is permanent.
// Passwords appear in neither errors nor logs.
package mqtt
