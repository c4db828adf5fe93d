package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Connector is an outbound destination: which events it receives and how
// they are delivered (the contract's connectors: shape).
type Connector struct {
	Name string `yaml:"name"` // unique; in the deliveries API
	// Kind of destination: rest (a JSON POST of the CloudEvent) or webhook
	// (the same, signed; needs secret_env). tryton, odoo, odata, edi, nats,
	// rabbitmq and mqtt follow.
	Kind string `yaml:"kind"`
	URL  string `yaml:"url"` // rest: where events are POSTed
	// Events are the event types it receives, e.g. [invoice.ready,
	// shipment.status_changed]. Raw positions never reach a connector.
	Events []string `yaml:"events"`
	// Retry bounds the attempts of one delivery.
	Retry Retry `yaml:"retry"`
	// Headers are sent with every request.
	Headers map[string]string `yaml:"headers"`
	// BearerEnv names the environment variable holding a bearer token.
	BearerEnv string `yaml:"bearer_env"`
	// Timeout bounds one request; default 10s.
	Timeout Duration `yaml:"timeout"`
	// SecretEnv names the environment variable holding the webhook
	// signing secret (kind webhook), at least 16 characters.
	SecretEnv string `yaml:"secret_env"`

	bearer string // the value of BearerEnv, read by Load
	secret string // the value of SecretEnv, read by Load
}

// Secret returns the signing secret read from SecretEnv.
func (c Connector) Secret() string { return c.secret }

// Bearer returns the token read from BearerEnv.
func (c Connector) Bearer() string { return c.bearer }

// Retry is a delivery's retry policy: exponential backoff from Initial,
// capped at Max, dead after MaxAttempts.
type Retry struct {
	MaxAttempts int      `yaml:"max_attempts"` // default 10
	Initial     Duration `yaml:"initial"`      // default 1s
	Max         Duration `yaml:"max"`          // default 5m
}

var (
	connectorNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	eventTypeRE     = regexp.MustCompile(`^[a-z][a-z_]*(\.[a-z_]+)+$`)
	connectorKinds  = []string{"rest", "webhook"}
)

func (c *Config) withConnectorDefaults(getenv func(string) string) {
	for i := range c.Connectors {
		k := &c.Connectors[i]
		if k.Retry.MaxAttempts == 0 {
			k.Retry.MaxAttempts = 10
		}
		if k.Retry.Initial == 0 {
			k.Retry.Initial = Duration(time.Second)
		}
		if k.Retry.Max == 0 {
			k.Retry.Max = Duration(5 * time.Minute)
		}
		if k.Timeout == 0 {
			k.Timeout = Duration(10 * time.Second)
		}
		if k.BearerEnv != "" && getenv != nil {
			k.bearer = getenv(k.BearerEnv)
		}
		if k.SecretEnv != "" && getenv != nil {
			k.secret = getenv(k.SecretEnv)
		}
	}
}

func (c Config) validateConnectors(bad func(key, format string, args ...any)) {
	names := map[string]int{}
	for i, k := range c.Connectors {
		p := fmt.Sprintf("connectors[%d]", i)
		switch j, dup := names[k.Name]; {
		case !connectorNameRE.MatchString(k.Name):
			bad(p+".name", "must be 1 to 64 of a-z 0-9 _ . -, got %q", k.Name)
		case dup:
			bad(p+".name", "duplicate connector %q, also connectors[%d]", k.Name, j)
		default:
			names[k.Name] = i
		}
		known := false
		for _, kind := range connectorKinds {
			known = known || kind == k.Kind
		}
		if !known {
			bad(p+".kind", "%q is not a connector kind this version delivers to; valid: %s", k.Kind, strings.Join(connectorKinds, ", "))
		}
		if !strings.HasPrefix(k.URL, "http://") && !strings.HasPrefix(k.URL, "https://") {
			bad(p+".url", "must be an http:// or https:// URL")
		}
		if len(k.Events) == 0 {
			bad(p+".events", "is required: the event types it receives, e.g. [invoice.ready]")
		}
		for j, e := range k.Events {
			switch {
			case e == "telemetry.position":
				bad(fmt.Sprintf("%s.events[%d]", p, j), "raw positions never reach a connector; subscribe to shipment.milestone or shipment.exception")
			case !eventTypeRE.MatchString(e):
				bad(fmt.Sprintf("%s.events[%d]", p, j), "%q is not an event type such as invoice.ready", e)
			}
		}
		if k.Retry.MaxAttempts < 1 || k.Retry.MaxAttempts > 1000 {
			bad(p+".retry.max_attempts", "must be between 1 and 1000, got %d", k.Retry.MaxAttempts)
		}
		if k.Retry.Initial.D() < 10*time.Millisecond || k.Retry.Initial > k.Retry.Max {
			bad(p+".retry.initial", "must be at least 10ms and at most retry.max")
		}
		if k.Retry.Max.D() > 24*time.Hour {
			bad(p+".retry.max", "must be at most 24h")
		}
		if k.Timeout.D() < 100*time.Millisecond || k.Timeout.D() > 5*time.Minute {
			bad(p+".timeout", "must be between 100ms and 5m, got %s", short(k.Timeout.D()))
		}
		if k.BearerEnv != "" && k.bearer == "" {
			bad(p+".bearer_env", "environment variable %s is not set or empty", k.BearerEnv)
		}
		switch {
		case k.Kind == "webhook" && k.SecretEnv == "":
			bad(p+".secret_env", "is required for a webhook: the environment variable holding the signing key")
		case k.SecretEnv != "" && len(k.secret) < 16:
			bad(p+".secret_env", "environment variable %s must hold a signing key of at least 16 characters", k.SecretEnv)
		}
	}
}
