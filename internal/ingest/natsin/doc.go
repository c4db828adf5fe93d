// Package natsin is the NATS JetStream input: it pulls messages (carrier
// events, orders, telemetry) from a durable pull consumer on a stream of
// the enterprise's backbone and hands each message's bytes to a Handler,
// the hub's intake.
//
// It owns the connection (reconnecting with capped exponential backoff),
// the stream (only when CreateStream is set, and only if it is missing),
// the durable consumer, fetching and acknowledging. It never touches the
// store, parses canonical events or applies mappings: the Handler does.
//
// The acknowledgement contract: a message is acknowledged only after the
// Handler returned nil, which means the hub made it durable (committed, a
// duplicate, or kept in quarantine because it could not be mapped). When
// the Handler returns an error the message is negatively acknowledged with
// a delay that doubles with every delivery (RetryDelay up to MaxBackoff),
// and JetStream delivers it again. Messages fetched but not handled when
// the input stops are negatively acknowledged for immediate redelivery;
// any message left without either (a crash, a lost connection) is
// redelivered once AckWait passes. Delivery is therefore at least once,
// which is safe because the hub deduplicates.
//
// The messages of one fetch are handled one at a time in the order of the
// stream, so messages on one subject reach the Handler in the order they
// were published — except that a message the Handler failed comes again
// after the ones behind it. The Handler should return well within AckWait
// for a whole batch (Batch × its latency), or JetStream redelivers
// messages still waiting in the batch.
package natsin
