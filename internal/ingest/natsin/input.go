package natsin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/crossdockhq/crossdock/internal/backoff"
)

// reconnectDelay is the first delay between connection attempts; it
// doubles up to MaxBackoff.
const reconnectDelay = 500 * time.Millisecond

// apiTimeout bounds one JetStream API call (stream or consumer lookup).
const apiTimeout = 5 * time.Second

// Input is the JetStream input. New configures it, Start runs it in the
// background, Stop ends it.
type Input struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	started bool
	stopped bool
	nc      *nats.Conn
	ready   bool // bound to the consumer, fetches succeed
	known   bool // ready has been logged once
	failing bool // the Handler's last call failed
	cancel  context.CancelFunc
	abandon context.CancelFunc // cancels the Handler's context
	done    chan struct{}
	wake    chan struct{} // a connection was (re)established
}

// New checks c and returns an Input; it does not connect.
func New(c Config) (*Input, error) {
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	in := &Input{cfg: c, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	in.log = c.Logger.With("input", "nats", "url", Redact(c.URL), "stream", c.Stream, "consumer", c.Durable)
	return in, nil
}

// Start connects and consumes in the background and returns at once: a
// server that is down is retried with backoff, never an error. ctx only
// passes its values on (to the Handler's context); the input runs until
// Stop. Start fails only when called twice or after Stop.
func (in *Input) Start(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.started || in.stopped {
		return errors.New("natsin: start: already started or stopped")
	}
	in.started = true
	base := context.WithoutCancel(ctx)
	run, cancel := context.WithCancel(base)
	hctx, abandon := context.WithCancel(base)
	in.cancel, in.abandon = cancel, abandon
	go in.run(run, hctx)
	return nil
}

// Stop stops fetching, negatively acknowledges messages fetched and not
// yet handled (so they come again at once), waits for the Handler call in
// flight to finish and be acknowledged, and closes the connection. When
// ctx ends first, it cancels the Handler's context, closes the connection
// and returns ctx's error; the message in flight is then delivered again
// after AckWait.
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
		nc := in.nc
		in.mu.Unlock()
		if nc != nil {
			nc.Close()
		}
		return fmt.Errorf("natsin: stop: %w", ctx.Err())
	}
}

// Connected reports whether the input is connected and bound to its
// consumer.
func (in *Input) Connected() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.ready && in.nc != nil && in.nc.IsConnected()
}

// setReady records the connection state and logs it when it changed.
func (in *Input) setReady(ok bool, err error) {
	in.mu.Lock()
	changed := !in.known || in.ready != ok
	in.known, in.ready = true, ok
	stopped := in.stopped
	in.mu.Unlock()
	if stopped {
		return
	}
	switch {
	case !changed:
	case ok:
		in.log.Info("nats connected; consuming")
	default:
		in.log.Warn("nats not connected; retrying with backoff", "err", err)
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
		in.log.Warn("handler failing; messages are redelivered with backoff", "err", err)
	default:
		in.log.Info("handler recovered")
	}
}

// options are the client's connection options: retrying forever with
// backoff, reporting state changes, and the credentials.
func (in *Input) options() []nats.Option {
	c := in.cfg
	opts := []nats.Option{
		nats.Name(c.Name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(func(attempts int) time.Duration {
			return backoff.Exp(attempts, reconnectDelay, c.MaxBackoff)
		}),
		nats.ConnectHandler(in.connected),
		nats.ReconnectHandler(in.connected),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { in.setReady(false, err) }),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) { in.setReady(false, err) }),
	}
	switch {
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	case c.Token != "":
		opts = append(opts, nats.Token(c.Token))
	}
	if c.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	return opts
}

// run connects, binds the consumer and consumes until ctx ends, starting
// over with backoff after every failure. hctx is the Handler's context.
func (in *Input) run(ctx, hctx context.Context) {
	defer close(in.done)
	defer in.log.Info("nats input stopped")
	defer in.abandon()
	nc, ok := in.connect(ctx)
	if !ok {
		return
	}
	defer func() {
		if nc.IsConnected() {
			// Acknowledgements are buffered; send them before closing.
			if err := nc.FlushTimeout(time.Second); err != nil {
				in.log.Debug("flush before close", "err", err)
			}
		}
		nc.Close()
	}()
	js, err := jetstream.New(nc)
	if err != nil {
		in.log.Error("nats: jetstream", "err", err)
		return
	}
	failures := 0
	for {
		cons, err := in.bind(ctx, nc, js)
		if err == nil {
			in.setReady(true, nil)
			failures = 0
			err = in.consume(ctx, hctx, cons)
		}
		if ctx.Err() != nil {
			return
		}
		in.setReady(false, err)
		failures++
		if !in.sleep(ctx, backoff.Exp(failures, reconnectDelay, in.cfg.MaxBackoff)) {
			return
		}
	}
}

