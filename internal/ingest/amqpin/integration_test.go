package amqpin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func brokerURL(t *testing.T) string {
	u := os.Getenv("CROSSDOCK_TEST_AMQP_URL")
	if u == "" {
		t.Skip("CROSSDOCK_TEST_AMQP_URL not set: no RabbitMQ broker (e.g. amqp://guest:guest@127.0.0.1:5672/)")
	}
	return u
}

// unique returns a name for t's queue and exchange.
func unique(t *testing.T) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.Name())
	return "cdtest." + name + "." + hex.EncodeToString(b)
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		<-tick.C
	}
}

// env is a test's own connection, queue and exchange (a topic exchange
// named like the queue).
type env struct {
	ch    *amqp.Channel
	queue string
}

// newEnv connects the test's own client and creates the exchange; with
// declare it also declares the queue. Both are deleted when the test ends.
func newEnv(t *testing.T, url string, declare bool) env {
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
	e := env{ch: ch, queue: unique(t)}
	if err := ch.ExchangeDeclare(e.queue, amqp.ExchangeTopic, false, true, false, false, nil); err != nil {
		t.Fatalf("declare exchange: %v", err)
	}
	if declare {
		if _, err := ch.QueueDeclare(e.queue, true, false, false, false, nil); err != nil {
			t.Fatalf("declare queue: %v", err)
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

// publish publishes persistent messages "0" … "n-1", with a header x-seq
// and, on even ones, a message id "m-<i>", and waits for the broker's
// confirms. With the exchange they go round robin to routing keys
// <queue>.s0 … <queue>.s4; without, to the queue by the default exchange.
func (e env) publish(t *testing.T, n int, viaExchange bool) {
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
		exchange, key := "", e.queue
		if viaExchange {
			exchange, key = e.queue, fmt.Sprintf("%s.s%d", e.queue, i%5)
		}
		dc, err := e.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, true, false, p)
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

// ready returns the messages in the queue ready for delivery; messages
// delivered and not acknowledged are not counted.
func (e env) ready(t *testing.T) int {
	q, err := e.ch.QueueDeclarePassive(e.queue, true, false, false, false, nil)
	if err != nil {
		t.Fatalf("inspect queue: %v", err)
	}
	return q.Messages
}

// recorder keeps what a handler saw, by message number.
type recorder struct {
	mu       sync.Mutex
	attempts map[int]int
	ok       map[int]bool
	redeliv  map[int][]bool
	msgs     map[int]Message
	order    map[string][]int // per routing key, messages handled ok in order
	fail     func(i, attempt int) error
}

func newRecorder() *recorder {
	return &recorder{attempts: map[int]int{}, ok: map[int]bool{}, redeliv: map[int][]bool{}, msgs: map[int]Message{}, order: map[string][]int{}}
}

func (r *recorder) handle(_ context.Context, m Message) error {
	i, err := strconv.Atoi(string(m.Data))
	if err != nil {
		return nil // not a test message; acknowledged like a quarantined one
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts[i]++
	r.redeliv[i] = append(r.redeliv[i], m.Redelivered)
	r.msgs[i] = m
	if r.fail != nil {
		if err := r.fail(i, r.attempts[i]); err != nil {
			return err
		}
	}
	r.ok[i] = true
	r.order[m.Subject] = append(r.order[m.Subject], i)
	return nil
}

func (r *recorder) handled() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ok)
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

// TestIntegrationEveryMessageHandledAndAcked: the input declares the queue
// and binds it to the exchange; every one of 1000 messages reaches the
// handler once, per routing key in publish order, with its routing key,
// headers and id. The queue ends empty, and stays empty when the input
// stops — a message delivered and not acknowledged would be requeued then.
func TestIntegrationEveryMessageHandledAndAcked(t *testing.T) {
	url := brokerURL(t)
	e := newEnv(t, url, false)
	const n = 1000
	rec := newRecorder()
	in := start(t, Config{
		URL: url, Queue: e.queue, Declare: true, Exchange: e.queue, RoutingKeys: []string{e.queue + ".#"},
		Handler: rec.handle,
	})
	eventually(t, 10*time.Second, "connected (queue declared and bound)", in.Connected)
	e.publish(t, n, true)
	eventually(t, 20*time.Second, "all messages handled", func() bool { return rec.handled() == n })
	eventually(t, 10*time.Second, "an empty queue", func() bool { return e.ready(t) == 0 })
	if err := in.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.ready(t); got != 0 {
		t.Fatalf("%d messages back in the queue after Stop: handled but not acknowledged", got)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i := range n {
		if rec.attempts[i] != 1 {
			t.Errorf("message %d handled %d times, want 1", i, rec.attempts[i])
		}
	}
	for key, got := range rec.order {
		for j := 1; j < len(got); j++ {
			if got[j] < got[j-1] {
				t.Fatalf("%s: message %d after %d, out of publish order", key, got[j], got[j-1])
			}
		}
	}
	m0, m1 := rec.msgs[0], rec.msgs[1]
	if m0.Subject != e.queue+".s0" || m0.ID != "m-0" || m0.Redelivered || m0.Headers["x-seq"] != "0" ||
		m0.Headers["content-type"] != "text/plain" || m0.Headers["message-id"] != "m-0" {
		t.Errorf("message 0: %+v", m0)
	}
	if m1.Subject != e.queue+".s1" || m1.ID != "" {
		t.Errorf("message 1: %+v, want no id", m1)
	}
}

// TestIntegrationHandlerErrorRedelivers: the handler fails the first
// attempt of every 10th message; each is requeued, comes again marked
// redelivered, and all are handled.
func TestIntegrationHandlerErrorRedelivers(t *testing.T) {
	url := brokerURL(t)
	e := newEnv(t, url, true)
	const n = 1000
	rec := newRecorder()
	rec.fail = func(i, attempt int) error {
		if i%10 == 0 && attempt == 1 {
			return errors.New("store unavailable")
		}
		return nil
	}
	in := start(t, Config{URL: url, Queue: e.queue, RetryDelay: 5 * time.Millisecond, Handler: rec.handle})
	e.publish(t, n, false)
	eventually(t, 30*time.Second, "all messages handled", func() bool { return rec.handled() == n })
	if err := in.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.ready(t); got != 0 {
		t.Fatalf("%d messages left in the queue", got)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i := range n {
		r := rec.redeliv[i]
		switch {
		case i%10 == 0 && (len(r) != 2 || r[0] || !r[1]):
			t.Errorf("failed message %d: redelivered flags %v, want [false true]", i, r)
		case i%10 != 0 && (len(r) != 1 || r[0]):
			t.Errorf("message %d: redelivered flags %v, want [false]", i, r)
		}
	}
}

// TestIntegrationStopRedeliversUnacked stops an input while its handler is
// in the middle of the queue; a new input on the same queue gets every
// message the first did not acknowledge.
func TestIntegrationStopRedeliversUnacked(t *testing.T) {
	url := brokerURL(t)
	e := newEnv(t, url, true)
	const n, k = 1000, 250
	entered, release := make(chan struct{}), make(chan struct{})
	first := newRecorder()
	blocking := func(ctx context.Context, m Message) error {
		if string(m.Data) == strconv.Itoa(k) {
			close(entered)
			<-release
		}
		return first.handle(ctx, m)
	}
	cfg := Config{URL: url, Queue: e.queue, Handler: blocking}
	a := start(t, cfg)
	e.publish(t, n, false)
	<-entered
	stopped := make(chan error, 1)
	go func() {
		close(release)
		stopped <- a.Stop(context.Background())
	}()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	first.mu.Lock()
	acked := len(first.ok)
	inFlight := first.ok[k]
	first.mu.Unlock()
	if !inFlight {
		t.Fatalf("message %d, in the handler at Stop, was not finished before Stop returned", k)
	}
	if acked >= n {
		t.Fatalf("the first input handled all %d messages; stop came too late to test anything", n)
	}

	second := newRecorder()
	cfg.Handler = second.handle
	b := start(t, cfg)
	covered := func() bool {
		first.mu.Lock()
		defer first.mu.Unlock()
		second.mu.Lock()
		defer second.mu.Unlock()
		for i := range n {
			if !first.ok[i] && !second.ok[i] {
				return false
			}
		}
		return true
	}
	eventually(t, 30*time.Second, "every message handled by one of the inputs", covered)
	if err := b.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.ready(t); got != 0 {
		t.Fatalf("%d messages left in the queue", got)
	}
	second.mu.Lock()
	defer second.mu.Unlock()
	if second.attempts[k] != 0 {
		t.Errorf("message %d, acknowledged by the first input, came again", k)
	}
	t.Logf("first input acknowledged %d, second handled %d", acked, len(second.ok))
}

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func debugLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestIntegrationBrokerDown: Start succeeds with no broker, the input is
// not connected, says so once, and Stop returns at once. (No broker is
// needed; it runs with the others.)
func TestIntegrationBrokerDown(t *testing.T) {
	brokerURL(t)
	var logs syncBuffer
	in, err := New(Config{
		URL: "amqp://crossdock:s3cret-pw@" + closedPort(t) + "/", Queue: "q", Handler: nop,
		Logger: debugLogger(&logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(context.Background()); err != nil {
		t.Fatalf("Start with the broker down: %v", err)
	}
	eventually(t, 10*time.Second, "a log of the failed connection", func() bool { return strings.Contains(logs.String(), "not connected") })
	if in.Connected() {
		t.Fatal("Connected with the broker down")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := in.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if n := strings.Count(logs.String(), "not connected"); n != 1 {
		t.Errorf("connection failure logged %d times, want once:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "s3cret-pw") {
		t.Fatalf("the password is in the log:\n%s", logs.String())
	}
}

// TestIntegrationLogsHideCredentials: an input refused for a wrong
// password, and one running through connecting, a handler failure and
// stopping, log no password.
func TestIntegrationLogsHideCredentials(t *testing.T) {
	base := brokerURL(t)
	e := newEnv(t, base, true)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	var logs syncBuffer

	wrong := *u
	wrong.User = url.UserPassword(u.User.Username(), "wrong-s3cret")
	refused := start(t, Config{URL: wrong.String(), Queue: e.queue, Handler: nop, Logger: debugLogger(&logs)})
	eventually(t, 10*time.Second, "the refusal logged", func() bool { return strings.Contains(logs.String(), "not connected") })
	if refused.Connected() {
		t.Fatal("connected with a wrong password")
	}
	if err := refused.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	failed := false
	var mu sync.Mutex
	in := start(t, Config{
		URL: base, Queue: e.queue, RetryDelay: time.Millisecond, Logger: debugLogger(&logs),
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
	eventually(t, 10*time.Second, "connected", in.Connected)
	e.publish(t, 3, false)
	eventually(t, 10*time.Second, "the failure and the recovery logged", func() bool { return strings.Contains(logs.String(), "handler recovered") })
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
