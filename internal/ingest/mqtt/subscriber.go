package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/crossdockhq/crossdock/internal/ingest"
)

// Input is the input name handed to the Sink.
const Input = "mqtt"

// Config configures a Subscriber.
type Config struct {
	URL      string // broker, tcp://host:1883 (ssl://, ws://, wss://); required
	ClientID string // the persistent session's name; default "crossdock"
	Topic    string // filter subscribed with QoS 1, last level the device; default "crossdock/telemetry/+"
	Username string
	Password string
	// MaxBatch bounds the messages committed in one sink call. Default 500.
	MaxBatch int
	// ConnectTimeout bounds the first connection in Start. Default 10s.
	ConnectTimeout time.Duration
	// MaxReconnectInterval caps the backoff between reconnects. Default 30s.
	MaxReconnectInterval time.Duration
}

func (c Config) withDefaults() Config {
	if c.ClientID == "" {
		c.ClientID = "crossdock"
	}
	if c.Topic == "" {
		c.Topic = "crossdock/telemetry/+"
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 500
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.MaxReconnectInterval <= 0 {
		c.MaxReconnectInterval = 30 * time.Second
	}
	return c
}

func (c Config) validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("mqtt: url: want tcp://host:port, got %q", c.URL)
	}
	if !strings.HasSuffix(c.Topic, "/+") || strings.Contains(c.Topic, "#") {
		return fmt.Errorf("mqtt: topic: %q must end in /+ (the device level) and hold no #", c.Topic)
	}
	return nil
}

// Subscriber is the MQTT input. Start connects and subscribes; Close stops.
type Subscriber struct {
	cfg    Config
	sink   ingest.Sink
	log    *slog.Logger
	client paho.Client

	msgs       chan paho.Message
	subscribed chan struct{} // closed once the first subscription is acknowledged
	subOnce    sync.Once
	mu         sync.Mutex
	closing    bool
	started    bool          // the batcher runs
	done       chan struct{} // closed when the batcher has stopped
	stop       chan struct{}
	// resubscribeDelay holds onConnect back before it subscribes, as a
	// busy client's goroutine would be; tests set it.
	resubscribeDelay time.Duration
}

// New returns a Subscriber; it does not connect yet. A nil log discards.
func New(cfg Config, sink ingest.Sink, log *slog.Logger) (*Subscriber, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if sink == nil {
		return nil, errors.New("mqtt: sink: required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Subscriber{
		cfg: cfg, sink: sink, log: log.With("input", Input),
		msgs: make(chan paho.Message, 4*cfg.MaxBatch), done: make(chan struct{}), stop: make(chan struct{}),
		subscribed: make(chan struct{}),
	}
	opts := paho.NewClientOptions().AddBroker(cfg.URL).SetClientID(cfg.ClientID).
		SetCleanSession(false).SetAutoAckDisabled(true).
		// In order: a device's positions must reach the pipeline in the order
		// it sent them, or the track counts the later ones as late. The
		// handler only queues, and acknowledgements leave through another
		// goroutine of the client, so a full queue is just backpressure.
		SetOrderMatters(true).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(cfg.MaxReconnectInterval).SetResumeSubs(true).
		SetKeepAlive(30 * time.Second).SetConnectTimeout(cfg.ConnectTimeout).
		SetOnConnectHandler(s.onConnect).
		// A persistent session's unacknowledged messages are resent as soon
		// as the broker accepts the connection, which can be before
		// onConnect has subscribed again and so before the subscription's
		// handler exists. Without a default handler paho neither delivers
		// nor acknowledges them, and they fill the broker's in-flight window
		// for good: every message of this client is the subscription's.
		SetDefaultPublishHandler(s.handle).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.log.Warn("broker connection lost; reconnecting with backoff", "err", err)
		})
	if cfg.Username != "" {
		opts.SetUsername(cfg.Username).SetPassword(cfg.Password)
	}
	s.client = paho.NewClient(opts)
	return s, nil
}

// onConnect (re)subscribes on every connection; the broker then delivers
// what it kept for the session, unacknowledged messages first.
func (s *Subscriber) onConnect(c paho.Client) {
	s.log.Info("connected to broker", "topic", s.cfg.Topic)
	time.Sleep(s.resubscribeDelay)
	tok := c.Subscribe(s.cfg.Topic, 1, s.handle)
	go func() {
		if !tok.WaitTimeout(s.cfg.ConnectTimeout) {
			s.log.Error("subscribe: no answer from the broker", "topic", s.cfg.Topic)
			return
		}
		if err := tok.Error(); err != nil {
			s.log.Error("subscribe", "topic", s.cfg.Topic, "err", err)
			return
		}
		s.log.Info("subscribed", "topic", s.cfg.Topic)
		s.subOnce.Do(func() { close(s.subscribed) })
	}()
}

// handle runs on the client's router goroutine, one message at a time in
// arrival order; it hands the message to the batcher without acknowledging
// it.
func (s *Subscriber) handle(_ paho.Client, m paho.Message) {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return // not acknowledged: the broker delivers it again next session
	}
	select {
	case s.msgs <- m:
	case <-s.stop:
	}
}

