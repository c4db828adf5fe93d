package amqpin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/crossdockhq/crossdock/internal/ingest/brokertest"
)

func brokerURL(t *testing.T) string {
	u := os.Getenv("CROSSDOCK_TEST_AMQP_URL")
	if u == "" {
		t.Skip("CROSSDOCK_TEST_AMQP_URL not set: no RabbitMQ broker (e.g. amqp://guest:guest@127.0.0.1:5672/)")
	}
	return u
}

// target is a test's own connection, queue and topic exchange (named like
// the queue); messages go to the exchange with routing keys
// <queue>.s0 … <queue>.s4.
type target struct {
	url        string
	ch         *amqp.Channel
	queue      string
	selfCreate bool
}

// newTarget connects the test's own client and declares the exchange;
// unless the input is to declare and bind the queue itself, it does. Both
// are deleted when the test ends.
func newTarget(t *testing.T, url string, selfCreate bool) *target {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("test client: %v", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	e := &target{url: url, ch: ch, queue: brokertest.Unique(t), selfCreate: selfCreate}
	if err := ch.ExchangeDeclare(e.queue, amqp.ExchangeTopic, false, true, false, false, nil); err != nil {
		t.Fatalf("declare exchange: %v", err)
	}
	if !selfCreate {
		if _, err := ch.QueueDeclare(e.queue, true, false, false, false, nil); err != nil {
			t.Fatalf("declare queue: %v", err)
		}
		if err := ch.QueueBind(e.queue, e.queue+".#", e.queue, false, nil); err != nil {
			t.Fatalf("bind queue: %v", err)
		}
	}
	t.Cleanup(func() {
		if _, err := ch.QueueDelete(e.queue, false, false, false); err != nil {
			t.Errorf("delete queue %s: %v", e.queue, err)
		}
		if err := ch.ExchangeDelete(e.queue, false, false); err != nil {
			t.Errorf("delete exchange %s: %v", e.queue, err)
		}
		conn.Close()
	})
	return e
}

func handler(h brokertest.Handler) Handler {
	return func(ctx context.Context, m Message) error { return h(ctx, brokertest.Message(m)) }
}

func (e *target) Input(t *testing.T, h brokertest.Handler, retryDelay time.Duration) brokertest.Input {
	c := Config{URL: e.url, Queue: e.queue, RetryDelay: retryDelay, Handler: handler(h)}
	if e.selfCreate {
		c.Declare, c.Exchange, c.RoutingKeys = true, e.queue, []string{e.queue + ".#"}
	}
	in, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func (e *target) Key(i int) string  { return fmt.Sprintf("%s.s%d", e.queue, i%5) }
func (e *target) SeqHeader() string { return "x-seq" }

// WantID: the message-id property when one was set, else none.
func (e *target) WantID(i int) string {
	if i%2 == 0 {
		return fmt.Sprintf("m-%d", i)
	}
	return ""
}

func (e *target) Publish(t *testing.T, n int) {
	t.Helper()
	ctx := context.Background()
	confirms := make([]*amqp.DeferredConfirmation, 0, n)
	for i := range n {
		p := amqp.Publishing{
			Body: []byte(strconv.Itoa(i)), DeliveryMode: amqp.Persistent, ContentType: "text/plain",
			Headers: amqp.Table{"x-seq": strconv.Itoa(i)},
		}
		if i%2 == 0 {
			p.MessageId = fmt.Sprintf("m-%d", i)
		}
		dc, err := e.ch.PublishWithDeferredConfirmWithContext(ctx, e.queue, e.Key(i), true, false, p)
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		confirms = append(confirms, dc)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i, dc := range confirms {
		if ok, err := dc.WaitContext(wctx); !ok || err != nil {
			t.Fatalf("publish %d: not confirmed (%v)", i, err)
		}
	}
}

// Settled: with the inputs stopped, a message delivered and not
// acknowledged is back in the queue, so an empty queue means every
// message was acknowledged.
func (e *target) Settled(t *testing.T) bool {
	q, err := e.ch.QueueDeclarePassive(e.queue, true, false, false, false, nil)
	if err != nil {
		t.Fatalf("inspect queue: %v", err)
	}
	return q.Messages == 0
}

// TestIntegrationContract runs the broker-input contract suite against the
// real RabbitMQ broker.
func TestIntegrationContract(t *testing.T) {
	url := brokerURL(t)
	brokertest.Run(t, brokertest.Broker{
		Target: func(t *testing.T, selfCreate bool) brokertest.Target { return newTarget(t, url, selfCreate) },
		Down: func(t *testing.T, h brokertest.Handler, log *slog.Logger) brokertest.Input {
			in, err := New(Config{URL: "amqp://crossdock:s3cret-pw@" + brokertest.ClosedPort(t) + "/", Queue: "q", Handler: handler(h), Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			return in
		},
	})
}

func start(t *testing.T, c Config) *Input {
	t.Helper()
	in, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Stop(context.Background()) })
	return in
}

// TestIntegrationLogsHideCredentials: an input refused for a wrong
// password, and one running through connecting, a handler failure and
// stopping, log no password.
func TestIntegrationLogsHideCredentials(t *testing.T) {
	base := brokerURL(t)
	e := newTarget(t, base, false)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	var logs brokertest.SyncBuffer

	wrong := *u
	wrong.User = url.UserPassword(u.User.Username(), "wrong-s3cret")
	refused := start(t, Config{URL: wrong.String(), Queue: e.queue, Handler: nop, Logger: brokertest.DebugLogger(&logs)})
	brokertest.Eventually(t, 10*time.Second, "the refusal logged", func() bool { return strings.Contains(logs.String(), "not connected") })
	if refused.Connected() {
		t.Fatal("connected with a wrong password")
	}
	if err := refused.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	failed := false
	var mu sync.Mutex
	in := start(t, Config{
		URL: base, Queue: e.queue, RetryDelay: time.Millisecond, Logger: brokertest.DebugLogger(&logs),
		Handler: func(context.Context, Message) error {
			mu.Lock()
			defer mu.Unlock()
			if !failed {
				failed = true
				return errors.New("store unavailable")
			}
			return nil
		},
	})
	brokertest.Eventually(t, 10*time.Second, "connected", in.Connected)
	e.Publish(t, 3)
	brokertest.Eventually(t, 10*time.Second, "the failure and the recovery logged", func() bool { return strings.Contains(logs.String(), "handler recovered") })
	if err := in.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, want := range []string{"amqp connected", "handler failing", "amqp input stopped", "xxxxx"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"wrong-s3cret", ":" + password + "@"} {
		if password != "" && strings.Contains(out, secret) {
			t.Fatalf("a password (%q) is in the log:\n%s", secret, out)
		}
	}
}
