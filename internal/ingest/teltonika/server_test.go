package teltonika

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/ingest"
)

// testSink records the calls it gets. fail makes Positions fail; gate, when
// set, makes Positions announce itself on entered and wait until gate is
// closed (or the context ends).
type testSink struct {
	mu          sync.Mutex
	calls       [][]ingest.Position
	quarantined []quarantined
	fail        error
	gate        chan struct{}
	entered     chan struct{}
}

type quarantined struct {
	input, contentType, reason string
	raw                        []byte
}

func (s *testSink) Positions(ctx context.Context, input string, ps []ingest.Position) ([]ingest.Result, error) {
	if input != Input {
		return nil, fmt.Errorf("input %q", input)
	}
	if s.gate != nil {
		s.entered <- struct{}{}
		select {
		case <-s.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	s.calls = append(s.calls, ps)
	res := make([]ingest.Result, len(ps))
	for i := range res {
		res[i].Status = ingest.Accepted
	}
	return res, nil
}

func (s *testSink) Quarantine(_ context.Context, input, contentType string, raw []byte, reason string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quarantined = append(s.quarantined, quarantined{input, contentType, reason, raw})
	return fmt.Sprintf("q%d", len(s.quarantined)), nil
}

func (s *testSink) positions() [][]ingest.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]ingest.Position(nil), s.calls...)
}

func (s *testSink) quarantine() []quarantined {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]quarantined(nil), s.quarantined...)
}

// startServer serves on 127.0.0.1:0 and shuts down at the end of the test,
// checking that Serve returned nil.
func startServer(t *testing.T, cfg Config, sink ingest.Sink) (*Server, string) {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg, sink, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, ln.Addr().String()
}

// dial connects with a deadline that fails a hung test instead of blocking.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return c
}

// loggedIn dials and logs in as imei.
func loggedIn(t *testing.T, addr, imei string) net.Conn {
	t.Helper()
	c := dial(t, addr)
	send(t, c, login(imei))
	if b := readN(t, c, 1); b[0] != 0x01 {
		t.Fatalf("login answer 0x%02x, want 0x01", b[0])
	}
	return c
}

func send(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

func readAck(t *testing.T, c net.Conn) int {
	t.Helper()
	return int(binary.BigEndian.Uint32(readN(t, c, 4)))
}

// expectClosed waits (within the dial deadline) for the server to close c
// without sending anything.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	var b [1]byte
	n, err := c.Read(b[:])
	var ne net.Error
	switch {
	case n > 0:
		t.Fatalf("got byte 0x%02x, want the connection closed", b[0])
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatal("connection still open")
	case err == nil:
		t.Fatal("read returned nothing and no error")
	}
}

// eventually polls cond until it holds or 5 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	timeout := time.After(5 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// vectorFrame returns the packet vector from source.
func vectorFrame(t *testing.T, source string) []byte {
	t.Helper()
	for _, v := range vectorsOf(t, "packet") {
		if v.source == source {
			return v.frame
		}
	}
	t.Fatalf("no vector %s", source)
	return nil
}

const (
	oneRecord   = "01_traccar_gps_protocols.txt:43-44"
	fourRecords = "01_traccar_gps_protocols.txt:82-83"
)

func TestNewConfig(t *testing.T) {
	sink := &testSink{}
	s, err := New(Config{Addr: ":5027"}, sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.IdleTimeout != DefaultIdleTimeout || s.cfg.MaxFrame != DefaultMaxFrame || s.cfg.MaxConns != DefaultMaxConns {
		t.Errorf("defaults not applied: %+v", s.cfg)
	}
	bad := []struct {
		name string
		cfg  Config
		sink ingest.Sink
	}{
		{"no addr", Config{}, sink},
		{"bad addr", Config{Addr: "5027"}, sink},
		{"no sink", Config{Addr: ":5027"}, nil},
		{"negative idle", Config{Addr: ":5027", IdleTimeout: -1}, sink},
		{"negative frame", Config{Addr: ":5027", MaxFrame: -1}, sink},
		{"negative conns", Config{Addr: ":5027", MaxConns: -1}, sink},
	}
	for _, tt := range bad {
		if _, err := New(tt.cfg, tt.sink, nil); err == nil || !strings.HasPrefix(err.Error(), "teltonika: ") {
			t.Errorf("%s: err %v", tt.name, err)
		}
	}
}

func TestServerAcks(t *testing.T) {
	noFix := frameOf(data(Codec8, 2, 2, concat(avlRecord(Codec8, record{ms: 1}), avlRecord(Codec8, record{ms: 2}))))
	tests := []struct {
		name      string
		frames    [][]byte
		acks      []int
		positions []int // positions per sink call
	}{
		{"one record", [][]byte{vectorFrame(t, oneRecord)}, []int{1}, []int{1}},
		{"several records", [][]byte{vectorFrame(t, fourRecords)}, []int{4}, []int{4}},
		{"several packets", [][]byte{vectorFrame(t, oneRecord), vectorFrame(t, fourRecords)}, []int{1, 4}, []int{1, 4}},
		{"no fix acked, not committed", [][]byte{noFix}, []int{2}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &testSink{}
			_, addr := startServer(t, Config{}, sink)
			c := loggedIn(t, addr, "352093081452251")
			for i, f := range tt.frames {
				send(t, c, f)
				if got := readAck(t, c); got != tt.acks[i] {
					t.Errorf("packet %d: ack %d, want %d", i, got, tt.acks[i])
				}
			}
			calls := sink.positions()
			if len(calls) != len(tt.positions) {
				t.Fatalf("%d sink calls, want %d", len(calls), len(tt.positions))
			}
			for i, ps := range calls {
				if len(ps) != tt.positions[i] {
					t.Errorf("call %d: %d positions, want %d", i, len(ps), tt.positions[i])
				}
				for _, p := range ps {
					if p.DeviceID != "352093081452251" || !bytes.Equal(p.Raw, tt.frames[i]) {
						t.Errorf("call %d: device %q, raw %d bytes", i, p.DeviceID, len(p.Raw))
					}
				}
			}
			if q := sink.quarantine(); len(q) != 0 {
				t.Errorf("quarantined %+v", q)
			}
		})
	}
}

