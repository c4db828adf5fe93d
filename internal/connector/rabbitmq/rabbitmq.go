package rabbitmq

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/outbox"
)

// heartbeat is the connection's heartbeat interval: a broker gone silent
// is noticed within about twice this.
const heartbeat = 10 * time.Second

// blockedRetry is when a delivery refused because the broker blocked
// publishing (a memory or disk alarm) is tried again.
const blockedRetry = 30 * time.Second

// Connector publishes each event to an exchange and returns once the
// broker confirmed it. It is safe for concurrent use: deliveries share one
// connection, dialled by one of them at a time, and each publish in
// flight has a confirm-mode channel of its own (at most Options
// "channels"), so a return or a nack can only be its own.
type Connector struct {
	cfg Config
	set settings
	log *slog.Logger

	gate  chan struct{} // held while dialling
	slots chan struct{} // one per publish in flight

	mu      sync.Mutex
	conn    *amqp.Connection
	idle    []*pubChannel // open channels with nothing in flight
	blocked string        // why the broker blocks publishing; "" when it does not
}

// pubChannel is a channel in confirm mode with its notifications.
type pubChannel struct {
	ch      *amqp.Channel
	returns chan amqp.Return
	closed  chan *amqp.Error
}

var _ connector.Connector = (*Connector)(nil)

// New checks c and returns the connector; it connects on the first
// delivery.
func New(c Config) (*Connector, error) {
	c = c.withDefaults()
	set, err := c.validate()
	if err != nil {
		return nil, err
	}
	return &Connector{
		cfg: c, set: set, gate: make(chan struct{}, 1), slots: make(chan struct{}, set.channels),
		log: c.Logger.With("connector", c.Name, "kind", "rabbitmq", "url", Redact(c.URL)),
	}, nil
}

// Name implements connector.Connector.
func (c *Connector) Name() string { return c.cfg.Name }

// Close closes the connection; a later delivery connects again.
func (c *Connector) Close() error {
	c.gate <- struct{}{}
	defer func() { <-c.gate }()
	c.mu.Lock()
	conn := c.conn
	c.conn, c.idle = nil, nil
	c.mu.Unlock()
	if conn == nil || conn.IsClosed() {
		return nil
	}
	return conn.Close()
}

// Deliver implements connector.Connector: a persistent, mandatory publish
// of the CloudEvent with message_id = d.ID, waiting for the broker's
// confirm. An unroutable message (returned) is permanent; a nack, a lost
// connection or no confirm within the timeout is retried.
func (c *Connector) Deliver(ctx context.Context, d connector.Delivery) (connector.Receipt, error) {
	body, err := connector.BodyOf(d)
	if err != nil {
		return connector.Receipt{}, outbox.Permanent(fmt.Errorf("encode event: %w", err))
	}
	key := c.routingKey(d.Event.Type, d.Event.ShipmentID)
	if len(key) > maxKey {
		return connector.Receipt{}, outbox.Permanent(fmt.Errorf("routing key %.40q…: %d bytes, over AMQP's %d", key, len(key), maxKey))
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return connector.Receipt{}, fmt.Errorf("publish: %w", err)
	}
	if reason := c.blockedReason(); reason != "" {
		return connector.Receipt{}, outbox.RetryAfter(blockedRetry, fmt.Errorf("publish: the broker blocks publishing: %s", reason))
	}
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return connector.Receipt{}, fmt.Errorf("publish: waiting for a free channel: %w", ctx.Err())
	}
	defer func() { <-c.slots }()
	pc, err := c.channel(ctx)
	if err != nil {
		return connector.Receipt{}, fmt.Errorf("connect to %s: %w", Redact(c.cfg.URL), err)
	}
	where := fmt.Sprintf("exchange %q with routing key %q", c.set.exchange, key)
	dc, err := pc.ch.PublishWithDeferredConfirmWithContext(ctx, c.set.exchange, key, true, false, message(d, body))
	if err != nil {
		c.discard(pc)
		return connector.Receipt{}, fmt.Errorf("publish to %s: %w", where, closeReason(pc, err))
	}
	select {
	case <-dc.Done():
	case <-ctx.Done():
		// The confirm may still come; this channel is not reused so that
		// it cannot be taken for another message's.
		c.discard(pc)
		return connector.Receipt{}, fmt.Errorf("publish to %s: no confirm from the broker: %w", where, ctx.Err())
	}
	// The broker returns an unroutable message before it acknowledges it.
	// (A closed channel closes returns too: then ok is false.)
	select {
	case r, ok := <-pc.returns:
		if ok {
			c.release(pc)
			return connector.Receipt{}, outbox.Permanent(fmt.Errorf(
				"publish to %s: unroutable, returned %d %s: no queue is bound for it; bind one (or give the exchange an alternate-exchange), then retry the dead delivery",
				where, r.ReplyCode, r.ReplyText))
		}
	default:
	}
	if !dc.Acked() {
		select {
		case e := <-pc.closed:
			c.discard(pc)
			return connector.Receipt{}, classifyClose(where, e)
		default:
		}
		c.release(pc)
		return connector.Receipt{}, fmt.Errorf("publish to %s: the broker nacked it (it could not take it now: a queue over its length limit, an internal error)", where)
	}
	c.release(pc)
	return connector.Receipt{}, nil
}

