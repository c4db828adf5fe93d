package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crossdockhq/crossdock/internal/store"
)

const jobCols = `id, kind, key, payload, run_at_ns, state, attempts, lease_until_ns, leased_by, last_error, correlation_id,
	created_at_ns, updated_at_ns, group_key`

func scanJob(sc pgx.Row) (store.JobRecord, error) {
	var j store.JobRecord
	var payload string
	var runAt, lease, created, upd int64
	err := sc.Scan(&j.ID, &j.Kind, &j.Key, &payload, &runAt, &j.State, &j.Attempts, &lease, &j.LeasedBy, &j.LastError,
		&j.CorrelationID, &created, &upd, &j.Group)
	j.Payload, j.RunAt, j.LeaseUntil = []byte(payload), store.FromUnixNanos(runAt), store.FromUnixNanos(lease)
	j.CreatedAt, j.UpdatedAt = store.FromUnixNanos(created), store.FromUnixNanos(upd)
	return j, err
}

// EnqueueJobs implements store.Tx.
func (t *tx) EnqueueJobs(ctx context.Context, jobs []store.JobRecord) error {
	b := &pgx.Batch{}
	for _, j := range jobs {
		b.Queue(`INSERT INTO jobs (`+jobCols+`) VALUES ($1, $2, $3, $4, $5, 'pending', 0, 0, '', '', $6, $7, $8, $9)
			ON CONFLICT (kind, key) DO UPDATE SET payload = excluded.payload, run_at_ns = excluded.run_at_ns,
			correlation_id = excluded.correlation_id, updated_at_ns = excluded.updated_at_ns,
			state = 'pending', lease_until_ns = 0, leased_by = '',
			attempts = CASE WHEN jobs.state IN ('done', 'dead') THEN 0 ELSE jobs.attempts END`,
			j.ID, j.Kind, j.Key, string(j.Payload), store.UnixNanos(j.RunAt), j.CorrelationID, store.UnixNanos(j.CreatedAt), store.UnixNanos(j.UpdatedAt), j.Group)
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: enqueue jobs: %w", err)
	}
	return nil
}

// ReplayJobs implements store.JobStore, in one transaction.
func (s *Store) ReplayJobs(ctx context.Context, jobs []store.JobRecord) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: replay jobs: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	b := &pgx.Batch{}
	for _, j := range jobs {
		b.Queue(replayJobSQL, replayJobArgs(j)...)
	}
	br := tx.SendBatch(ctx, b)
	queued := 0
	for range jobs {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return 0, fmt.Errorf("postgres: replay jobs: %w", err)
		}
		queued += int(tag.RowsAffected())
	}
	if err := br.Close(); err != nil {
		return 0, fmt.Errorf("postgres: replay jobs: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: replay jobs: %w", err)
	}
	return queued, nil
}

// CancelJobs implements store.Tx.
func (t *tx) CancelJobs(ctx context.Context, kind string, keys []string, now time.Time) error {
	if _, err := t.tx.Exec(ctx, `UPDATE jobs SET state = 'done', last_error = 'cancelled', updated_at_ns = $3 WHERE kind = $1 AND key = ANY($2) AND state = 'pending'`,
		kind, keys, store.UnixNanos(now)); err != nil {
		return fmt.Errorf("postgres: cancel %s: %w", kind, err)
	}
	return nil
}

