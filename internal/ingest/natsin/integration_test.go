package natsin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
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

// WithCredentials: a user and password in the URL (a server without
// authentication takes any).
func (e *target) WithCredentials(t *testing.T, h brokertest.Handler, log *slog.Logger) (brokertest.Input, []string) {
	c := e.config(h, time.Millisecond)
	c.URL, c.Logger = "nats://crossdock:url-s3cret@"+strings.TrimPrefix(e.url, "nats://"), log
	return newInput(t, c), []string{"url-s3cret"}
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

// Settled: the durable has nothing pending or unacknowledged.
func (e *target) Settled(t *testing.T) bool {
	ci, err := e.js.Consumer(context.Background(), e.stream, "crossdock")
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
			return newInput(t, Config{URL: "nats://crossdock:s3cret-pw@" + brokertest.ClosedPort(t), Stream: "S", Durable: "d", Handler: handler(h), Logger: log})
		},
	})
}

// TestIntegrationLogsHideToken: an input authenticating with a token logs
// its connection and not the token.
func TestIntegrationLogsHideToken(t *testing.T) {
	e := newTarget(t, serverURL(t), false)
	var logs brokertest.SyncBuffer
	c := e.config(func(context.Context, brokertest.Message) error { return nil }, time.Second)
	c.Token, c.Logger = "token-s3cret", brokertest.DebugLogger(&logs)
	in := brokertest.Start(t, newInput(t, c))
	brokertest.Eventually(t, 10*time.Second, "connected with a token", in.Connected)
	if err := in.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "nats connected") {
		t.Errorf("log lacks the connection:\n%s", out)
	}
	if strings.Contains(out, "token-s3cret") {
		t.Fatalf("the token is in the log:\n%s", out)
	}
}
