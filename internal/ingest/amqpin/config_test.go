package amqpin

import (
	"context"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func nop(context.Context, Message) error { return nil }

func TestNewValidates(t *testing.T) {
	ok := Config{Queue: "orders", Handler: nop}
	tests := []struct {
		name   string
		change func(*Config)
		field  string // the error starts "amqpin: <field>:"; "" for valid
	}{
		{"minimal", func(*Config) {}, ""},
		{"full", func(c *Config) {
			c.URL, c.Declare, c.Exchange, c.RoutingKeys = "amqps://u:p@mq.example:5671/prod", true, "events", []string{"orders.#", "carrier.*"}
			c.Prefetch, c.RetryDelay, c.MaxBackoff, c.Heartbeat = 10, time.Second, time.Minute, 5*time.Second
		}, ""},
		{"exchange without keys", func(c *Config) { c.Exchange = "fanout" }, ""},
		{"url scheme", func(c *Config) { c.URL = "http://127.0.0.1:5672/" }, "url"},
		{"url unparsable", func(c *Config) { c.URL = "amqp://u:p%zz@h/" }, "url"},
		{"no queue", func(c *Config) { c.Queue = "" }, "queue"},
		{"declare a broker queue", func(c *Config) { c.Queue, c.Declare = "amq.x", true }, "queue"},
		{"keys without exchange", func(c *Config) { c.RoutingKeys = []string{"a"} }, "routing_keys"},
		{"negative prefetch", func(c *Config) { c.Prefetch = -1 }, "prefetch"},
		{"prefetch too large", func(c *Config) { c.Prefetch = 70000 }, "prefetch"},
		{"negative retry delay", func(c *Config) { c.RetryDelay = -time.Second }, "retry_delay"},
		{"backoff below retry", func(c *Config) { c.RetryDelay, c.MaxBackoff = time.Minute, time.Second }, "max_backoff"},
		{"heartbeat below a second", func(c *Config) { c.Heartbeat = time.Millisecond }, "heartbeat"},
		{"negative dial timeout", func(c *Config) { c.DialTimeout = -time.Second }, "dial_timeout"},
		{"no handler", func(c *Config) { c.Handler = nil }, "handler"},
	}
	for _, tt := range tests {
		c := ok
		tt.change(&c)
		_, err := New(c)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if want := "amqpin: " + tt.field + ":"; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want an error starting %q", tt.name, err, want)
		}
	}
	if _, err := New(Config{URL: "amqp://u:s3cret%zz@h/", Queue: "q", Handler: nop}); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error for a bad URL shows the password: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	c := Config{Queue: "q", Handler: nop}.withDefaults()
	host, _ := os.Hostname()
	if c.URL != "amqp://guest:guest@127.0.0.1:5672/" || c.Prefetch != 100 || c.RetryDelay != time.Second ||
		c.MaxBackoff != 30*time.Second || c.Heartbeat != 10*time.Second || c.DialTimeout != 10*time.Second ||
		!strings.Contains(c.ConsumerTag, host) || c.RoutingKeys != nil {
		t.Fatalf("defaults %+v", c)
	}
	if c := (Config{Exchange: "x"}).withDefaults(); len(c.RoutingKeys) != 1 || c.RoutingKeys[0] != "" {
		t.Fatalf("routing keys for an exchange: %q, want one empty key", c.RoutingKeys)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"amqp://127.0.0.1:5672/":           "amqp://127.0.0.1:5672/",
		"amqp://guest:s3cret@h:5672/vhost": "amqp://guest:xxxxx@h:5672/vhost",
		"amqps://user@h/":                  "amqps://user@h/",
		"amqp://u:s3cret%zz@h:5672/":       "(unparsable URL)",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHeaders(t *testing.T) {
	if got := headers(amqp.Delivery{}); got != nil {
		t.Fatalf("no headers: %v, want nil", got)
	}
	d := amqp.Delivery{
		Headers:     amqp.Table{"x-partner": "acme", "x-raw": []byte("r"), "x-count": int32(3), "message-id": "from-header"},
		ContentType: "application/json", MessageId: "m-1", CorrelationId: "c-1",
	}
	got := headers(d)
	want := map[string]string{"x-partner": "acme", "x-raw": "r", "content-type": "application/json", "message-id": "m-1", "correlation-id": "c-1"}
	if len(got) != len(want) {
		t.Fatalf("headers %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("header %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestStopWithoutStart(t *testing.T) {
	in, err := New(Config{Queue: "q", Handler: nop})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := in.Start(context.Background()); err == nil {
		t.Fatal("Start after Stop: want an error")
	}
	if in.Connected() {
		t.Fatal("connected without Start")
	}
}

// TestStopDuringHandshake: a broker that accepts the connection and never
// answers does not hold Stop up.
func TestStopDuringHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	in, err := New(Config{URL: "amqp://guest:guest@" + ln.Addr().String() + "/", Queue: "q", Handler: nop, DialTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := <-accepted
	defer c.Close()
	// The client sent its protocol header and waits for the broker's answer.
	if _, err := io.ReadFull(c, make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := in.Stop(ctx); err != nil {
		t.Fatalf("Stop during the handshake: %v", err)
	}
}
