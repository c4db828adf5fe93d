package mqtt

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Config configures an MQTT connector.
type Config struct {
	// Name is the connector's name from the config; required.
	Name string
	// URL is the broker, tcp://host:1883 (ssl://, tls://, mqtt://,
	// mqtts://, ws://, wss://). User info in it logs in when Username is
	// empty; it is never logged or put in errors.
	URL string
	// Username and Password log in; never logged.
	Username string
	Password string
	// Timeout bounds one delivery: connecting (when not connected),
	// publishing and waiting for the broker's PUBACK. Default 10s.
	Timeout time.Duration
	// Options are the kind's settings; see the package documentation for
	// the keys. Unknown keys are an error.
	Options map[string]string
	// Logger logs connection state changes. Default: discard.
	Logger *slog.Logger
	// Hostname fills {host} in the client id. Default os.Hostname.
	Hostname func() (string, error)
}

// Option keys and their defaults.
const (
	optTopic    = "topic"
	optClientID = "client_id"

	defaultTopic   = "crossdock/events/{type}/{shipment}"
	defaultTimeout = 10 * time.Second
)

var optionKeys = []string{optClientID, optTopic}

// settings are the checked Options.
type settings struct {
	topic    topicTemplate
	clientID string
}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = defaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Hostname == nil {
		c.Hostname = os.Hostname
	}
	return c
}

// validate checks c and returns its settings. Errors read
// "mqtt: <name>: <field>: <problem>".
func (c Config) validate() (settings, error) {
	if c.Name == "" {
		return settings{}, errors.New("mqtt: name: required")
	}
	s, err := c.check()
	if err != nil {
		return settings{}, fmt.Errorf("mqtt: %s: %w", c.Name, err)
	}
	return s, nil
}

func (c Config) check() (settings, error) {
	if c.URL == "" {
		return settings{}, errors.New("url: required")
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return settings{}, fmt.Errorf("url: want tcp://host:port, got %q", Redact(c.URL))
	}
	switch u.Scheme {
	case "tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss":
	default:
		return settings{}, fmt.Errorf("url: scheme %q, want tcp, ssl, tls, mqtt, mqtts, ws or wss", u.Scheme)
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
	topic := defaultTopic
	if v, ok := c.Options[optTopic]; ok {
		topic = v
	}
	var s settings
	if s.topic, err = parseTopic(topic); err != nil {
		return settings{}, fmt.Errorf("%s: %w", optTopic, err)
	}
	s.clientID = "crossdock-" + c.Name
	if v, ok := c.Options[optClientID]; ok {
		s.clientID = v
	}
	if strings.Contains(s.clientID, "{host}") {
		host, err := c.Hostname()
		if err != nil {
			return settings{}, fmt.Errorf("%s: {host}: %w", optClientID, err)
		}
		s.clientID = strings.ReplaceAll(s.clientID, "{host}", host)
	}
	if s.clientID == "" || len(s.clientID) > 65535 || !utf8.ValidString(s.clientID) {
		return settings{}, fmt.Errorf("%s: want a non-empty UTF-8 string, got %q", optClientID, s.clientID)
	}
	return s, nil
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
