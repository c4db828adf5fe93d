package mqtt

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
	"github.com/crossdockhq/crossdock/internal/store"
)

func brokerURL(tb testing.TB) string {
	u := os.Getenv("CROSSDOCK_TEST_MQTT_URL")
	if u == "" {
		tb.Skip("CROSSDOCK_TEST_MQTT_URL not set: no publishing to an MQTT broker (e.g. tcp://127.0.0.1:1883)")
	}
	return u
}

func unique() string {
	p := make([]byte, 6)
	_, _ = rand.Read(p)
	return hex.EncodeToString(p)
}

// receiver is a QoS 1 subscriber to a test's own topics, subscribed
// before anything is published. It keeps every copy it receives by
// idempotency key.
type receiver struct {
	url    string
	prefix string // the connector publishes under <prefix>/
	client paho.Client

	mu      sync.Mutex
	copies  map[string][]received // idempotency key → copies
	markers map[string]bool
}

// received is one message as the receiver got it.
type received struct {
	topic string
	body  []byte
}

func newReceiver(tb testing.TB) *receiver {
	tb.Helper()
	u := brokerURL(tb)
	id := unique()
	r := &receiver{url: u, prefix: "cdct/" + id, copies: map[string][]received{}, markers: map[string]bool{}}
	r.client = paho.NewClient(paho.NewClientOptions().AddBroker(u).SetClientID("cdct-receiver-" + id).SetCleanSession(true))
	if tok := r.client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("test subscriber: connect: %v", tok.Error())
	}
	tb.Cleanup(func() { r.client.Disconnect(100) })
	tok := r.client.Subscribe(r.prefix+"/#", 1, func(_ paho.Client, m paho.Message) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if strings.HasPrefix(m.Topic(), r.prefix+"/marker/") {
			r.markers[string(m.Payload())] = true
			return
		}
		var ce map[string]any
		if err := json.Unmarshal(m.Payload(), &ce); err != nil {
			return // counted nowhere: Held reports it missing
		}
		key, _ := ce[ExtensionKey].(string)
		r.copies[key] = append(r.copies[key], received{m.Topic(), m.Payload()})
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("test subscriber: subscribe: %v", tok.Error())
	}
	return r
}

// sync publishes a marker and waits for it to come back: the broker
// queued every message it acknowledged before it, so they have arrived.
func (r *receiver) sync(t *testing.T) {
	t.Helper()
	marker := unique()
	tok := r.client.Publish(r.prefix+"/marker/"+marker, 1, false, marker)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish marker: %v", tok.Error())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		seen := r.markers[marker]
		r.mu.Unlock()
		if seen {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("marker not received within 10s")
		}
		time.Sleep(5 * time.Millisecond) // polling, with the deadline above
	}
}

func (r *receiver) connector(tb testing.TB, options map[string]string) *Connector {
	tb.Helper()
	opts := map[string]string{optTopic: r.prefix + "/{type}/{shipment}", optClientID: "cdct-" + unique()}
	for k, v := range options {
		opts[k] = v
	}
	c, err := New(Config{Name: "backbone", URL: r.url, Options: opts})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// counting counts the Deliver calls per delivery ID: QoS 1 may deliver a
// publish twice (a resend after a lost PUBACK), but the receiver gets no
// more copies than that unless the connector published on its own.
type counting struct {
	connector.Connector
	calls *sync.Map // delivery ID → *atomic.Int32
}

func (c counting) Deliver(ctx context.Context, d connector.Delivery) (connector.Receipt, error) {
	n, _ := c.calls.LoadOrStore(d.ID, new(atomic.Int32))
	n.(*atomic.Int32).Add(1)
	return c.Connector.Deliver(ctx, d)
}

// TestIntegrationContract runs the contract with a receiver that
// deduplicates by the idempotencykey attribute, as the package
// documentation asks of receivers: MQTT QoS 1 is at least once, and a
// repeated delivery is a second message, so it is held once only there.
// Held still fails on copies the connector made on its own (more than
// one a Deliver call, each of which may be sent at most twice) and on
// copies that differ.
func TestIntegrationContract(t *testing.T) {
	r := newReceiver(t)
	calls := &sync.Map{}
	connectortest.Run(t, connectortest.Destination{
		Connector: func(t *testing.T) connector.Connector {
			return counting{r.connector(t, nil), calls}
		},
		Down: func(t *testing.T) connector.Connector {
			c, err := New(Config{Name: "backbone", URL: "tcp://127.0.0.1:1", Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		Held: func(t *testing.T, d connector.Delivery) int {
			r.sync(t)
			r.mu.Lock()
			defer r.mu.Unlock()
			copies := r.copies[d.ID]
			if len(copies) == 0 {
				return 0
			}
			made := int32(0)
			if n, ok := calls.Load(d.ID); ok {
				made = n.(*atomic.Int32).Load()
			}
			if int32(len(copies)) > made {
				t.Errorf("%s: %d copies received from %d deliveries", d.ID, len(copies), made)
			}
			for _, m := range copies[1:] {
				if !bytes.Equal(m.body, copies[0].body) || m.topic != copies[0].topic {
					t.Errorf("%s: copies differ: %s and %s", d.ID, copies[0].body, m.body)
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
	r := newReceiver(t)
	c := r.connector(t, nil)
	e := connectortest.Invoice(7)
	d := connectortest.Delivery(e)
	if _, err := c.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	r.sync(t)
	r.mu.Lock()
	copies := r.copies[d.ID]
	r.mu.Unlock()
	if len(copies) != 1 {
		t.Fatalf("%d copies, want 1", len(copies))
	}
	if want := r.prefix + "/invoice.ready/" + e.ShipmentID; copies[0].topic != want {
		t.Errorf("topic %s, want %s", copies[0].topic, want)
	}
	var got, want map[string]any
	if err := json.Unmarshal(copies[0].body, &got); err != nil {
		t.Fatal(err)
	}
	ce, _ := connector.Body(e)
	if err := json.Unmarshal(ce, &want); err != nil {
		t.Fatal(err)
	}
	want[ExtensionKey] = d.ID
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Errorf("body %s, want %s", g, w)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIntegrationSecretsNotLogged(t *testing.T) {
	r := newReceiver(t)
	u, err := url.Parse(r.url)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("crossdock", "s3cret-url")
	logs := &syncBuffer{}
	c, err := New(Config{
		Name: "backbone", URL: u.String(), Options: map[string]string{optTopic: r.prefix + "/{type}", optClientID: "cdct-" + unique()},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(1))); err != nil {
		t.Fatal(err) // a broker allowing anonymous clients takes any user
	}
	// The client logs the connection from its own goroutine.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), "mqtt connected"); {
		if time.Now().After(deadline) {
			t.Fatalf("no connected line within 5s, logs:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond) // polling, with the deadline above
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Fatalf("the password leaked into the logs:\n%s", logs.String())
	}
}

// syncBuffer is a log destination safe for the client's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// BenchmarkIntegrationPublish measures deliveries a second with 16 at
// once, as the outbox runs them.
func BenchmarkIntegrationPublish(bm *testing.B) {
	r := newReceiver(bm)
	c := r.connector(bm, nil)
	if _, err := c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(0))); err != nil {
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