func TestServerAcksOnlyAfterCommit(t *testing.T) {
	sink := &testSink{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	_, addr := startServer(t, Config{}, sink)
	c := loggedIn(t, addr, "1")
	send(t, c, vectorFrame(t, fourRecords))
	<-sink.entered

	if err := c.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	var ne net.Error
	if n, err := c.Read(b[:]); n != 0 || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read %d bytes (%v) before the sink returned", n, err)
	}

	close(sink.gate)
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := readAck(t, c); got != 4 {
		t.Fatalf("ack %d, want 4", got)
	}
	if len(sink.positions()) != 1 {
		t.Fatal("positions not committed")
	}
}

func TestServerSinkErrorClosesWithoutAck(t *testing.T) {
	sink := &testSink{fail: errors.New("storage down")}
	_, addr := startServer(t, Config{}, sink)
	c := loggedIn(t, addr, "1")
	send(t, c, vectorFrame(t, oneRecord))
	expectClosed(t, c)
	if q := sink.quarantine(); len(q) != 0 {
		t.Errorf("quarantined %+v", q)
	}
}

func TestServerRejectsFrames(t *testing.T) {
	good := vectorFrame(t, oneRecord)
	big := vectorFrame(t, fourRecords)
	unknownCodec := frameOf(data(0x0C, 1, 1, []byte{1, 2, 3}))
	tests := []struct {
		name   string
		cfg    Config
		send   []byte
		raw    []byte // quarantined bytes
		reason string // quarantine reason prefix
	}{
		{"bad crc", Config{}, patch(good, len(good)-1, 0), patch(good, len(good)-1, 0), "crc: got 0x5400, want 0x5455"},
		{"n1 != n2", Config{}, frameOf(data(Codec8, 1, 2, avlRecord(Codec8, record{ms: 1, lat: 1}))), nil, "count: n1 1, n2 2"},
		{"unknown codec", Config{}, unknownCodec, nil, "codec: unknown 0x0c"},
		{"preamble", Config{}, patch(good, 0, 1), patch(good, 0, 1)[:8], "preamble: got 0x01000000, want 0"},
		{"over max frame", Config{MaxFrame: 118}, big, big[:8], "length: data length 159 over limit 118"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &testSink{}
			_, addr := startServer(t, tt.cfg, sink)
			bad := loggedIn(t, addr, "111")
			other := loggedIn(t, addr, "222")

			send(t, bad, tt.send)
			expectClosed(t, bad)
			q := sink.quarantine()
			if len(q) != 1 {
				t.Fatalf("quarantined %d, want 1", len(q))
			}
			raw := tt.raw
			if raw == nil {
				raw = tt.send
			}
			if q[0].input != Input || q[0].contentType != "application/octet-stream" || q[0].reason != tt.reason || !bytes.Equal(q[0].raw, raw) {
				t.Errorf("quarantined %q %q %q %x, want reason %q raw %x", q[0].input, q[0].contentType, q[0].reason, q[0].raw, tt.reason, raw)
			}

			send(t, other, good)
			if got := readAck(t, other); got != 1 {
				t.Fatalf("other connection: ack %d, want 1", got)
			}
		})
	}
}

func TestServerLogin(t *testing.T) {
	tests := []struct {
		name   string
		send   []byte
		answer []byte
		reason string
	}{
		{"letters", login("35630704244101A"), []byte{0}, "imei: not numeric"},
		{"empty", []byte{0, 0}, []byte{0}, "imei: empty"},
		{"oversized", []byte{0x01, 0x00, '1', '2'}, []byte{0}, "imei: length 256 over 20"},
		{"packet without login", vectorFrame(t, oneRecord), []byte{0}, "imei: empty"},
		{"truncated", login("123456")[:5], nil, "truncated: login has 5 of 8 bytes (closed by device)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &testSink{}
			_, addr := startServer(t, Config{}, sink)
			c := dial(t, addr)
			send(t, c, tt.send)
			if tt.answer == nil {
				if err := c.(*net.TCPConn).CloseWrite(); err != nil {
					t.Fatal(err)
				}
			} else if got := readN(t, c, len(tt.answer)); !bytes.Equal(got, tt.answer) {
				t.Fatalf("answer %x, want %x", got, tt.answer)
			}
			expectClosed(t, c)
			q := sink.quarantine()
			if len(q) != 1 || q[0].reason != tt.reason {
				t.Fatalf("quarantined %+v, want reason %q", q, tt.reason)
			}
		})
	}
}

