package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crossdockhq/crossdock/internal/store"
)

const caseCols = `id, shipment_id, code, stop_id, detail, cause, blocking, status, opened_at_ns, closed_at_ns, resolved_by,
	resolution, note, assignee, customer_id, carrier, region, comments, updated_at_ns`

// PutCases implements store.Tx.
func (t *tx) PutCases(ctx context.Context, recs []store.CaseRecord) error {
	b := &pgx.Batch{}
	for _, c := range recs {
		comments := string(c.Comments)
		if comments == "" {
			comments = "[]"
		}
		b.Queue(`INSERT INTO cases (`+caseCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
			ON CONFLICT (id) DO UPDATE SET code = excluded.code, stop_id = excluded.stop_id, detail = excluded.detail,
			cause = excluded.cause, blocking = excluded.blocking, status = excluded.status, opened_at_ns = excluded.opened_at_ns,
			closed_at_ns = excluded.closed_at_ns, resolved_by = excluded.resolved_by, resolution = excluded.resolution,
			note = excluded.note, customer_id = excluded.customer_id, carrier = excluded.carrier, region = excluded.region,
			updated_at_ns = excluded.updated_at_ns`,
			c.ID, c.ShipmentID, c.Code, c.StopID, c.Detail, c.Cause, c.Blocking, c.Status, store.UnixNanos(c.OpenedAt),
			store.UnixNanos(c.ClosedAt), c.ResolvedBy, c.Resolution, c.Note, c.Assignee, c.CustomerID, c.Carrier, c.Region,
			comments, store.UnixNanos(c.UpdatedAt))
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: put cases: %w", err)
	}
	return nil
}

func scanCase(sc pgx.Row) (store.CaseRecord, error) {
	var c store.CaseRecord
	var opened, closed, upd int64
	var comments string
	err := sc.Scan(&c.ID, &c.ShipmentID, &c.Code, &c.StopID, &c.Detail, &c.Cause, &c.Blocking, &c.Status, &opened, &closed,
		&c.ResolvedBy, &c.Resolution, &c.Note, &c.Assignee, &c.CustomerID, &c.Carrier, &c.Region, &comments, &upd)
	c.OpenedAt, c.ClosedAt, c.UpdatedAt, c.Comments = store.FromUnixNanos(opened), store.FromUnixNanos(closed), store.FromUnixNanos(upd), []byte(comments)
	return c, err
}

// Case implements store.CaseStore.
func (s *Store) Case(ctx context.Context, id string) (store.CaseRecord, error) {
	c, err := scanCase(s.pool.QueryRow(ctx, `SELECT `+caseCols+` FROM cases WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, store.ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("postgres: case %s: %w", id, err)
	}
	return c, nil
}

// Cases implements store.CaseStore.
func (s *Store) Cases(ctx context.Context, f store.CaseFilter) ([]store.CaseRecord, error) {
	where, args := []string{"TRUE"}, []any{}
	add := func(cond string, a any) {
		args = append(args, a)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	for _, c := range []struct{ col, v string }{{"shipment_id", f.ShipmentID}, {"code", f.Code}, {"status", f.Status},
		{"customer_id", f.CustomerID}, {"carrier", f.Carrier}, {"region", f.Region}} {
		if c.v != "" {
			add(c.col+" = $%d", c.v)
		}
	}
	if !f.OpenedBefore.IsZero() {
		add("opened_at_ns < $%d", store.UnixNanos(f.OpenedBefore))
	}
	if f.After != nil {
		args = append(args, store.UnixNanos(f.After.OpenedAt), f.After.ID)
		where = append(where, fmt.Sprintf("(opened_at_ns, id) > ($%d, $%d)", len(args)-1, len(args)))
	}
	args = append(args, store.PageLimit(f.Limit))
	rows, err := s.pool.Query(ctx, `SELECT `+caseCols+` FROM cases WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY opened_at_ns, id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: cases: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.CaseRecord, error) { return scanCase(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: cases: %w", err)
	}
	return out, nil
}

// AnnotateCase implements store.CaseStore.
func (s *Store) AnnotateCase(ctx context.Context, id string, assignee *string, comment []byte, at time.Time) (store.CaseRecord, error) {
	var out store.CaseRecord
	err := s.inTx(ctx, "annotate case", func(tx pgx.Tx) error {
		c, err := scanCase(tx.QueryRow(ctx, `SELECT `+caseCols+` FROM cases WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if assignee != nil {
			c.Assignee = *assignee
		}
		if comment != nil {
			var list []json.RawMessage
			_ = json.Unmarshal(c.Comments, &list)
			c.Comments, _ = json.Marshal(append(list, comment))
		}
		c.UpdatedAt = at
		_, err = tx.Exec(ctx, `UPDATE cases SET assignee = $1, comments = $2, updated_at_ns = $3 WHERE id = $4`,
			c.Assignee, string(c.Comments), store.UnixNanos(at), id)
		out = c
		return err
	})
	return out, err
}
