package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/crossdockhq/crossdock/internal/store"
)

// text passes JSON bytes for a text[] element without copying them into
// a string; nil becomes empty, as the columns are NOT NULL.
func text(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

type tx struct {
	tx   pgx.Tx
	done bool
}

// Begin starts a write transaction (READ COMMITTED; rows are locked explicitly).
func (s *Store) Begin(ctx context.Context) (store.Tx, error) {
	t, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: begin: %w", err)
	}
	return &tx{tx: t}, nil
}

func (t *tx) ExistingEvents(ctx context.Context, keys []store.EventKey) (map[store.EventKey]bool, error) {
	sources, ids := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		sources[i], ids[i] = k.Source, k.ID
	}
	rows, err := t.tx.Query(ctx, `SELECT e.source, e.id FROM events e
		JOIN unnest($1::text[], $2::text[]) AS k(source, id) ON e.source = k.source AND e.id = k.id`, sources, ids)
	if err != nil {
		return nil, fmt.Errorf("postgres: existing events: %w", err)
	}
	defer rows.Close()
	out := make(map[store.EventKey]bool)
	for rows.Next() {
		var k store.EventKey
		if err := rows.Scan(&k.Source, &k.ID); err != nil {
			return nil, fmt.Errorf("postgres: existing events: %w", err)
		}
		out[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: existing events: %w", err)
	}
	return out, nil
}

func (t *tx) AppendEvents(ctx context.Context, evs []store.EventRecord) error {
	n := len(evs)
	src, id, typ, subj, shp := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	tm, rcv := make([]int64, n), make([]int64, n)
	corr, caus, prin, data := make([]string, n), make([]string, n), make([]string, n), make([][]byte, n)
	for i, e := range evs {
		src[i], id[i], typ[i], subj[i], shp[i] = e.Source, e.ID, e.Type, e.Subject, e.ShipmentID
		tm[i], rcv[i] = store.UnixNanos(e.Time), store.UnixNanos(e.ReceivedAt)
		corr[i], caus[i], prin[i], data[i] = e.CorrelationID, e.CausationID, e.Principal, text(e.Data)
	}
	rows, err := t.tx.Query(ctx, `INSERT INTO events (source, id, type, subject, shipment_id, time_ns, received_at_ns,
			correlation_id, causation_id, principal, data)
		SELECT source, id, type, subject, shipment_id, time_ns, received_at_ns, correlation_id, causation_id, principal, data
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
			$8::text[], $9::text[], $10::text[], $11::text[])
			WITH ORDINALITY AS v(source, id, type, subject, shipment_id, time_ns, received_at_ns, correlation_id, causation_id, principal, data, ord)
		ORDER BY ord
		ON CONFLICT (source, id) DO NOTHING
		RETURNING source, id, seq`, src, id, typ, subj, shp, tm, rcv, corr, caus, prin, data)
	if err != nil {
		return fmt.Errorf("postgres: append events: %w", err)
	}
	defer rows.Close()
	seqs := make(map[store.EventKey]int64, n)
	for rows.Next() {
		var k store.EventKey
		var seq int64
		if err := rows.Scan(&k.Source, &k.ID, &seq); err != nil {
			return fmt.Errorf("postgres: append events: %w", err)
		}
		seqs[k] = seq
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: append events: %w", err)
	}
	for i := range evs {
		seq, ok := seqs[evs[i].Key()]
		if !ok {
			return fmt.Errorf("postgres: append event %s/%s: %w", evs[i].Source, evs[i].ID, store.ErrConflict)
		}
		evs[i].Seq = seq
	}
	return nil
}

// LockShipments creates placeholder rows (visible false, empty state) for
// unknown ids so they can be locked too, then locks every row in id order —
// one round trip (a two-statement batch). Placeholders, new or left by an
// earlier transaction that never put the shipment, are locked but never
// returned: an id whose row is invisible with an empty State is absent from
// the map, exactly as on SQLite.
//
// Under READ COMMITTED the INSERT waits for another transaction that is
// inserting the same id, and the SELECT … FOR UPDATE then waits for the row
// lock and reads the latest committed version, so a second writer sees the
// first one's put instead of overwriting it.
func (t *tx) LockShipments(ctx context.Context, ids []string) (map[string]store.ShipmentRecord, error) {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO shipments (id, visible, status, customer_id, state, updated_at_ns)
		SELECT id, false, '', '', '', 0 FROM unnest($1::text[]) AS id ORDER BY id ON CONFLICT (id) DO NOTHING`, ids)
	b.Queue(`SELECT id, visible, status, customer_id, state, updated_at_ns FROM shipments
		WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`, ids)
	br := t.tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("postgres: lock shipments: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("postgres: lock shipments: %w", err)
	}
	defer rows.Close()
	out := make(map[string]store.ShipmentRecord, len(ids))
	for rows.Next() {
		var r store.ShipmentRecord
		var state string
		var upd int64
		if err := rows.Scan(&r.ID, &r.Visible, &r.Status, &r.CustomerID, &state, &upd); err != nil {
			return nil, fmt.Errorf("postgres: lock shipments: %w", err)
		}
		if !r.Visible && state == "" {
			continue
		}
		r.State, r.UpdatedAt = []byte(state), store.FromUnixNanos(upd)
		out[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: lock shipments: %w", err)
	}
	return out, nil
}

func (t *tx) PutShipments(ctx context.Context, recs []store.ShipmentRecord) error {
	n := len(recs)
	id, status, cust, state := make([]string, n), make([]string, n), make([]string, n), make([][]byte, n)
	vis, upd := make([]bool, n), make([]int64, n)
	for i, r := range recs {
		id[i], status[i], cust[i], state[i], vis[i], upd[i] = r.ID, r.Status, r.CustomerID, text(r.State), r.Visible, store.UnixNanos(r.UpdatedAt)
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO shipments (id, visible, status, customer_id, state, updated_at_ns)
		SELECT * FROM unnest($1::text[], $2::bool[], $3::text[], $4::text[], $5::text[], $6::bigint[])
		ON CONFLICT (id) DO UPDATE SET visible = excluded.visible, status = excluded.status,
			customer_id = excluded.customer_id, state = excluded.state, updated_at_ns = excluded.updated_at_ns`,
		id, vis, status, cust, state, upd)
	if err != nil {
		return fmt.Errorf("postgres: put shipments: %w", err)
	}
	return nil
}

