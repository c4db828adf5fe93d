// Package amqpin is the RabbitMQ (AMQP 0-9-1) input: it consumes a durable
// queue of the enterprise's backbone (carrier events, orders, telemetry)
// and hands each message's bytes to a Handler, the hub's intake.
//
// It owns the connection and channel (reconnecting with capped exponential
// backoff when either closes), declaring the queue and binding it to an
// exchange when configured, consuming with manual acknowledgement and a
// bounded prefetch, and acknowledging. It never touches the store, parses
// canonical events or applies mappings: the Handler does. It publishes
// nothing.
//
// The acknowledgement contract: a message is acknowledged only after the
// Handler returned nil, which means the hub made it durable (committed, a
// duplicate, or kept in quarantine because it could not be mapped). When
// the Handler returns an error the message is negatively acknowledged and
// requeued, and the input pauses before it takes the next message (RetryDelay,
// doubling with every consecutive failure up to MaxBackoff), so a failing
// hub is not hammered by a hot redelivery loop. Messages prefetched but not
// acknowledged when the input stops or the connection drops are requeued
// by the broker. Delivery is therefore at least once, which is safe because
// the hub deduplicates.
//
// Messages are handled one at a time in queue order; a requeued message
// comes again after those already prefetched behind it.
package amqpin
