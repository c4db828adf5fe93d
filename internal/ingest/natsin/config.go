package natsin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Message is one message taken from the stream.
type Message struct {
	Subject string            // the subject it was published on
	Data    []byte            // the payload, as published
	Headers map[string]string // NATS headers, several values of one key joined with ", "; nil when none
	// ID is the Nats-Msg-Id header when the publisher set one, else
	// "stream:sequence" — the same for every delivery of the message.
	ID          string
	Redelivered bool // JetStream delivered it before
}

// Handler takes a message. nil means the message is durable in the hub
// (committed, a duplicate, or quarantined) and it is acknowledged; an error
// means it must come again later.
type Handler func(ctx context.Context, m Message) error

// Config configures an Input. Zero values take the defaults.
type Config struct {
	// URL is the server, nats://host:4222 (tls://, ws://, wss://); several
	// separated by commas. Default nats://127.0.0.1:4222. User info in the
	// URL is used to connect but never logged.
	URL string
	// User and Password, or Token, or CredsFile (a .creds file holding a
	// JWT and an nkey seed) authenticate; all optional and never logged.
	User      string
	Password  string
	Token     string
	CredsFile string

	// Stream is the JetStream stream to read; required.
	Stream string
	// Subjects are the stream's subjects, used only to create it.
	Subjects []string
	// CreateStream creates the stream (file storage, Subjects) when it is
	// missing. An existing stream is never changed.
	CreateStream bool

	// Durable names the durable pull consumer (explicit acknowledgement);
	// required. It is created or updated to this configuration; created, it
	// starts at the stream's first message.
	Durable string
	// FilterSubject limits the consumer to matching subjects. Default: all.
	FilterSubject string
	// Batch is the number of messages one fetch asks for. Default 100.
	Batch int
	// MaxAckPending bounds the messages delivered and not yet acknowledged.
	// Default 1000; at least Batch.
	MaxAckPending int
	// AckWait is how long JetStream waits for an acknowledgement before it
	// delivers a message again. Default 30s.
	AckWait time.Duration
	// MaxDeliver bounds the deliveries of one message; JetStream gives up on
	// it after that many. Default -1: never give up.
	MaxDeliver int
	// FetchWait is how long one fetch waits for messages; the server sends
	// heartbeats every FetchWait/5, and two missed ones count as a lost
	// server. Default 5s.
	FetchWait time.Duration

	// RetryDelay is the delay before a message the Handler failed is
	// delivered again; it doubles with every further delivery. Default 1s.
	RetryDelay time.Duration
	// MaxBackoff caps RetryDelay's doubling and the backoff between
	// reconnects. Default 30s.
	MaxBackoff time.Duration
	// Name is the connection's name, as the server's monitoring shows it.
	// Default "crossdock".
	Name string

	// Handler takes every message; required.
	Handler Handler
	// Logger logs connection state changes. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.URL == "" {
		c.URL = "nats://127.0.0.1:4222"
	}
	if c.Batch == 0 {
		c.Batch = 100
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = max(1000, c.Batch)
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = -1
	}
	if c.FetchWait == 0 {
		c.FetchWait = 5 * time.Second
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.Name == "" {
		c.Name = "crossdock"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	for s := range strings.SplitSeq(c.URL, ",") {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || u.Host == "" {
			return fmt.Errorf("natsin: url: want nats://host:port, got %q", Redact(s))
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Errorf("natsin: url: scheme %q, want nats, tls, ws or wss", u.Scheme)
		}
	}
	switch {
	case c.Password != "" && c.User == "":
		return errors.New("natsin: user: required with password")
	case c.Token != "" && c.User != "":
		return errors.New("natsin: token: set together with user; use one")
	case c.Stream == "":
		return errors.New("natsin: stream: required")
	case !validName(c.Stream):
		return fmt.Errorf("natsin: stream: %q must not hold whitespace, '.', '*', '>', '/' or '\\'", c.Stream)
	case c.CreateStream && len(c.Subjects) == 0:
		return errors.New("natsin: subjects: required with create_stream")
	case c.Durable == "":
		return errors.New("natsin: durable: required")
	case !validName(c.Durable):
		return fmt.Errorf("natsin: durable: %q must not hold whitespace, '.', '*', '>', '/' or '\\'", c.Durable)
	case strings.ContainsAny(c.FilterSubject, " \t\r\n"):
		return fmt.Errorf("natsin: filter_subject: %q holds whitespace", c.FilterSubject)
	case c.Batch < 1:
		return fmt.Errorf("natsin: batch: must be at least 1, got %d", c.Batch)
	case c.MaxAckPending < c.Batch:
		return fmt.Errorf("natsin: max_ack_pending: must be at least batch (%d), got %d", c.Batch, c.MaxAckPending)
	case c.AckWait < 0:
		return fmt.Errorf("natsin: ack_wait: must be positive, got %v", c.AckWait)
	case c.MaxDeliver < -1:
		return fmt.Errorf("natsin: max_deliver: must be -1 (unlimited) or positive, got %d", c.MaxDeliver)
	case c.FetchWait < 100*time.Millisecond:
		return fmt.Errorf("natsin: fetch_wait: must be at least 100ms, got %v", c.FetchWait)
	case c.RetryDelay < 0:
		return fmt.Errorf("natsin: retry_delay: must be positive, got %v", c.RetryDelay)
	case c.MaxBackoff < c.RetryDelay:
		return fmt.Errorf("natsin: max_backoff: must be at least retry_delay (%v), got %v", c.RetryDelay, c.MaxBackoff)
	case c.Handler == nil:
		return errors.New("natsin: handler: required")
	}
	for _, s := range c.Subjects {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return fmt.Errorf("natsin: subjects: %q is not a subject", s)
		}
	}
	return nil
}

// validName reports whether s can name a stream or a consumer.
func validName(s string) bool {
	return !strings.ContainsAny(s, " \t\r\n.*>/\\")
}

// Redact drops the user info (user and password, or a token) of the
// server URLs in s, for logs and errors.
func Redact(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			parts[i] = "(unparsable URL)"
			continue
		}
		u.User = nil
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
