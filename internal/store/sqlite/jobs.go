package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

const jobCols = `id, kind, key, payload, run_at_ns, state, attempts, lease_until_ns, leased_by, last_error, correlation_id,
	created_at_ns, updated_at_ns, group_key`

func scanJob(sc interface{ Scan(...any) error }) (store.JobRecord, error) {
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
	for _, j := range jobs {
		_, err := t.tx.ExecContext(ctx, `INSERT INTO jobs (`+jobCols+`) VALUES (?, ?, ?, ?, ?, 'pending', 0, 0, '', '', ?, ?, ?, ?)
			ON CONFLICT (kind, key) DO UPDATE SET payload = excluded.payload, run_at_ns = excluded.run_at_ns,
			correlation_id = excluded.correlation_id, updated_at_ns = excluded.updated_at_ns,
			state = 'pending', lease_until_ns = 0, leased_by = '',
			attempts = CASE WHEN jobs.state IN ('done', 'dead') THEN 0 ELSE jobs.attempts END`,
			j.ID, j.Kind, j.Key, string(j.Payload), store.UnixNanos(j.RunAt), j.CorrelationID, store.UnixNanos(j.CreatedAt), store.UnixNanos(j.UpdatedAt), j.Group)
		if err != nil {
			return fmt.Errorf("sqlite: enqueue %s %s: %w", j.Kind, j.Key, err)
		}
	}
	return nil
}

// CancelJobs implements store.Tx.
func (t *tx) CancelJobs(ctx context.Context, kind string, keys []string) error {
	for _, k := range keys {
		if _, err := t.tx.ExecContext(ctx, `UPDATE jobs SET state = 'done', last_error = 'cancelled' WHERE kind = ? AND key = ? AND state = 'pending'`,
			kind, k); err != nil {
			return fmt.Errorf("sqlite: cancel %s %s: %w", kind, k, err)
		}
	}
	return nil
}