// routingKey is the key an event of type typ for shipment is published
// with.
func (c *Connector) routingKey(typ, shipment string) string { return c.set.key.expand(typ, shipment) }

// message is what is published for d.
func message(d connector.Delivery, body []byte) amqp.Publishing {
	h := amqp.Table{
		"Idempotency-Key": d.ID,
		"ce-specversion":  "1.0",
		"ce-type":         d.Event.Type,
		"ce-source":       d.Event.Source,
		"ce-id":           d.Event.ID,
	}
	if d.CorrelationID != "" {
		h["X-Correlation-ID"] = d.CorrelationID
	}
	return amqp.Publishing{
		Headers:       h,
		ContentType:   "application/cloudevents+json",
		DeliveryMode:  amqp.Persistent,
		CorrelationId: d.CorrelationID,
		MessageId:     d.ID,
		Timestamp:     d.Event.Time,
		Type:          d.Event.Type,
		AppId:         "crossdock",
		Body:          body,
	}
}

// closeReason is the broker's reason for closing pc when it did, else err.
func closeReason(pc *pubChannel, err error) error {
	select {
	case e := <-pc.closed:
		if e != nil {
			return e
		}
	default:
	}
	return err
}

// classifyClose turns the broker closing the channel on a publish into
// the outbox's terms. Only a message over the broker's max_message_size is
// permanent; a missing exchange or a refused permission fails every
// delivery alike, so it is retried (the circuit breaker holds them) until
// the broker is set up.
func classifyClose(where string, e *amqp.Error) error {
	if e == nil {
		return fmt.Errorf("publish to %s: channel closed: %w", where, amqp.ErrClosed)
	}
	switch {
	case e.Code == amqp.PreconditionFailed && strings.Contains(e.Reason, "max size"):
		return outbox.Permanent(fmt.Errorf("publish to %s: %w", where, e))
	case e.Code == amqp.NotFound:
		return fmt.Errorf("publish to %s: the exchange does not exist (declare it): %w", where, e)
	}
	return fmt.Errorf("publish to %s: channel closed by the broker: %w", where, e)
}

