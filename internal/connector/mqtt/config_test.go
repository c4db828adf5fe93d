package mqtt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
	"github.com/crossdockhq/crossdock/internal/outbox"
)

func TestNewValidates(t *testing.T) {
	const u = "tcp://127.0.0.1:1883"
	tests := []struct {
		name  string
		cfg   Config
		field string // the error starts "mqtt: <field>:" or "mqtt: erp: <field>:"; "" for valid
	}{
		{"minimal", Config{Name: "erp", URL: u}, ""},
		{"full", Config{Name: "erp", URL: "ssl://u:p@h:8883", Username: "u", Password: "p", Timeout: time.Second,
			Options: map[string]string{"topic": "acme/{shipment}/{type}", "client_id": "hub-eu-1"}}, ""},
		{"no name", Config{URL: u}, "name"},
		{"no url", Config{Name: "erp"}, "erp: url"},
		{"url scheme", Config{Name: "erp", URL: "http://h:1883"}, "erp: url"},
		{"url without host", Config{Name: "erp", URL: "tcp://"}, "erp: url"},
		{"unknown option", Config{Name: "erp", URL: u, Options: map[string]string{"subject": "x"}}, "erp: options"},
		{"empty topic", Config{Name: "erp", URL: u, Options: map[string]string{"topic": ""}}, "erp: topic"},
		{"unknown placeholder", Config{Name: "erp", URL: u, Options: map[string]string{"topic": "a/{customer}"}}, "erp: topic"},
		{"wildcard +", Config{Name: "erp", URL: u, Options: map[string]string{"topic": "a/+/{type}"}}, "erp: topic"},
		{"wildcard #", Config{Name: "erp", URL: u, Options: map[string]string{"topic": "a/#"}}, "erp: topic"},
		{"system topic", Config{Name: "erp", URL: u, Options: map[string]string{"topic": "$SYS/{type}"}}, "erp: topic"},
		{"empty client id", Config{Name: "erp", URL: u, Options: map[string]string{"client_id": ""}}, "erp: client_id"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if want := "mqtt: " + tt.field + ":"; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want an error starting %q", tt.name, err, want)
		}
	}
}

func TestUnknownOptionsNamed(t *testing.T) {
	_, err := New(Config{Name: "erp", URL: "tcp://h:1883", Options: map[string]string{"qos": "2", "retain": "true"}})
	if err == nil || !strings.Contains(err.Error(), "unknown key qos, retain") {
		t.Fatalf("got %v, want both unknown keys named", err)
	}
}

func TestDefaults(t *testing.T) {
	c, err := New(Config{Name: "erp", URL: "tcp://h:1883"})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.Timeout != 10*time.Second || c.set.topic != "crossdock/events/{type}/{shipment}" || c.set.clientID != "crossdock-erp" {
		t.Fatalf("defaults: timeout %v, settings %+v", c.cfg.Timeout, c.set)
	}
}

func TestClientIDHost(t *testing.T) {
	c, err := New(Config{Name: "erp", URL: "tcp://h:1883", Options: map[string]string{"client_id": "crossdock-erp-{host}"},
		Hostname: func() (string, error) { return "node-2", nil }})
	if err != nil {
		t.Fatal(err)
	}
	if c.set.clientID != "crossdock-erp-node-2" {
		t.Fatalf("client id %q, want crossdock-erp-node-2", c.set.clientID)
	}
	_, err = New(Config{Name: "erp", URL: "tcp://h:1883", Options: map[string]string{"client_id": "{host}"},
		Hostname: func() (string, error) { return "", errors.New("no hostname") }})
	if err == nil || !strings.HasPrefix(err.Error(), "mqtt: erp: client_id:") {
		t.Fatalf("got %v, want a client_id error", err)
	}
}

func TestTopic(t *testing.T) {
	tests := []struct {
		template, typ, shipment, want string
	}{
		{"crossdock/events/{type}/{shipment}", "invoice.ready", "SHP-1", "crossdock/events/invoice.ready/SHP-1"},
		{"crossdock/events/{type}/{shipment}", "invoice.ready", "SHP/1+#", "crossdock/events/invoice.ready/SHP_1__"},
		{"crossdock/events/{type}/{shipment}", "shipment.milestone", "", "crossdock/events/shipment.milestone/_"},
		{"acme/{shipment}", "invoice.ready", "SHP.2026.1", "acme/SHP.2026.1"},
		{"acme/fixed", "invoice.ready", "SHP-1", "acme/fixed"},
	}
	for _, tt := range tests {
		tpl, err := parseTopic(tt.template)
		if err != nil {
			t.Fatalf("%s: %v", tt.template, err)
		}
		if got := tpl.expand(tt.typ, tt.shipment); got != tt.want {
			t.Errorf("%s with (%q, %q) = %q, want %q", tt.template, tt.typ, tt.shipment, got, tt.want)
		}
	}
}

func TestBody(t *testing.T) {
	e := connectortest.Invoice(1)
	d := connectortest.Delivery(e)
	d.ID = `dlv-"quoted"`
	got, err := Body(d)
	if err != nil {
		t.Fatal(err)
	}
	var body, want map[string]any
	if err := json.Unmarshal(got, &body); err != nil {
		t.Fatalf("not JSON: %v: %s", err, got)
	}
	ce, _ := connector.Body(e)
	if err := json.Unmarshal(ce, &want); err != nil {
		t.Fatal(err)
	}
	if body[ExtensionKey] != d.ID {
		t.Errorf("%s = %v, want %q", ExtensionKey, body[ExtensionKey], d.ID)
	}
	delete(body, ExtensionKey)
	g, _ := json.Marshal(body)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("without the extension: %s, want the CloudEvent %s", g, w)
	}
}

func TestTopicTooLongIsPermanent(t *testing.T) {
	c, err := New(Config{Name: "erp", URL: "tcp://127.0.0.1:1", Options: map[string]string{"topic": "a/{shipment}"}})
	if err != nil {
		t.Fatal(err)
	}
	e := connectortest.Invoice(1)
	e.ShipmentID = strings.Repeat("S", maxTopic)
	if _, err := c.Deliver(context.Background(), connectortest.Delivery(e)); err == nil || !outbox.IsPermanent(err) {
		t.Fatalf("want a permanent error, got %v", err)
	}
}

func TestUsernameWinsOverURL(t *testing.T) {
	c, err := New(Config{Name: "erp", URL: "tcp://old:s3cret@h:1883", Username: "new", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	r := c.client.OptionsReader()
	if servers := r.Servers(); len(servers) != 1 || servers[0].User != nil || r.Username() != "new" {
		t.Fatalf("servers %v, username %q: want the URL's user dropped for Username", servers, r.Username())
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://h:1883":             "tcp://h:1883",
		"tcp://u:s3cret@h:1883":    "tcp://h:1883",
		"tcp://u:s3cret%zz@h:1883": "(unparsable URL)",
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
		{URL: "tcp://user:s3cret-url@127.0.0.1:1"},
		{URL: "tcp://127.0.0.1:1", Username: "user", Password: "s3cret-pass"},
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
		if !strings.Contains(err.Error(), "tcp://127.0.0.1:1") {
			t.Errorf("error %q does not name the broker", err)
		}
	}
}
