package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/itchyny/gojq"
)

// Connector is an outbound destination: which events it receives and how
// they are delivered (the contract's connectors: shape).
type Connector struct {
	Name string `yaml:"name"` // unique; in the deliveries API
	// Kind of destination: rest (a JSON POST of the CloudEvent), webhook
	// (the same, signed; needs secret_env), the ERPs tryton, odoo and
	// odata, edi (X12 files to a directory or SFTP), and the brokers nats,
	// rabbitmq and mqtt. docs/connectors.md describes each.
	Kind string `yaml:"kind"`
	// URL is the destination: an http(s) URL for rest, webhook and the
	// ERPs, nats://, amqp(s)://, tcp:// (or ssl://, ws://, wss://) for the
	// brokers, a directory, file:// or sftp:// URL for edi.
	URL string `yaml:"url"`
	// Username logs in where the kind does (tryton, odoo, odata, sftp).
	Username string `yaml:"username"`
	// PasswordEnv names the environment variable holding the password or
	// API key that goes with Username.
	PasswordEnv string `yaml:"password_env"`
	// Options are the kind's own settings (docs/connectors.md lists them);
	// the kind rejects a key it does not know.
	Options map[string]string `yaml:"options"`
	// JQ, when set, is a jq program run on each event as its CloudEvent
	// JSON (rest, webhook, nats, rabbitmq, mqtt): its object is the body
	// sent instead; no output (select(…) false, empty) means the event is
	// not for this destination and nothing is sent.
	JQ string `yaml:"jq"`
	// Concurrency bounds the deliveries in flight to this destination at
	// once; default 8.
	Concurrency int `yaml:"concurrency"`
	// RateLimit bounds deliveries per second to this destination; 0 (the
	// default) for none.
	RateLimit float64 `yaml:"rate_limit"`
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
	// ReconcileURL (rest, webhook) is where reconciliation asks the ERP
	// behind the destination for one of our invoices: an http(s) URL
	// holding {invoice_id}, e.g. http://erp/invoices/{invoice_id}. A GET
	// there, with the connector's headers, credentials and timeout,
	// answers 404 when the ERP lacks the invoice, else JSON whose total
	// (or the value reconcile_jq picks) is compared with ours. "" for no
	// lookups.
	ReconcileURL string `yaml:"reconcile_url"`
	// ReconcileJQ, when set, is a jq program picking the total (a string
	// or a number) out of reconcile_url's answer, e.g. .amounts.gross;
	// default .total.
	ReconcileJQ string `yaml:"reconcile_jq"`

	bearer   string // the value of BearerEnv, read by Load
	secret   string // the value of SecretEnv, read by Load
	password string // the value of PasswordEnv, read by Load
}

// Password returns the password read from PasswordEnv.
func (c Connector) Password() string { return c.password }

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
	// connectorKinds maps each kind to the URL schemes it takes ("" for a
	// plain path) and the event types it can deliver (nil: any).
	connectorKinds = map[string]struct{ schemes, events []string }{
		"rest":     {schemes: []string{"http", "https"}},
		"webhook":  {schemes: []string{"http", "https"}},
		"tryton":   {schemes: []string{"http", "https"}, events: []string{"invoice.ready"}},
		"odoo":     {schemes: []string{"http", "https"}, events: []string{"invoice.ready"}},
		"odata":    {schemes: []string{"http", "https"}, events: []string{"invoice.ready"}},
		"edi":      {schemes: []string{"", "file", "sftp"}, events: []string{"invoice.ready", "shipment.milestone", "shipment.status_changed", "delivery.completed"}},
		"nats":     {schemes: []string{"nats", "tls"}},
		"rabbitmq": {schemes: []string{"amqp", "amqps"}},
		"mqtt":     {schemes: []string{"tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss"}},
	}
)

// jqKinds send the event as JSON, which a connector's jq may reshape.
var jqKinds = map[string]bool{"rest": true, "webhook": true, "nats": true, "rabbitmq": true, "mqtt": true}

