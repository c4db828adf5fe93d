// Package nats is the NATS JetStream connector: it publishes each event,
// as its CloudEvent JSON, to a subject of the enterprise's backbone and
// reports it delivered only once a stream stored it (the PubAck).
//
// It owns its connection to the server (dialled on the first delivery,
// reconnected in the background, shared by every delivery) and, when the
// stream option is set, that stream's existence. It never subscribes,
// and never touches the store or the pipeline.
//
// # Options
//
//	subject           where events go; {type} is the event type (its dots
//	                  stay token separators), {shipment} the shipment id
//	                  (one token). Default "crossdock.events.{type}".
//	stream            a stream to ensure on each new connection: created
//	                  (file storage) when missing; when it exists, the
//	                  subjects it lacks are added and duplicate_window set.
//	                  Default "": streams are the operator's.
//	stream_subjects   the stream's subjects, comma-separated. Default: the
//	                  subject's tokens before its first placeholder + ".>"
//	                  ("crossdock.events.>"). Only with stream.
//	duplicate_window  the stream's deduplication window, a Go duration.
//	                  Default: the server's (2m) for a stream it creates,
//	                  unchanged for one that exists. Only with stream.
//
// A value of a placeholder that a subject cannot hold (whitespace, '*',
// '>', and '.' in a shipment id) becomes '_'; an empty one becomes "_".
//
// # What a subscriber receives
//
// The body is connector.Body (application/cloudevents+json). The headers:
// Nats-Msg-Id and Idempotency-Key (both the delivery id, stable across
// retries and restarts), X-Correlation-ID, ce-specversion, ce-type,
// ce-source, ce-id, Content-Type.
//
// # Exactly once in effect
//
// JetStream drops a message whose Nats-Msg-Id it stored within the
// stream's duplicate window and acknowledges it again with the first
// one's sequence, so a repeat (a retry after a lost PubAck, a restarted
// hub) is harmless and the receipt's Ref, "<stream>:<sequence>", is the
// same. A repeat after the window is a second message: the default 2m is
// shorter than the outbox's retries can span (up to 10 attempts, backoff
// up to 5m), so set duplicate_window to an hour or more, or have
// consumers drop repeats by Idempotency-Key too.
//
// # Errors
//
// Permanent (dead at once, the message kept): a message over the server's
// max_payload (1 MiB by default) or the stream's max_msg_size, and a
// sealed stream. Everything else is retried: the server unreachable, no
// stream taking the subject ("no responders" — the stream not created
// yet, or JetStream down), the connection lost (no publish is buffered
// while it reconnects), a timeout, a refused login, a stream out of
// space. Every delivery is bounded by Config.Timeout and its context.
// Passwords and tokens appear in neither errors nor logs.
package nats
