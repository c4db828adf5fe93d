package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/crossdockhq/crossdock/internal/store"
)

const shipmentCols = `id, visible, status, customer_id, state, updated_at_ns`

func scanShipment(sc interface{ Scan(...any) error }) (store.ShipmentRecord, error) {
	var r store.ShipmentRecord
	var visible int
	var state string
	var upd int64
	if err := sc.Scan(&r.ID, &visible, &r.Status, &r.CustomerID, &state, &upd); err != nil {
		return r, err
	}
	r.Visible, r.State, r.UpdatedAt = visible == 1, []byte(state), store.FromUnixNanos(upd)
	return r, nil
}

// Shipment implements store.Store.
func (s *Store) Shipment(ctx context.Context, id string) (store.ShipmentRecord, error) {
	r, err := scanShipment(s.r.QueryRowContext(ctx, `SELECT `+shipmentCols+` FROM shipments WHERE id = ? AND visible = 1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("sqlite: shipment %s: %w", id, err)
	}
	return r, nil
}

// Shipments implements store.Store.
func (s *Store) Shipments(ctx context.Context, f store.ShipmentFilter) ([]store.ShipmentRecord, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where, args = append(where, cond), append(args, a...) }
	add("visible = 1")
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.CustomerID != "" {
		add("customer_id = ?", f.CustomerID)
	}
	if f.PartnerID != "" {
		add("id IN (SELECT shipment_id FROM shipment_partners WHERE partner_id = ?)", f.PartnerID)
	}
	if !f.UpdatedSince.IsZero() {
		add("updated_at_ns >= ?", f.UpdatedSince.UnixNano())
	}
	if f.After != nil {
		add("(updated_at_ns, id) > (?, ?)", store.UnixNanos(f.After.UpdatedAt), f.After.ID)
	}
	args = append(args, store.PageLimit(f.Limit))
	return queryAll(ctx, s.r, "shipments", scanShipment, `SELECT `+shipmentCols+` FROM shipments WHERE `+strings.Join(where, " AND ")+
		` ORDER BY updated_at_ns, id LIMIT ?`, args...)
}

const eventCols = `seq, source, id, type, subject, shipment_id, time_ns, received_at_ns, correlation_id, causation_id, principal, data`

func scanEvent(sc interface{ Scan(...any) error }) (store.EventRecord, error) {
	var e store.EventRecord
	var t, rcv int64
	var data string
	err := sc.Scan(&e.Seq, &e.Source, &e.ID, &e.Type, &e.Subject, &e.ShipmentID, &t, &rcv, &e.CorrelationID, &e.CausationID, &e.Principal, &data)
	e.Time, e.ReceivedAt, e.Data = store.FromUnixNanos(t), store.FromUnixNanos(rcv), []byte(data)
	return e, err
}

// Timeline implements store.Store. Events without a shipment belong to no
// timeline, so an empty shipmentID lists nothing.
func (s *Store) Timeline(ctx context.Context, shipmentID string, after *store.TimelineCursor, n int) ([]store.EventRecord, error) {
	if shipmentID == "" {
		return nil, nil
	}
	// The literal shipment_id <> '' repeats the timeline index's WHERE:
	// SQLite uses a partial index only when the query states its condition,
	// and cannot infer it from shipment_id = ? (without it: a table scan).
	q := `SELECT ` + eventCols + ` FROM events WHERE shipment_id = ? AND shipment_id <> ''`
	args := []any{shipmentID}
	if after != nil {
		q += ` AND (time_ns, seq) > (?, ?)`
		args = append(args, store.UnixNanos(after.Time), after.Seq)
	}
	q += ` ORDER BY time_ns, seq LIMIT ?`
	args = append(args, store.PageLimit(n))
	return queryAll(ctx, s.r, "timeline "+shipmentID, scanEvent, q, args...)
}

// Events implements store.Store.
func (s *Store) Events(ctx context.Context, f store.EventFilter) ([]store.EventRecord, error) {
	q := `SELECT ` + eventCols + ` FROM events WHERE seq > ?`
	args := []any{f.AfterSeq}
	if len(f.Types) > 0 {
		q += ` AND type IN (?` + strings.Repeat(", ?", len(f.Types)-1) + `)`
		for _, t := range f.Types {
			args = append(args, t)
		}
	}
	if f.ShipmentID != "" {
		q += ` AND shipment_id = ? AND shipment_id <> ''`
		args = append(args, f.ShipmentID)
	}
	if !f.From.IsZero() {
		q += ` AND time_ns >= ?`
		args = append(args, store.UnixNanos(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND time_ns < ?`
		args = append(args, store.UnixNanos(f.To))
	}
	q += ` ORDER BY seq LIMIT ?`
	args = append(args, store.PageLimit(f.Limit))
	return queryAll(ctx, s.r, "events", scanEvent, q, args...)
}

// Event implements store.Store.
func (s *Store) Event(ctx context.Context, key store.EventKey) (store.EventRecord, error) {
	e, err := scanEvent(s.r.QueryRowContext(ctx, `SELECT `+eventCols+` FROM events WHERE source = ? AND id = ?`, key.Source, key.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return e, store.ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("sqlite: event %s/%s: %w", key.Source, key.ID, err)
	}
	return e, nil
}

// Vehicle implements store.Store; a row with an empty State (a
// PostgreSQL-style placeholder) is not a vehicle.
func (s *Store) Vehicle(ctx context.Context, id string) (store.VehicleRecord, error) {
	r := store.VehicleRecord{ID: id}
	var state string
	var upd int64
	err := s.r.QueryRowContext(ctx, `SELECT state, updated_at_ns FROM vehicles WHERE id = ? AND state <> ''`, id).Scan(&state, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("sqlite: vehicle %s: %w", id, err)
	}
	r.State, r.UpdatedAt = []byte(state), store.FromUnixNanos(upd)
	return r, nil
}

const quarantineCols = `id, received_at_ns, source, principal, reason, errors, content_type, payload, truncated, replayed_at_ns, replay_state`

func scanQuarantine(sc interface{ Scan(...any) error }) (store.QuarantineRecord, error) {
	var q store.QuarantineRecord
	var rcv int64
	var errs string
	var truncated int
	var replayed sql.NullInt64
	err := sc.Scan(&q.ID, &rcv, &q.Source, &q.Principal, &q.Reason, &errs, &q.ContentType, &q.Payload, &truncated, &replayed, &q.ReplayState)
	q.ReceivedAt, q.Errors, q.Truncated = store.FromUnixNanos(rcv), []byte(errs), truncated == 1
	if replayed.Valid {
		t := store.FromUnixNanos(replayed.Int64)
		q.ReplayedAt = &t
	}
	return q, err
}

// Quarantine implements store.Store.
func (s *Store) Quarantine(ctx context.Context, f store.QuarantineFilter) ([]store.QuarantineRecord, error) {
	q := `SELECT ` + quarantineCols + ` FROM quarantine WHERE 1 = 1`
	var args []any
	if f.Source != "" {
		q += ` AND source = ?`
		args = append(args, f.Source)
	}
	if f.Before != "" {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, store.PageLimit(f.Limit))
	return queryAll(ctx, s.r, "quarantine", scanQuarantine, q, args...)
}

// QuarantineItem implements store.Store.
func (s *Store) QuarantineItem(ctx context.Context, id string) (store.QuarantineRecord, error) {
	r, err := scanQuarantine(s.r.QueryRowContext(ctx, `SELECT `+quarantineCols+` FROM quarantine WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("sqlite: quarantine %s: %w", id, err)
	}
	return r, nil
}

// Counts implements store.Store.
func (s *Store) Counts(ctx context.Context) (store.Counts, error) {
	var c store.Counts
	err := s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM shipments WHERE visible = 1),
		(SELECT count(*) FROM quarantine)`).Scan(&c.Events, &c.Shipments, &c.Quarantine)
	if err != nil {
		return c, fmt.Errorf("sqlite: counts: %w", err)
	}
	return c, nil
}

// queryAll runs a read query and scans every row; what names the query in
// errors ("sqlite: what: …").
func queryAll[T any](ctx context.Context, db *sql.DB, what string, scan func(interface{ Scan(...any) error }) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return out, nil
}
