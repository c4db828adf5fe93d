// Package brokertest is the shared contract test suite for broker inputs
// (NATS JetStream, RabbitMQ, …), run against each one's real server:
// every message handled and acknowledged in order, redelivery after a
// handler error, at-least-once across a stop mid-stream, a server that is
// down, and no credentials in the log. Each input's tests implement Target
// for their broker and call Run. Imported only by tests.
package brokertest
