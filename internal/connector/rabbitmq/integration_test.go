package rabbitmq

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/store"
)

func brokerURL(tb testing.TB) string {
	u := os.Getenv("CROSSDOCK_TEST_AMQP_URL")
	if u == "" {
		tb.Skip("CROSSDOCK_TEST_AMQP_URL not set: no publishing to a RabbitMQ broker (e.g. amqp://guest:guest@127.0.0.1:5672/)")
	}
	return u
}

func unique() string {
	p := make([]byte, 6)
	_, _ = rand.Read(p)
	return hex.EncodeToString(p)
}

// consumer is a test's topic exchange with an exclusive queue bound to
// every key, read with basic.get. It keeps every copy of every message
// by message_id, as a consumer deduplicating on it would see them.
type consumer struct {
	url      string
	exchange string
	queue    string
	ch       *amqp.Channel

	mu     sync.Mutex
	copies map[string][]amqp.Delivery // message_id → copies read
}

func newConsumer(tb testing.TB) *consumer {
	tb.Helper()
	u := brokerURL(tb)
	conn, err := amqp.Dial(u)
	if err != nil {
		tb.Fatalf("test client: %v", err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		tb.Fatal(err)
	}
	id := unique()
	cs := &consumer{url: u, exchange: "cdct." + id, queue: "cdct." + id, ch: ch, copies: map[string][]amqp.Delivery{}}
	// Deleted with the test's connection: the queue is exclusive, the
	// exchange auto-deleted once unbound.
	if err := ch.ExchangeDeclare(cs.exchange, "topic", false, true, false, false, nil); err != nil {
		tb.Fatal(err)
	}
	if _, err := ch.QueueDeclare(cs.queue, false, true, true, false, nil); err != nil {
		tb.Fatal(err)
	}
	if err := ch.QueueBind(cs.queue, "#", cs.exchange, false, nil); err != nil {
		tb.Fatal(err)
	}
	return cs
}

// drain reads everything in the queue. What the connector published is
// there: the broker confirmed it.
func (cs *consumer) drain(t *testing.T) {
	t.Helper()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for {
		m, ok, err := cs.ch.Get(cs.queue, true)
		if err != nil {
			t.Fatalf("get from %s: %v", cs.queue, err)
		}
		if !ok {
			return
		}
		cs.copies[m.MessageId] = append(cs.copies[m.MessageId], m)
	}
}

// counting counts the Deliver calls per delivery ID: a broker holds at most
// one copy for each.
type counting struct {
	connector.Connector
	calls *sync.Map // delivery ID → *atomic.Int32
}

func (c counting) Deliver(ctx context.Context, d connector.Delivery) (connector.Receipt, error) {
	n, _ := c.calls.LoadOrStore(d.ID, new(atomic.Int32))
	n.(*atomic.Int32).Add(1)
	return c.Connector.Deliver(ctx, d)
}

func (cs *consumer) connector(tb testing.TB, options map[string]string) *Connector {
	tb.Helper()
	opts := map[string]string{optExchange: cs.exchange, optRoutingKey: "crossdock.{type}.{shipment}"}
	for k, v := range options {
		opts[k] = v
	}
	c, err := New(Config{Name: "backbone", URL: cs.url, Options: opts})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// TestIntegrationContract runs the contract with a consumer that
// deduplicates by message_id, as the package documentation asks of
// consumers: RabbitMQ keeps every copy published, so a repeated delivery
// is held once only there. Held still fails on a copy the connector made
// on its own (more copies than Deliver calls) and on copies that differ.
func TestIntegrationContract(t *testing.T) {
	cs := newConsumer(t)
	calls := &sync.Map{}
	connectortest.Run(t, connectortest.Destination{
		Connector: func(t *testing.T) connector.Connector {
			return counting{cs.connector(t, nil), calls}
		},
		Down: func(t *testing.T) connector.Connector {
			c, err := New(Config{Name: "backbone", URL: "amqp://guest:guest@127.0.0.1:1/", Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		Held: func(t *testing.T, d connector.Delivery) int {
			cs.drain(t)
			cs.mu.Lock()
			defer cs.mu.Unlock()
			copies := cs.copies[d.ID]
			if len(copies) == 0 {
				return 0
			}
			made := int32(0)
			if n, ok := calls.Load(d.ID); ok {
				made = n.(*atomic.Int32).Load()
			}
			if int32(len(copies)) > made {
				t.Errorf("%s: %d copies in the queue from %d deliveries", d.ID, len(copies), made)
			}
			for _, m := range copies[1:] {
				if !bytes.Equal(m.Body, copies[0].Body) || m.Headers["Idempotency-Key"] != d.ID {
					t.Errorf("%s: copies differ: %s and %s", d.ID, copies[0].Body, m.Body)
				}
			}
			return 1
		},
		Event: func(i int) store.EventRecord {
			if i%2 == 0 {
				return connectortest.Milestone(i)
			}
			return connectortest.Invoice(i)
		},
	})
}

func TestIntegrationMessage(t *testing.T) {
	cs := newConsumer(t)
	c := cs.connector(t, nil)
	e := connectortest.Invoice(7)
	d := connectortest.Delivery(e)
	if _, err := c.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	cs.drain(t)
	copies := cs.copies[d.ID]
	if len(copies) != 1 {
		t.Fatalf("%d copies, want 1", len(copies))
	}
	m := copies[0]
	body, _ := connector.Body(e)
	if string(m.Body) != string(body) {
		t.Errorf("body %s, want the CloudEvent %s", m.Body, body)
	}
	if want := "crossdock.invoice.ready." + strings.ReplaceAll(e.ShipmentID, ".", "_"); m.RoutingKey != want || m.Exchange != cs.exchange {
		t.Errorf("published to %q with key %q, want %q with %q", m.Exchange, m.RoutingKey, cs.exchange, want)
	}
	if m.DeliveryMode != amqp.Persistent || m.MessageId != d.ID || m.CorrelationId != e.CorrelationID ||
		m.ContentType != "application/cloudevents+json" || m.Type != e.Type || !m.Timestamp.Equal(e.Time) || m.AppId != "crossdock" {
		t.Errorf("properties: mode %d, message_id %q, correlation_id %q, content_type %q, type %q, timestamp %v, app_id %q",
			m.DeliveryMode, m.MessageId, m.CorrelationId, m.ContentType, m.Type, m.Timestamp, m.AppId)
	}
	for k, v := range map[string]string{
		"Idempotency-Key": d.ID, "X-Correlation-ID": e.CorrelationID, "ce-specversion": "1.0",
		"ce-type": e.Type, "ce-source": e.Source, "ce-id": e.ID,
	} {
		if got := m.Headers[k]; got != v {
			t.Errorf("header %s = %v, want %q", k, got, v)
		}
	}
}

func TestIntegrationUnroutableIsPermanent(t *testing.T) {
	cs := newConsumer(t)
	if err := cs.ch.QueueBind(cs.queue, "other.#", cs.exchange, false, nil); err != nil {
		t.Fatal(err) // keeps the auto-delete exchange alive
	}
	if err := cs.ch.QueueUnbind(cs.queue, "#", cs.exchange, nil); err != nil {
		t.Fatal(err)
	}
	c := cs.connector(t, nil)
	d := connectortest.Delivery(connectortest.Invoice(1))
	_, err := c.Deliver(context.Background(), d)
	if err == nil || !outbox.IsPermanent(err) || !strings.Contains(err.Error(), "unroutable") ||
		!strings.Contains(err.Error(), cs.exchange) || !strings.Contains(err.Error(), "crossdock.invoice.ready.") {
		t.Fatalf("want a permanent error naming the exchange and key, got %v", err)
	}
	// The channel is reused, and a routable message still goes.
	if err := cs.ch.QueueBind(cs.queue, "crossdock.#", cs.exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deliver(context.Background(), d); err != nil {
		t.Fatalf("after binding a queue: %v", err)
	}
}

func TestIntegrationMissingExchangeIsRetryable(t *testing.T) {
	cs := newConsumer(t)
	missing := cs.exchange + ".later"
	c := cs.connector(t, map[string]string{optExchange: missing})
	d := connectortest.Delivery(connectortest.Invoice(1))
	_, err := c.Deliver(context.Background(), d)
	if err == nil || outbox.IsPermanent(err) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("want a retryable error saying the exchange does not exist, got %v", err)
	}
	// Once declared, the retry goes through on a fresh channel.
	if err := cs.ch.ExchangeDeclare(missing, "topic", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := cs.ch.QueueBind(cs.queue, "#", missing, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deliver(context.Background(), d); err != nil {
		t.Fatalf("after declaring the exchange: %v", err)
	}
}

func TestIntegrationReconnects(t *testing.T) {
	cs := newConsumer(t)
	c := cs.connector(t, nil)
	if _, err := c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(1))); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if err := conn.Close(); err != nil { // as a broker restart would
		t.Fatal(err)
	}
	if _, err := c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(2))); err != nil {
		t.Fatalf("after the connection closed: %v", err)
	}
}

// TestIntegrationSecretsNotInErrorsOrLogs logs in with a wrong password,
// in the URL and in the config; the broker answers each after a delay, so
// they run in parallel.
func TestIntegrationSecretsNotInErrorsOrLogs(t *testing.T) {
	cs := newConsumer(t)
	u, err := url.Parse(cs.url)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("guest", "s3cret-url")
	for name, cfg := range map[string]Config{
		"in the url":    {URL: u.String()},
		"in the config": {URL: cs.url, Username: "crossdock-nobody", Password: "s3cret-pass"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			cfg.Name, cfg.Logger = "backbone", slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			cfg.Options = map[string]string{optExchange: cs.exchange}
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(1)))
			if err == nil || outbox.IsPermanent(err) {
				t.Fatalf("refused login: want a retryable error, got %v", err)
			}
			t.Logf("refused login: %v", err)
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(logs.String(), "s3cret") {
				t.Errorf("a secret leaked: error %q, logs %q", err, logs.String())
			}
		})
	}
}

