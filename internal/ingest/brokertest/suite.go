package brokertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is what an input hands its handler; both inputs' Message types
// convert to it.
type Message struct {
	Subject     string
	Data        []byte
	Headers     map[string]string
	ID          string
	Redelivered bool
}

// Handler handles one message: nil acknowledges it.
type Handler func(ctx context.Context, m Message) error

// Input is the lifecycle every broker input has.
type Input interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Connected() bool
}

// Target is one test's own queue or stream on a real broker, deleted when
// the test ends.
type Target interface {
	// Input builds (does not start) an input consuming the target with
	// handler h, retrying a failed message after about retryDelay.
	Input(t *testing.T, h Handler, retryDelay time.Duration) Input
	// Publish publishes messages "0" … "n-1" round robin on Key(0) …
	// Key(4), each with the header SeqHeader() = its number and, on even
	// ones, the message id "m-<i>", and waits until the broker has them.
	Publish(t *testing.T, n int)
	// Key is the subject or routing key message i goes to.
	Key(i int) string
	// SeqHeader names the header carrying a message's number.
	SeqHeader() string
	// WantID is the Message.ID message i must arrive with.
	WantID(i int) string
	// Settled reports that nothing is left ready or unacknowledged. The
	// suite asks only once every input on the target is stopped, so a
	// broker that cannot count unacknowledged messages (RabbitMQ: a
	// queue's message count is the ready ones) may report an empty
	// queue: the broker requeues what a closed consumer left unacknowledged.
	Settled(t *testing.T) bool
	// WithCredentials builds (does not start) an input like Input,
	// retrying a failed message after a millisecond and logging to log,
	// that connects to the broker with credentials in its configuration;
	// it returns the secrets in them that must not reach the log.
	WithCredentials(t *testing.T, h Handler, log *slog.Logger) (in Input, secrets []string)
}

// Broker makes targets for one broker implementation.
type Broker struct {
	// Target sets up a fresh target; with selfCreate the queue or stream
	// is left for the input to create.
	Target func(t *testing.T, selfCreate bool) Target
	// Down builds an input for a server that does not answer, with the
	// password "s3cret-pw" in its URL, logging to log.
	Down func(t *testing.T, h Handler, log *slog.Logger) Input
}

// Run runs the suite; each test is named TestIntegration… by its caller.
func Run(t *testing.T, b Broker) {
	t.Run("EveryMessageHandledAndAcked", func(t *testing.T) { everyMessage(t, b) })
	t.Run("HandlerErrorRedelivers", func(t *testing.T) { handlerError(t, b) })
	t.Run("StopRedeliversUnacked", func(t *testing.T) { stopMidStream(t, b) })
	t.Run("ServerDown", func(t *testing.T) { serverDown(t, b) })
	t.Run("LogsHideCredentials", func(t *testing.T) { logsHideCredentials(t, b) })
}

// Start starts in and stops it when the test ends.
func Start(t *testing.T, in Input) Input {
	t.Helper()
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Stop(context.Background()) })
	return in
}

