package natsin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func serverURL(t *testing.T) string {
	u := os.Getenv("CROSSDOCK_TEST_NATS_URL")
	if u == "" {
		t.Skip("CROSSDOCK_TEST_NATS_URL not set: no NATS server with JetStream (e.g. nats://127.0.0.1:4222)")
	}
	return u
}

// unique returns a name for t's stream and consumer, safe for NATS.
func unique(t *testing.T) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.Name())
	return name + "_" + hex.EncodeToString(b)
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

// env is a test's own connection, stream and subjects.
type env struct {
	js      jetstream.JetStream
	stream  string
	subject string // prefix; messages go to subject.s0 … subject.s4
}

// newEnv connects the test's own client; with create it also creates the
// stream. The stream (and its consumers) is deleted when the test ends.
func newEnv(t *testing.T, url string, create bool) env {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("test client: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	name := unique(t)
	e := env{js: js, stream: name, subject: "cdtest." + name}
	if create {
		_, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: name, Subjects: []string{e.subject + ".>"}})
		if err != nil {
			t.Fatalf("create stream: %v", err)
		}
	}
	t.Cleanup(func() {
		if err := js.DeleteStream(context.Background(), name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete stream %s: %v", name, err)
		}
		nc.Close()
	})
	return e
}

// publish publishes messages "0" … "n-1" round robin on five subjects, with
// a header X-Seq and, on even ones, a message id "m-<i>".
func (e env) publish(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		m := &nats.Msg{Subject: fmt.Sprintf("%s.s%d", e.subject, i%5), Data: []byte(strconv.Itoa(i)), Header: nats.Header{}}
		m.Header.Set("X-Seq", strconv.Itoa(i))
		var opts []jetstream.PublishOpt
		if i%2 == 0 {
			opts = append(opts, jetstream.WithMsgID(fmt.Sprintf("m-%d", i)))
		}
		if _, err := e.js.PublishMsgAsync(m, opts...); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	select {
	case <-e.js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		t.Fatal("publish: not acknowledged by the server")
	}
}

// settled reports whether the consumer has nothing pending or unacknowledged.
func (e env) settled(t *testing.T, durable string) bool {
	ci, err := e.js.Consumer(context.Background(), e.stream, durable)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	info, err := ci.Info(context.Background())
	if err != nil {
		t.Fatalf("consumer info: %v", err)
	}
	return info.NumAckPending == 0 && info.NumPending == 0
}

