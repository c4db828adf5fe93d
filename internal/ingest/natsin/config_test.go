package natsin

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func nop(context.Context, Message) error { return nil }

func TestNewValidates(t *testing.T) {
	ok := Config{Stream: "ORDERS", Durable: "crossdock", Handler: nop}
	tests := []struct {
		name   string
		change func(*Config)
		field  string // the error starts "natsin: <field>:"; "" for valid
	}{
		{"minimal", func(*Config) {}, ""},
		{"full", func(c *Config) {
			c.URL, c.User, c.Password = "nats://a:4222, tls://b:4222", "u", "p"
			c.Subjects, c.CreateStream, c.FilterSubject = []string{"orders.>"}, true, "orders.eu.>"
			c.Batch, c.MaxAckPending, c.AckWait, c.MaxDeliver = 10, 10, time.Minute, 5
		}, ""},
		{"url without host", func(c *Config) { c.URL = "nats://" }, "url"},
		{"url scheme", func(c *Config) { c.URL = "http://127.0.0.1:4222" }, "url"},
		{"one of two urls bad", func(c *Config) { c.URL = "nats://a:1,b" }, "url"},
		{"password without user", func(c *Config) { c.Password = "p" }, "user"},
		{"token with user", func(c *Config) { c.User, c.Token = "u", "t" }, "token"},
		{"no stream", func(c *Config) { c.Stream = "" }, "stream"},
		{"stream with a dot", func(c *Config) { c.Stream = "a.b" }, "stream"},
		{"create without subjects", func(c *Config) { c.CreateStream = true }, "subjects"},
		{"empty subject", func(c *Config) { c.Subjects = []string{""} }, "subjects"},
		{"no durable", func(c *Config) { c.Durable = "" }, "durable"},
		{"durable with a wildcard", func(c *Config) { c.Durable = "a*" }, "durable"},
		{"filter with a space", func(c *Config) { c.FilterSubject = "a b" }, "filter_subject"},
		{"negative batch", func(c *Config) { c.Batch = -1 }, "batch"},
		{"ack pending below batch", func(c *Config) { c.Batch, c.MaxAckPending = 100, 10 }, "max_ack_pending"},
		{"negative ack wait", func(c *Config) { c.AckWait = -time.Second }, "ack_wait"},
		{"max deliver -2", func(c *Config) { c.MaxDeliver = -2 }, "max_deliver"},
		{"fetch wait too short", func(c *Config) { c.FetchWait = time.Millisecond }, "fetch_wait"},
		{"negative retry delay", func(c *Config) { c.RetryDelay = -time.Second }, "retry_delay"},
		{"backoff below retry", func(c *Config) { c.RetryDelay, c.MaxBackoff = time.Minute, time.Second }, "max_backoff"},
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
		if want := "natsin: " + tt.field + ":"; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want an error starting %q", tt.name, err, want)
		}
	}
}

func TestDefaults(t *testing.T) {
	c := Config{Stream: "S", Durable: "d", Handler: nop}.withDefaults()
	if c.URL != "nats://127.0.0.1:4222" || c.Batch != 100 || c.MaxAckPending != 1000 || c.AckWait != 30*time.Second ||
		c.MaxDeliver != -1 || c.FetchWait != 5*time.Second || c.RetryDelay != time.Second || c.MaxBackoff != 30*time.Second {
		t.Fatalf("defaults %+v", c)
	}
	if c := (Config{Batch: 5000}).withDefaults(); c.MaxAckPending != 5000 {
		t.Fatalf("max_ack_pending %d for batch 5000, want 5000", c.MaxAckPending)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                         "nats://127.0.0.1:4222",
		"nats://user:s3cret@h:4222":                     "nats://h:4222",
		"nats://s3crettoken@h:4222, tls://u:s3cret@g:1": "nats://h:4222,tls://g:1",
		"nats://u:s3cret@[::1]:4222":                    "nats://[::1]:4222",
		"nats://u:s3cret%zz@h:4222":                     "(unparsable URL)",
	} {
		got := Redact(in)
		if got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHeaders(t *testing.T) {
	if headers(nil) != nil {
		t.Fatal("no headers: want nil")
	}
	h := nats.Header{}
	h.Add("Content-Type", "application/json")
	h.Add("X-Partner", "a")
	h.Add("X-Partner", "b")
	got := headers(h)
	if len(got) != 2 || got["Content-Type"] != "application/json" || got["X-Partner"] != "a, b" {
		t.Fatalf("headers %v", got)
	}
}

func TestStopWithoutStart(t *testing.T) {
	in, err := New(Config{Stream: "S", Durable: "d", Handler: nop})
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
