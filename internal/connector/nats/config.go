package nats

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config configures a NATS JetStream connector.
type Config struct {
	// Name is the connector's name from the config; required.
	Name string
	// URL is the server, nats://host:4222 (tls://, ws://, wss://); several
	// separated by commas. User info in it is used to connect and never
	// logged or put in errors.
	URL string
	// Username and Password authenticate; a Password without a Username
	// is a token. Both optional; never logged.
	Username string
	Password string
	// Timeout bounds one delivery: connecting (when not connected),
	// publishing and waiting for the stream's acknowledgement. Default 10s.
	Timeout time.Duration
	// Options are the kind's settings; see the package documentation for
	// the keys. Unknown keys are an error.
	Options map[string]string
	// Logger logs connection state changes. Default: discard.
	Logger *slog.Logger
}

// Option keys and their defaults.
const (
	optSubject         = "subject"
	optStream          = "stream"
	optStreamSubjects  = "stream_subjects"
	optDuplicateWindow = "duplicate_window"

	defaultSubject = "crossdock.events.{type}"
	defaultTimeout = 10 * time.Second
)

var optionKeys = []string{optSubject, optStream, optStreamSubjects, optDuplicateWindow}

// settings are the checked Options.
type settings struct {
	subject subjectTemplate
	// stream is ensured on every new connection when set: created when
	// missing, its subjects and duplicate window updated when they differ.
	stream         string
	streamSubjects []string
	// duplicateWindow is the stream's; 0 leaves it to the server (2m for
	// a stream it creates, unchanged for one that exists).
	duplicateWindow time.Duration
}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = defaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// validate checks c and returns its settings. Errors read
// "nats: <name>: <field>: <problem>".
func (c Config) validate() (settings, error) {
	if c.Name == "" {
		return settings{}, errors.New("nats: name: required")
	}
	s, err := c.check()
	if err != nil {
		return settings{}, fmt.Errorf("nats: %s: %w", c.Name, err)
	}
	return s, nil
}

func (c Config) check() (settings, error) {
	if c.URL == "" {
		return settings{}, errors.New("url: required")
	}
	for u := range strings.SplitSeq(c.URL, ",") {
		p, err := url.Parse(strings.TrimSpace(u))
		if err != nil || p.Host == "" {
			return settings{}, fmt.Errorf("url: want nats://host:port, got %q", Redact(u))
		}
		switch p.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return settings{}, fmt.Errorf("url: scheme %q, want nats, tls, ws or wss", p.Scheme)
		}
	}
	var unknown []string
	for k := range c.Options {
		if !slices.Contains(optionKeys, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return settings{}, fmt.Errorf("options: unknown key %s (known: %s)", strings.Join(unknown, ", "), strings.Join(optionKeys, ", "))
	}
	var s settings
	subject := defaultSubject
	if v, ok := c.Options[optSubject]; ok {
		subject = v
	}
	var err error
	if s.subject, err = parseSubject(subject); err != nil {
		return settings{}, fmt.Errorf("%s: %w", optSubject, err)
	}
	s.stream = c.Options[optStream]
	if s.stream == "" {
		for _, k := range []string{optStreamSubjects, optDuplicateWindow} {
			if _, ok := c.Options[k]; ok {
				return settings{}, fmt.Errorf("%s: set without %s", k, optStream)
			}
		}
		return s, nil
	}
	if strings.ContainsAny(s.stream, " \t\r\n.*>/\\") {
		return settings{}, fmt.Errorf("%s: %q must not hold whitespace, '.', '*', '>', '/' or '\\'", optStream, s.stream)
	}
	if v, ok := c.Options[optStreamSubjects]; ok {
		for sub := range strings.SplitSeq(v, ",") {
			sub = strings.TrimSpace(sub)
			if !validSubject(sub) {
				return settings{}, fmt.Errorf("%s: %q is not a subject", optStreamSubjects, sub)
			}
			s.streamSubjects = append(s.streamSubjects, sub)
		}
	} else {
		var ok bool
		if s.streamSubjects, ok = s.subject.streamSubjects(); !ok {
			return settings{}, fmt.Errorf("%s: required: %s %q starts with a placeholder", optStreamSubjects, optSubject, subject)
		}
	}
	if v, ok := c.Options[optDuplicateWindow]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return settings{}, fmt.Errorf("%s: want a positive duration such as 2m or 1h, got %q", optDuplicateWindow, v)
		}
		s.duplicateWindow = d
	}
	return s, nil
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
