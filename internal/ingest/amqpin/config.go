package amqpin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Message is one message taken from the queue.
type Message struct {
	Subject string // the routing key it was published with
	Data    []byte // the body, as published
	// Headers holds the message's headers with string values (others are
	// left out) and, when set, the properties content-type, message-id and
	// correlation-id, which win over headers of the same name. nil when none.
	Headers map[string]string
	ID      string // the message-id property; "" when the publisher set none
	// Redelivered: the broker delivered it before (requeued after a failure
	// or a lost connection).
	Redelivered bool
}

// Handler takes a message. nil means the message is durable in the hub
// (committed, a duplicate, or quarantined) and it is acknowledged; an error
// means it must come again later.
type Handler func(ctx context.Context, m Message) error

// Config configures an Input. Zero values take the defaults.
type Config struct {
	// URL is the broker, amqp://user:password@host:5672/vhost (or amqps://).
	// Default amqp://guest:guest@127.0.0.1:5672/. The password is never
	// logged.
	URL string
	// Queue is the queue to consume; required.
	Queue string
	// Declare declares Queue (durable, not auto-deleted, not exclusive) if
	// it is missing. Without it the queue must exist.
	Declare bool
	// Exchange, when set, has Queue bound to it once per routing key (the
	// exchange must exist). RoutingKeys default to one empty key, which
	// suits fanout and headers exchanges.
	Exchange    string
	RoutingKeys []string
	// Prefetch bounds the messages delivered and not yet acknowledged
	// (basic.qos). Default 100.
	Prefetch int
	// ConsumerTag names the consumer in the broker's management. Default
	// "crossdock-<hostname>-<pid>".
	ConsumerTag string

	// RetryDelay is the pause after the Handler failed before the next
	// message is taken; it doubles with every consecutive failure.
	// Default 1s.
	RetryDelay time.Duration
	// MaxBackoff caps RetryDelay's doubling and the backoff between
	// reconnects. Default 30s.
	MaxBackoff time.Duration
	// Heartbeat is the AMQP heartbeat interval, which notices a dead broker.
	// Default 10s.
	Heartbeat time.Duration
	// DialTimeout bounds connecting, TLS and the AMQP handshake. Default 10s.
	DialTimeout time.Duration

	// Handler takes every message; required.
	Handler Handler
	// Logger logs connection state changes. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.URL == "" {
		c.URL = "amqp://guest:guest@127.0.0.1:5672/"
	}
	if c.Exchange != "" && len(c.RoutingKeys) == 0 {
		c.RoutingKeys = []string{""}
	}
	if c.Prefetch == 0 {
		c.Prefetch = 100
	}
	if c.ConsumerTag == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "unknown"
		}
		c.ConsumerTag = fmt.Sprintf("crossdock-%s-%d", host, os.Getpid())
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 10 * time.Second
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	// ParseURI's errors may quote the URL, password included: not passed on.
	if _, err := amqp.ParseURI(c.URL); err != nil {
		return fmt.Errorf("amqpin: url: want amqp://user:password@host:port/vhost, got %q", Redact(c.URL))
	}
	switch {
	case c.Queue == "":
		return errors.New("amqpin: queue: required")
	case strings.HasPrefix(c.Queue, "amq.") && c.Declare:
		return fmt.Errorf("amqpin: queue: %q: names starting amq. are the broker's; cannot declare", c.Queue)
	case len(c.RoutingKeys) > 0 && c.Exchange == "":
		return errors.New("amqpin: routing_keys: set without exchange")
	case c.Prefetch < 1 || c.Prefetch > 65535:
		return fmt.Errorf("amqpin: prefetch: must be 1..65535, got %d", c.Prefetch)
	case c.RetryDelay < 0:
		return fmt.Errorf("amqpin: retry_delay: must be positive, got %v", c.RetryDelay)
	case c.MaxBackoff < c.RetryDelay:
		return fmt.Errorf("amqpin: max_backoff: must be at least retry_delay (%v), got %v", c.RetryDelay, c.MaxBackoff)
	case c.Heartbeat < time.Second:
		return fmt.Errorf("amqpin: heartbeat: must be at least 1s, got %v", c.Heartbeat)
	case c.DialTimeout < 0:
		return fmt.Errorf("amqpin: dial_timeout: must be positive, got %v", c.DialTimeout)
	case c.Handler == nil:
		return errors.New("amqpin: handler: required")
	}
	return nil
}

// Redact hides the password of a broker URL, for logs and errors.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
