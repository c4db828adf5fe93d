package amqpin

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
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

func (e *target) config(h brokertest.Handler, retryDelay time.Duration) Config {
	c := Config{URL: e.url, Queue: e.queue, RetryDelay: retryDelay, Handler: handler(h)}
	if e.selfCreate {
		c.Declare, c.Exchange, c.RoutingKeys = true, e.queue, []string{e.queue + ".#"}
	}
	return c
}

func newInput(t *testing.T, c Config) *Input {
	t.Helper()
	in, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func (e *target) Input(t *testing.T, h brokertest.Handler, retryDelay time.Duration) brokertest.Input {
	return newInput(t, e.config(h, retryDelay))
}

// WithCredentials: the broker URL's own user and password.
func (e *target) WithCredentials(t *testing.T, h brokertest.Handler, log *slog.Logger) (brokertest.Input, []string) {
	c := e.config(h, time.Millisecond)
	c.Logger = log
	u, err := url.Parse(e.url)
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	if password, ok := u.User.Password(); ok && password != "" {
		secrets = append(secrets, ":"+password+"@")
	}
	return newInput(t, c), secrets
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
			return newInput(t, Config{URL: "amqp://crossdock:s3cret-pw@" + brokertest.ClosedPort(t) + "/", Queue: "q", Handler: handler(h), Logger: log})
		},
	})
}

// TestIntegrationLogsHideWrongPassword: an input the broker refuses for a
// wrong password logs the refusal with the password masked.
func TestIntegrationLogsHideWrongPassword(t *testing.T) {
	base := brokerURL(t)
	e := newTarget(t, base, false)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "wrong-s3cret")
	var logs brokertest.SyncBuffer
	in := brokertest.Start(t, newInput(t, Config{URL: u.String(), Queue: e.queue, Handler: nop, Logger: brokertest.DebugLogger(&logs)}))
	brokertest.Eventually(t, 10*time.Second, "the refusal logged", func() bool { return strings.Contains(logs.String(), "not connected") })
	if in.Connected() {
		t.Fatal("connected with a wrong password")
	}
	if err := in.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "xxxxx") {
		t.Errorf("log lacks the masked password:\n%s", out)
	}
	if strings.Contains(out, "wrong-s3cret") {
		t.Fatalf("the password is in the log:\n%s", out)
	}
}
