package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/outbox"
)

// JetStream API error codes a publish can answer that no retry can fix.
const (
	errCodeMessageTooLarge = 10054 // over the stream's max_msg_size
	errCodeStreamSealed    = 10109 // the stream takes no more messages, ever
)

// Connector publishes each event to a JetStream stream and returns once
// the stream stored it. It is safe for concurrent use: deliveries share
// one connection, dialled by one of them at a time.
type Connector struct {
	cfg Config
	set settings
	log *slog.Logger

	gate chan struct{}           // held while connecting or ensuring the stream
	sess atomic.Pointer[session] // nil until connected
}

// session is one connection.
type session struct {
	nc *natsgo.Conn
	js jetstream.JetStream
	// ready: the stream was ensured (or none is configured). A publish
	// no stream answered clears it, so the next delivery ensures the
	// stream again (someone deleted it).
	ready atomic.Bool
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
		cfg: c, set: set, gate: make(chan struct{}, 1),
		log: c.Logger.With("connector", c.Name, "kind", "nats", "url", Redact(c.URL)),
	}, nil
}

// Name implements connector.Connector.
func (c *Connector) Name() string { return c.cfg.Name }

// Close closes the connection; a later delivery connects again.
func (c *Connector) Close() error {
	c.gate <- struct{}{}
	defer func() { <-c.gate }()
	if s := c.sess.Swap(nil); s != nil {
		s.nc.Close()
	}
	return nil
}

// Deliver implements connector.Connector: a JetStream publish of the
// CloudEvent with Nats-Msg-Id = d.ID, waiting for the stream's
// acknowledgement. The receipt's Ref is "<stream>:<sequence>", the same
// for a repeat inside the stream's duplicate window.
func (c *Connector) Deliver(ctx context.Context, d connector.Delivery) (connector.Receipt, error) {
	body, err := connector.BodyOf(d)
	if err != nil {
		return connector.Receipt{}, outbox.Permanent(fmt.Errorf("encode event: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return connector.Receipt{}, fmt.Errorf("publish: %w", err)
	}
	s, err := c.session(ctx)
	if err != nil {
		return connector.Receipt{}, fmt.Errorf("connect to %s: %w", Redact(c.cfg.URL), err)
	}
	msg := natsgo.NewMsg(c.subject(d.Event.Type, d.Event.ShipmentID))
	msg.Data = body
	msg.Header.Set("Content-Type", "application/cloudevents+json")
	msg.Header.Set("Idempotency-Key", d.ID)
	if d.CorrelationID != "" {
		msg.Header.Set("X-Correlation-ID", d.CorrelationID)
	}
	msg.Header.Set("ce-specversion", "1.0")
	msg.Header.Set("ce-type", d.Event.Type)
	msg.Header.Set("ce-source", d.Event.Source)
	msg.Header.Set("ce-id", d.Event.ID)
	ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithMsgID(d.ID))
	if err != nil {
		if errors.Is(err, jetstream.ErrNoStreamResponse) && c.set.stream != "" {
			s.ready.Store(false)
		}
		return connector.Receipt{}, classify(msg.Subject, len(body), s.nc.MaxPayload(), err)
	}
	return connector.Receipt{Ref: fmt.Sprintf("%s:%d", ack.Stream, ack.Sequence)}, nil
}

// subject is where an event of type typ for shipment goes.
func (c *Connector) subject(typ, shipment string) string { return c.set.subject.expand(typ, shipment) }

// classify turns a failed publish into the outbox's terms: a message the
// server or the stream can never take is permanent; anything else (no
// stream answering, a lost connection, a timeout, a stream out of space)
// may succeed later.
func classify(subject string, size int, maxPayload int64, err error) error {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, natsgo.ErrMaxPayload):
		return outbox.Permanent(fmt.Errorf("publish to %s: message of %d bytes is over the server's max_payload of %d bytes: %w", subject, size, maxPayload, err))
	case errors.As(err, &apiErr) && (apiErr.ErrorCode == errCodeMessageTooLarge || apiErr.ErrorCode == errCodeStreamSealed):
		return outbox.Permanent(fmt.Errorf("publish to %s: the stream refused it for good: %w", subject, err))
	case errors.Is(err, jetstream.ErrNoStreamResponse):
		return fmt.Errorf("publish to %s: no stream acknowledged it (no stream takes this subject, or JetStream is not answering): %w", subject, err)
	case errors.Is(err, natsgo.ErrReconnectBufExceeded):
		return fmt.Errorf("publish to %s: connection lost, reconnecting: %w", subject, err)
	}
	return fmt.Errorf("publish to %s: %w", subject, err)
}

