package nats

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
	"github.com/crossdockhq/crossdock/internal/outbox"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string // the error starts "nats: <field>:" or "nats: erp: <field>:"; "" for valid
	}{
		{"minimal", Config{Name: "erp", URL: "nats://127.0.0.1:4222"}, ""},
		{"full", Config{Name: "erp", URL: "nats://a:4222, tls://u:p@b:4222", Username: "u", Password: "p", Timeout: time.Second,
			Options: map[string]string{"subject": "acme.{shipment}.{type}", "stream": "ACME", "stream_subjects": "acme.>, other.*", "duplicate_window": "1h"}}, ""},
		{"stream with derived subjects", Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"stream": "EVENTS"}}, ""},
		{"no name", Config{URL: "nats://h:4222"}, "name"},
		{"no url", Config{Name: "erp"}, "erp: url"},
		{"url scheme", Config{Name: "erp", URL: "http://h:4222"}, "erp: url"},
		{"url without host", Config{Name: "erp", URL: "nats://"}, "erp: url"},
		{"one of two urls bad", Config{Name: "erp", URL: "nats://a:1,b"}, "erp: url"},
		{"unknown option", Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"subjet": "x"}}, "erp: options"},
		{"empty subject", Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"subject": ""}}, "erp: subject"},
		{"unknown placeholder", Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"subject": "a.{customer}"}}, "erp: subject"},
		{"wildcard subject", Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"subject": "a.*.{type}"}}, "erp: subject"},
		{"empty token", Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"subject": "a..{type}"}}, "erp: subject"},
		{"system subject", Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"subject": "$JS.{type}"}}, "erp: subject"},
		{"stream with a dot", Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"stream": "a.b"}}, "erp: stream"},
		{"stream subjects not derivable", Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"subject": "{type}.x", "stream": "S"}}, "erp: stream_subjects"},
		{"bad stream subject", Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"stream": "S", "stream_subjects": "a,,b"}}, "erp: stream_subjects"},
		{"window without stream", Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"duplicate_window": "1h"}}, "erp: duplicate_window"},
		{"stream subjects without stream", Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"stream_subjects": "a.>"}}, "erp: stream_subjects"},
		{"window not a duration", Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"stream": "S", "duplicate_window": "1 hour"}}, "erp: duplicate_window"},
		{"window negative", Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"stream": "S", "duplicate_window": "-1m"}}, "erp: duplicate_window"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if want := "nats: " + tt.field + ":"; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want an error starting %q", tt.name, err, want)
		}
	}
}

func TestUnknownOptionsNamed(t *testing.T) {
	_, err := New(Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"topic": "a", "exchange": "b"}})
	if err == nil || !strings.Contains(err.Error(), "unknown key exchange, topic") {
		t.Fatalf("got %v, want both unknown keys named", err)
	}
}

func TestDefaults(t *testing.T) {
	c, err := New(Config{Name: "erp", URL: "nats://h:4222", Options: map[string]string{"stream": "EVENTS"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.Timeout != 10*time.Second || c.set.subject != "crossdock.events.{type}" || c.set.duplicateWindow != 0 ||
		strings.Join(c.set.streamSubjects, ",") != "crossdock.events.>" {
		t.Fatalf("defaults: timeout %v, settings %+v", c.cfg.Timeout, c.set)
	}
}

func TestSubject(t *testing.T) {
	tests := []struct {
		template, typ, shipment, want string
	}{
		{"crossdock.events.{type}", "invoice.ready", "SHP-1", "crossdock.events.invoice.ready"},
		{"acme.{type}.{shipment}", "shipment.milestone", "SHP-1", "acme.shipment.milestone.SHP-1"},
		{"acme.{shipment}.{type}", "invoice.ready", "SHP.2026 *1>", "acme.SHP_2026__1_.invoice.ready"},
		{"acme.{type}.{shipment}", "invoice.ready", "", "acme.invoice.ready._"},
		{"acme.{type}", "odd..type.", "", "acme.odd._.type._"},
		{"acme.fixed", "invoice.ready", "SHP-1", "acme.fixed"},
	}
	for _, tt := range tests {
		tpl, err := parseSubject(tt.template)
		if err != nil {
			t.Fatalf("%s: %v", tt.template, err)
		}
		if got := tpl.expand(tt.typ, tt.shipment); got != tt.want {
			t.Errorf("%s with (%q, %q) = %q, want %q", tt.template, tt.typ, tt.shipment, got, tt.want)
		}
		if got := tpl.expand(tt.typ, tt.shipment); !validSubject(got) {
			t.Errorf("%s with (%q, %q) = %q: not a subject", tt.template, tt.typ, tt.shipment, got)
		}
	}
}

func TestStreamSubjects(t *testing.T) {
	for tpl, want := range map[string]string{
		"crossdock.events.{type}":      "crossdock.events.>",
		"acme.{shipment}.{type}":       "acme.>",
		"acme.eu.ship-{shipment}.x":    "acme.eu.>",
		"acme.fixed":                   "acme.fixed",
		"{type}.events":                "",
		"crossdock.events.{type}.tail": "crossdock.events.>",
	} {
		got, ok := subjectTemplate(tpl).streamSubjects()
		if strings.Join(got, ",") != want || ok != (want != "") {
			t.Errorf("%s: %v %v, want %q", tpl, got, ok, want)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                         "nats://127.0.0.1:4222",
		"nats://user:s3cret@h:4222":                     "nats://h:4222",
		"nats://s3crettoken@h:4222, tls://u:s3cret@g:1": "nats://h:4222,tls://g:1",
		"nats://u:s3cret%zz@h:4222":                     "(unparsable URL)",
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
		{URL: "nats://user:s3cret-url@127.0.0.1:1", Password: "s3cret-token"},
		{URL: "nats://127.0.0.1:1", Username: "user", Password: "s3cret-pass"},
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
		if !strings.Contains(err.Error(), "nats://127.0.0.1:1") {
			t.Errorf("error %q does not name the server", err)
		}
	}
}
