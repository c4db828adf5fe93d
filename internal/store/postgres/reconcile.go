package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crossdockhq/crossdock/internal/store"
)

const reconcileCols = `id, kind, from_ns, to_ns, status, triggered_by, requested_by, checked, findings, error,
	started_at_ns, finished_at_ns, updated_at_ns`

func scanReconciliation(sc pgx.Row) (store.ReconciliationRecord, error) {
	var r store.ReconciliationRecord
	var from, to, started, finished, upd int64
	err := sc.Scan(&r.ID, &r.Kind, &from, &to, &r.Status, &r.Trigger, &r.RequestedBy, &r.Checked, &r.Findings, &r.Error,
		&started, &finished, &upd)
	r.From, r.To = store.FromUnixNanos(from), store.FromUnixNanos(to)
	r.StartedAt, r.FinishedAt, r.UpdatedAt = store.FromUnixNanos(started), store.FromUnixNanos(finished), store.FromUnixNanos(upd)
	return r, err
}

const findingCols = `run_id, id, seq, code, shipment_id, invoice_id, vehicle_id, detail, data, found_at_ns`

func scanFinding(sc pgx.Row) (store.FindingRecord, error) {
	var f store.FindingRecord
	var data string
	var found int64
	err := sc.Scan(&f.RunID, &f.ID, &f.Seq, &f.Code, &f.ShipmentID, &f.InvoiceID, &f.VehicleID, &f.Detail, &data, &found)
	if data != "" {
		f.Data = []byte(data)
	}
	f.FoundAt = store.FromUnixNanos(found)
	return f, err
}

// CreateReconciliation implements store.ReconcileStore. A node creating
// a run another node is inserting waits for that one's commit and then
// finds the run. The job is inserted as ReplayJobs inserts one, and only
// with a new run.
func (s *Store) CreateReconciliation(ctx context.Context, run store.ReconciliationRecord, job store.JobRecord) (bool, error) {
	created := false
	err := s.inTx(ctx, "create reconciliation "+run.ID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO reconciliations (`+reconcileCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING`,
			run.ID, run.Kind, store.UnixNanos(run.From), store.UnixNanos(run.To), run.Status, run.Trigger, run.RequestedBy,
			run.Checked, run.Findings, run.Error, store.UnixNanos(run.StartedAt), store.UnixNanos(run.FinishedAt), store.UnixNanos(run.UpdatedAt))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil // the run exists; nothing to do
		}
		if _, err := tx.Exec(ctx, replayJobSQL, replayJobArgs(job)...); err != nil {
			return fmt.Errorf("job %s %s: %w", job.Kind, job.Key, err)
		}
		created = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return created, nil
}

// Reconciliation implements store.ReconcileStore.
func (s *Store) Reconciliation(ctx context.Context, id string) (store.ReconciliationRecord, error) {
	r, err := scanReconciliation(s.pool.QueryRow(ctx, `SELECT `+reconcileCols+` FROM reconciliations WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("postgres: reconciliation %s: %w", id, err)
	}
	return r, nil
}

// Reconciliations implements store.ReconcileStore.
func (s *Store) Reconciliations(ctx context.Context, f store.ReconciliationFilter) ([]store.ReconciliationRecord, error) {
	where, args := []string{"TRUE"}, []any{}
	add := func(cond string, a any) {
		args = append(args, a)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Kind != "" {
		add("kind = $%d", f.Kind)
	}
	if f.Status != "" {
		add("status = $%d", f.Status)
	}
	if f.Before != "" {
		add("id < $%d", f.Before)
	}
	args = append(args, store.PageLimit(f.Limit))
	rows, err := s.pool.Query(ctx, `SELECT `+reconcileCols+` FROM reconciliations WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: reconciliations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.ReconciliationRecord, error) { return scanReconciliation(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: reconciliations: %w", err)
	}
	return out, nil
}

// AddFindings implements store.ReconcileStore. It locks the run's row
// first, so nodes adding findings to one run take turns: each sees the
// findings the other committed, and the run's count stays exact.
func (s *Store) AddFindings(ctx context.Context, runID string, fs []store.FindingRecord, checked int64, now time.Time) ([]store.FindingRecord, error) {
	var added []store.FindingRecord
	err := s.inTx(ctx, "add findings to "+runID, func(tx pgx.Tx) error {
		added = nil
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM reconciliations WHERE id = $1 FOR UPDATE`, runID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if len(fs) > 0 {
			b := &pgx.Batch{}
			for _, f := range fs {
				b.Queue(`INSERT INTO reconciliation_findings (run_id, id, code, shipment_id, invoice_id, vehicle_id, detail, data, found_at_ns)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (run_id, id) DO NOTHING RETURNING seq`,
					runID, f.ID, f.Code, f.ShipmentID, f.InvoiceID, f.VehicleID, f.Detail, string(f.Data), store.UnixNanos(f.FoundAt))
			}
			br := tx.SendBatch(ctx, b)
			for _, f := range fs {
				f.RunID = runID
				err := br.QueryRow().Scan(&f.Seq)
				if errors.Is(err, pgx.ErrNoRows) {
					continue
				}
				if err != nil {
					_ = br.Close()
					return fmt.Errorf("finding %s: %w", f.ID, err)
				}
				added = append(added, f)
			}
			if err := br.Close(); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE reconciliations SET checked = $1, findings = findings + $2, updated_at_ns = $3 WHERE id = $4`,
			checked, len(added), store.UnixNanos(now), runID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

// FinishReconciliation implements store.ReconcileStore.
func (s *Store) FinishReconciliation(ctx context.Context, id, status, errText string, checked int64, now time.Time) (bool, error) {
	if status != store.ReconcileDone && status != store.ReconcileFailed {
		return false, fmt.Errorf("postgres: finish reconciliation %s: cannot settle as %q", id, status)
	}
	n := store.UnixNanos(now)
	tag, err := s.pool.Exec(ctx, `UPDATE reconciliations SET status = $1, error = $2, checked = $3, finished_at_ns = $4, updated_at_ns = $4
		WHERE id = $5 AND status = 'running'`, status, errText, checked, n, id)
	if err != nil {
		return false, fmt.Errorf("postgres: finish reconciliation %s: %w", id, err)
	}
	return tag.RowsAffected() > 0, nil
}

// Findings implements store.ReconcileStore.
func (s *Store) Findings(ctx context.Context, f store.FindingFilter) ([]store.FindingRecord, error) {
	q, args := `SELECT `+findingCols+` FROM reconciliation_findings WHERE run_id = $1 AND seq > $2`, []any{f.RunID, f.AfterSeq}
	if f.Code != "" {
		args = append(args, f.Code)
		q += fmt.Sprintf(` AND code = $%d`, len(args))
	}
	args = append(args, store.PageLimit(f.Limit))
	rows, err := s.pool.Query(ctx, q+fmt.Sprintf(` ORDER BY seq LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: findings of %s: %w", f.RunID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.FindingRecord, error) { return scanFinding(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: findings of %s: %w", f.RunID, err)
	}
	return out, nil
}

// FindingCounts implements store.ReconcileStore.
func (s *Store) FindingCounts(ctx context.Context, runID string) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT code, count(*) FROM reconciliation_findings WHERE run_id = $1 GROUP BY code`, runID)
	if err != nil {
		return nil, fmt.Errorf("postgres: finding counts of %s: %w", runID, err)
	}
	out := map[string]int64{}
	var code string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&code, &n}, func() error {
		out[code] = n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: finding counts of %s: %w", runID, err)
	}
	return out, nil
}