// channel returns an idle channel, or opens one (connecting when there is
// no connection).
func (c *Connector) channel(ctx context.Context) (*pubChannel, error) {
	c.mu.Lock()
	for len(c.idle) > 0 {
		pc := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		if !pc.ch.IsClosed() {
			c.mu.Unlock()
			return pc, nil
		}
	}
	conn := c.conn
	c.mu.Unlock()
	if conn == nil || conn.IsClosed() {
		var err error
		if conn, err = c.connect(ctx); err != nil {
			return nil, err
		}
	}
	type opened struct {
		pc  *pubChannel
		err error
	}
	done := make(chan opened, 1)
	go func() {
		pc, err := open(conn)
		done <- opened{pc, err}
	}()
	select {
	case o := <-done:
		return o.pc, o.err
	case <-ctx.Done():
		go func() {
			if o := <-done; o.pc != nil {
				_ = o.pc.ch.Close()
			}
		}()
		return nil, fmt.Errorf("open channel: %w", ctx.Err())
	}
}

// open opens a channel in confirm mode on conn.
func open(conn *amqp.Connection) (*pubChannel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("confirm mode: %w", err)
	}
	return &pubChannel{
		ch:      ch,
		returns: ch.NotifyReturn(make(chan amqp.Return, 1)),
		closed:  ch.NotifyClose(make(chan *amqp.Error, 1)),
	}, nil
}

// release puts pc back for the next publish.
func (c *Connector) release(pc *pubChannel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idle = append(c.idle, pc)
}

// discard closes pc in the background.
func (c *Connector) discard(pc *pubChannel) {
	go func() { _ = pc.ch.Close() }()
}

// connect dials the broker unless another delivery did meanwhile; one
// caller dials while the others wait, each bounded by its ctx.
func (c *Connector) connect(ctx context.Context) (*amqp.Connection, error) {
	select {
	case c.gate <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.gate }()
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn != nil && !conn.IsClosed() {
		return conn, nil
	}
	cfg := amqp.Config{Heartbeat: heartbeat, Properties: amqp.NewConnectionProperties()}
	cfg.Properties.SetClientConnectionName("crossdock-" + c.cfg.Name)
	if c.cfg.Username != "" {
		cfg.SASL = []amqp.Authentication{&amqp.PlainAuth{Username: c.cfg.Username, Password: c.cfg.Password}}
	}
	var unwatch func() bool
	cfg.Dial = func(network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		// The handshake is bounded by ctx too; the client clears the
		// deadline once it is done.
		if dl, ok := ctx.Deadline(); ok {
			if err := nc.SetDeadline(dl); err != nil {
				nc.Close()
				return nil, err
			}
		}
		unwatch = context.AfterFunc(ctx, func() { nc.Close() })
		return nc, nil
	}
	conn, err := amqp.DialConfig(c.cfg.URL, cfg)
	if unwatch != nil {
		unwatch()
	}
	if err != nil {
		return nil, err
	}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	go func() {
		if err := <-closed; err != nil {
			c.log.Warn("rabbitmq connection lost; the next delivery connects again", "err", err)
		}
	}()
	go c.watchBlocked(conn, conn.NotifyBlocked(make(chan amqp.Blocking, 1)))
	c.mu.Lock()
	c.conn, c.idle, c.blocked = conn, nil, ""
	c.mu.Unlock()
	c.log.Info("rabbitmq connected")
	return conn, nil
}

// watchBlocked records the broker blocking and unblocking publishing on
// conn (connection.blocked: a resource alarm), until conn closes.
func (c *Connector) watchBlocked(conn *amqp.Connection, notes <-chan amqp.Blocking) {
	for b := range notes {
		c.mu.Lock()
		if c.conn == conn {
			c.blocked = ""
			if b.Active {
				c.blocked = b.Reason
				if c.blocked == "" {
					c.blocked = "no reason given"
				}
			}
		}
		c.mu.Unlock()
		if b.Active {
			c.log.Warn("rabbitmq blocks publishing; deliveries wait", "reason", b.Reason)
		} else {
			c.log.Info("rabbitmq takes publishes again")
		}
	}
}

// blockedReason is why the broker blocks publishing, "" when it does not.
func (c *Connector) blockedReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blocked
}
