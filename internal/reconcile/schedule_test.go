package reconcile

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/store/sqlite"
)

// The nightly start is one job per start time: planning it again (another
// node, a restart) queues nothing more; working it creates one run per
// kind over the lookback and plans the next start; working it again (a
// node that died after creating the runs) creates no second run.
func TestSchedule(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "hub.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)
	nightly := func(t time.Time) (time.Time, bool) {
		next := time.Date(t.Year(), t.Month(), t.Day(), 2, 30, 0, 0, time.UTC)
		if !next.After(t) {
			next = next.AddDate(0, 0, 1)
		}
		return next, true
	}
	s := Schedule{Next: nightly, Kinds: Kinds, Lookback: 168 * time.Hour}
	r := New(Options{Store: st, Now: func() time.Time { return now }})
	for range 2 {
		if err := r.Plan(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := st.Jobs(ctx, store.JobFilter{Kind: JobSchedule, Limit: 10})
	if err != nil || len(jobs) != 1 || jobs[0].Key != "2026-12-04T02:30:00Z" || !jobs[0].RunAt.Equal(time.Date(2026, 12, 4, 2, 30, 0, 0, time.UTC)) {
		t.Fatalf("planned %+v, %v; want one job for 02:30", jobs, err)
	}

	now = time.Date(2026, 12, 4, 2, 30, 5, 0, time.UTC)
	h := r.HandleSchedule(s)
	for range 2 {
		if err := h(ctx, jobs[0]); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := st.Reconciliations(ctx, store.ReconciliationFilter{Limit: 10})
	if err != nil || len(runs) != 3 {
		t.Fatalf("runs %+v, %v; want one per kind", runs, err)
	}
	for _, run := range runs {
		if run.Trigger != TriggerSchedule || !run.To.Equal(time.Date(2026, 12, 4, 2, 30, 0, 0, time.UTC)) || run.To.Sub(run.From) != 168*time.Hour {
			t.Errorf("run %+v", run)
		}
		if _, err := st.Job(ctx, JobRun, run.ID); err != nil {
			t.Errorf("run %s has no job: %v", run.ID, err)
		}
	}
	if _, err := st.Job(ctx, JobSchedule, "2026-12-05T02:30:00Z"); err != nil {
		t.Errorf("the next start is not planned: %v", err)
	}
	off := Schedule{Next: func(time.Time) (time.Time, bool) { return time.Time{}, false }}
	if err := r.Plan(ctx, off); err != nil {
		t.Fatal(err)
	}
}
