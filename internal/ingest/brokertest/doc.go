// Package brokertest is the contract test suite every broker input (NATS
// JetStream, RabbitMQ, …) runs against its real server: every message
// handled and acknowledged in order, redelivery after a handler error,
// at-least-once across a stop mid-stream, and a server that is down. Each
// input's tests implement Target for their broker and call Run. Imported
// only by tests.
package brokertest