// ClaimJobs implements store.JobStore: FOR UPDATE SKIP LOCKED, so nodes
// claiming at once each get other jobs.
func (s *Store) ClaimJobs(ctx context.Context, kinds []string, now time.Time, lease time.Duration, node string, limit int) ([]store.JobRecord, error) {
	if len(kinds) == 0 || limit <= 0 {
		return nil, nil
	}
	n := store.UnixNanos(now)
	rows, err := s.pool.Query(ctx, `UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until_ns = $1, leased_by = $2, updated_at_ns = $3
		WHERE id IN (SELECT id FROM jobs
			WHERE ((state = 'pending' AND run_at_ns <= $3) OR (state = 'running' AND lease_until_ns <= $3)) AND kind = ANY($4)
			AND (group_key = '' OR NOT EXISTS (SELECT 1 FROM jobs e WHERE e.group_key = jobs.group_key
				AND e.state IN ('pending', 'running') AND (e.created_at_ns < jobs.created_at_ns OR (e.created_at_ns = jobs.created_at_ns AND e.id < jobs.id))))
			ORDER BY run_at_ns, created_at_ns, id LIMIT $5 FOR UPDATE SKIP LOCKED)
		RETURNING `+jobCols, store.UnixNanos(now.Add(lease)), node, n, kinds, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim jobs: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.JobRecord, error) { return scanJob(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: claim jobs: %w", err)
	}
	// RETURNING keeps no order: give them in the order they were due.
	slices.SortFunc(out, func(a, b store.JobRecord) int {
		return cmp.Or(a.RunAt.Compare(b.RunAt), a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

func (s *Store) settle(ctx context.Context, what, id, node, set string, args ...any) error {
	args = append(args, id, node)
	tag, err := s.pool.Exec(ctx, `UPDATE jobs SET `+set+fmt.Sprintf(` WHERE id = $%d AND state = 'running' AND leased_by = $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return fmt.Errorf("postgres: %s job %s: %w", what, id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s job %s: lease lost: %w", what, id, store.ErrConflict)
	}
	return nil
}

// CompleteJob implements store.JobStore.
func (s *Store) CompleteJob(ctx context.Context, id, node string, now time.Time) error {
	return s.settle(ctx, "complete", id, node, `state = 'done', lease_until_ns = 0, updated_at_ns = $1`, store.UnixNanos(now))
}

// RetryJob implements store.JobStore.
func (s *Store) RetryJob(ctx context.Context, id, node string, runAt time.Time, lastError string, now time.Time) error {
	return s.settle(ctx, "retry", id, node, `state = 'pending', run_at_ns = $1, lease_until_ns = 0, last_error = $2, updated_at_ns = $3`,
		store.UnixNanos(runAt), lastError, store.UnixNanos(now))
}

// KillJob implements store.JobStore.
func (s *Store) KillJob(ctx context.Context, id, node, lastError string, now time.Time) error {
	return s.settle(ctx, "kill", id, node, `state = 'dead', lease_until_ns = 0, last_error = $1, updated_at_ns = $2`, lastError, store.UnixNanos(now))
}

// RenewJob implements store.JobStore.
func (s *Store) RenewJob(ctx context.Context, id, node string, until, now time.Time) error {
	return s.settle(ctx, "renew", id, node, `lease_until_ns = $1, updated_at_ns = $2`, store.UnixNanos(until), store.UnixNanos(now))
}

// Job implements store.JobStore.
func (s *Store) Job(ctx context.Context, kind, key string) (store.JobRecord, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE kind = $1 AND key = $2`, kind, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return j, store.ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("postgres: job %s %s: %w", kind, key, err)
	}
	return j, nil
}

// JobByID implements store.JobStore.
func (s *Store) JobByID(ctx context.Context, id string) (store.JobRecord, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return j, store.ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("postgres: job %s: %w", id, err)
	}
	return j, nil
}

// Jobs implements store.JobStore.
func (s *Store) Jobs(ctx context.Context, f store.JobFilter) ([]store.JobRecord, error) {
	q, args := `SELECT `+jobCols+` FROM jobs WHERE kind = $1`, []any{f.Kind}
	if len(f.States) > 0 {
		args = append(args, f.States)
		q += fmt.Sprintf(` AND state = ANY($%d)`, len(args))
	}
	if f.KeyPrefix != "" {
		args = append(args, f.KeyPrefix)
		q += fmt.Sprintf(` AND starts_with(key, $%d)`, len(args))
	}
	if f.Before != "" {
		args = append(args, f.Before)
		q += fmt.Sprintf(` AND id < $%d`, len(args))
	}
	if !f.UpdatedSince.IsZero() {
		args = append(args, store.UnixNanos(f.UpdatedSince))
		q += fmt.Sprintf(` AND updated_at_ns >= $%d`, len(args))
	}
	args = append(args, store.PageLimit(f.Limit))
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: jobs: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.JobRecord, error) { return scanJob(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: jobs: %w", err)
	}
	return out, nil
}

// ResetJob implements store.JobStore.
func (s *Store) ResetJob(ctx context.Context, id string, runAt time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE jobs SET state = 'pending', attempts = 0, run_at_ns = $1, lease_until_ns = 0, leased_by = '',
		updated_at_ns = $1 WHERE id = $2 AND state = 'dead'`, store.UnixNanos(runAt), id)
	if err != nil {
		return fmt.Errorf("postgres: reset job %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// WakeJobs implements store.JobStore.
func (s *Store) WakeJobs(ctx context.Context, kind, keyPrefix string, now time.Time) (int, error) {
	n := store.UnixNanos(now)
	tag, err := s.pool.Exec(ctx, `UPDATE jobs SET run_at_ns = $1, updated_at_ns = $1
		WHERE kind = $2 AND state = 'pending' AND starts_with(key, $3) AND run_at_ns > $1`, n, kind, keyPrefix)
	if err != nil {
		return 0, fmt.Errorf("postgres: wake jobs: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// SettleJobs implements store.JobStore, in one transaction.
func (s *Store) SettleJobs(ctx context.Context, outcomes []store.JobOutcome, now time.Time) (int, error) {
	if len(outcomes) == 0 {
		return 0, nil
	}
	b := &pgx.Batch{}
	for _, o := range outcomes {
		switch o.State {
		case store.JobDone, store.JobDead:
			b.Queue(`UPDATE jobs SET state = $1, lease_until_ns = 0, last_error = $2, updated_at_ns = $3
				WHERE id = $4 AND state = 'running' AND leased_by = $5`, o.State, o.LastError, store.UnixNanos(now), o.ID, o.Node)
		case store.JobPending:
			b.Queue(`UPDATE jobs SET state = 'pending', run_at_ns = $1, lease_until_ns = 0, last_error = $2, updated_at_ns = $3,
				attempts = CASE WHEN $4 THEN greatest(attempts - 1, 0) ELSE attempts END
				WHERE id = $5 AND state = 'running' AND leased_by = $6`, store.UnixNanos(o.RunAt), o.LastError, store.UnixNanos(now), o.Deferred, o.ID, o.Node)
		default:
			return 0, fmt.Errorf("postgres: settle job %s: cannot settle as %q", o.ID, o.State)
		}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: settle jobs: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	br := tx.SendBatch(ctx, b)
	settled := 0
	for range outcomes {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return 0, fmt.Errorf("postgres: settle jobs: %w", err)
		}
		settled += int(tag.RowsAffected())
	}
	if err := br.Close(); err != nil {
		return 0, fmt.Errorf("postgres: settle jobs: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: settle jobs: %w", err)
	}
	return settled, nil
}

// DeferJob implements store.JobStore.
func (s *Store) DeferJob(ctx context.Context, id, node string, runAt time.Time, lastError string, now time.Time) error {
	return s.settle(ctx, "defer", id, node, `state = 'pending', attempts = greatest(attempts - 1, 0), run_at_ns = $1, lease_until_ns = 0,
		last_error = $2, updated_at_ns = $3`, store.UnixNanos(runAt), lastError, store.UnixNanos(now))
}

// JobStats implements store.JobStore.
func (s *Store) JobStats(ctx context.Context, kind, keyPrefix string) (store.JobStats, error) {
	var st store.JobStats
	var oldest *int64
	// On jobs_kind_state: open and dead jobs only, never the delivered
	// history. starts_with, not a key range: a range compares under the
	// database's collation, which need not be byte order.
	err := s.pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE state IN ('pending', 'running')),
			min(created_at_ns) FILTER (WHERE state IN ('pending', 'running')),
			count(*) FILTER (WHERE state = 'dead'),
			coalesce((SELECT last_error FROM jobs WHERE kind = $1 AND state IN ('pending', 'running', 'dead') AND starts_with(key, $2)
				AND last_error <> '' ORDER BY updated_at_ns DESC LIMIT 1), '')
		FROM jobs WHERE kind = $1 AND state IN ('pending', 'running', 'dead') AND starts_with(key, $2)`,
		kind, keyPrefix).Scan(&st.Pending, &oldest, &st.Dead, &st.LastError)
	if err != nil {
		return st, fmt.Errorf("postgres: job stats: %w", err)
	}
	if oldest != nil {
		st.OldestPending = store.FromUnixNanos(*oldest)
	}
	return st, nil
}

// FinishJob implements store.Tx.
func (t *tx) FinishJob(ctx context.Context, id, node, state, lastError string, now time.Time) error {
	if _, err := t.tx.Exec(ctx, `UPDATE jobs SET state = $1, lease_until_ns = 0, last_error = $2, updated_at_ns = $3
		WHERE id = $4 AND state = 'running' AND leased_by = $5`, state, lastError, store.UnixNanos(now), id, node); err != nil {
		return fmt.Errorf("postgres: finish job %s: %w", id, err)
	}
	return nil
}

// replayJobSQL inserts a job, or puts a done or dead one with its (kind,
// key) back to pending with attempts from zero; a pending or running one
// is left as it is. Its arguments are replayJobArgs.
const replayJobSQL = `INSERT INTO jobs (` + jobCols + `) VALUES ($1, $2, $3, $4, $5, 'pending', 0, 0, '', '', $6, $7, $8, $9)
	ON CONFLICT (kind, key) DO UPDATE SET run_at_ns = excluded.run_at_ns, updated_at_ns = excluded.updated_at_ns,
	state = 'pending', attempts = 0, lease_until_ns = 0, leased_by = '', last_error = ''
	WHERE jobs.state IN ('done', 'dead')`

// replayJobArgs are replayJobSQL's arguments for j.
func replayJobArgs(j store.JobRecord) []any {
	return []any{j.ID, j.Kind, j.Key, string(j.Payload), store.UnixNanos(j.RunAt), j.CorrelationID,
		store.UnixNanos(j.CreatedAt), store.UnixNanos(j.UpdatedAt), j.Group}
}
