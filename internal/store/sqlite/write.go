package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/crossdockhq/crossdock/internal/store"
)

// writeStmts are the writer's hot statements, prepared once on its single
// connection.
type writeStmts struct {
	exists, insertEvent, getShipment, putShipment, getVehicle, putVehicle, putQuarantine *sql.Stmt
	positionExists, insertPosition, deviceVehicle                                        *sql.Stmt
}

func (w *writeStmts) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&w.exists, `SELECT 1 FROM events WHERE source = ? AND id = ?`},
		{&w.insertEvent, `INSERT INTO events (source, id, type, subject, shipment_id, time_ns, received_at_ns,
			correlation_id, causation_id, principal, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (source, id) DO NOTHING`},
		{&w.getShipment, `SELECT visible, status, customer_id, state, updated_at_ns FROM shipments WHERE id = ?`},
		{&w.putShipment, `INSERT INTO shipments (id, visible, status, customer_id, state, updated_at_ns) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET visible = excluded.visible, status = excluded.status,
			customer_id = excluded.customer_id, state = excluded.state, updated_at_ns = excluded.updated_at_ns`},
		{&w.getVehicle, `SELECT state, updated_at_ns FROM vehicles WHERE id = ?`},
		{&w.putVehicle, `INSERT INTO vehicles (id, state, updated_at_ns) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at_ns = excluded.updated_at_ns`},
		{&w.putQuarantine, `INSERT INTO quarantine (id, received_at_ns, source, principal, reason, errors, content_type,
			payload, truncated, replayed_at_ns, replay_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET received_at_ns = excluded.received_at_ns, source = excluded.source,
			principal = excluded.principal, reason = excluded.reason, errors = excluded.errors,
			content_type = excluded.content_type, payload = excluded.payload, truncated = excluded.truncated,
			replayed_at_ns = excluded.replayed_at_ns, replay_state = excluded.replay_state`},
		{&w.positionExists, `SELECT 1 FROM positions WHERE vehicle_id = ? AND time_ns = ?`},
		{&w.insertPosition, `INSERT INTO positions (vehicle_id, time_ns, device_id, source, event_id, received_at_ns,
			correlation_id, lat, lon, speed_kph, heading, odometer_km, temperature_c, altitude_m, accuracy_m, battery_pct)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`},
		{&w.deviceVehicle, `SELECT vehicle_id FROM devices WHERE device_id = ?`},
	} {
		st, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("sqlite: prepare: %w", err)
		}
		*p.dst = st
	}
	return nil
}

func (w *writeStmts) close() {
	for _, st := range []*sql.Stmt{w.exists, w.insertEvent, w.getShipment, w.putShipment, w.getVehicle, w.putVehicle, w.putQuarantine,
		w.positionExists, w.insertPosition, w.deviceVehicle} {
		if st != nil {
			_ = st.Close()
		}
	}
}

// tx is one write transaction on the writer connection.
type tx struct {
	tx   *sql.Tx
	s    *Store
	done bool
}

// Begin starts a write transaction (BEGIN IMMEDIATE).
func (s *Store) Begin(ctx context.Context) (store.Tx, error) {
	t, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin: %w", err)
	}
	return &tx{tx: t, s: s}, nil
}

func (t *tx) stmt(ctx context.Context, st *sql.Stmt) *sql.Stmt { return t.tx.StmtContext(ctx, st) }

func (t *tx) ExistingEvents(ctx context.Context, keys []store.EventKey) (map[store.EventKey]bool, error) {
	st := t.stmt(ctx, t.s.stmts.exists)
	out := make(map[store.EventKey]bool)
	for _, k := range keys {
		var one int
		err := st.QueryRowContext(ctx, k.Source, k.ID).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("sqlite: existing events: %w", err)
		default:
			out[k] = true
		}
	}
	return out, nil
}

func (t *tx) AppendEvents(ctx context.Context, evs []store.EventRecord) error {
	st := t.stmt(ctx, t.s.stmts.insertEvent)
	for i := range evs {
		e := &evs[i]
		res, err := st.ExecContext(ctx, e.Source, e.ID, e.Type, e.Subject, e.ShipmentID, store.UnixNanos(e.Time), store.UnixNanos(e.ReceivedAt),
			e.CorrelationID, e.CausationID, e.Principal, string(e.Data))
		if err != nil {
			return fmt.Errorf("sqlite: append event %s/%s: %w", e.Source, e.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("sqlite: append event %s/%s: %w", e.Source, e.ID, store.ErrConflict)
		}
		if e.Seq, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("sqlite: append event %s/%s: %w", e.Source, e.ID, err)
		}
	}
	return nil
}