// Start connects and starts committing messages. It waits up to
// ConnectTimeout for the first connection and its subscription, so a
// message published after Start returned reaches even a new session; a
// broker not reachable by then
// is logged and retried in the background (with backoff), so the hub runs
// — and takes positions through its other inputs — while the broker is
// down. It fails only when the broker refuses the connection (bad
// credentials, a client id it rejects) or ctx ends.
func (s *Subscriber) Start(ctx context.Context) error {
	tok := s.client.Connect()
	timeout := time.After(s.cfg.ConnectTimeout)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("mqtt: connect %s: %w", Redact(s.cfg.URL), err)
		}
		// A new session receives only what is published after its
		// subscription: wait for it, so that messages sent once Start
		// returned are never missed.
		select {
		case <-s.subscribed:
		case <-timeout:
			s.log.Warn("subscription not acknowledged yet", "topic", s.cfg.Topic)
		case <-ctx.Done():
			s.client.Disconnect(0)
			return fmt.Errorf("mqtt: subscribe: %w", ctx.Err())
		}
	case <-timeout:
		s.log.Warn("broker not reachable yet; retrying in the background", "url", Redact(s.cfg.URL))
	case <-ctx.Done():
		s.client.Disconnect(0)
		return fmt.Errorf("mqtt: connect: %w", ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		s.client.Disconnect(0)
		return nil
	}
	s.started = true
	go s.batcher()
	return nil
}

// Redact drops the user info of a broker URL, for logs and errors.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	return u.String()
}

// batcher commits what has arrived, up to MaxBatch at a time, and
// acknowledges it after the commit.
func (s *Subscriber) batcher() {
	defer close(s.done)
	batch := make([]paho.Message, 0, s.cfg.MaxBatch)
	for {
		select {
		case m := <-s.msgs:
			batch = append(batch[:0], m)
		case <-s.stop:
			return
		}
	fill:
		for len(batch) < s.cfg.MaxBatch {
			select {
			case m := <-s.msgs:
				batch = append(batch, m)
			default:
				break fill
			}
		}
		if !s.commit(batch) {
			s.redeliver()
		}
	}
}

// commit hands a batch to the sink and acknowledges what is durable. It
// reports false when something could not be kept: those messages stay
// unacknowledged.
func (s *Subscriber) commit(batch []paho.Message) bool {
	ctx := context.Background()
	ps := make([]ingest.Position, 0, len(batch))
	decoded := make([]paho.Message, 0, len(batch))
	ok := true
	for _, m := range batch {
		p, err := Decode(m.Topic(), m.Payload())
		if err != nil {
			if _, qerr := s.sink.Quarantine(ctx, Input, "application/json", quarantined(m), err.Error()); qerr != nil {
				s.log.Warn("message not kept; left unacknowledged", "topic", m.Topic(), "err", qerr)
				ok = false
				continue
			}
			m.Ack()
			continue
		}
		ps = append(ps, p)
		decoded = append(decoded, m)
	}
	if len(ps) == 0 {
		return ok
	}
	if _, err := s.sink.Positions(ctx, Input, ps); err != nil {
		s.log.Warn("positions not committed; left unacknowledged for redelivery", "count", len(ps), "err", err)
		return false
	}
	for _, m := range decoded {
		m.Ack()
	}
	return ok
}

// quarantined is what quarantine keeps of an undecodable message: the
// topic, then the body.
func quarantined(m paho.Message) []byte {
	return append([]byte("topic: "+m.Topic()+"\n\n"), m.Payload()...)
}

// redeliver gets messages the sink could not take delivered again: MQTT
// has no negative acknowledgement, but a broker resends every message
// unacknowledged in a persistent session when the client reconnects. It
// waits a second first, so a failing store is not hammered.
func (s *Subscriber) redeliver() {
	select {
	case <-time.After(time.Second):
	case <-s.stop:
		return
	}
	s.log.Info("reconnecting to have unacknowledged messages delivered again")
	s.client.Disconnect(250)
	// Messages already handed over belong to the dropped connection; the
	// broker resends them, so drop them here unacknowledged.
	for drained := false; !drained; {
		select {
		case <-s.msgs:
		default:
			drained = true
		}
	}
	if tok := s.client.Connect(); !tok.WaitTimeout(s.cfg.ConnectTimeout) || tok.Error() != nil {
		s.log.Warn("reconnect pending; paho keeps retrying", "err", tok.Error())
	}
}

// Close stops taking messages, lets the batch in flight commit and be
// acknowledged, and disconnects. Messages not acknowledged by then are
// delivered again to the next session.
func (s *Subscriber) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	started := s.started
	s.mu.Unlock()
	close(s.stop)
	if started {
		select {
		case <-s.done:
		case <-ctx.Done():
		}
	}
	s.client.Disconnect(250)
	return ctx.Err()
}