// BenchmarkIntegrationPublish measures deliveries a second with 16 at
// once, as the outbox runs them: a channel per publish in flight.
func BenchmarkIntegrationPublish(bm *testing.B) {
	for _, channels := range []string{"16", "1"} {
		bm.Run("channels="+channels, func(bm *testing.B) {
			cs := newConsumer(bm)
			if _, err := cs.ch.QueuePurge(cs.queue, false); err != nil {
				bm.Fatal(err)
			}
			c := cs.connector(bm, map[string]string{optChannels: channels})
			parallel(bm, func(i int) error {
				_, err := c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(i)))
				return err
			})
		})
	}
}

// BenchmarkIntegrationSharedChannel measures the design not taken: one
// confirm-mode channel shared by every publish in flight, confirms told
// apart by delivery tag (a return would have to be matched by message_id).
func BenchmarkIntegrationSharedChannel(bm *testing.B) {
	cs := newConsumer(bm)
	conn, err := amqp.Dial(cs.url)
	if err != nil {
		bm.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		bm.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		bm.Fatal(err)
	}
	parallel(bm, func(i int) error {
		d := connectortest.Delivery(connectortest.Invoice(i))
		body, _ := connector.Body(d.Event)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, cs.exchange, "crossdock.invoice.ready", true, false, message(d, body))
		if err != nil {
			return err
		}
		_, err = dc.WaitContext(ctx)
		return err
	})
}

// parallel runs publish b.N times from 16 goroutines and reports ops/s.
func parallel(bm *testing.B, publish func(i int) error) {
	if err := publish(0); err != nil {
		bm.Fatal(err) // connected
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	bm.ResetTimer()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(bm.N); i = next.Add(1) {
				if err := publish(int(i)); err != nil {
					bm.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	bm.ReportMetric(float64(bm.N)/bm.Elapsed().Seconds(), "ops/s")
}