// LockVehicles is LockShipments for vehicles; a placeholder is a row with
// an empty State, and is locked but not returned.
func (t *tx) LockVehicles(ctx context.Context, ids []string) (map[string]store.VehicleRecord, error) {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO vehicles (id, state, updated_at_ns)
		SELECT id, '', 0 FROM unnest($1::text[]) AS id ORDER BY id ON CONFLICT (id) DO NOTHING`, ids)
	b.Queue(`SELECT id, state, updated_at_ns FROM vehicles WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`, ids)
	br := t.tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("postgres: lock vehicles: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("postgres: lock vehicles: %w", err)
	}
	defer rows.Close()
	out := make(map[string]store.VehicleRecord, len(ids))
	for rows.Next() {
		var r store.VehicleRecord
		var state string
		var upd int64
		if err := rows.Scan(&r.ID, &state, &upd); err != nil {
			return nil, fmt.Errorf("postgres: lock vehicles: %w", err)
		}
		if state == "" {
			continue
		}
		r.State, r.UpdatedAt = []byte(state), store.FromUnixNanos(upd)
		out[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: lock vehicles: %w", err)
	}
	return out, nil
}

func (t *tx) PutVehicles(ctx context.Context, recs []store.VehicleRecord) error {
	n := len(recs)
	id, state, upd := make([]string, n), make([][]byte, n), make([]int64, n)
	for i, r := range recs {
		id[i], state[i], upd[i] = r.ID, text(r.State), store.UnixNanos(r.UpdatedAt)
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO vehicles (id, state, updated_at_ns)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
		ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at_ns = excluded.updated_at_ns`, id, state, upd)
	if err != nil {
		return fmt.Errorf("postgres: put vehicles: %w", err)
	}
	return nil
}

// PutQuarantine inserts recs or replaces every column of a stored record
// with the same ID. A nil Errors is stored as "[]", a nil Payload as empty.
func (t *tx) PutQuarantine(ctx context.Context, recs []store.QuarantineRecord) error {
	n := len(recs)
	id, src, prin, reason, errs, ct, state := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	rcv, replayed := make([]int64, n), make([]*int64, n)
	payload, trunc := make([][]byte, n), make([]bool, n)
	for i, r := range recs {
		id[i], src[i], prin[i], reason[i], ct[i], state[i] = r.ID, r.Source, r.Principal, r.Reason, r.ContentType, r.ReplayState
		errs[i] = string(r.Errors)
		if errs[i] == "" {
			errs[i] = "[]"
		}
		rcv[i], trunc[i] = store.UnixNanos(r.ReceivedAt), r.Truncated
		payload[i] = r.Payload
		if payload[i] == nil {
			payload[i] = []byte{}
		}
		if r.ReplayedAt != nil {
			v := r.ReplayedAt.UnixNano()
			replayed[i] = &v
		}
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO quarantine (id, received_at_ns, source, principal, reason, errors, content_type,
			payload, truncated, replayed_at_ns, replay_state)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::bytea[], $9::bool[], $10::bigint[], $11::text[])
		ON CONFLICT (id) DO UPDATE SET received_at_ns = excluded.received_at_ns, source = excluded.source,
			principal = excluded.principal, reason = excluded.reason, errors = excluded.errors,
			content_type = excluded.content_type, payload = excluded.payload, truncated = excluded.truncated,
			replayed_at_ns = excluded.replayed_at_ns, replay_state = excluded.replay_state`,
		id, rcv, src, prin, reason, errs, ct, payload, trunc, replayed, state)
	if err != nil {
		return fmt.Errorf("postgres: put quarantine: %w", err)
	}
	return nil
}

func (t *tx) Commit() error {
	if t.done {
		return errors.New("postgres: transaction already finished")
	}
	t.done = true
	if err := t.tx.Commit(context.Background()); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

func (t *tx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	if err := t.tx.Rollback(context.Background()); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("postgres: rollback: %w", err)
	}
	return nil
}