// recorder keeps what a handler saw, by message number.
type recorder struct {
	mu       sync.Mutex
	attempts map[int]int      // calls per message
	ok       map[int]bool     // the handler returned nil
	redeliv  map[int][]bool   // Redelivered per call
	msgs     map[int]Message  // the last call's message
	order    map[string][]int // per subject, messages handled ok in order
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

// TestIntegrationEveryMessageHandledAndAcked: the input creates the stream,
// every one of 1000 messages reaches the handler once, per subject in
// publish order, with its subject, headers and id, and the consumer ends
// with nothing pending or unacknowledged.
func TestIntegrationEveryMessageHandledAndAcked(t *testing.T) {
	url := serverURL(t)
	e := newEnv(t, url, false)
	const n = 1000
	rec := newRecorder()
	in := start(t, Config{
		URL: url, Stream: e.stream, Subjects: []string{e.subject + ".>"}, CreateStream: true,
		Durable: "crossdock", Handler: rec.handle,
	})
	eventually(t, 10*time.Second, "connected (stream created)", in.Connected)
	e.publish(t, n)
	eventually(t, 20*time.Second, "all messages handled", func() bool { return rec.handled() == n })
	eventually(t, 10*time.Second, "no messages pending or unacknowledged", func() bool { return e.settled(t, "crossdock") })

	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i := range n {
		if rec.attempts[i] != 1 {
			t.Errorf("message %d handled %d times, want 1", i, rec.attempts[i])
		}
	}
	for subject, got := range rec.order {
		for j := 1; j < len(got); j++ {
			if got[j] < got[j-1] {
				t.Fatalf("%s: message %d after %d, out of publish order", subject, got[j], got[j-1])
			}
		}
	}
	m0, m1 := rec.msgs[0], rec.msgs[1]
	if m0.Subject != e.subject+".s0" || m0.Headers["X-Seq"] != "0" || m0.ID != "m-0" || m0.Redelivered {
		t.Errorf("message 0: %+v", m0)
	}
	if m1.Subject != e.subject+".s1" || m1.ID != e.stream+":2" {
		t.Errorf("message 1: %+v, want id %s:2 (stream sequence)", m1, e.stream)
	}
}

// TestIntegrationHandlerErrorRedelivers: the handler fails the first
// attempt of every 10th message; each comes again, marked redelivered,
// and all are handled.
func TestIntegrationHandlerErrorRedelivers(t *testing.T) {
	url := serverURL(t)
	e := newEnv(t, url, true)
	const n = 1000
	rec := newRecorder()
	rec.fail = func(i, attempt int) error {
		if i%10 == 0 && attempt == 1 {
			return errors.New("store unavailable")
		}
		return nil
	}
	start(t, Config{URL: url, Stream: e.stream, Durable: "crossdock", RetryDelay: 20 * time.Millisecond, Handler: rec.handle})
	e.publish(t, n)
	eventually(t, 30*time.Second, "all messages handled", func() bool { return rec.handled() == n })
	eventually(t, 10*time.Second, "no messages pending or unacknowledged", func() bool { return e.settled(t, "crossdock") })

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
// in the middle of the stream; a new input on the same durable consumer
// gets every message the first did not acknowledge.
func TestIntegrationStopRedeliversUnacked(t *testing.T) {
	url := serverURL(t)
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
	// A short AckWait: messages the server sent just as the first input
	// stopped fetching reach no one and come again after it.
	cfg := Config{URL: url, Stream: e.stream, Durable: "crossdock", AckWait: 2 * time.Second, Handler: blocking}
	a := start(t, cfg)
	e.publish(t, n)
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
	start(t, cfg)
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
	eventually(t, 10*time.Second, "no messages pending or unacknowledged", func() bool { return e.settled(t, "crossdock") })
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

// TestIntegrationServerDown: Start succeeds with no server, the input is
// not connected, says so once, and Stop returns at once. (No server is
// needed; it runs with the others.)
func TestIntegrationServerDown(t *testing.T) {
	serverURL(t)
	var logs syncBuffer
	in, err := New(Config{
		URL: "nats://crossdock:s3cret-pw@" + closedPort(t), Stream: "S", Durable: "d", Handler: nop,
		Logger: debugLogger(&logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(context.Background()); err != nil {
		t.Fatalf("Start with the server down: %v", err)
	}
	eventually(t, 10*time.Second, "a log of the failed connection", func() bool { return strings.Contains(logs.String(), "not connected") })
	if in.Connected() {
		t.Fatal("Connected with the server down")
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

// TestIntegrationLogsHideCredentials runs an input with a password in the
// URL and the config through connecting, handler failures and stopping,
// and a second one with a token, and checks no secret reaches the log.
func TestIntegrationLogsHideCredentials(t *testing.T) {
	url := serverURL(t)
	e := newEnv(t, url, true)
	var logs syncBuffer
	host := strings.TrimPrefix(url, "nats://")
	failed := false
	var mu sync.Mutex
	in := start(t, Config{
		URL: "nats://crossdock:url-s3cret@" + host, Stream: e.stream, Durable: "d1", RetryDelay: time.Millisecond,
		Logger: debugLogger(&logs),
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
	eventually(t, 10*time.Second, "connected with a password", in.Connected)
	e.publish(t, 3)
	eventually(t, 10*time.Second, "all handled", func() bool { return e.settled(t, "d1") })
	if err := in.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	tok := start(t, Config{URL: url, Token: "token-s3cret", Stream: e.stream, Durable: "d2", Handler: nop, Logger: debugLogger(&logs)})
	eventually(t, 10*time.Second, "connected with a token", tok.Connected)
	if err := tok.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, want := range []string{"nats connected", "handler failing", "handler recovered", "nats input stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cret") {
		t.Fatalf("a secret is in the log:\n%s", out)
	}
}