func stop(t *testing.T, in Input) {
	t.Helper()
	if err := in.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// everyMessage: the input creates its queue or stream, every one of 1000
// messages reaches the handler once, per key in publish order, with its
// key, headers and id, and nothing is left unacknowledged.
func everyMessage(t *testing.T, b Broker) {
	tg := b.Target(t, true)
	const n = 1000
	rec := NewRecorder()
	in := Start(t, tg.Input(t, rec.Handle, time.Second))
	Eventually(t, 10*time.Second, "connected (queue or stream created)", in.Connected)
	tg.Publish(t, n)
	Eventually(t, 20*time.Second, "all messages handled", func() bool { return rec.Handled() == n })
	stop(t, in)
	Eventually(t, 10*time.Second, "nothing left unacknowledged", func() bool { return tg.Settled(t) })

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
	for i := range 2 {
		m := rec.msgs[i]
		if m.Subject != tg.Key(i) || m.ID != tg.WantID(i) || m.Redelivered || m.Headers[tg.SeqHeader()] != strconv.Itoa(i) {
			t.Errorf("message %d: %+v, want key %s, id %q", i, m, tg.Key(i), tg.WantID(i))
		}
	}
}

// handlerError: the handler fails the first attempt of every 10th
// message; each comes again marked redelivered, and all are handled.
func handlerError(t *testing.T, b Broker) {
	tg := b.Target(t, false)
	const n = 1000
	rec := NewRecorder()
	rec.fail = func(i, attempt int) error {
		if i%10 == 0 && attempt == 1 {
			return errors.New("store unavailable")
		}
		return nil
	}
	in := Start(t, tg.Input(t, rec.Handle, 10*time.Millisecond))
	tg.Publish(t, n)
	Eventually(t, 30*time.Second, "all messages handled", func() bool { return rec.Handled() == n })
	stop(t, in)
	Eventually(t, 10*time.Second, "nothing left unacknowledged", func() bool { return tg.Settled(t) })

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

// stopMidStream stops an input while its handler is in the middle of the
// stream; a new input on the same queue or consumer gets every message
// the first did not acknowledge, and the one in the handler at Stop is
// finished and acknowledged first.
func stopMidStream(t *testing.T, b Broker) {
	tg := b.Target(t, false)
	const n, k = 1000, 250
	entered, release := make(chan struct{}), make(chan struct{})
	first := NewRecorder()
	blocking := func(ctx context.Context, m Message) error {
		if string(m.Data) == strconv.Itoa(k) {
			close(entered)
			<-release
		}
		return first.Handle(ctx, m)
	}
	a := Start(t, tg.Input(t, blocking, time.Second))
	tg.Publish(t, n)
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
	acked, inFlight := len(first.ok), first.ok[k]
	first.mu.Unlock()
	if !inFlight {
		t.Fatalf("message %d, in the handler at Stop, was not finished before Stop returned", k)
	}
	if acked >= n {
		t.Fatalf("the first input handled all %d messages; stop came too late to test anything", n)
	}
	second := NewRecorder()
	bIn := Start(t, tg.Input(t, second.Handle, time.Second))
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
	Eventually(t, 30*time.Second, "every message handled by one of the inputs", covered)
	stop(t, bIn)
	Eventually(t, 10*time.Second, "nothing left unacknowledged", func() bool { return tg.Settled(t) })
	second.mu.Lock()
	defer second.mu.Unlock()
	if second.attempts[k] != 0 {
		t.Errorf("message %d, acknowledged by the first input, came again", k)
	}
	t.Logf("first input acknowledged %d, second handled %d", acked, len(second.ok))
}

// serverDown: Start succeeds with no server, the input is not connected,
// says so once, keeps the password out of the log, and Stop returns at
// once.
func serverDown(t *testing.T, b Broker) {
	var logs SyncBuffer
	in := b.Down(t, func(context.Context, Message) error { return nil }, DebugLogger(&logs))
	if err := in.Start(context.Background()); err != nil {
		t.Fatalf("Start with the server down: %v", err)
	}
	Eventually(t, 10*time.Second, "a log of the failed connection", func() bool { return strings.Contains(logs.String(), "not connected") })
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

// logsHideCredentials runs an input with credentials through connecting,
// a handler failure and its recovery, and stopping: each is logged, no
// secret is.
func logsHideCredentials(t *testing.T, b Broker) {
	tg := b.Target(t, false)
	var logs SyncBuffer
	rec := NewRecorder()
	rec.fail = func(i, attempt int) error {
		if i == 0 && attempt == 1 {
			return errors.New("store unavailable")
		}
		return nil
	}
	in, secrets := tg.WithCredentials(t, rec.Handle, DebugLogger(&logs))
	Start(t, in)
	Eventually(t, 10*time.Second, "connected with credentials", in.Connected)
	tg.Publish(t, 3)
	Eventually(t, 10*time.Second, "all messages handled", func() bool { return rec.Handled() == 3 })
	stop(t, in)
	Eventually(t, 10*time.Second, "nothing left unacknowledged", func() bool { return tg.Settled(t) })
	out := logs.String()
	for _, want := range []string{" connected", "handler failing", "handler recovered", "input stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range secrets {
		if strings.Contains(out, secret) {
			t.Fatalf("a secret (%q) is in the log:\n%s", secret, out)
		}
	}
}

// Recorder keeps what a handler saw, by message number.
type Recorder struct {
	mu       sync.Mutex
	attempts map[int]int
	ok       map[int]bool
	redeliv  map[int][]bool
	msgs     map[int]Message
	order    map[string][]int // per key, messages handled ok in order
	fail     func(i, attempt int) error
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{attempts: map[int]int{}, ok: map[int]bool{}, redeliv: map[int][]bool{}, msgs: map[int]Message{}, order: map[string][]int{}}
}

// Handle records m; messages that are not numbers are acknowledged as a
// quarantined payload would be.
func (r *Recorder) Handle(_ context.Context, m Message) error {
	i, err := strconv.Atoi(string(m.Data))
	if err != nil {
		return nil
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

// Handled counts the messages handled without error.
func (r *Recorder) Handled() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ok)
}

// Eventually polls cond until it holds or d passes.
func Eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
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

// Unique names t's queue, stream or consumer: letters, digits and _.
func Unique(t *testing.T) string {
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

// ClosedPort returns an address nothing listens on.
func ClosedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// SyncBuffer is a log destination safe for concurrent writes.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// DebugLogger logs everything to buf as text.
func DebugLogger(buf *SyncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
