package natsin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/crossdockhq/crossdock/internal/ingest/brokertest"
)

func serverURL(t *testing.T) string {
	u := os.Getenv("CROSSDOCK_TEST_NATS_URL")
	if u == "" {
		t.Skip("CROSSDOCK_TEST_NATS_URL not set: no NATS server with JetStream (e.g. nats://127.0.0.1:4222)")
	}
	return u
}

// target is a test's own connection, stream and subjects.
type target struct {
	url        string
	js         jetstream.JetStream
	stream     string
	subject    string // prefix; messages go to subject.s0 … subject.s4
	selfCreate bool
}

// newTarget connects the test's own client; unless the input is to create
// the stream itself, it creates it. The stream is deleted when the test
// ends.
func newTarget(t *testing.T, url string, selfCreate bool) *target {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("test client: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	name := brokertest.Unique(t)
	e := &target{url: url, js: js, stream: name, subject: "cdtest." + name, selfCreate: selfCreate}
	if !selfCreate {
		if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: name, Subjects: []string{e.subject + ".>"}}); err != nil {
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

func handler(h brokertest.Handler) Handler {
	return func(ctx context.Context, m Message) error { return h(ctx, brokertest.Message(m)) }
}

func (e *target) config(h brokertest.Handler, retryDelay time.Duration) Config {
	// A short AckWait: messages the server sent just as an input stopped
	// fetching reach no one and come again after it.
	c := Config{URL: e.url, Stream: e.stream, Durable: "crossdock", AckWait: 2 * time.Second, RetryDelay: retryDelay, Handler: handler(h)}
	if e.selfCreate {
		c.CreateStream, c.Subjects = true, []string{e.subject + ".>"}
	}
	return c
}

func (e *target) Input(t *testing.T, h brokertest.Handler, retryDelay time.Duration) brokertest.Input {
	in, err := New(e.config(h, retryDelay))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func (e *target) Key(i int) string  { return fmt.Sprintf("%s.s%d", e.subject, i%5) }
func (e *target) SeqHeader() string { return "X-Seq" }
func (e *target) WantID(i int) string {
	return map[bool]string{true: fmt.Sprintf("m-%d", i), false: e.stream + ":" + strconv.Itoa(i+1)}[i%2 == 0]
}

func (e *target) Publish(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		m := &nats.Msg{Subject: e.Key(i), Data: []byte(strconv.Itoa(i)), Header: nats.Header{}}
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

func (e *target) Settled(t *testing.T) bool { return e.settledFor(t, "crossdock") }

// settledFor reports whether the durable has nothing pending or
// unacknowledged.
func (e *target) settledFor(t *testing.T, durable string) bool {
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

// TestIntegrationContract runs the broker-input contract suite against the
// real NATS server.
func TestIntegrationContract(t *testing.T) {
	url := serverURL(t)
	brokertest.Run(t, brokertest.Broker{
		Target: func(t *testing.T, selfCreate bool) brokertest.Target { return newTarget(t, url, selfCreate) },
		Down: func(t *testing.T, h brokertest.Handler, log *slog.Logger) brokertest.Input {
			in, err := New(Config{URL: "nats://crossdock:s3cret-pw@" + brokertest.ClosedPort(t), Stream: "S", Durable: "d", Handler: handler(h), Logger: log})
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

// TestIntegrationLogsHideCredentials runs an input with a password in the
// URL through connecting, handler failures and stopping, and a second one
// with a token, and checks no secret reaches the log.
func TestIntegrationLogsHideCredentials(t *testing.T) {
	url := serverURL(t)
	e := newTarget(t, url, false)
	var logs brokertest.SyncBuffer
	host := strings.TrimPrefix(url, "nats://")
	failed := false
	var mu sync.Mutex
	in := start(t, Config{
		URL: "nats://crossdock:url-s3cret@" + host, Stream: e.stream, Durable: "d1", RetryDelay: time.Millisecond,
		Logger: brokertest.DebugLogger(&logs),
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
	brokertest.Eventually(t, 10*time.Second, "connected with a password", in.Connected)
	e.Publish(t, 3)
	brokertest.Eventually(t, 10*time.Second, "all handled", func() bool { return e.settledFor(t, "d1") })
	if err := in.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	tok := start(t, Config{URL: url, Token: "token-s3cret", Stream: e.stream, Durable: "d2", Handler: nop, Logger: brokertest.DebugLogger(&logs)})
	brokertest.Eventually(t, 10*time.Second, "connected with a token", tok.Connected)
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
