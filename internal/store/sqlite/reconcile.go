package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

// Reconciliation runs and findings are written like the directory: on the
// writer connection, waiting for the pipeline's current transaction. The
// single writer also serializes AddFindings calls for one run.

const reconcileCols = `id, kind, from_ns, to_ns, status, triggered_by, requested_by, checked, findings, error,
	started_at_ns, finished_at_ns, updated_at_ns`

func scanReconciliation(sc interface{ Scan(...any) error }) (store.ReconciliationRecord, error) {
	var r store.ReconciliationRecord
	var from, to, started, finished, upd int64
	err := sc.Scan(&r.ID, &r.Kind, &from, &to, &r.Status, &r.Trigger, &r.RequestedBy, &r.Checked, &r.Findings, &r.Error,
		&started, &finished, &upd)
	r.From, r.To = store.FromUnixNanos(from), store.FromUnixNanos(to)
	r.StartedAt, r.FinishedAt, r.UpdatedAt = store.FromUnixNanos(started), store.FromUnixNanos(finished), store.FromUnixNanos(upd)
	return r, err
}

const findingCols = `run_id, id, seq, code, shipment_id, invoice_id, vehicle_id, detail, data, found_at_ns`

func scanFinding(sc interface{ Scan(...any) error }) (store.FindingRecord, error) {
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

// CreateReconciliation implements store.ReconcileStore. The job is
// inserted as ReplayJobs inserts one, and only with a new run.
func (s *Store) CreateReconciliation(ctx context.Context, run store.ReconciliationRecord, job store.JobRecord) (bool, error) {
	created := false
	err := s.inTx(ctx, "create reconciliation "+run.ID, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO reconciliations (`+reconcileCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			run.ID, run.Kind, store.UnixNanos(run.From), store.UnixNanos(run.To), run.Status, run.Trigger, run.RequestedBy,
			run.Checked, run.Findings, run.Error, store.UnixNanos(run.StartedAt), store.UnixNanos(run.FinishedAt), store.UnixNanos(run.UpdatedAt))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err // n == 0: the run exists; nothing to do
		}
		if _, err := tx.ExecContext(ctx, replayJobSQL, replayJobArgs(job)...); err != nil {
			return fmt.Errorf("job %s %s: %w", job.Kind, job.Key, err)
		}
		if err := fixHeads(ctx, tx, job.Group); err != nil {
			return err
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
	r, err := scanReconciliation(s.r.QueryRowContext(ctx, `SELECT `+reconcileCols+` FROM reconciliations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("sqlite: reconciliation %s: %w", id, err)
	}
	return r, nil
}

// Reconciliations implements store.ReconcileStore.
func (s *Store) Reconciliations(ctx context.Context, f store.ReconciliationFilter) ([]store.ReconciliationRecord, error) {
	q, args := `SELECT `+reconcileCols+` FROM reconciliations WHERE 1 = 1`, []any{}
	if f.Kind != "" {
		q, args = q+` AND kind = ?`, append(args, f.Kind)
	}
	if f.Status != "" {
		q, args = q+` AND status = ?`, append(args, f.Status)
	}
	if f.Before != "" {
		q, args = q+` AND id < ?`, append(args, f.Before)
	}
	q, args = q+` ORDER BY id DESC LIMIT ?`, append(args, store.PageLimit(f.Limit))
	return queryAll(ctx, s.r, "reconciliations", scanReconciliation, q, args...)
}

// AddFindings implements store.ReconcileStore.
func (s *Store) AddFindings(ctx context.Context, runID string, fs []store.FindingRecord, checked int64, now time.Time) ([]store.FindingRecord, error) {
	var added []store.FindingRecord
	err := s.inTx(ctx, "add findings to "+runID, func(tx *sql.Tx) error {
		added = nil
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM reconciliations WHERE id = ?`, runID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		for _, f := range fs {
			f.RunID = runID
			err := tx.QueryRowContext(ctx, `INSERT INTO reconciliation_findings (run_id, id, code, shipment_id, invoice_id, vehicle_id,
				detail, data, found_at_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, id) DO NOTHING RETURNING seq`,
				f.RunID, f.ID, f.Code, f.ShipmentID, f.InvoiceID, f.VehicleID, f.Detail, string(f.Data), store.UnixNanos(f.FoundAt)).Scan(&f.Seq)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("finding %s: %w", f.ID, err)
			}
			added = append(added, f)
		}
		// Exact: the writer connection runs one transaction at a time.
		_, err = tx.ExecContext(ctx, `UPDATE reconciliations SET checked = ?, findings = findings + ?, updated_at_ns = ? WHERE id = ?`,
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
		return false, fmt.Errorf("sqlite: finish reconciliation %s: cannot settle as %q", id, status)
	}
	n := store.UnixNanos(now)
	res, err := s.w.ExecContext(ctx, `UPDATE reconciliations SET status = ?, error = ?, checked = ?, finished_at_ns = ?, updated_at_ns = ?
		WHERE id = ? AND status = 'running'`, status, errText, checked, n, n, id)
	if err != nil {
		return false, fmt.Errorf("sqlite: finish reconciliation %s: %w", id, err)
	}
	k, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: finish reconciliation %s: %w", id, err)
	}
	return k > 0, nil
}

// Findings implements store.ReconcileStore.
func (s *Store) Findings(ctx context.Context, f store.FindingFilter) ([]store.FindingRecord, error) {
	q, args := `SELECT `+findingCols+` FROM reconciliation_findings WHERE run_id = ? AND seq > ?`, []any{f.RunID, f.AfterSeq}
	if f.Code != "" {
		q, args = q+` AND code = ?`, append(args, f.Code)
	}
	q, args = q+` ORDER BY seq LIMIT ?`, append(args, store.PageLimit(f.Limit))
	return queryAll(ctx, s.r, "findings of "+f.RunID, scanFinding, q, args...)
}

// FindingCounts implements store.ReconcileStore.
func (s *Store) FindingCounts(ctx context.Context, runID string) (map[string]int64, error) {
	type count struct {
		code string
		n    int64
	}
	rows, err := queryAll(ctx, s.r, "finding counts of "+runID, func(sc interface{ Scan(...any) error }) (count, error) {
		var c count
		err := sc.Scan(&c.code, &c.n)
		return c, err
	}, `SELECT code, count(*) FROM reconciliation_findings WHERE run_id = ? GROUP BY code`, runID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, c := range rows {
		out[c.code] = c.n
	}
	return out, nil
}
