package reconcile

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/crossdockhq/crossdock/internal/store"
)

// JobSchedule is the kind of the job that starts the scheduled runs; its
// key is the start time (RFC 3339), so every node queueing the next one
// queues the same job and exactly one node starts the runs.
const JobSchedule = "reconcile.schedule"

// Schedule says when scheduled runs start and what they check.
type Schedule struct {
	// Next is the first start after t; false when there is none (off).
	Next     func(t time.Time) (time.Time, bool)
	Kinds    []string
	Lookback time.Duration
}

// Plan queues the job of the next scheduled start after now, unless the
// schedule is off or it is queued already.
func (r *Runner) Plan(ctx context.Context, s Schedule) error {
	if s.Next == nil {
		return nil
	}
	next, ok := s.Next(r.opt.Now())
	if !ok {
		return nil
	}
	key := next.UTC().Format(time.RFC3339)
	if _, err := r.opt.Store.Job(ctx, JobSchedule, key); err == nil {
		return nil
	}
	now := r.opt.Now().UTC()
	_, err := r.opt.Store.ReplayJobs(ctx, []store.JobRecord{{
		ID: uuid.Must(uuid.NewV7()).String(), Kind: JobSchedule, Key: key, RunAt: next, State: store.JobPending,
		CreatedAt: now, UpdatedAt: now,
	}})
	if err != nil {
		return fmt.Errorf("reconcile: plan %s: %w", key, err)
	}
	return nil
}

// HandleSchedule returns the scheduler's handler of JobSchedule jobs: it
// starts one run per kind over the lookback before the job's start time,
// then plans the next start. A run's id derives from the start time and
// kind, so a start taken over from a node that died creates no second run.
func (r *Runner) HandleSchedule(s Schedule) func(ctx context.Context, job store.JobRecord) error {
	return func(ctx context.Context, job store.JobRecord) error {
		at, err := time.Parse(time.RFC3339, job.Key)
		if err != nil {
			return fmt.Errorf("reconcile: schedule key %q: %w", job.Key, err)
		}
		for _, kind := range s.Kinds {
			run, created, err := r.Start(ctx, Request{
				ID: scheduledRunID(at, kind), Kind: kind, From: at.Add(-s.Lookback), To: at,
				Trigger: TriggerSchedule, RequestedBy: TriggerSchedule,
			})
			if err != nil {
				return err
			}
			if created {
				r.opt.Logger.InfoContext(ctx, "scheduled reconciliation queued", "run", run.ID, "kind", kind, "from", run.From, "to", run.To)
			}
		}
		return r.Plan(ctx, s)
	}
}

// scheduledRunID is a UUID v7 whose time is the start's and whose random
// bits derive from the start and kind: runs list in time order, and the
// same start and kind always give the same id.
func scheduledRunID(at time.Time, kind string) string {
	var u uuid.UUID
	ms := uint64(at.UnixMilli())
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	h := sha256.Sum256([]byte(at.UTC().Format(time.RFC3339Nano) + "\x00" + kind))
	copy(u[6:], h[:10])
	u[6] = 0x70 | (u[6] & 0x0f) // version 7
	u[8] = 0x80 | (u[8] & 0x3f) // RFC 9562 variant
	return u.String()
}
