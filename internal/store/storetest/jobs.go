package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

func job(kind, key string, runAt time.Duration) store.JobRecord {
	return store.JobRecord{ID: kind + "/" + key, Kind: kind, Key: key, Payload: []byte(`{"shipment_id":"` + key + `"}`),
		RunAt: t0.Add(runAt), CorrelationID: "corr", CreatedAt: t0, UpdatedAt: t0}
}

func enqueue(t *testing.T, st store.Store, jobs ...store.JobRecord) {
	t.Helper()
	write(t, st, func(ctx context.Context, tx store.Tx) error { return tx.EnqueueJobs(ctx, jobs) })
}

func claimIDs(t *testing.T, st store.Store, now time.Duration, node string, kinds ...string) []string {
	t.Helper()
	js, err := st.ClaimJobs(context.Background(), kinds, t0.Add(now), time.Minute, node, 10)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, j := range js {
		if j.State != store.JobRunning || j.LeasedBy != node || !j.LeaseUntil.Equal(t0.Add(now+time.Minute)) {
			t.Fatalf("claimed %+v", j)
		}
		ids = append(ids, fmt.Sprintf("%s@%d", j.ID, j.Attempts))
	}
	return ids
}

func testJobs(t *testing.T, open Opener) {
	st, reopen := open(t)
	ctx := context.Background()
	enqueue(t, st, job("timer.rate", "SHP-1", time.Hour), job("timer.rate", "SHP-2", 2*time.Hour), job("deliver", "x", 0))
	if got := claimIDs(t, st, 30*time.Minute, "a", "timer.rate"); len(got) != 0 {
		t.Fatalf("nothing due yet: %v", got)
	}
	// Rescheduling a pending job moves it; it is still one job.
	enqueue(t, st, job("timer.rate", "SHP-2", 10*time.Minute))
	if got := fmt.Sprint(claimIDs(t, st, 61*time.Minute, "a", "timer.rate")); got != "[timer.rate/SHP-2@1 timer.rate/SHP-1@1]" {
		t.Fatalf("due, oldest run_at first: %s", got)
	}
	if err := st.CompleteJob(ctx, "timer.rate/SHP-2", "b", t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("another node settling: %v", err)
	}
	if err := st.CompleteJob(ctx, "timer.rate/SHP-2", "a", t0.Add(62*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.RetryJob(ctx, "timer.rate/SHP-1", "a", t0.Add(3*time.Hour), "erp down", t0.Add(62*time.Minute)); err != nil {
		t.Fatal(err)
	}
	j, err := st.Job(ctx, "timer.rate", "SHP-1")
	if err != nil || j.State != store.JobPending || j.LastError != "erp down" || !j.RunAt.Equal(t0.Add(3*time.Hour)) || j.Attempts != 1 {
		t.Fatalf("retried: %+v %v", j, err)
	}
	// Cancelled pending jobs are done; a done job enqueued again starts over.
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.CancelJobs(ctx, "timer.rate", []string{"SHP-1", "SHP-9"}, t0.Add(63*time.Minute))
	})
	if j, _ := st.Job(ctx, "timer.rate", "SHP-1"); j.State != store.JobDone || j.LastError != "cancelled" || !j.UpdatedAt.Equal(t0.Add(63*time.Minute)) {
		t.Fatalf("cancelled: %+v", j)
	}
	enqueue(t, st, job("timer.rate", "SHP-1", 4*time.Hour))
	if j, _ := st.Job(ctx, "timer.rate", "SHP-1"); j.State != store.JobPending || j.Attempts != 0 {
		t.Fatalf("enqueued again: %+v", j)
	}
	if _, err := st.Job(ctx, "timer.rate", "SHP-9"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent: %v", err)
	}

	// A node that dies holding a lease: after it expires another takes over.
	if got := fmt.Sprint(claimIDs(t, st, 4*time.Hour, "a", "timer.rate", "deliver")); got != "[deliver/x@1 timer.rate/SHP-1@1]" {
		t.Fatalf("claim: %s", got)
	}
	if got := claimIDs(t, st, 4*time.Hour+30*time.Second, "b", "timer.rate", "deliver"); len(got) != 0 {
		t.Fatalf("leased jobs are not claimable: %v", got)
	}
	if got := fmt.Sprint(claimIDs(t, st, 4*time.Hour+2*time.Minute, "b", "deliver")); got != "[deliver/x@2]" {
		t.Fatalf("take-over: %s", got)
	}
	if err := st.KillJob(ctx, "deliver/x", "a", "too late", t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the old node lost the lease: %v", err)
	}
	if err := st.KillJob(ctx, "deliver/x", "b", "400 bad request", t0.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	st = reopen()
	if j, err := st.Job(ctx, "deliver", "x"); err != nil || j.State != store.JobDead || j.LastError != "400 bad request" || j.Attempts != 2 {
		t.Fatalf("after reopen: %+v %v", j, err)
	}
}

// Nodes claiming at once never get the same job.
func testJobsClaimedOnce(t *testing.T, open Opener) {
	st, _ := open(t)
	var jobs []store.JobRecord
	for i := range 200 {
		jobs = append(jobs, job("deliver", fmt.Sprint(i), 0))
	}
	enqueue(t, st, jobs...)
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for n := range 6 {
		node := fmt.Sprintf("node-%d", n)
		wg.Go(func() {
			for {
				js, err := st.ClaimJobs(context.Background(), []string{"deliver"}, t0, time.Hour, node, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(js) == 0 {
					return
				}
				mu.Lock()
				for _, j := range js {
					if other, ok := seen[j.ID]; ok {
						t.Errorf("%s claimed by %s and %s", j.ID, other, node)
					}
					seen[j.ID] = node
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 200 {
		t.Fatalf("%d of 200 claimed", len(seen))
	}
}

// A job waits while an earlier job of its group is pending or running; a
// dead one does not hold the group up.
func testJobsFIFO(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	g := func(key string, created, runAt time.Duration) store.JobRecord {
		j := job("deliver", key, runAt)
		j.Group, j.CreatedAt = "erp|SHP-1", t0.Add(created)
		return j
	}
	other := job("deliver", "other", 0)
	other.Group = "erp|SHP-2"
	enqueue(t, st, g("1", 0, time.Hour), g("2", time.Second, 0), g("3", 2*time.Second, 0), other)
	if got := fmt.Sprint(claimIDs(t, st, time.Minute, "a", "deliver")); got != "[deliver/other@1]" {
		t.Fatalf("job 1 not due: its group waits: %s", got)
	}
	if err := st.CompleteJob(ctx, "deliver/other", "a", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(claimIDs(t, st, time.Hour, "a", "deliver")); got != "[deliver/1@1]" {
		t.Fatalf("job 1 due: %s", got)
	}
	if got := claimIDs(t, st, time.Hour+time.Second, "b", "deliver"); len(got) != 0 {
		t.Fatalf("while job 1 runs: %v", got)
	}
	if err := st.KillJob(ctx, "deliver/1", "a", "400", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(claimIDs(t, st, time.Hour+2*time.Second, "b", "deliver")); got != "[deliver/2@1]" {
		t.Fatalf("after job 1 died, job 2 (job 3 waits for it): %s", got)
	}
	// Job 1 retried by a person while job 2 runs: it is the oldest open
	// job again, so it runs, and job 3 waits for both.
	if err := st.ResetJob(ctx, "deliver/1", t0.Add(time.Hour+3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(claimIDs(t, st, time.Hour+4*time.Second, "c", "deliver")); got != "[deliver/1@1]" {
		t.Fatalf("the reset job 1 runs (job 3 waits): %s", got)
	}
	for _, id := range []string{"deliver/2", "deliver/1"} {
		if got := claimIDs(t, st, time.Hour+5*time.Second, "c", "deliver"); len(got) != 0 {
			t.Fatalf("job 3 claimed while an earlier job is open: %v", got)
		}
		node := map[string]string{"deliver/2": "b", "deliver/1": "c"}[id]
		if err := st.CompleteJob(ctx, id, node, t0.Add(time.Hour+5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(claimIDs(t, st, time.Hour+6*time.Second, "d", "deliver")); got != "[deliver/3@1]" {
		t.Fatalf("job 3 once 1 and 2 are done: %s", got)
	}
	// A job enqueued behind an open one waits; a cancelled head lets the
	// next one run.
	h1, h2 := g("4", 10*time.Second, 0), g("5", 11*time.Second, 0)
	h1.Group, h2.Group = "erp|SHP-3", "erp|SHP-3"
	h1.Kind, h2.Kind, h1.ID, h2.ID = "timer", "timer", "timer/4", "timer/5"
	enqueue(t, st, h1, h2)
	write(t, st, func(ctx context.Context, tx store.Tx) error { return tx.CancelJobs(ctx, "timer", []string{"4"}, t0) })
	if got := fmt.Sprint(claimIDs(t, st, time.Hour+7*time.Second, "d", "timer")); got != "[timer/5@1]" {
		t.Fatalf("after the head was cancelled: %s", got)
	}
}

func testJobsListAndReset(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	enqueue(t, st, job("deliver", "erp|a", 0), job("deliver", "erp|b", 0), job("deliver", "portal|c", 0), job("timer.rate", "x", 0))
	claimIDs(t, st, 0, "n", "deliver")
	if err := st.KillJob(ctx, "deliver/erp|a", "n", "400", t0); err != nil {
		t.Fatal(err)
	}
	if err := st.CompleteJob(ctx, "deliver/erp|b", "n", t0); err != nil {
		t.Fatal(err)
	}
	list := func(f store.JobFilter) string {
		t.Helper()
		js, err := st.Jobs(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, j := range js {
			ids = append(ids, j.ID)
		}
		return fmt.Sprint(ids)
	}
	for _, c := range []struct {
		f    store.JobFilter
		want string
	}{
		{store.JobFilter{Kind: "deliver"}, "[deliver/portal|c deliver/erp|b deliver/erp|a]"},
		{store.JobFilter{Kind: "deliver", States: []string{store.JobDead}}, "[deliver/erp|a]"},
		{store.JobFilter{Kind: "deliver", KeyPrefix: "erp|"}, "[deliver/erp|b deliver/erp|a]"},
		{store.JobFilter{Kind: "deliver", Before: "deliver/erp|b", Limit: 5}, "[deliver/erp|a]"},
		{store.JobFilter{Kind: "deliver", UpdatedSince: t0}, "[deliver/portal|c deliver/erp|b deliver/erp|a]"},
		{store.JobFilter{Kind: "deliver", UpdatedSince: t0.Add(time.Nanosecond)}, "[]"},
	} {
		if got := list(c.f); got != c.want {
			t.Errorf("%+v: %s, want %s", c.f, got, c.want)
		}
	}
	if err := st.ResetJob(ctx, "deliver/erp|b", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("only dead jobs reset: %v", err)
	}
	if err := st.ResetJob(ctx, "deliver/erp|a", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	j, err := st.JobByID(ctx, "deliver/erp|a")
	if err != nil || j.State != store.JobPending || j.Attempts != 0 || !j.RunAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("reset: %+v %v", j, err)
	}
	if _, err := st.JobByID(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent: %v", err)
	}
}

func testJobStatsAndDefer(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	a, b := job("deliver", "erp|a", 0), job("deliver", "erp|b", 0)
	b.CreatedAt = t0.Add(time.Minute)
	enqueue(t, st, a, b, job("deliver", "portal|c", 0))
	claimIDs(t, st, 0, "n", "deliver")
	if err := st.DeferJob(ctx, "deliver/erp|a", "n", t0.Add(time.Hour), "circuit open", t0); err != nil {
		t.Fatal(err)
	}
	if j, _ := st.JobByID(ctx, "deliver/erp|a"); j.Attempts != 0 || j.State != store.JobPending || !j.RunAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("deferred without counting the attempt: %+v", j)
	}
	if err := st.KillJob(ctx, "deliver/erp|b", "n", "400 bad request", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := st.JobStats(ctx, "deliver", "erp|")
	if err != nil {
		t.Fatal(err)
	}
	want := store.JobStats{Pending: 1, OldestPending: t0, Dead: 1, LastError: "400 bad request"}
	if got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
	if got, _ := st.JobStats(ctx, "deliver", "none|"); got != (store.JobStats{}) {
		t.Fatalf("empty stats %+v", got)
	}
}

func testFinishJobInTx(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	enqueue(t, st, job("deliver", "a", 0), job("deliver", "b", 0))
	claimIDs(t, st, 0, "n", "deliver")
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		if err := tx.FinishJob(ctx, "deliver/a", "n", store.JobDone, "", t0); err != nil {
			return err
		}
		return tx.FinishJob(ctx, "deliver/b", "other-node", store.JobDead, "x", t0) // not its lease: left alone
	})
	if j, _ := st.JobByID(ctx, "deliver/a"); j.State != store.JobDone {
		t.Fatalf("finished: %+v", j)
	}
	if j, _ := st.JobByID(ctx, "deliver/b"); j.State != store.JobRunning {
		t.Fatalf("another node's job: %+v", j)
	}
	if err := st.CompleteJob(ctx, "deliver/a", "n", t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("settling a finished job again: %v", err)
	}
}

func testReplayJobs(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	enqueue(t, st, job("deliver", "erp|done", 0), job("deliver", "erp|dead", 0), job("deliver", "erp|running", 0), job("deliver", "erp|pending", time.Hour))
	claimIDs(t, st, 0, "n", "deliver")
	if err := st.CompleteJob(ctx, "deliver/erp|done", "n", t0); err != nil {
		t.Fatal(err)
	}
	if err := st.KillJob(ctx, "deliver/erp|dead", "n", "400", t0); err != nil {
		t.Fatal(err)
	}
	again := func(key string) store.JobRecord {
		j := job("deliver", key, 2*time.Hour)
		j.ID = "replay/" + key
		j.UpdatedAt = t0.Add(2 * time.Hour)
		return j
	}
	n, err := st.ReplayJobs(ctx, []store.JobRecord{again("erp|done"), again("erp|dead"), again("erp|running"), again("erp|pending"), again("erp|new")})
	if err != nil || n != 3 {
		t.Fatalf("replay queued %d (%v), want 3: done, dead and new", n, err)
	}
	for _, c := range []struct {
		id, state string
		runAt     time.Duration
	}{
		{"deliver/erp|done", store.JobPending, 2 * time.Hour},
		{"deliver/erp|dead", store.JobPending, 2 * time.Hour},
		{"deliver/erp|running", store.JobRunning, 0},
		{"deliver/erp|pending", store.JobPending, time.Hour},
		{"replay/erp|new", store.JobPending, 2 * time.Hour},
	} {
		j, err := st.JobByID(ctx, c.id)
		if err != nil || j.State != c.state || !j.RunAt.Equal(t0.Add(c.runAt)) {
			t.Errorf("%s: %+v %v, want %s at +%s", c.id, j, err, c.state, c.runAt)
		}
		if c.id == "deliver/erp|dead" && (j.Attempts != 0 || j.LastError != "") {
			t.Errorf("a replayed dead job starts over: %+v", j)
		}
	}
	if n, err := st.ReplayJobs(ctx, nil); n != 0 || err != nil {
		t.Fatalf("empty replay: %d %v", n, err)
	}
}

func testEventFilter(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	a, b, c := ev("s", "a", "SHP-1", 0), ev("s", "b", "SHP-2", time.Minute), ev("s", "c", "SHP-1", 2*time.Minute)
	b.Type = "invoice.ready"
	d := ev("s", "d", "", 3*time.Minute)
	d.Type = "invoice.ready"
	evs := []store.EventRecord{a, b, c, d}
	write(t, st, func(ctx context.Context, tx store.Tx) error { return tx.AppendEvents(ctx, evs) })
	b = evs[1]
	for _, tc := range []struct {
		name string
		f    store.EventFilter
		want string
	}{
		{"all", store.EventFilter{}, "[a b c d]"},
		{"type", store.EventFilter{Types: []string{"invoice.ready"}}, "[b d]"},
		{"types", store.EventFilter{Types: []string{"invoice.ready", "shipment.milestone"}}, "[a b c d]"},
		{"shipment", store.EventFilter{ShipmentID: "SHP-1"}, "[a c]"},
		{"from inclusive", store.EventFilter{From: t0.Add(time.Minute)}, "[b c d]"},
		{"to exclusive", store.EventFilter{To: t0.Add(2 * time.Minute)}, "[a b]"},
		{"page", store.EventFilter{Limit: 2}, "[a b]"},
		{"after", store.EventFilter{AfterSeq: b.Seq, Limit: 2}, "[c d]"},
		{"none", store.EventFilter{Types: []string{"order.released"}}, "[]"},
	} {
		got, err := st.Events(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if s := fmt.Sprint(eventIDs(got)); s != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, s, tc.want)
		}
	}
	got, err := st.Events(ctx, store.EventFilter{Types: []string{"invoice.ready"}, ShipmentID: "SHP-2"})
	if err != nil || len(got) != 1 || string(got[0].Data) != string(b.Data) || got[0].Seq != b.Seq {
		t.Fatalf("the event as stored: %+v %v", got, err)
	}
}

func testWakeJobs(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	enqueue(t, st, job("deliver", "erp|a", time.Hour), job("deliver", "erp|b", 0), job("deliver", "portal|c", time.Hour), job("timer", "erp|d", time.Hour))
	n, err := st.WakeJobs(ctx, "deliver", "erp|", t0.Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("woke %d (%v), want 1: erp|a (erp|b is due already)", n, err)
	}
	for id, want := range map[string]time.Duration{"deliver/erp|a": time.Minute, "deliver/erp|b": 0, "deliver/portal|c": time.Hour, "timer/erp|d": time.Hour} {
		if j, err := st.JobByID(ctx, id); err != nil || !j.RunAt.Equal(t0.Add(want)) {
			t.Errorf("%s: run at %v (%v), want +%s", id, j.RunAt, err, want)
		}
	}
}

func testSettleJobs(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	a, b := job("deliver", "a", 0), job("deliver", "b", 0)
	a.Group, b.Group = "erp|SHP-1", "erp|SHP-1"
	b.CreatedAt = t0.Add(time.Second)
	enqueue(t, st, a, b, job("deliver", "c", 0), job("deliver", "d", 0), job("deliver", "e", 0))
	claimIDs(t, st, 0, "n", "deliver") // a, c, d, e (b waits for a)
	n, err := st.SettleJobs(ctx, []store.JobOutcome{
		{ID: "deliver/a", Node: "n", State: store.JobDone},
		{ID: "deliver/c", Node: "n", State: store.JobDead, LastError: "400 bad request"},
		{ID: "deliver/d", Node: "n", State: store.JobPending, RunAt: t0.Add(time.Hour), LastError: "503"},
		{ID: "deliver/e", Node: "n", State: store.JobPending, RunAt: t0.Add(time.Minute), LastError: "circuit open", Deferred: true},
		{ID: "deliver/b", Node: "n", State: store.JobDone}, // not claimed: left alone
		{ID: "deliver/e", Node: "other", State: store.JobDone},
	}, t0.Add(time.Second))
	if err != nil || n != 4 {
		t.Fatalf("settled %d (%v), want 4", n, err)
	}
	for _, c := range []struct {
		id, state string
		attempts  int
		runAt     time.Duration
		lastError string
	}{
		{"deliver/a", store.JobDone, 1, 0, ""},
		{"deliver/b", store.JobPending, 0, 0, ""},
		{"deliver/c", store.JobDead, 1, 0, "400 bad request"},
		{"deliver/d", store.JobPending, 1, time.Hour, "503"},
		{"deliver/e", store.JobPending, 0, time.Minute, "circuit open"},
	} {
		j, err := st.JobByID(ctx, c.id)
		if err != nil || j.State != c.state || j.Attempts != c.attempts || !j.RunAt.Equal(t0.Add(c.runAt)) || j.LastError != c.lastError {
			t.Errorf("%s: %+v %v", c.id, j, err)
		}
	}
	if got := fmt.Sprint(claimIDs(t, st, 0, "n", "deliver")); got != "[deliver/b@1]" {
		t.Fatalf("a settled in a batch lets b, its group's next, run: %s", got)
	}
}

// testRenewJob: a renewed lease keeps another node from taking the job
// over until it ends; a node that lost the lease cannot renew it.
func testRenewJob(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	enqueue(t, st, job("reconcile.run", "R1", 0))
	if got := claimIDs(t, st, 0, "a", "reconcile.run"); len(got) != 1 {
		t.Fatalf("claimed %v", got)
	}
	// The lease ran to t0+1m; renewed to t0+5m at t0+50s.
	if err := st.RenewJob(ctx, "reconcile.run/R1", "a", t0.Add(5*time.Minute), t0.Add(50*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := st.RenewJob(ctx, "reconcile.run/R1", "b", t0.Add(9*time.Minute), t0.Add(50*time.Second)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a node without the lease renewed it: %v", err)
	}
	if got := claimIDs(t, st, 2*time.Minute, "b", "reconcile.run"); len(got) != 0 {
		t.Fatalf("taken over while the renewed lease held: %v", got)
	}
	j, err := st.Job(ctx, "reconcile.run", "R1")
	if err != nil || j.LeasedBy != "a" || !j.LeaseUntil.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("renewed job %+v %v", j, err)
	}
	if got := fmt.Sprint(claimIDs(t, st, 6*time.Minute, "b", "reconcile.run")); got != "[reconcile.run/R1@2]" {
		t.Fatalf("after the renewed lease ended: %s", got)
	}
	if err := st.RenewJob(ctx, "reconcile.run/R1", "a", t0.Add(9*time.Minute), t0.Add(6*time.Minute)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the node that lost the lease renewed it: %v", err)
	}
}