// ClaimJobs implements store.JobStore: one transaction on the writer
// connection, so claims never overlap. Jobs whose lease expired come
// first, then due pending ones walked in run_at order on the jobs_due
// index, so the query stops at limit however long the backlog is.
func (s *Store) ClaimJobs(ctx context.Context, kinds []string, now time.Time, lease time.Duration, node string, limit int) ([]store.JobRecord, error) {
	if len(kinds) == 0 || limit <= 0 {
		return nil, nil
	}
	in := `kind IN (?` + strings.Repeat(", ?", len(kinds)-1) + `)`
	kindArgs := make([]any, 0, len(kinds))
	for _, k := range kinds {
		kindArgs = append(kindArgs, k)
	}
	n := store.UnixNanos(now)
	var out []store.JobRecord
	err := s.inTx(ctx, "claim jobs", func(tx *sql.Tx) error {
		expired := append([]any{n}, kindArgs...)
		if err := collectJobs(ctx, tx, &out, `SELECT `+jobCols+` FROM jobs WHERE state = 'running' AND lease_until_ns <= ? AND `+in+
			` ORDER BY lease_until_ns LIMIT ?`, append(expired, limit)...); err != nil {
			return err
		}
		if rest := limit - len(out); rest > 0 {
			due := append([]any{n}, kindArgs...)
			if err := collectJobs(ctx, tx, &out, `SELECT `+jobCols+` FROM jobs WHERE state = 'pending' AND run_at_ns <= ? AND `+in+`
				AND (group_key = '' OR NOT EXISTS (SELECT 1 FROM jobs e WHERE e.group_key = jobs.group_key
					AND e.state IN ('pending', 'running') AND (e.created_at_ns < jobs.created_at_ns OR (e.created_at_ns = jobs.created_at_ns AND e.id < jobs.id))))
				ORDER BY run_at_ns LIMIT ?`, append(due, rest)...); err != nil {
				return err
			}
		}
		until := store.UnixNanos(now.Add(lease))
		for i := range out {
			j := &out[i]
			j.State, j.Attempts, j.LeaseUntil, j.LeasedBy, j.UpdatedAt = store.JobRunning, j.Attempts+1, now.Add(lease), node, now
			if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until_ns = ?, leased_by = ?,
				updated_at_ns = ? WHERE id = ?`, until, node, n, j.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// collectJobs appends the jobs q selects to out.
func collectJobs(ctx context.Context, tx *sql.Tx, out *[]store.JobRecord, q string, args ...any) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return err
		}
		*out = append(*out, j)
	}
	return rows.Err()
}

func (s *Store) settle(ctx context.Context, what, id, node, set string, args ...any) error {
	res, err := s.w.ExecContext(ctx, `UPDATE jobs SET `+set+` WHERE id = ? AND state = 'running' AND leased_by = ?`, append(args, id, node)...)
	if err != nil {
		return fmt.Errorf("sqlite: %s job %s: %w", what, id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("sqlite: %s job %s: lease lost: %w", what, id, store.ErrConflict)
	}
	return nil
}

// CompleteJob implements store.JobStore.
func (s *Store) CompleteJob(ctx context.Context, id, node string, now time.Time) error {
	return s.settle(ctx, "complete", id, node, `state = 'done', lease_until_ns = 0, updated_at_ns = ?`, store.UnixNanos(now))
}

// RetryJob implements store.JobStore.
func (s *Store) RetryJob(ctx context.Context, id, node string, runAt time.Time, lastError string, now time.Time) error {
	return s.settle(ctx, "retry", id, node, `state = 'pending', run_at_ns = ?, lease_until_ns = 0, last_error = ?, updated_at_ns = ?`,
		store.UnixNanos(runAt), lastError, store.UnixNanos(now))
}

// KillJob implements store.JobStore.
func (s *Store) KillJob(ctx context.Context, id, node, lastError string, now time.Time) error {
	return s.settle(ctx, "kill", id, node, `state = 'dead', lease_until_ns = 0, last_error = ?, updated_at_ns = ?`, lastError, store.UnixNanos(now))
}

// Job implements store.JobStore.
func (s *Store) Job(ctx context.Context, kind, key string) (store.JobRecord, error) {
	j, err := scanJob(s.r.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE kind = ? AND key = ?`, kind, key))
	if errors.Is(err, sql.ErrNoRows) {
		return j, store.ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("sqlite: job %s %s: %w", kind, key, err)
	}
	return j, nil
}

// JobByID implements store.JobStore.
func (s *Store) JobByID(ctx context.Context, id string) (store.JobRecord, error) {
	j, err := scanJob(s.r.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return j, store.ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("sqlite: job %s: %w", id, err)
	}
	return j, nil
}

// Jobs implements store.JobStore.
func (s *Store) Jobs(ctx context.Context, f store.JobFilter) ([]store.JobRecord, error) {
	q, args := `SELECT `+jobCols+` FROM jobs WHERE kind = ?`, []any{f.Kind}
	if len(f.States) > 0 {
		q += ` AND state IN (?` + strings.Repeat(", ?", len(f.States)-1) + `)`
		for _, st := range f.States {
			args = append(args, st)
		}
	}
	if f.KeyPrefix != "" {
		q += ` AND substr(key, 1, ?) = ?`
		args = append(args, len(f.KeyPrefix), f.KeyPrefix)
	}
	if f.Before != "" {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, store.PageLimit(f.Limit))
	return queryAll(ctx, s.r, "jobs", scanJob, q, args...)
}

// ResetJob implements store.JobStore.
func (s *Store) ResetJob(ctx context.Context, id string, runAt time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE jobs SET state = 'pending', attempts = 0, run_at_ns = ?, lease_until_ns = 0, leased_by = '',
		updated_at_ns = ? WHERE id = ? AND state = 'dead'`, store.UnixNanos(runAt), store.UnixNanos(runAt), id)
	if err != nil {
		return fmt.Errorf("sqlite: reset job %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ReplayJobs implements store.JobStore, in one writer transaction.
func (s *Store) ReplayJobs(ctx context.Context, jobs []store.JobRecord) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: replay jobs: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	queued := 0
	for _, j := range jobs {
		res, err := tx.ExecContext(ctx, `INSERT INTO jobs (`+jobCols+`) VALUES (?, ?, ?, ?, ?, 'pending', 0, 0, '', '', ?, ?, ?, ?)
			ON CONFLICT (kind, key) DO UPDATE SET run_at_ns = excluded.run_at_ns, updated_at_ns = excluded.updated_at_ns,
			state = 'pending', attempts = 0, lease_until_ns = 0, leased_by = '', last_error = ''
			WHERE jobs.state IN ('done', 'dead')`,
			j.ID, j.Kind, j.Key, string(j.Payload), store.UnixNanos(j.RunAt), j.CorrelationID, store.UnixNanos(j.CreatedAt), store.UnixNanos(j.UpdatedAt), j.Group)
		if err != nil {
			return 0, fmt.Errorf("sqlite: replay %s %s: %w", j.Kind, j.Key, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("sqlite: replay %s %s: %w", j.Kind, j.Key, err)
		}
		queued += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: replay jobs: %w", err)
	}
	return queued, nil
}

// DeferJob implements store.JobStore.
func (s *Store) DeferJob(ctx context.Context, id, node string, runAt time.Time, lastError string, now time.Time) error {
	return s.settle(ctx, "defer", id, node, `state = 'pending', attempts = max(attempts - 1, 0), run_at_ns = ?, lease_until_ns = 0,
		last_error = ?, updated_at_ns = ?`, store.UnixNanos(runAt), lastError, store.UnixNanos(now))
}

// JobStats implements store.JobStore.
func (s *Store) JobStats(ctx context.Context, kind, keyPrefix string) (store.JobStats, error) {
	var st store.JobStats
	var oldest sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT
			count(*) FILTER (WHERE state IN ('pending', 'running')),
			min(created_at_ns) FILTER (WHERE state IN ('pending', 'running')),
			count(*) FILTER (WHERE state = 'dead'),
			coalesce((SELECT last_error FROM jobs j2 WHERE j2.kind = ? AND substr(j2.key, 1, ?) = ? AND j2.last_error <> ''
				AND j2.last_error <> 'cancelled' ORDER BY j2.updated_at_ns DESC LIMIT 1), '')
		FROM jobs WHERE kind = ? AND substr(key, 1, ?) = ?`,
		kind, len(keyPrefix), keyPrefix, kind, len(keyPrefix), keyPrefix).Scan(&st.Pending, &oldest, &st.Dead, &st.LastError)
	if err != nil {
		return st, fmt.Errorf("sqlite: job stats: %w", err)
	}
	if oldest.Valid {
		st.OldestPending = store.FromUnixNanos(oldest.Int64)
	}
	return st, nil
}

// FinishJob implements store.Tx.
func (t *tx) FinishJob(ctx context.Context, id, node, state, lastError string, now time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE jobs SET state = ?, lease_until_ns = 0, last_error = ?, updated_at_ns = ?
		WHERE id = ? AND state = 'running' AND leased_by = ?`, state, lastError, store.UnixNanos(now), id, node); err != nil {
		return fmt.Errorf("sqlite: finish job %s: %w", id, err)
	}
	return nil
}
