package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

const caseCols = `id, shipment_id, code, stop_id, detail, cause, blocking, status, opened_at_ns, closed_at_ns, resolved_by,
	resolution, note, assignee, customer_id, carrier, region, comments, updated_at_ns`

// PutCases implements store.Tx.
func (t *tx) PutCases(ctx context.Context, recs []store.CaseRecord) error {
	for _, c := range recs {
		comments := string(c.Comments)
		if comments == "" {
			comments = "[]"
		}
		_, err := t.tx.ExecContext(ctx, `INSERT INTO cases (`+caseCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET code = excluded.code, stop_id = excluded.stop_id, detail = excluded.detail,
			cause = excluded.cause, blocking = excluded.blocking, status = excluded.status, opened_at_ns = excluded.opened_at_ns,
			closed_at_ns = excluded.closed_at_ns, resolved_by = excluded.resolved_by, resolution = excluded.resolution,
			note = excluded.note, customer_id = excluded.customer_id, carrier = excluded.carrier, region = excluded.region,
			updated_at_ns = excluded.updated_at_ns`,
			c.ID, c.ShipmentID, c.Code, c.StopID, c.Detail, c.Cause, boolInt(c.Blocking), c.Status, store.UnixNanos(c.OpenedAt),
			store.UnixNanos(c.ClosedAt), c.ResolvedBy, c.Resolution, c.Note, c.Assignee, c.CustomerID, c.Carrier, c.Region,
			comments, store.UnixNanos(c.UpdatedAt))
		if err != nil {
			return fmt.Errorf("sqlite: put case %s: %w", c.ID, err)
		}
	}
	return nil
}

func scanCase(sc interface{ Scan(...any) error }) (store.CaseRecord, error) {
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
	c, err := scanCase(s.r.QueryRowContext(ctx, `SELECT `+caseCols+` FROM cases WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, store.ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("sqlite: case %s: %w", id, err)
	}
	return c, nil
}

// Cases implements store.CaseStore.
func (s *Store) Cases(ctx context.Context, f store.CaseFilter) ([]store.CaseRecord, error) {
	where, args := []string{"1 = 1"}, []any{}
	add := func(cond string, a any) { where, args = append(where, cond), append(args, a) }
	for _, c := range []struct{ col, v string }{{"shipment_id", f.ShipmentID}, {"code", f.Code}, {"status", f.Status},
		{"customer_id", f.CustomerID}, {"carrier", f.Carrier}, {"region", f.Region}} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	if !f.OpenedBefore.IsZero() {
		add("opened_at_ns < ?", store.UnixNanos(f.OpenedBefore))
	}
	q := `SELECT ` + caseCols + ` FROM cases WHERE ` + strings.Join(where, " AND ")
	if f.After != nil {
		q += ` AND (opened_at_ns, id) > (?, ?)`
		args = append(args, store.UnixNanos(f.After.OpenedAt), f.After.ID)
	}
	q += ` ORDER BY opened_at_ns, id LIMIT ?`
	args = append(args, store.PageLimit(f.Limit))
	return queryAll(ctx, s.r, "cases", scanCase, q, args...)
}

// AnnotateCase implements store.CaseStore on the writer connection.
func (s *Store) AnnotateCase(ctx context.Context, id string, assignee *string, comment []byte, at time.Time) (store.CaseRecord, error) {
	var out store.CaseRecord
	err := s.inTx(ctx, "annotate case", func(tx *sql.Tx) error {
		c, err := scanCase(tx.QueryRowContext(ctx, `SELECT `+caseCols+` FROM cases WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
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
		_, err = tx.ExecContext(ctx, `UPDATE cases SET assignee = ?, comments = ?, updated_at_ns = ? WHERE id = ?`,
			c.Assignee, string(c.Comments), store.UnixNanos(at), id)
		out = c
		return err
	})
	return out, err
}