// session returns the connection, connecting and ensuring the stream
// when needed; one caller does that while the others wait, each bounded
// by its ctx.
func (c *Connector) session(ctx context.Context) (*session, error) {
	if s := c.sess.Load(); s != nil && s.ready.Load() && !s.nc.IsClosed() {
		return s, nil
	}
	select {
	case c.gate <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.gate }()
	s := c.sess.Load()
	if s == nil || s.nc.IsClosed() {
		timeout := c.cfg.Timeout
		if dl, ok := ctx.Deadline(); ok {
			timeout = time.Until(dl)
		}
		if timeout <= 0 {
			return nil, context.DeadlineExceeded
		}
		nc, err := natsgo.Connect(c.cfg.URL, c.options(timeout)...)
		if err != nil {
			return nil, err
		}
		js, err := jetstream.New(nc)
		if err != nil {
			nc.Close()
			return nil, err
		}
		s = &session{nc: nc, js: js}
		c.sess.Store(s)
		c.log.Info("nats connected")
	}
	if !s.ready.Load() {
		if c.set.stream != "" {
			if err := c.ensureStream(ctx, s.js); err != nil {
				return nil, err
			}
		}
		s.ready.Store(true)
	}
	return s, nil
}

// options are the connection's: one try to connect (the outbox retries a
// failed delivery), then reconnecting forever in the background, without
// buffering publishes while disconnected so a delivery fails at once
// rather than after its timeout.
func (c *Connector) options(timeout time.Duration) []natsgo.Option {
	opts := []natsgo.Option{
		natsgo.Name("crossdock-" + c.cfg.Name),
		natsgo.Timeout(timeout),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectBufSize(-1),
		natsgo.DisconnectErrHandler(func(_ *natsgo.Conn, err error) {
			if err != nil {
				c.log.Warn("nats disconnected; reconnecting", "err", err)
			}
		}),
		natsgo.ReconnectHandler(func(*natsgo.Conn) { c.log.Info("nats reconnected") }),
	}
	switch {
	case c.cfg.Username != "":
		opts = append(opts, natsgo.UserInfo(c.cfg.Username, c.cfg.Password))
	case c.cfg.Password != "":
		opts = append(opts, natsgo.Token(c.cfg.Password))
	}
	return opts
}

// ensureStream creates the configured stream when it is missing; when it
// exists, it adds the subjects it lacks and sets duplicate_window when
// that was set and differs. Nothing else of an existing stream changes.
func (c *Connector) ensureStream(ctx context.Context, js jetstream.JetStream) error {
	name := c.set.stream
	st, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		var created jetstream.Stream
		created, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name: name, Subjects: c.set.streamSubjects, Storage: jetstream.FileStorage, Duplicates: c.set.duplicateWindow,
		})
		if err == nil {
			c.log.Info("nats stream created", "stream", name, "subjects", c.set.streamSubjects,
				"duplicate_window", created.CachedInfo().Config.Duplicates)
			return nil
		}
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("create stream %s: %w", name, err)
		}
		st, err = js.Stream(ctx, name) // another node created it meanwhile
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", name, err)
	}
	cfg := st.CachedInfo().Config
	changed := c.set.duplicateWindow != 0 && cfg.Duplicates != c.set.duplicateWindow
	if changed {
		cfg.Duplicates = c.set.duplicateWindow
	}
	for _, sub := range c.set.streamSubjects {
		if !slices.Contains(cfg.Subjects, sub) {
			cfg.Subjects = append(cfg.Subjects, sub)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("update stream %s: %w", name, err)
	}
	c.log.Info("nats stream updated", "stream", name, "subjects", cfg.Subjects, "duplicate_window", cfg.Duplicates)
	return nil
}
