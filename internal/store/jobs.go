package store

import (
	"context"
	"time"
)

// JobRecord is a unit of deferred work in the jobs table: a timer of the
// workflow today, an outbound delivery tomorrow. (Kind, Key) is unique: a
// pending job enqueued again is rescheduled, not duplicated.
type JobRecord struct {
	ID            string    // uuid v7
	Kind          string    // what runs it, e.g. "timer.rate"
	Key           string    // unique within Kind, e.g. the shipment id
	Payload       []byte    // JSON for the handler
	RunAt         time.Time // not before
	State         string    // JobPending, JobRunning, JobDone or JobDead
	Attempts      int       // runs started
	LeaseUntil    time.Time // while running: when another node may take it over
	LeasedBy      string    // the node running it
	LastError     string
	CorrelationID string
	// Group orders jobs: one is claimed only when no job of the same group
	// created before it is pending or running (FIFO per connector and
	// shipment). A dead job does not block its group. "" for none.
	Group     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Job states.
const (
	JobPending = "pending"
	JobRunning = "running"
	JobDone    = "done"
	JobDead    = "dead"
)

// JobStore claims and settles jobs; the writer enqueues and cancels them
// in its transactions (Tx.EnqueueJobs, Tx.CancelJobs), so a job and its
// cause commit together.
type JobStore interface {
	// ClaimJobs takes up to limit jobs of kinds that are due at now —
	// pending ones, and running ones whose lease expired (a dead node's) —
	// oldest run_at first, marks them running for lease on behalf of node
	// and returns them with Attempts counted. Several nodes claiming at
	// once never get the same job.
	ClaimJobs(ctx context.Context, kinds []string, now time.Time, lease time.Duration, node string, limit int) ([]JobRecord, error)
	// CompleteJob marks a job done; RetryJob puts it back to pending for
	// runAt; KillJob marks it dead. Each fails with ErrConflict when node no
	// longer holds the job's lease (it expired and another node took it).
	CompleteJob(ctx context.Context, id, node string, now time.Time) error
	RetryJob(ctx context.Context, id, node string, runAt time.Time, lastError string, now time.Time) error
	KillJob(ctx context.Context, id, node, lastError string, now time.Time) error
	// DeferJob is RetryJob without counting the attempt: the job did not
	// run (its destination's circuit is open, its connector paused).
	DeferJob(ctx context.Context, id, node string, runAt time.Time, lastError string, now time.Time) error
	// RenewJob extends the lease node holds on a running job to until, so
	// a long job is not taken over while its node lives; ErrConflict when
	// node no longer holds it.
	RenewJob(ctx context.Context, id, node string, until, now time.Time) error
	// JobStats sums up the jobs of kind whose key starts with keyPrefix.
	JobStats(ctx context.Context, kind, keyPrefix string) (JobStats, error)
	// Job reads one job by kind and key; ErrNotFound when absent.
	Job(ctx context.Context, kind, key string) (JobRecord, error)
	// JobByID reads one job; ErrNotFound when absent.
	JobByID(ctx context.Context, id string) (JobRecord, error)
	// Jobs lists jobs of a kind, newest first.
	Jobs(ctx context.Context, f JobFilter) ([]JobRecord, error)
	// ResetJob puts a dead job back to pending, due at runAt with its
	// attempts counted from zero; ErrNotFound when no dead job has id.
	ResetJob(ctx context.Context, id string, runAt time.Time) error
	// WakeJobs makes the pending jobs of kind whose key starts with
	// keyPrefix due at now (a resumed connector's deliveries put off
	// while it was paused). It reports how many it woke.
	WakeJobs(ctx context.Context, kind, keyPrefix string, now time.Time) (int, error)
	// SettleJobs settles claimed jobs in one transaction (one commit for
	// a batch instead of one each); a job no longer leased by its node is
	// left alone. It reports how many it settled.
	SettleJobs(ctx context.Context, outcomes []JobOutcome, now time.Time) (int, error)
	// ReplayJobs queues jobs to run again at their RunAt: each is
	// inserted, or a done or dead one with its (Kind, Key) is put back to
	// pending with attempts from zero. A pending or running one is left
	// as it is (it runs anyway). It reports how many were queued.
	ReplayJobs(ctx context.Context, jobs []JobRecord) (int, error)
}

// JobOutcome is how one run of a claimed job ended.
type JobOutcome struct {
	ID, Node string // the job and the node holding its lease
	// State is JobDone, JobDead, or JobPending to run again at RunAt.
	State string
	RunAt time.Time
	// Deferred gives a JobPending job its attempt back: it did not really
	// run (its destination's circuit is open, its connector paused).
	Deferred  bool
	LastError string
}

// JobFilter selects jobs of one kind, newest first.
type JobFilter struct {
	Kind      string   // required
	States    []string // any of these; none: all
	KeyPrefix string   // keys starting with it (e.g. "erp|"); "" for all
	Before    string   // id cursor: jobs with a smaller id
	// UpdatedSince: only jobs changed at or after it (queued, claimed,
	// retried); zero for all.
	UpdatedSince time.Time
	Limit        int // 1..1000
}

// JobStats sums up a set of jobs: a connector's backlog.
type JobStats struct {
	Pending       int       // pending or running
	OldestPending time.Time // created_at of the oldest pending one; zero when none
	Dead          int
	LastError     string // of the most recently updated job that has one
}
