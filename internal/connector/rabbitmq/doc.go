// Package rabbitmq is the RabbitMQ (AMQP 0-9-1) connector: it publishes
// each event, as its CloudEvent JSON, to an exchange of the enterprise's
// backbone and reports it delivered only once the broker confirmed it.
//
// It owns its connection to the broker (dialled on the first delivery and
// again on the first one after it closed, shared by every delivery) and
// its publishing channels: each publish in flight has a confirm-mode
// channel of its own, so the broker's return or nack is matched to it
// without bookkeeping (measured as fast as one channel shared by every
// publish in flight). It declares nothing (exchanges, queues and bindings
// are the operator's), never consumes, and never touches the store or the
// pipeline.
//
// # Options
//
//	exchange     the exchange to publish to. Default "": the default
//	             exchange, which routes to the queue named by the key.
//	routing_key  the routing key; {type} is the event type (its dots stay
//	             word separators for topic exchanges), {shipment} the
//	             shipment id (its dots become '_': one word). An empty
//	             value becomes "_". Default "crossdock.{type}".
//	channels     publishes in flight at once, each on its own channel.
//	             Default 16 (the outbox's workers); 1 to 1024.
//
// # What a consumer receives
//
// The body is connector.Body, published persistent (delivery mode 2) and
// mandatory, with the properties message_id (the delivery id, stable
// across retries and restarts), correlation_id, content_type
// application/cloudevents+json, type (the event type), timestamp (the
// event's time) and app_id crossdock, and the headers Idempotency-Key (the
// delivery id again), X-Correlation-ID, ce-specversion, ce-type,
// ce-source, ce-id.
//
// # Exactly once in effect
//
// RabbitMQ does not deduplicate: a repeat (a retry after a lost confirm, a
// restarted hub) is a second message with the same message_id and body.
// Consumers drop repeats by message_id (or Idempotency-Key), as they
// should anyway: RabbitMQ redelivers to consumers at least once.
//
// # Errors
//
// Permanent (dead at once, the message kept): an unroutable message (the
// broker returned it: no queue is bound for its routing key; bind one, or
// give the exchange an alternate-exchange, then retry the dead delivery),
// a message over the broker's max_message_size, a routing key over 255
// bytes. Everything else is retried: the broker unreachable, a refused
// login, the exchange missing or a permission refused (every delivery
// fails alike, so the circuit breaker holds them until the broker is set
// up), a nack, the connection lost, no confirm within Config.Timeout.
// Passwords appear in neither errors nor logs.
package rabbitmq
