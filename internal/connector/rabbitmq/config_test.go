package rabbitmq

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
	"github.com/crossdockhq/crossdock/internal/outbox"
)

func TestNewValidates(t *testing.T) {
	const u = "amqp://guest:guest@127.0.0.1:5672/"
	tests := []struct {
		name  string
		cfg   Config
		field string // the error starts "rabbitmq: <field>:" or "rabbitmq: erp: <field>:"; "" for valid
	}{
		{"minimal", Config{Name: "erp", URL: u}, ""},
		{"full", Config{Name: "erp", URL: "amqps://h/eu", Username: "u", Password: "p", Timeout: time.Second,
			Options: map[string]string{"exchange": "acme.events", "routing_key": "acme.{type}.{shipment}", "channels": "4"}}, ""},
		{"no name", Config{URL: u}, "name"},
		{"no url", Config{Name: "erp"}, "erp: url"},
		{"url scheme", Config{Name: "erp", URL: "http://h:5672/"}, "erp: url"},
		{"unknown option", Config{Name: "erp", URL: u, Options: map[string]string{"topic": "x"}}, "erp: options"},
		{"empty routing key", Config{Name: "erp", URL: u, Options: map[string]string{"routing_key": ""}}, "erp: routing_key"},
		{"unknown placeholder", Config{Name: "erp", URL: u, Options: map[string]string{"routing_key": "a.{customer}"}}, "erp: routing_key"},
		{"routing key too long", Config{Name: "erp", URL: u, Options: map[string]string{"routing_key": strings.Repeat("k", 256)}}, "erp: routing_key"},
		{"exchange too long", Config{Name: "erp", URL: u, Options: map[string]string{"exchange": strings.Repeat("x", 256)}}, "erp: exchange"},
		{"channels zero", Config{Name: "erp", URL: u, Options: map[string]string{"channels": "0"}}, "erp: channels"},
		{"channels not a number", Config{Name: "erp", URL: u, Options: map[string]string{"channels": "many"}}, "erp: channels"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if want := "rabbitmq: " + tt.field + ":"; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want an error starting %q", tt.name, err, want)
		}
	}
}

func TestBadURLNotEchoedWithPassword(t *testing.T) {
	_, err := New(Config{Name: "erp", URL: "amqp://guest:s3cret@h:notaport/"})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("got %v, want an error without the password", err)
	}
}

func TestUnknownOptionsNamed(t *testing.T) {
	_, err := New(Config{Name: "erp", URL: "amqp://h/", Options: map[string]string{"topic": "a", "subject": "b"}})
	if err == nil || !strings.Contains(err.Error(), "unknown key subject, topic") {
		t.Fatalf("got %v, want both unknown keys named", err)
	}
}

func TestDefaults(t *testing.T) {
	c, err := New(Config{Name: "erp", URL: "amqp://h/"})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.Timeout != 10*time.Second || c.set.exchange != "" || c.set.key != "crossdock.{type}" || c.set.channels != 16 {
		t.Fatalf("defaults: timeout %v, settings %+v", c.cfg.Timeout, c.set)
	}
}

func TestRoutingKey(t *testing.T) {
	tests := []struct {
		template, typ, shipment, want string
	}{
		{"crossdock.{type}", "invoice.ready", "SHP-1", "crossdock.invoice.ready"},
		{"acme.{type}.{shipment}", "shipment.milestone", "SHP.2026.1", "acme.shipment.milestone.SHP_2026_1"},
		{"acme.{shipment}", "invoice.ready", "", "acme._"},
		{"orders", "invoice.ready", "SHP-1", "orders"},
	}
	for _, tt := range tests {
		k, err := parseKey(tt.template)
		if err != nil {
			t.Fatalf("%s: %v", tt.template, err)
		}
		if got := k.expand(tt.typ, tt.shipment); got != tt.want {
			t.Errorf("%s with (%q, %q) = %q, want %q", tt.template, tt.typ, tt.shipment, got, tt.want)
		}
	}
}

func TestRoutingKeyTooLongIsPermanent(t *testing.T) {
	c, err := New(Config{Name: "erp", URL: "amqp://guest:guest@127.0.0.1:1/", Options: map[string]string{"routing_key": "{shipment}"}})
	if err != nil {
		t.Fatal(err)
	}
	e := connectortest.Invoice(1)
	e.ShipmentID = strings.Repeat("S", 300)
	if _, err := c.Deliver(context.Background(), connectortest.Delivery(e)); err == nil || !outbox.IsPermanent(err) {
		t.Fatalf("want a permanent error, got %v", err)
	}
}

func TestBlockedBrokerIsRetriedLater(t *testing.T) {
	c, err := New(Config{Name: "erp", URL: "amqp://guest:guest@127.0.0.1:1/"})
	if err != nil {
		t.Fatal(err)
	}
	c.blocked = "low on memory"
	_, err = c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(1)))
	if d, ok := outbox.RetryDelay(err); !ok || d != blockedRetry || !strings.Contains(err.Error(), "low on memory") {
		t.Fatalf("want a retry after %v saying why, got %v", blockedRetry, err)
	}
}

func TestClassifyClose(t *testing.T) {
	tests := []struct {
		name      string
		err       *amqp.Error
		permanent bool
	}{
		{"over max_message_size", &amqp.Error{Code: amqp.PreconditionFailed, Reason: "PRECONDITION_FAILED - message size 200 is larger than configured max size 100"}, true},
		{"no exchange", &amqp.Error{Code: amqp.NotFound, Reason: "NOT_FOUND - no exchange 'x' in vhost '/'"}, false},
		{"no permission", &amqp.Error{Code: amqp.AccessRefused, Reason: "ACCESS_REFUSED - write access to exchange 'x' refused"}, false},
		{"other precondition", &amqp.Error{Code: amqp.PreconditionFailed, Reason: "PRECONDITION_FAILED - unknown delivery tag 1"}, false},
		{"closed without a reason", nil, false},
	}
	for _, tt := range tests {
		err := classifyClose(`exchange "x" with routing key "k"`, tt.err)
		if outbox.IsPermanent(err) != tt.permanent {
			t.Errorf("%s: permanent %v, want %v (%v)", tt.name, outbox.IsPermanent(err), tt.permanent, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"amqp://h:5672/":                   "amqp://h:5672/",
		"amqp://guest:s3cret@h:5672/vhost": "amqp://guest:xxxxx@h:5672/vhost",
		"amqp://guest:s3cret%zz@h/":        "(unparsable URL)",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSecretsNotInErrorsOrLogs delivers to a closed port with a password
// in the URL and in the config: neither may show.
func TestSecretsNotInErrorsOrLogs(t *testing.T) {
	for _, cfg := range []Config{
		{URL: "amqp://guest:s3cret-url@127.0.0.1:1/"},
		{URL: "amqp://127.0.0.1:1/", Username: "user", Password: "s3cret-pass"},
	} {
		var logs bytes.Buffer
		cfg.Name, cfg.Timeout = "erp", 2*time.Second
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(1)))
		if err == nil || outbox.IsPermanent(err) {
			t.Fatalf("closed port: want a retryable error, got %v", err)
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(logs.String(), "s3cret") {
			t.Errorf("a secret leaked: error %q, logs %q", err, logs.String())
		}
		if !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("error %q does not name the broker", err)
		}
	}
}