// LockShipments reads the records of ids. The write transaction (BEGIN
// IMMEDIATE) already holds SQLite's database-wide write lock, so nothing
// more is locked and no placeholders are created. Rows that look like
// placeholders (invisible, empty State) are omitted, as on PostgreSQL.
func (t *tx) LockShipments(ctx context.Context, ids []string) (map[string]store.ShipmentRecord, error) {
	st := t.stmt(ctx, t.s.stmts.getShipment)
	out := make(map[string]store.ShipmentRecord, len(ids))
	for _, id := range ids {
		r := store.ShipmentRecord{ID: id}
		var visible int
		var state string
		var upd int64
		err := st.QueryRowContext(ctx, id).Scan(&visible, &r.Status, &r.CustomerID, &state, &upd)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: lock shipment %s: %w", id, err)
		}
		if visible == 0 && state == "" {
			continue
		}
		r.Visible, r.State, r.UpdatedAt = visible == 1, []byte(state), store.FromUnixNanos(upd)
		out[id] = r
	}
	return out, nil
}

func (t *tx) PutShipments(ctx context.Context, recs []store.ShipmentRecord) error {
	st := t.stmt(ctx, t.s.stmts.putShipment)
	for _, r := range recs {
		if _, err := st.ExecContext(ctx, r.ID, boolInt(r.Visible), r.Status, r.CustomerID, string(r.State), store.UnixNanos(r.UpdatedAt)); err != nil {
			return fmt.Errorf("sqlite: put shipment %s: %w", r.ID, err)
		}
	}
	return nil
}

// LockVehicles is LockShipments for vehicles; a row with an empty State
// counts as absent.
func (t *tx) LockVehicles(ctx context.Context, ids []string) (map[string]store.VehicleRecord, error) {
	st := t.stmt(ctx, t.s.stmts.getVehicle)
	out := make(map[string]store.VehicleRecord, len(ids))
	for _, id := range ids {
		var state string
		var upd int64
		err := st.QueryRowContext(ctx, id).Scan(&state, &upd)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: lock vehicle %s: %w", id, err)
		}
		if state == "" {
			continue
		}
		out[id] = store.VehicleRecord{ID: id, State: []byte(state), UpdatedAt: store.FromUnixNanos(upd)}
	}
	return out, nil
}

func (t *tx) PutVehicles(ctx context.Context, recs []store.VehicleRecord) error {
	st := t.stmt(ctx, t.s.stmts.putVehicle)
	for _, r := range recs {
		if _, err := st.ExecContext(ctx, r.ID, string(r.State), store.UnixNanos(r.UpdatedAt)); err != nil {
			return fmt.Errorf("sqlite: put vehicle %s: %w", r.ID, err)
		}
	}
	return nil
}

// PutQuarantine inserts recs or replaces every column of a stored record
// with the same ID. A nil Errors is stored as "[]", a nil Payload as empty.
func (t *tx) PutQuarantine(ctx context.Context, recs []store.QuarantineRecord) error {
	st := t.stmt(ctx, t.s.stmts.putQuarantine)
	for _, r := range recs {
		var replayed any
		if r.ReplayedAt != nil {
			replayed = r.ReplayedAt.UnixNano()
		}
		errs := r.Errors
		if errs == nil {
			errs = []byte("[]")
		}
		payload := r.Payload
		if payload == nil {
			payload = []byte{}
		}
		if _, err := st.ExecContext(ctx, r.ID, store.UnixNanos(r.ReceivedAt), r.Source, r.Principal, r.Reason, string(errs), r.ContentType,
			payload, boolInt(r.Truncated), replayed, r.ReplayState); err != nil {
			return fmt.Errorf("sqlite: put quarantine %s: %w", r.ID, err)
		}
	}
	return nil
}

func (t *tx) Commit() error {
	if t.done {
		return errors.New("sqlite: transaction already finished")
	}
	t.done = true
	if err := t.tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

func (t *tx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	if err := t.tx.Rollback(); err != nil {
		return fmt.Errorf("sqlite: rollback: %w", err)
	}
	return nil
}
