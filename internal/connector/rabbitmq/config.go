package rabbitmq

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Config configures a RabbitMQ connector.
type Config struct {
	// Name is the connector's name from the config; required.
	Name string
	// URL is the broker, amqp://user:password@host:5672/vhost (amqps://).
	// The password in it is used and never logged or put in errors.
	URL string
	// Username and Password, when Username is set, log in instead of the
	// URL's user info (PLAIN). Never logged.
	Username string
	Password string
	// Timeout bounds one delivery: connecting (when not connected),
	// publishing and waiting for the broker's confirm. Default 10s.
	Timeout time.Duration
	// Options are the kind's settings; see the package documentation for
	// the keys. Unknown keys are an error.
	Options map[string]string
	// Logger logs connection state changes. Default: discard.
	Logger *slog.Logger
}

// Option keys and their defaults.
const (
	optExchange   = "exchange"
	optRoutingKey = "routing_key"
	optChannels   = "channels"

	defaultRoutingKey = "crossdock.{type}"
	defaultChannels   = 16
	defaultTimeout    = 10 * time.Second
)

var optionKeys = []string{optExchange, optRoutingKey, optChannels}

// settings are the checked Options.
type settings struct {
	exchange string
	key      keyTemplate
	channels int // publishes in flight at once, each on its own channel
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
// "rabbitmq: <name>: <field>: <problem>".
func (c Config) validate() (settings, error) {
	if c.Name == "" {
		return settings{}, errors.New("rabbitmq: name: required")
	}
	s, err := c.check()
	if err != nil {
		return settings{}, fmt.Errorf("rabbitmq: %s: %w", c.Name, err)
	}
	return s, nil
}

func (c Config) check() (settings, error) {
	if c.URL == "" {
		return settings{}, errors.New("url: required")
	}
	if _, err := amqp.ParseURI(c.URL); err != nil {
		return settings{}, fmt.Errorf("url: want amqp://user:password@host:port/vhost, got %q", Redact(c.URL))
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
	s := settings{exchange: c.Options[optExchange], channels: defaultChannels}
	if len(s.exchange) > maxKey {
		return settings{}, fmt.Errorf("%s: longer than %d bytes", optExchange, maxKey)
	}
	key := defaultRoutingKey
	if v, ok := c.Options[optRoutingKey]; ok {
		key = v
	}
	var err error
	if s.key, err = parseKey(key); err != nil {
		return settings{}, fmt.Errorf("%s: %w", optRoutingKey, err)
	}
	if v, ok := c.Options[optChannels]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			return settings{}, fmt.Errorf("%s: want a number from 1 to 1024, got %q", optChannels, v)
		}
		s.channels = n
	}
	return s, nil
}

// Redact hides the password of a broker URL, for logs and errors.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