// connect returns a connection, which may still be connecting: network
// failures are retried by the client. Other failures (an unreadable creds
// file) are retried here with backoff. It reports false when ctx ended.
func (in *Input) connect(ctx context.Context) (*nats.Conn, bool) {
	for failures := 1; ; failures++ {
		nc, err := nats.Connect(in.cfg.URL, in.options()...)
		if err == nil {
			in.mu.Lock()
			defer in.mu.Unlock()
			if ctx.Err() != nil {
				nc.Close()
				return nil, false
			}
			in.nc = nc
			return nc, true
		}
		in.setReady(false, fmt.Errorf("connect: %w", err))
		if !in.sleep(ctx, backoff.Exp(failures, reconnectDelay, in.cfg.MaxBackoff)) {
			return nil, false
		}
	}
}

// bind finds (or creates) the stream and creates or updates the durable
// consumer.
func (in *Input) bind(ctx context.Context, nc *nats.Conn, js jetstream.JetStream) (jetstream.Consumer, error) {
	if !nc.IsConnected() {
		return nil, errors.New("connection: not established")
	}
	c := in.cfg
	actx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	if _, err := js.Stream(actx, c.Stream); err != nil {
		if !errors.Is(err, jetstream.ErrStreamNotFound) || !c.CreateStream {
			return nil, fmt.Errorf("stream %s: %w", c.Stream, err)
		}
		_, err = js.CreateStream(actx, jetstream.StreamConfig{
			Name: c.Stream, Subjects: c.Subjects, Storage: jetstream.FileStorage,
		})
		if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil, fmt.Errorf("create stream %s: %w", c.Stream, err)
		}
		in.log.Info("nats stream created", "subjects", c.Subjects)
	}
	cons, err := js.CreateOrUpdateConsumer(actx, c.Stream, jetstream.ConsumerConfig{
		Durable:       c.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    c.MaxDeliver,
		MaxAckPending: c.MaxAckPending,
		FilterSubject: c.FilterSubject,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", c.Durable, err)
	}
	return cons, nil
}

// consume fetches batches and handles their messages in order until a
// fetch fails or ctx ends.
func (in *Input) consume(ctx, hctx context.Context, cons jetstream.Consumer) error {
	for {
		fctx, cancel := context.WithTimeout(ctx, in.cfg.FetchWait)
		batch, err := cons.Fetch(in.cfg.Batch, jetstream.FetchContext(fctx), jetstream.FetchHeartbeat(in.cfg.FetchWait/5))
		if err != nil {
			cancel()
			return fmt.Errorf("fetch: %w", err)
		}
		for msg := range batch.Messages() {
			if ctx.Err() != nil {
				// Stopping: let it come again now rather than after AckWait.
				if err := msg.Nak(); err != nil {
					in.log.Debug("nak on stop", "err", err)
				}
				continue
			}
			in.handle(hctx, msg)
		}
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := batch.Error(); err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
		in.setReady(true, nil)
	}
}

// handle hands one message to the Handler, then acknowledges it, or
// negatively acknowledges it with a delay growing with its deliveries.
func (in *Input) handle(ctx context.Context, msg jetstream.Msg) {
	m := Message{Subject: msg.Subject(), Data: msg.Data(), Headers: headers(msg.Headers())}
	delivered := uint64(1)
	if meta, err := msg.Metadata(); err == nil {
		delivered = meta.NumDelivered
		m.Redelivered = delivered > 1
		m.ID = fmt.Sprintf("%s:%d", meta.Stream, meta.Sequence.Stream)
	}
	if id := msg.Headers().Get(nats.MsgIdHdr); id != "" {
		m.ID = id
	}
	if err := in.cfg.Handler(ctx, m); err != nil {
		in.setFailing(true, err)
		delay := backoff.Exp(int(min(delivered, 64)), in.cfg.RetryDelay, in.cfg.MaxBackoff)
		if err := msg.NakWithDelay(delay); err != nil {
			in.log.Debug("nak", "err", err)
		}
		return
	}
	in.setFailing(false, nil)
	if err := msg.Ack(); err != nil {
		in.log.Debug("ack", "err", err)
	}
}

// headers flattens NATS headers.
func headers(h nats.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}

// sleep waits d or until the connection is (re)established, reporting
// false when ctx ended first.
func (in *Input) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-in.wake:
		return true
	case <-ctx.Done():
		return false
	}
}

// connected wakes a run waiting to bind again.
func (in *Input) connected(*nats.Conn) {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}