func TestServerTruncatedFrame(t *testing.T) {
	sink := &testSink{}
	_, addr := startServer(t, Config{}, sink)
	c := loggedIn(t, addr, "1")
	frame := vectorFrame(t, oneRecord)
	send(t, c, frame[:50])
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, c)
	q := sink.quarantine()
	if len(q) != 1 || q[0].reason != "truncated: frame has 50 of 130 bytes (closed by device)" || !bytes.Equal(q[0].raw, frame[:50]) {
		t.Fatalf("quarantined %+v", q)
	}
	if len(sink.positions()) != 0 {
		t.Error("positions committed from a truncated frame")
	}
}

func TestServerIdleTimeout(t *testing.T) {
	sink := &testSink{}
	s, addr := startServer(t, Config{IdleTimeout: 50 * time.Millisecond}, sink)

	silent := dial(t, addr)
	expectClosed(t, silent)

	c := loggedIn(t, addr, "1")
	expectClosed(t, c)

	partial := loggedIn(t, addr, "2")
	send(t, partial, vectorFrame(t, oneRecord)[:20])
	expectClosed(t, partial)
	q := sink.quarantine()
	if len(q) != 1 || q[0].reason != "truncated: frame has 20 of 130 bytes (idle timeout)" {
		t.Fatalf("quarantined %+v", q)
	}
	eventually(t, "connections closed", func() bool { return s.Connections() == 0 })
}

func TestServerMaxConns(t *testing.T) {
	_, addr := startServer(t, Config{MaxConns: 2}, &testSink{})
	a := loggedIn(t, addr, "1")
	loggedIn(t, addr, "2")
	expectClosed(t, dial(t, addr))

	a.Close()
	eventually(t, "a free slot", func() bool {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(login("3")); err != nil {
			return false
		}
		var b [1]byte
		_, err = c.Read(b[:])
		return err == nil && b[0] == 1
	})
}

func TestServerShutdown(t *testing.T) {
	sink := &testSink{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	s, err := New(Config{Addr: "127.0.0.1:0"}, sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	addr := ln.Addr().String()

	idle := []net.Conn{dial(t, addr), loggedIn(t, addr, "1"), loggedIn(t, addr, "2")}
	busy := loggedIn(t, addr, "3")
	send(t, busy, vectorFrame(t, oneRecord))
	<-sink.entered
	if got := s.Connections(); got != 4 {
		t.Fatalf("connections %d, want 4", got)
	}

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	for _, c := range idle {
		expectClosed(t, c)
	}
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	close(sink.gate)
	if got := readAck(t, busy); got != 1 {
		t.Fatalf("in-flight frame: ack %d, want 1", got)
	}
	expectClosed(t, busy)
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if got := s.Connections(); got != 0 {
		t.Fatalf("connections %d after shutdown", got)
	}
	if err := s.Serve(ln); err != nil {
		t.Fatalf("serve after shutdown: %v", err)
	}
}

func TestServerShutdownDeadline(t *testing.T) {
	sink := &testSink{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	s, err := New(Config{Addr: "127.0.0.1:0"}, sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	c := loggedIn(t, ln.Addr().String(), "1")
	send(t, c, vectorFrame(t, oneRecord))
	<-sink.entered

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown: %v, want deadline exceeded", err)
	}
	expectClosed(t, c)
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	eventually(t, "connections closed", func() bool { return s.Connections() == 0 })
}

func TestServerManyConnections(t *testing.T) {
	const n = 200
	sink := &testSink{}
	s, addr := startServer(t, Config{}, sink)
	frame := vectorFrame(t, fourRecords)

	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = loggedIn(t, addr, fmt.Sprint(350000000000000+i))
	}
	if got := s.Connections(); got != n {
		t.Fatalf("connections %d, want %d", got, n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, c := range conns {
		wg.Go(func() {
			if _, err := c.Write(frame); err != nil {
				errs <- err
				return
			}
			var ack [4]byte
			if _, err := io.ReadFull(c, ack[:]); err != nil {
				errs <- err
				return
			}
			if got := binary.BigEndian.Uint32(ack[:]); got != 4 {
				errs <- fmt.Errorf("ack %d, want 4", got)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	calls := sink.positions()
	devices := map[string]bool{}
	for _, ps := range calls {
		devices[ps[0].DeviceID] = true
	}
	if len(calls) != n || len(devices) != n {
		t.Fatalf("%d sink calls from %d devices, want %d", len(calls), len(devices), n)
	}
}
