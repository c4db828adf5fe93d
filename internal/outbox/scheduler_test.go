package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/store/sqlite"
)

var t0 = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func openStore(t *testing.T) (store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "o.db")
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, path
}

func enqueue(t *testing.T, st store.Store, kind, key string, at time.Time) {
	t.Helper()
	tx, err := st.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := tx.EnqueueJobs(context.Background(), []store.JobRecord{{ID: kind + "/" + key, Kind: kind, Key: key, Payload: []byte(`{}`), RunAt: at, CreatedAt: t0, UpdatedAt: t0}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func state(t *testing.T, st store.Store, kind, key string) store.JobRecord {
	t.Helper()
	j, err := st.Job(context.Background(), kind, key)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestOutcomes(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	c := &clock{now: t0}
	s := outbox.New(st, outbox.Options{Node: "n1", Clock: c, MaxAttempts: 3, BackoffMin: time.Second, BackoffMax: 10 * time.Second})
	var callsMu sync.Mutex
	calls := map[string]int{}
	s.Handle("t", func(_ context.Context, j store.JobRecord) error {
		callsMu.Lock()
		calls[j.Key]++
		callsMu.Unlock()
		switch j.Key {
		case "ok", "later":
			return nil
		case "bad":
			return outbox.Permanent(errors.New("400 bad request"))
		case "busy":
			return outbox.RetryAfter(time.Minute, errors.New("429"))
		case "paused":
			return outbox.Defer(time.Minute, errors.New("connector paused"))
		case "settled":
			return outbox.ErrSettled
		case "panics":
			panic("boom")
		}
		return errors.New("connection refused")
	})
	for _, k := range []string{"ok", "bad", "busy", "flaky", "panics", "paused", "settled"} {
		enqueue(t, st, "t", k, t0)
	}
	enqueue(t, st, "t", "later", t0.Add(time.Hour))
	enqueue(t, st, "other", "x", t0)
	ctx := context.Background()
	if n, err := s.RunOnce(ctx); err != nil || n != 7 {
		t.Fatalf("first pass: %d %v", n, err)
	}
	for key, want := range map[string]string{"ok": store.JobDone, "bad": store.JobDead, "busy": store.JobPending, "flaky": store.JobPending, "panics": store.JobPending, "later": store.JobPending} {
		if j := state(t, st, "t", key); j.State != want {
			t.Errorf("%s: %s, want %s (%s)", key, j.State, want, j.LastError)
		}
	}
	if j := state(t, st, "t", "busy"); !j.RunAt.Equal(t0.Add(time.Minute)) || j.Attempts != 1 {
		t.Fatalf("RetryAfter honoured: %+v", j)
	}
	if j := state(t, st, "t", "settled"); j.State != store.JobRunning {
		t.Fatalf("a job its handler settled is left as the handler left it: %+v", j)
	}
	if j := state(t, st, "t", "paused"); !j.RunAt.Equal(t0.Add(time.Minute)) || j.Attempts != 0 || j.State != store.JobPending {
		t.Fatalf("Defer does not count the attempt: %+v", j)
	}
	if j := state(t, st, "t", "flaky"); j.RunAt.Before(t0.Add(800*time.Millisecond)) || j.RunAt.After(t0.Add(1200*time.Millisecond)) {
		t.Fatalf("first backoff ~1s: %v", j.RunAt.Sub(t0))
	}
	if j := state(t, st, "t", "panics"); j.LastError != "handler panic: boom" {
		t.Fatalf("panic recorded: %+v", j)
	}
	if j := state(t, st, "other", "x"); j.State != store.JobPending {
		t.Fatal("kinds without a handler are left alone")
	}
	// The failing job backs off (2s ±20 % next) and dies after MaxAttempts.
	for range 2 {
		c.add(5 * time.Second)
		if _, err := s.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	callsMu.Lock()
	flaky := calls["flaky"]
	callsMu.Unlock()
	if j := state(t, st, "t", "flaky"); j.State != store.JobDead || j.Attempts != 3 || flaky != 3 {
		t.Fatalf("after 3 attempts: %+v (%d calls)", j, flaky)
	}
	c.add(time.Hour)
	if _, err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if j := state(t, st, "t", "later"); j.State != store.JobDone {
		t.Fatalf("later job once due: %+v", j)
	}
}

// A node that claims and dies: its jobs run elsewhere after the lease, and
// after a restart jobs still pending run.
func TestTakeOverAndRestart(t *testing.T) {
	t.Parallel()
	st, path := openStore(t)
	c := &clock{now: t0}
	enqueue(t, st, "t", "a", t0)
	if _, err := st.ClaimJobs(context.Background(), []string{"t"}, t0, 30*time.Second, "dead-node", 10); err != nil {
		t.Fatal(err)
	}
	var ran atomic.Int32
	s := outbox.New(st, outbox.Options{Node: "n2", Clock: c, Lease: 30 * time.Second})
	s.Handle("t", func(context.Context, store.JobRecord) error { ran.Add(1); return nil })
	if n, _ := s.RunOnce(context.Background()); n != 0 {
		t.Fatal("leased elsewhere")
	}
	c.add(31 * time.Second)
	if n, _ := s.RunOnce(context.Background()); n != 1 || ran.Load() != 1 || state(t, st, "t", "a").State != store.JobDone {
		t.Fatalf("take-over: %d runs", ran.Load())
	}
	enqueue(t, st, "t", "b", t0)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st2, err := sqlite.Open(context.Background(), sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	s2 := outbox.New(st2, outbox.Options{Node: "n3", Clock: c})
	s2.Handle("t", func(context.Context, store.JobRecord) error { ran.Add(1); return nil })
	if n, err := s2.RunOnce(context.Background()); n != 1 || err != nil || ran.Load() != 2 {
		t.Fatalf("after restart: %d %v", n, err)
	}
}

func TestRunStopsAndWakes(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	c := &clock{now: t0}
	done := make(chan string, 1)
	s := outbox.New(st, outbox.Options{Clock: c, PollInterval: time.Hour})
	s.Handle("t", func(_ context.Context, j store.JobRecord) error { done <- j.Key; return nil })
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { s.Run(ctx); close(stopped) }()
	enqueue(t, st, "t", "woken", t0)
	s.Wake()
	select {
	case k := <-done:
		if k != "woken" {
			t.Fatal(k)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wake did not run the due job")
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}

// Run claims again as soon as workers free up, not at the next poll: a
// backlog far larger than the workers drains with one wake.
func TestRunDrainsWithoutPolling(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	c := &clock{now: t0}
	for i := range 200 {
		enqueue(t, st, "t", fmt.Sprintf("k%03d", i), t0)
	}
	var ran atomic.Int32
	all := make(chan struct{})
	s := outbox.New(st, outbox.Options{Clock: c, PollInterval: time.Hour, Workers: 8, Batch: 8})
	s.Handle("t", func(context.Context, store.JobRecord) error {
		time.Sleep(time.Millisecond) // the job's work: jobs finish one by one
		if ran.Add(1) == 200 {
			close(all)
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { s.Run(ctx); close(stopped) }()
	s.Wake()
	select {
	case <-all:
	case <-time.After(20 * time.Second):
		t.Fatalf("%d of 200 jobs ran: Run waited for the poll instead of claiming as workers freed up", ran.Load())
	}
	cancel()
	<-stopped
	if js, err := st.Jobs(context.Background(), store.JobFilter{Kind: "t", States: []string{store.JobDone}, Limit: 1000}); err != nil || len(js) != 200 {
		t.Fatalf("settled done: %d (%v)", len(js), err)
	}
}
