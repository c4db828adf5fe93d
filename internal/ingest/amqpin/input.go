package amqpin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/crossdockhq/crossdock/internal/backoff"
)

// reconnectDelay is the first delay between connection attempts; it
// doubles up to MaxBackoff.
const reconnectDelay = 500 * time.Millisecond

// closeTimeout bounds the close handshake with the broker.
const closeTimeout = 5 * time.Second

// Input is the RabbitMQ input. New configures it, Start runs it in the
// background, Stop ends it.
type Input struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	started bool
	stopped bool
	conn    *amqp.Connection
	ready   bool // consuming
	known   bool // ready has been logged once
	failing bool // the Handler's last call failed
	cancel  context.CancelFunc
	abandon context.CancelFunc // cancels the Handler's context
	done    chan struct{}
}

// New checks c and returns an Input; it does not connect.
func New(c Config) (*Input, error) {
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	in := &Input{cfg: c, done: make(chan struct{})}
	in.log = c.Logger.With("input", "amqp", "url", Redact(c.URL), "queue", c.Queue)
	return in, nil
}

// Start connects and consumes in the background and returns at once: a
// broker that is down is retried with backoff, never an error. ctx only
// passes its values on (to the Handler's context); the input runs until
// Stop. Start fails only when called twice or after Stop.
func (in *Input) Start(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.started || in.stopped {
		return errors.New("amqpin: start: already started or stopped")
	}
	in.started = true
	base := context.WithoutCancel(ctx)
	run, cancel := context.WithCancel(base)
	hctx, abandon := context.WithCancel(base)
	in.cancel, in.abandon = cancel, abandon
	go in.run(run, hctx)
	return nil
}

// Stop stops taking messages, waits for the Handler call in flight to
// finish and be acknowledged, and closes the connection; the broker
// requeues the messages prefetched and not handled. When ctx ends first,
// it cancels the Handler's context, closes the connection (the message in
// flight is requeued) and returns ctx's error.
// Stop may be called again, and before Start; each call waits, bounded by
// its ctx, for the input to end.
func (in *Input) Stop(ctx context.Context) error {
	in.mu.Lock()
	started := in.started
	in.stopped = true
	in.mu.Unlock()
	if !started {
		return nil
	}
	in.cancel()
	select {
	case <-in.done:
		return nil
	case <-ctx.Done():
		in.abandon()
		in.mu.Lock()
		conn := in.conn
		in.mu.Unlock()
		if conn != nil {
			_ = conn.CloseDeadline(time.Now().Add(closeTimeout))
		}
		return fmt.Errorf("amqpin: stop: %w", ctx.Err())
	}
}

// Connected reports whether the input is connected and consuming.
func (in *Input) Connected() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.ready && in.conn != nil && !in.conn.IsClosed()
}

// setReady records the connection state and logs it when it changed.
func (in *Input) setReady(ok bool, err error) {
	in.mu.Lock()
	changed := !in.known || in.ready != ok
	in.known, in.ready = true, ok
	stopped := in.stopped
	in.mu.Unlock()
	switch {
	case !changed || stopped:
	case ok:
		in.log.Info("amqp connected; consuming", "consumer_tag", in.cfg.ConsumerTag)
	default:
		in.log.Warn("amqp not connected; retrying with backoff", "err", err)
	}
}

// setFailing records whether the Handler fails and logs when that changed.
func (in *Input) setFailing(failing bool, err error) {
	in.mu.Lock()
	changed := in.failing != failing
	in.failing = failing
	in.mu.Unlock()
	switch {
	case !changed:
	case failing:
		in.log.Warn("handler failing; messages are requeued and consuming pauses with backoff", "err", err)
	default:
		in.log.Info("handler recovered")
	}
}

// run consumes until ctx ends, connecting again with backoff whenever the
// connection or channel fails. hctx is the Handler's context.
func (in *Input) run(ctx, hctx context.Context) {
	defer close(in.done)
	defer in.log.Info("amqp input stopped")
	defer in.abandon()
	failures := 0
	for {
		err := in.session(ctx, hctx, func() { failures = 0 })
		if ctx.Err() != nil {
			return
		}
		in.setReady(false, err)
		failures++
		if !sleep(ctx, backoff.Exp(failures, reconnectDelay, in.cfg.MaxBackoff)) {
			return
		}
	}
}