// ConnectorKinds lists the connector kinds, sorted.
func ConnectorKinds() []string {
	out := make([]string, 0, len(connectorKinds))
	for k := range connectorKinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// urlScheme is the scheme of a connector URL, "" for a plain path.
func urlScheme(u string) string {
	if i := strings.Index(u, "://"); i > 0 {
		return strings.ToLower(u[:i])
	}
	return ""
}

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
		if k.PasswordEnv != "" && getenv != nil {
			k.password = getenv(k.PasswordEnv)
		}
		if k.Concurrency == 0 {
			k.Concurrency = 8
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
		kind, known := connectorKinds[k.Kind]
		if !known {
			bad(p+".kind", "%q is not a connector kind this version delivers to; valid: %s", k.Kind, strings.Join(ConnectorKinds(), ", "))
		}
		switch scheme := urlScheme(k.URL); {
		case !known:
		case k.URL == "":
			bad(p+".url", "is required: where the %s connector delivers", k.Kind)
		case !slices.Contains(kind.schemes, scheme) && scheme == "":
			bad(p+".url", "must be a URL: a %s connector takes %s", k.Kind, schemeList(kind.schemes))
		case !slices.Contains(kind.schemes, scheme):
			bad(p+".url", "a %s connector takes %s, not %s://", k.Kind, schemeList(kind.schemes), scheme)
		}
		if known && kind.events != nil {
			for j, e := range k.Events {
				if !slices.Contains(kind.events, e) {
					bad(fmt.Sprintf("%s.events[%d]", p, j), "a %s connector delivers %s, not %s", k.Kind, strings.Join(kind.events, ", "), e)
				}
			}
		}
		if k.JQ != "" && known && !jqKinds[k.Kind] {
			bad(p+".jq", "a %s connector maps events itself; jq reshapes the JSON of rest, webhook, nats, rabbitmq and mqtt", k.Kind)
		}
		if k.Concurrency < 1 || k.Concurrency > 256 {
			bad(p+".concurrency", "must be between 1 and 256, got %d", k.Concurrency)
		}
		if k.RateLimit < 0 {
			bad(p+".rate_limit", "must be 0 (none) or deliveries per second, got %g", k.RateLimit)
		}
		if k.PasswordEnv != "" && k.password == "" {
			bad(p+".password_env", "environment variable %s is not set or empty", k.PasswordEnv)
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
		k.validateReconcile(p, known, bad)
		switch {
		case k.Kind == "webhook" && k.SecretEnv == "":
			bad(p+".secret_env", "is required for a webhook: the environment variable holding the signing key")
		case k.SecretEnv != "" && len(k.secret) < 16:
			bad(p+".secret_env", "environment variable %s must hold a signing key of at least 16 characters", k.SecretEnv)
		}
	}
}

// reconcileURLKinds are the kinds whose invoices reconcile_url looks up; the
// ERP kinds look them up themselves.
var reconcileURLKinds = map[string]bool{"rest": true, "webhook": true}

// validateReconcile checks reconcile_url and reconcile_jq of connector p.
// Messages do not repeat the URL: it may hold a token.
func (k Connector) validateReconcile(p string, known bool, bad func(key, format string, args ...any)) {
	if k.ReconcileURL != "" {
		u, err := url.Parse(k.ReconcileURL)
		rest := strings.ReplaceAll(k.ReconcileURL, "{invoice_id}", "")
		switch {
		case known && !reconcileURLKinds[k.Kind]:
			bad(p+".reconcile_url", "a %s connector looks invoices up itself; reconcile_url is for rest and webhook", k.Kind)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			bad(p+".reconcile_url", "must be an http:// or https:// URL, e.g. http://erp/invoices/{invoice_id}")
		case u.User != nil:
			bad(p+".reconcile_url", "must not hold credentials: use bearer_env, username and password_env, or headers")
		case rest == k.ReconcileURL:
			bad(p+".reconcile_url", "must hold {invoice_id}, where the invoice id goes, e.g. http://erp/invoices/{invoice_id}")
		case strings.ContainsAny(rest, "{}"):
			bad(p+".reconcile_url", "only {invoice_id} is replaced; escape other braces as %%7B and %%7D")
		}
	}
	if k.ReconcileJQ == "" {
		return
	}
	switch {
	case known && !reconcileURLKinds[k.Kind]:
		bad(p+".reconcile_jq", "a %s connector looks invoices up itself; reconcile_jq is for rest and webhook", k.Kind)
	case k.ReconcileURL == "":
		bad(p+".reconcile_jq", "needs reconcile_url: it picks the total out of that URL's answer")
	default:
		if err := compileReconcileJQ(k.ReconcileJQ); err != nil {
			bad(p+".reconcile_jq", "%v", err)
		}
	}
}

// compileReconcileJQ compiles a reconcile_jq program as the rest connector
// does: plain jq, no environment.
func compileReconcileJQ(src string) error {
	q, err := gojq.Parse(src)
	if err != nil {
		return fmt.Errorf("does not parse: %w", err)
	}
	if _, err := gojq.Compile(q, gojq.WithEnvironLoader(func() []string { return nil })); err != nil {
		return fmt.Errorf("does not compile: %w", err)
	}
	return nil
}

// schemeList names URL schemes for an error message; "" is a directory.
func schemeList(schemes []string) string {
	out := make([]string, len(schemes))
	for i, s := range schemes {
		out[i] = s + "://"
		if s == "" {
			out[i] = "a directory path"
		}
	}
	return strings.Join(out, ", ")
}
