package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/store/postgres"
	"github.com/crossdockhq/crossdock/internal/store/postgres/pgtest"
)

// openNode opens one hub node's store on the PostgreSQL schema u.
func openNode(t *testing.T, u string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), postgres.Options{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// Several nodes share one database: a crashed node's job is taken over by
// another after its lease, jobs survive a restart, and nodes running at
// once never run a job twice.
func TestIntegrationPostgresNodes(t *testing.T) {
	const skipWhat = "scheduler on PostgreSQL"
	if os.Getenv(pgtest.EnvURL) == "" {
		t.Skip(pgtest.EnvURL + " not set: " + skipWhat + " skipped")
	}
	t.Run("TakeOverAndRestart", func(t *testing.T) {
		t.Parallel()
		u := pgtest.FreshSchema(t, skipWhat)
		a, b := openNode(t, u), openNode(t, u)
		c := &clock{now: t0}
		enqueue(t, a, "t", "a", t0)
		if js, err := a.ClaimJobs(context.Background(), []string{"t"}, t0, 30*time.Second, "node-a", 10); err != nil || len(js) != 1 {
			t.Fatalf("node a claims and dies: %v %v", js, err)
		}
		var ran atomic.Int32
		s := outbox.New(b, outbox.Options{Node: "node-b", Clock: c, Lease: 30 * time.Second})
		s.Handle("t", func(context.Context, store.JobRecord) error { ran.Add(1); return nil })
		if n, err := s.RunOnce(context.Background()); n != 0 || err != nil {
			t.Fatalf("leased by node a: %d %v", n, err)
		}
		c.add(31 * time.Second)
		if n, err := s.RunOnce(context.Background()); n != 1 || err != nil || ran.Load() != 1 {
			t.Fatalf("take-over: %d %v, %d runs", n, err, ran.Load())
		}
		if j := state(t, b, "t", "a"); j.State != store.JobDone || j.Attempts != 2 || j.LeasedBy != "node-b" {
			t.Fatalf("taken over and done: %+v", j)
		}
		if err := a.CompleteJob(context.Background(), "t/a", "node-a", c.Now()); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("node a settling a job it lost: %v", err)
		}

		enqueue(t, b, "t", "b", t0)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		s2 := outbox.New(openNode(t, u), outbox.Options{Node: "node-c", Clock: c})
		s2.Handle("t", func(context.Context, store.JobRecord) error { ran.Add(1); return nil })
		if n, err := s2.RunOnce(context.Background()); n != 1 || err != nil || ran.Load() != 2 {
			t.Fatalf("after restart: %d %v, %d runs", n, err, ran.Load())
		}
	})
	t.Run("NodesRunEachJobOnce", func(t *testing.T) {
		t.Parallel()
		u := pgtest.FreshSchema(t, skipWhat)
		const jobs = 120
		first := openNode(t, u)
		for i := range jobs {
			enqueue(t, first, "t", fmt.Sprint(i), t0)
		}
		var mu sync.Mutex
		runs := map[string]int{}
		var wg sync.WaitGroup
		for n := range 4 {
			st := openNode(t, u)
			s := outbox.New(st, outbox.Options{Node: fmt.Sprintf("node-%d", n), Clock: &clock{now: t0}, Batch: 7})
			s.Handle("t", func(_ context.Context, j store.JobRecord) error {
				mu.Lock()
				runs[j.Key]++
				mu.Unlock()
				return nil
			})
			wg.Go(func() {
				for {
					n, err := s.RunOnce(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					if n == 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		if len(runs) != jobs {
			t.Fatalf("%d of %d jobs ran", len(runs), jobs)
		}
		for k, n := range runs {
			if n != 1 {
				t.Errorf("job %s ran %d times", k, n)
			}
		}
	})
}