// session connects, sets the channel up and consumes until the connection
// or channel closes or ctx ends. It calls consuming once the consumer runs.
func (in *Input) session(ctx, hctx context.Context, consuming func()) error {
	c := in.cfg
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(c.ConsumerTag)
	dial, dialed := in.dialer(ctx)
	conn, err := amqp.DialConfig(c.URL, amqp.Config{Heartbeat: c.Heartbeat, Properties: props, Dial: dial})
	dialed()
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	in.mu.Lock()
	in.conn = conn
	in.mu.Unlock()
	// Closing requeues every message delivered and not acknowledged.
	defer func() { _ = conn.CloseDeadline(time.Now().Add(closeTimeout)) }()
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("channel: %w", err)
	}
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	if err := ch.Qos(c.Prefetch, 0, false); err != nil {
		return fmt.Errorf("qos: %w", err)
	}
	if c.Declare {
		if _, err := ch.QueueDeclare(c.Queue, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare queue %s: %w", c.Queue, err)
		}
	}
	for _, key := range c.RoutingKeys {
		if err := ch.QueueBind(c.Queue, key, c.Exchange, false, nil); err != nil {
			return fmt.Errorf("bind queue %s to exchange %s with key %q: %w", c.Queue, c.Exchange, key, err)
		}
	}
	deliveries, err := ch.Consume(c.Queue, c.ConsumerTag, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", c.Queue, err)
	}
	in.setReady(true, nil)
	consuming()
	failures := 0 // consecutive Handler failures
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-connClosed:
			return fmt.Errorf("connection closed: %w", closeErr(err))
		case err := <-chClosed:
			return fmt.Errorf("channel closed: %w", closeErr(err))
		case d, ok := <-deliveries:
			if !ok {
				select {
				case err := <-connClosed:
					return fmt.Errorf("connection closed: %w", closeErr(err))
				case err := <-chClosed:
					return fmt.Errorf("channel closed: %w", closeErr(err))
				default:
					return errors.New("consumer cancelled by the broker")
				}
			}
			if ctx.Err() != nil {
				return ctx.Err() // not acknowledged: requeued on close
			}
			if in.handle(hctx, d) {
				failures = 0
				continue
			}
			failures++
			if !sleep(ctx, backoff.Exp(failures, c.RetryDelay, c.MaxBackoff)) {
				return ctx.Err()
			}
		}
	}
}

// closeErr turns a close notification into an error; nil means the
// connection or channel was closed on purpose.
func closeErr(err *amqp.Error) error {
	if err == nil {
		return amqp.ErrClosed
	}
	return err
}

// dialer returns a dial function that connects within DialTimeout and
// sets a deadline for the handshake, which the client clears once it is
// done. Until dialed is called, ctx ending aborts the dial and the
// handshake, so Stop need not wait for a broker that accepts connections
// but does not answer.
func (in *Input) dialer(ctx context.Context) (dial func(network, addr string) (net.Conn, error), dialed func()) {
	var unwatch func() bool
	dial = func(network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: in.cfg.DialTimeout}
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if err := conn.SetDeadline(time.Now().Add(in.cfg.DialTimeout)); err != nil {
			conn.Close()
			return nil, err
		}
		unwatch = context.AfterFunc(ctx, func() { conn.Close() })
		return conn, nil
	}
	dialed = func() {
		if unwatch != nil {
			unwatch()
		}
	}
	return dial, dialed
}

// handle hands one delivery to the Handler, then acknowledges it, or
// requeues it; it reports whether the Handler succeeded.
func (in *Input) handle(ctx context.Context, d amqp.Delivery) bool {
	m := Message{Subject: d.RoutingKey, Data: d.Body, Headers: headers(d), ID: d.MessageId, Redelivered: d.Redelivered}
	if err := in.cfg.Handler(ctx, m); err != nil {
		in.setFailing(true, err)
		if err := d.Nack(false, true); err != nil {
			in.log.Debug("nack", "err", err)
		}
		return false
	}
	in.setFailing(false, nil)
	if err := d.Ack(false); err != nil {
		in.log.Debug("ack", "err", err)
	}
	return true
}

// headers collects a delivery's string headers and properties.
func headers(d amqp.Delivery) map[string]string {
	out := map[string]string{}
	for k, v := range d.Headers {
		switch v := v.(type) {
		case string:
			out[k] = v
		case []byte:
			out[k] = string(v)
		}
	}
	for k, v := range map[string]string{"content-type": d.ContentType, "message-id": d.MessageId, "correlation-id": d.CorrelationId} {
		if v != "" {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// sleep waits d, reporting false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
