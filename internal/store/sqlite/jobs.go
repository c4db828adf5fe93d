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

// EnqueueJobs implements store.Tx. A new job is its group's head when the
// group has no open job (jobs are enqueued oldest first); a job
// rescheduled over an existing one has its group's heads worked out again.
func (t *tx) EnqueueJobs(ctx context.Context, jobs []store.JobRecord) error {
	for _, j := range jobs {
		res, err := t.tx.ExecContext(ctx, `INSERT OR IGNORE INTO jobs (`+jobCols+`, head)
			VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, 0, '', '', ?6, ?7, ?8, ?9,
				?9 = '' OR NOT EXISTS (SELECT 1 FROM jobs INDEXED BY jobs_group_open WHERE group_key = ?9 AND state IN ('pending', 'running')))`,
			j.ID, j.Kind, j.Key, string(j.Payload), store.UnixNanos(j.RunAt), j.CorrelationID, store.UnixNanos(j.CreatedAt), store.UnixNanos(j.UpdatedAt), j.Group)
		if err != nil {
			return fmt.Errorf("sqlite: enqueue %s %s: %w", j.Kind, j.Key, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			if err != nil {
				return fmt.Errorf("sqlite: enqueue %s %s: %w", j.Kind, j.Key, err)
			}
			continue
		}
		var group string
		if err := t.tx.QueryRowContext(ctx, `UPDATE jobs SET payload = ?, run_at_ns = ?, correlation_id = ?, updated_at_ns = ?,
			state = 'pending', lease_until_ns = 0, leased_by = '',
			attempts = CASE WHEN state IN ('done', 'dead') THEN 0 ELSE attempts END
			WHERE kind = ? AND key = ? RETURNING group_key`,
			string(j.Payload), store.UnixNanos(j.RunAt), j.CorrelationID, store.UnixNanos(j.UpdatedAt), j.Kind, j.Key).Scan(&group); err != nil {
			return fmt.Errorf("sqlite: reschedule %s %s: %w", j.Kind, j.Key, err)
		}
		if err := fixHeads(ctx, t.tx, group); err != nil {
			return err
		}
	}
	return nil
}

// execer is a transaction or the writer pool.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// fixHeads makes the oldest open job of group its only head, after a job
// of the group was reopened or rescheduled (it may be older than the
// current head).
func fixHeads(ctx context.Context, ex execer, group string) error {
	if group == "" {
		return nil
	}
	const oldest = `(SELECT id FROM jobs INDEXED BY jobs_group_open WHERE group_key = ?1 AND state IN ('pending', 'running')
		ORDER BY created_at_ns, id LIMIT 1)`
	if _, err := ex.ExecContext(ctx, `UPDATE jobs SET head = (id = `+oldest+`)
		WHERE group_key = ?1 AND state IN ('pending', 'running') AND head <> (id = `+oldest+`)`, group); err != nil {
		return fmt.Errorf("sqlite: fifo group %s: %w", group, err)
	}
	return nil
}

// closeJobs settles jobs out of their open state with set (an UPDATE's
// SET and WHERE, returning group_key) and moves their groups' heads on.
func closeJobs(ctx context.Context, ex interface {
	execer
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, q string, args ...any) (int, error) {
	rows, err := ex.QueryContext(ctx, q+` RETURNING group_key`, args...)
	if err != nil {
		return 0, err
	}
	var groups []string
	n := 0
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			rows.Close()
			return 0, err
		}
		n++
		if g != "" {
			groups = append(groups, g)
		}
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, g := range groups {
		if err := promoteHead(ctx, ex, g); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// promoteHead makes the oldest open job of group its head after a job of
// the group closed. Closing cannot make any other job a non-head, so
// this is one seek and at most one row, not fixHeads' pass.
func promoteHead(ctx context.Context, ex execer, group string) error {
	if _, err := ex.ExecContext(ctx, `UPDATE jobs SET head = 1 WHERE id = (SELECT id FROM jobs INDEXED BY jobs_group_open
		WHERE group_key = ? AND state IN ('pending', 'running') ORDER BY created_at_ns, id LIMIT 1) AND head = 0`, group); err != nil {
		return fmt.Errorf("sqlite: fifo group %s: %w", group, err)
	}
	return nil
}

// CancelJobs implements store.Tx.
func (t *tx) CancelJobs(ctx context.Context, kind string, keys []string, now time.Time) error {
	for _, k := range keys {
		if _, err := closeJobs(ctx, t.tx, `UPDATE jobs SET state = 'done', last_error = 'cancelled', updated_at_ns = ? WHERE kind = ? AND key = ? AND state = 'pending'`,
			store.UnixNanos(now), kind, k); err != nil {
			return fmt.Errorf("sqlite: cancel %s %s: %w", kind, k, err)
		}
	}
	return nil
}

// ClaimJobs implements store.JobStore: one transaction on the writer
// connection, so claims never overlap. Jobs whose lease expired come
// first, then due ones free to run (in no group, or their group's head)
// in run_at order.
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
			// Due jobs that are free to run (head): the ready index holds
			// them alone, so the query stops at limit however long the
			// backlog behind the groups' heads is.
			due := append([]any{n}, kindArgs...)
			if err := collectJobs(ctx, tx, &out, `SELECT `+jobCols+` FROM jobs INDEXED BY jobs_ready
				WHERE state = 'pending' AND head = 1 AND run_at_ns <= ? AND `+in+` ORDER BY run_at_ns LIMIT ?`, append(due, rest)...); err != nil {
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

// close settles a running job out of its open state (done, dead) and
// moves its group's head on, in one transaction.
func (s *Store) close(ctx context.Context, what, id, node, set string, args ...any) error {
	n := 0
	err := s.inTx(ctx, what+" job "+id, func(tx *sql.Tx) error {
		var err error
		n, err = closeJobs(ctx, tx, `UPDATE jobs SET `+set+` WHERE id = ? AND state = 'running' AND leased_by = ?`, append(args, id, node)...)
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s job %s: lease lost: %w", what, id, store.ErrConflict)
	}
	return nil
}

// CompleteJob implements store.JobStore.
func (s *Store) CompleteJob(ctx context.Context, id, node string, now time.Time) error {
	return s.close(ctx, "complete", id, node, `state = 'done', lease_until_ns = 0, updated_at_ns = ?`, store.UnixNanos(now))
}

// RetryJob implements store.JobStore.
func (s *Store) RetryJob(ctx context.Context, id, node string, runAt time.Time, lastError string, now time.Time) error {
	return s.settle(ctx, "retry", id, node, `state = 'pending', run_at_ns = ?, lease_until_ns = 0, last_error = ?, updated_at_ns = ?`,
		store.UnixNanos(runAt), lastError, store.UnixNanos(now))
}

// KillJob implements store.JobStore.
func (s *Store) KillJob(ctx context.Context, id, node, lastError string, now time.Time) error {
	return s.close(ctx, "kill", id, node, `state = 'dead', lease_until_ns = 0, last_error = ?, updated_at_ns = ?`, lastError, store.UnixNanos(now))
}

// RenewJob implements store.JobStore.
func (s *Store) RenewJob(ctx context.Context, id, node string, until, now time.Time) error {
	return s.settle(ctx, "renew", id, node, `lease_until_ns = ?, updated_at_ns = ?`, store.UnixNanos(until), store.UnixNanos(now))
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
	if !f.UpdatedSince.IsZero() {
		q += ` AND updated_at_ns >= ?`
		args = append(args, store.UnixNanos(f.UpdatedSince))
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, store.PageLimit(f.Limit))
	return queryAll(ctx, s.r, "jobs", scanJob, q, args...)
}

// ResetJob implements store.JobStore.
func (s *Store) ResetJob(ctx context.Context, id string, runAt time.Time) error {
	found := false
	err := s.inTx(ctx, "reset job "+id, func(tx *sql.Tx) error {
		var group string
		err := tx.QueryRowContext(ctx, `UPDATE jobs SET state = 'pending', attempts = 0, run_at_ns = ?, lease_until_ns = 0, leased_by = '',
			updated_at_ns = ? WHERE id = ? AND state = 'dead' RETURNING group_key`, store.UnixNanos(runAt), store.UnixNanos(runAt), id).Scan(&group)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		return fixHeads(ctx, tx, group)
	})
	if err != nil {
		return err
	}
	if !found {
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
	queued, touched := 0, map[string]bool{}
	for _, j := range jobs {
		res, err := tx.ExecContext(ctx, replayJobSQL, replayJobArgs(j)...)
		if err != nil {
			return 0, fmt.Errorf("sqlite: replay %s %s: %w", j.Kind, j.Key, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("sqlite: replay %s %s: %w", j.Kind, j.Key, err)
		}
		queued += int(n)
		if n > 0 && j.Group != "" {
			touched[j.Group] = true
		}
	}
	for g := range touched {
		if err := fixHeads(ctx, tx, g); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: replay jobs: %w", err)
	}
	return queued, nil
}

// WakeJobs implements store.JobStore.
func (s *Store) WakeJobs(ctx context.Context, kind, keyPrefix string, now time.Time) (int, error) {
	n := store.UnixNanos(now)
	res, err := s.w.ExecContext(ctx, `UPDATE jobs SET run_at_ns = ?, updated_at_ns = ?
		WHERE kind = ? AND state = 'pending' AND key >= ? AND key < ? AND run_at_ns > ?`, n, n, kind, keyPrefix, keyPrefix+"\xff", n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: wake jobs: %w", err)
	}
	k, err := res.RowsAffected()
	return int(k), err
}

// SettleJobs implements store.JobStore.
func (s *Store) SettleJobs(ctx context.Context, outcomes []store.JobOutcome, now time.Time) (int, error) {
	if len(outcomes) == 0 {
		return 0, nil
	}
	settled := 0
	err := s.inTx(ctx, "settle jobs", func(tx *sql.Tx) error {
		settled = 0
		for _, o := range outcomes {
			var n int
			var err error
			const where = ` WHERE id = ? AND state = 'running' AND leased_by = ?`
			switch {
			case o.State == store.JobDone || o.State == store.JobDead:
				n, err = closeJobs(ctx, tx, `UPDATE jobs SET state = ?, lease_until_ns = 0, last_error = ?, updated_at_ns = ?`+where,
					o.State, o.LastError, store.UnixNanos(now), o.ID, o.Node)
			case o.State == store.JobPending:
				var res sql.Result
				res, err = tx.ExecContext(ctx, `UPDATE jobs SET state = 'pending', run_at_ns = ?, lease_until_ns = 0, last_error = ?, updated_at_ns = ?,
					attempts = CASE WHEN ? THEN max(attempts - 1, 0) ELSE attempts END`+where,
					store.UnixNanos(o.RunAt), o.LastError, store.UnixNanos(now), o.Deferred, o.ID, o.Node)
				if err == nil {
					var k int64
					k, err = res.RowsAffected()
					n = int(k)
				}
			default:
				return fmt.Errorf("job %s: cannot settle as %q", o.ID, o.State)
			}
			if err != nil {
				return fmt.Errorf("job %s: %w", o.ID, err)
			}
			settled += n
		}
		return nil
	})
	return settled, err
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
	// SQLite compares text bytewise: the keys with the prefix are a range.
	lo, hi := keyPrefix, keyPrefix+"\xff"
	// On jobs_kind_state: open and dead jobs only, never the delivered
	// history.
	err := s.r.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM jobs WHERE kind = ?1 AND state IN ('pending', 'running') AND key >= ?2 AND key < ?3),
			(SELECT min(created_at_ns) FROM jobs WHERE kind = ?1 AND state IN ('pending', 'running') AND key >= ?2 AND key < ?3),
			(SELECT count(*) FROM jobs WHERE kind = ?1 AND state = 'dead' AND key >= ?2 AND key < ?3),
			coalesce((SELECT last_error FROM jobs WHERE kind = ?1 AND state IN ('pending', 'running', 'dead') AND key >= ?2 AND key < ?3
				AND last_error <> '' ORDER BY updated_at_ns DESC LIMIT 1), '')`,
		kind, lo, hi).Scan(&st.Pending, &oldest, &st.Dead, &st.LastError)
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
	if _, err := closeJobs(ctx, t.tx, `UPDATE jobs SET state = ?, lease_until_ns = 0, last_error = ?, updated_at_ns = ?
		WHERE id = ? AND state = 'running' AND leased_by = ?`, state, lastError, store.UnixNanos(now), id, node); err != nil {
		return fmt.Errorf("sqlite: finish job %s: %w", id, err)
	}
	return nil
}

// replayJobSQL inserts a job, or puts a done or dead one with its (kind,
// key) back to pending with attempts from zero; a pending or running one
// is left as it is. Its arguments are replayJobArgs.
const replayJobSQL = `INSERT INTO jobs (` + jobCols + `) VALUES (?, ?, ?, ?, ?, 'pending', 0, 0, '', '', ?, ?, ?, ?)
	ON CONFLICT (kind, key) DO UPDATE SET run_at_ns = excluded.run_at_ns, updated_at_ns = excluded.updated_at_ns,
	state = 'pending', attempts = 0, lease_until_ns = 0, leased_by = '', last_error = ''
	WHERE jobs.state IN ('done', 'dead')`

// replayJobArgs are replayJobSQL's arguments for j.
func replayJobArgs(j store.JobRecord) []any {
	return []any{j.ID, j.Kind, j.Key, string(j.Payload), store.UnixNanos(j.RunAt), j.CorrelationID,
		store.UnixNanos(j.CreatedAt), store.UnixNanos(j.UpdatedAt), j.Group}
}
