package nats

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/store"
)

func serverURL(tb testing.TB) string {
	u := os.Getenv("CROSSDOCK_TEST_NATS_URL")
	if u == "" {
		tb.Skip("CROSSDOCK_TEST_NATS_URL not set: no publishing to a NATS JetStream server (e.g. nats://127.0.0.1:4222)")
	}
	return u
}

// backbone is a test's own client, stream name and subject prefix on the
// server; the stream is deleted when the test ends.
type backbone struct {
	url    string
	nc     *natsgo.Conn
	js     jetstream.JetStream
	stream string
	prefix string // the connector publishes to <prefix>.<type>.<shipment>
}

func newBackbone(tb testing.TB) *backbone {
	tb.Helper()
	u := serverURL(tb)
	nc, err := natsgo.Connect(u)
	if err != nil {
		tb.Fatalf("test client: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	id := unique()
	b := &backbone{url: u, nc: nc, js: js, stream: "CDCT_" + id, prefix: "cdct." + id}
	tb.Cleanup(func() {
		if err := js.DeleteStream(context.Background(), b.stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			tb.Errorf("delete stream %s: %v", b.stream, err)
		}
		nc.Close()
	})
	return b
}

func unique() string {
	p := make([]byte, 6)
	_, _ = rand.Read(p)
	return hex.EncodeToString(p)
}

// connector returns a connector that ensures the test's stream; options
// override or add to that.
func (b *backbone) connector(tb testing.TB, options map[string]string) *Connector {
	tb.Helper()
	opts := map[string]string{optSubject: b.prefix + ".{type}.{shipment}", optStream: b.stream}
	for k, v := range options {
		opts[k] = v
	}
	c, err := New(Config{Name: "backbone", URL: b.url, Options: opts})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// held counts the messages of d's subject in the stream that carry d's
// Idempotency-Key, reading them back with an ephemeral consumer.
func (b *backbone) held(t *testing.T, c *Connector, d connector.Delivery) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	subject := c.subject(d.Event.Type, d.Event.ShipmentID)
	cons, err := b.js.CreateConsumer(ctx, b.stream, jetstream.ConsumerConfig{
		FilterSubject: subject, AckPolicy: jetstream.AckNonePolicy, InactiveThreshold: time.Minute,
	})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0 // nothing published yet
	}
	if err != nil {
		t.Fatalf("consumer on %s: %v", subject, err)
	}
	defer func() { _ = b.js.DeleteConsumer(context.Background(), b.stream, cons.CachedInfo().Name) }()
	pending := int(cons.CachedInfo().NumPending)
	n, seen := 0, 0
	for seen < pending {
		batch, err := cons.Fetch(pending-seen, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatalf("fetch %s: %v", subject, err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			if m.Headers().Get("Idempotency-Key") == d.ID {
				n++
			}
		}
		if err := batch.Error(); err != nil {
			t.Fatalf("fetch %s: %v", subject, err)
		}
		if got == 0 {
			t.Fatalf("fetch %s: %d of %d pending messages read", subject, seen, pending)
		}
		seen += got
	}
	return n
}

func TestIntegrationContract(t *testing.T) {
	b := newBackbone(t)
	var probe *Connector // the subjects of every connector of the test are the same
	connectortest.Run(t, connectortest.Destination{
		Connector: func(t *testing.T) connector.Connector {
			c := b.connector(t, nil)
			probe = c
			return c
		},
		Down: func(t *testing.T) connector.Connector {
			c, err := New(Config{Name: "backbone", URL: "nats://127.0.0.1:1", Timeout: 2 * time.Second, Options: map[string]string{optSubject: b.prefix + ".{type}"}})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		Held: func(t *testing.T, d connector.Delivery) int {
			if probe == nil {
				probe = b.connector(t, nil)
			}
			return b.held(t, probe, d)
		},
		Event: func(i int) store.EventRecord {
			if i%2 == 0 {
				return connectortest.Milestone(i)
			}
			return connectortest.Invoice(i)
		},
		// Over the server's max_payload (1 MiB by default).
		Refused: func() store.EventRecord {
			e := connectortest.Milestone(5)
			e.Data = fmt.Appendf(nil, `{"note":%q}`, strings.Repeat("x", int(b.nc.MaxPayload())))
			return e
		},
		WantRef: true,
	})
}

func TestIntegrationHeaders(t *testing.T) {
	b := newBackbone(t)
	c := b.connector(t, nil)
	e := connectortest.Invoice(7)
	d := connectortest.Delivery(e)
	r, err := c.Deliver(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	st, err := b.js.Stream(context.Background(), b.stream)
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	if _, err := fmt.Sscanf(r.Ref, b.stream+":%d", &seq); err != nil {
		t.Fatalf("ref %q: want %s:<sequence>", r.Ref, b.stream)
	}
	m, err := st.GetMsg(context.Background(), seq)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Nats-Msg-Id": d.ID, "Idempotency-Key": d.ID, "X-Correlation-ID": e.CorrelationID, "Content-Type": "application/cloudevents+json",
		"ce-specversion": "1.0", "ce-type": "invoice.ready", "ce-source": e.Source, "ce-id": e.ID,
	}
	for k, v := range want {
		if got := m.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	body, _ := connector.Body(e)
	if string(m.Data) != string(body) {
		t.Errorf("body %s, want the CloudEvent %s", m.Data, body)
	}
	if wantSubject := b.prefix + ".invoice.ready." + token(e.ShipmentID); m.Subject != wantSubject {
		t.Errorf("subject %s, want %s", m.Subject, wantSubject)
	}
}

func TestIntegrationRefusedByStream(t *testing.T) {
	tests := []struct {
		name  string
		want  string // in the error
		setup func(t *testing.T, b *backbone)
	}{
		{"over max_msg_size", "message size exceeds maximum", func(t *testing.T, b *backbone) {
			_, err := b.js.CreateStream(context.Background(), jetstream.StreamConfig{Name: b.stream, Subjects: []string{b.prefix + ".>"}, MaxMsgSize: 64})
			if err != nil {
				t.Fatal(err)
			}
		}},
		{"sealed", "sealed", func(t *testing.T, b *backbone) {
			ctx := context.Background()
			cfg := jetstream.StreamConfig{Name: b.stream, Subjects: []string{b.prefix + ".>"}}
			if _, err := b.js.CreateStream(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			cfg.Sealed = true
			if _, err := b.js.UpdateStream(ctx, cfg); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackbone(t)
			tt.setup(t, b)
			c, err := New(Config{Name: "backbone", URL: b.url, Options: map[string]string{optSubject: b.prefix + ".{type}"}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(1)))
			if err == nil || !outbox.IsPermanent(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want a permanent error saying %q, got %v", tt.want, err)
			}
		})
	}
}

func TestIntegrationNoStreamIsRetryable(t *testing.T) {
	b := newBackbone(t)
	c, err := New(Config{Name: "backbone", URL: b.url, Timeout: 3 * time.Second, Options: map[string]string{optSubject: b.prefix + ".{type}"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(1)))
	if err == nil || outbox.IsPermanent(err) || !strings.Contains(err.Error(), "no stream") {
		t.Fatalf("want a retryable error saying no stream took it, got %v", err)
	}
}

func TestIntegrationEnsureStream(t *testing.T) {
	ctx := context.Background()
	b := newBackbone(t)
	other := b.prefix + "_other.>"
	if _, err := b.js.CreateStream(ctx, jetstream.StreamConfig{Name: b.stream, Subjects: []string{other}, MaxMsgs: 1000}); err != nil {
		t.Fatal(err)
	}
	c := b.connector(t, map[string]string{optDuplicateWindow: "1h"})
	if _, err := c.Deliver(ctx, connectortest.Delivery(connectortest.Invoice(1))); err != nil {
		t.Fatal(err)
	}
	st, err := b.js.Stream(ctx, b.stream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	if want := []string{other, b.prefix + ".>"}; strings.Join(cfg.Subjects, " ") != strings.Join(want, " ") {
		t.Errorf("subjects %v, want %v", cfg.Subjects, want)
	}
	if cfg.Duplicates != time.Hour || cfg.MaxMsgs != 1000 {
		t.Errorf("duplicate window %v, max msgs %d: want 1h and the existing 1000 kept", cfg.Duplicates, cfg.MaxMsgs)
	}
}

// BenchmarkIntegrationPublish measures deliveries a second with 16 at
// once, as the outbox runs them.
func BenchmarkIntegrationPublish(bm *testing.B) {
	b := newBackbone(bm)
	c := b.connector(bm, nil)
	if _, err := c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(0))); err != nil {
		bm.Fatal(err) // connected, stream created
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	bm.ResetTimer()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(bm.N); i = next.Add(1) {
				if _, err := c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(int(i)))); err != nil {
					bm.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	bm.ReportMetric(float64(bm.N)/bm.Elapsed().Seconds(), "ops/s")
}

func TestIntegrationSecretsNotLogged(t *testing.T) {
	b := newBackbone(t)
	u, err := url.Parse(strings.Split(b.url, ",")[0])
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("crossdock", "s3cret-url")
	var logs bytes.Buffer
	c, err := New(Config{
		Name: "backbone", URL: u.String(), Options: map[string]string{optSubject: b.prefix + ".{type}", optStream: b.stream},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(1))); err != nil {
		t.Fatal(err) // a server without authentication takes any user
	}
	if !strings.Contains(logs.String(), "nats connected") || strings.Contains(logs.String(), "s3cret") {
		t.Fatalf("want a connected line without the password, logs:\n%s", logs.String())
	}
}

func TestIntegrationStreamDeletedIsCreatedAgain(t *testing.T) {
	ctx := context.Background()
	b := newBackbone(t)
	c := b.connector(t, nil)
	if _, err := c.Deliver(ctx, connectortest.Delivery(connectortest.Invoice(1))); err != nil {
		t.Fatal(err)
	}
	if err := b.js.DeleteStream(ctx, b.stream); err != nil {
		t.Fatal(err)
	}
	d := connectortest.Delivery(connectortest.Invoice(2))
	if _, err := c.Deliver(ctx, d); err == nil || outbox.IsPermanent(err) {
		t.Fatalf("stream deleted: want a retryable error, got %v", err)
	}
	if _, err := c.Deliver(ctx, d); err != nil {
		t.Fatalf("the retry must create the stream again: %v", err)
	}
}
