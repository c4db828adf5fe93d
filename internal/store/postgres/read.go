package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/crossdockhq/crossdock/internal/store"
)

const shipmentCols = `id, visible, status, customer_id, state, updated_at_ns`

func scanShipment(sc pgx.Row) (store.ShipmentRecord, error) {
	var r store.ShipmentRecord
	var state string
	var upd int64
	err := sc.Scan(&r.ID, &r.Visible, &r.Status, &r.CustomerID, &state, &upd)
	r.State, r.UpdatedAt = []byte(state), store.FromUnixNanos(upd)
	return r, err
}

// Shipment implements store.Store.
func (s *Store) Shipment(ctx context.Context, id string) (store.ShipmentRecord, error) {
	r, err := scanShipment(s.pool.QueryRow(ctx, `SELECT `+shipmentCols+` FROM shipments WHERE id = $1 AND visible`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("postgres: shipment %s: %w", id, err)
	}
	return r, nil
}

// args accumulates positional parameters for a query built from fixed fragments.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// Shipments implements store.Store.
func (s *Store) Shipments(ctx context.Context, f store.ShipmentFilter) ([]store.ShipmentRecord, error) {
	var a args
	where := []string{"visible"}
	if f.Status != "" {
		where = append(where, "status = "+a.add(f.Status))
	}
	if f.CustomerID != "" {
		where = append(where, "customer_id = "+a.add(f.CustomerID))
	}
	if f.PartnerID != "" {
		where = append(where, "id IN (SELECT shipment_id FROM shipment_partners WHERE partner_id = "+a.add(f.PartnerID)+")")
	}
	if !f.UpdatedSince.IsZero() {
		where = append(where, "updated_at_ns >= "+a.add(f.UpdatedSince.UnixNano()))
	}
	if f.After != nil {
		where = append(where, "(updated_at_ns, id) > ("+a.add(store.UnixNanos(f.After.UpdatedAt))+", "+a.add(f.After.ID)+")")
	}
	q := `SELECT ` + shipmentCols + ` FROM shipments WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY updated_at_ns, id LIMIT ` + a.add(store.PageLimit(f.Limit))
	rows, err := s.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("postgres: shipments: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.ShipmentRecord, error) { return scanShipment(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: shipments: %w", err)
	}
	return out, nil
}

const eventCols = `seq, source, id, type, subject, shipment_id, time_ns, received_at_ns, correlation_id, causation_id, principal, data`

func scanEvent(sc pgx.Row) (store.EventRecord, error) {
	var e store.EventRecord
	var t, rcv int64
	var data string
	err := sc.Scan(&e.Seq, &e.Source, &e.ID, &e.Type, &e.Subject, &e.ShipmentID, &t, &rcv, &e.CorrelationID, &e.CausationID, &e.Principal, &data)
	e.Time, e.ReceivedAt, e.Data = store.FromUnixNanos(t), store.FromUnixNanos(rcv), []byte(data)
	return e, err
}

// Events implements store.Store.
func (s *Store) Events(ctx context.Context, f store.EventFilter) ([]store.EventRecord, error) {
	a := args{f.AfterSeq}
	q := `SELECT ` + eventCols + ` FROM events WHERE seq > $1`
	if len(f.Types) > 0 {
		q += ` AND type = ANY(` + a.add(f.Types) + `)`
	}
	if f.ShipmentID != "" {
		q += ` AND shipment_id = ` + a.add(f.ShipmentID) + ` AND shipment_id <> ''`
	}
	if !f.From.IsZero() {
		q += ` AND time_ns >= ` + a.add(store.UnixNanos(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND time_ns < ` + a.add(store.UnixNanos(f.To))
	}
	q += ` ORDER BY seq LIMIT ` + a.add(store.PageLimit(f.Limit))
	rows, err := s.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("postgres: events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.EventRecord, error) { return scanEvent(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: events: %w", err)
	}
	return out, nil
}

// Timeline implements store.Store. Events without a shipment belong to no
// timeline, so an empty shipmentID lists nothing.
func (s *Store) Timeline(ctx context.Context, shipmentID string, after *store.TimelineCursor, n int) ([]store.EventRecord, error) {
	if shipmentID == "" {
		return nil, nil
	}
	a := args{shipmentID}
	// shipment_id <> '' repeats the partial timeline index's WHERE so even a
	// generic plan (which cannot see $1) may use it.
	q := `SELECT ` + eventCols + ` FROM events WHERE shipment_id = $1 AND shipment_id <> ''`
	if after != nil {
		q += ` AND (time_ns, seq) > (` + a.add(store.UnixNanos(after.Time)) + `, ` + a.add(after.Seq) + `)`
	}
	q += ` ORDER BY time_ns, seq LIMIT ` + a.add(store.PageLimit(n))
	rows, err := s.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("postgres: timeline %s: %w", shipmentID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.EventRecord, error) { return scanEvent(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: timeline %s: %w", shipmentID, err)
	}
	return out, nil
}

// Event implements store.Store.
func (s *Store) Event(ctx context.Context, key store.EventKey) (store.EventRecord, error) {
	e, err := scanEvent(s.pool.QueryRow(ctx, `SELECT `+eventCols+` FROM events WHERE source = $1 AND id = $2`, key.Source, key.ID))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, store.ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("postgres: event %s/%s: %w", key.Source, key.ID, err)
	}
	return e, nil
}

// Vehicle implements store.Store; placeholder rows are not vehicles.
func (s *Store) Vehicle(ctx context.Context, id string) (store.VehicleRecord, error) {
	r := store.VehicleRecord{ID: id}
	var state string
	var upd int64
	err := s.pool.QueryRow(ctx, `SELECT state, updated_at_ns FROM vehicles WHERE id = $1 AND state <> ''`, id).Scan(&state, &upd)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("postgres: vehicle %s: %w", id, err)
	}
	r.State, r.UpdatedAt = []byte(state), store.FromUnixNanos(upd)
	return r, nil
}

const quarantineCols = `id, received_at_ns, source, principal, reason, errors, content_type, payload, truncated, replayed_at_ns, replay_state`

func scanQuarantine(sc pgx.Row) (store.QuarantineRecord, error) {
	var q store.QuarantineRecord
	var rcv int64
	var errs string
	var replayed *int64
	err := sc.Scan(&q.ID, &rcv, &q.Source, &q.Principal, &q.Reason, &errs, &q.ContentType, &q.Payload, &q.Truncated, &replayed, &q.ReplayState)
	q.ReceivedAt, q.Errors = store.FromUnixNanos(rcv), []byte(errs)
	if replayed != nil {
		t := store.FromUnixNanos(*replayed)
		q.ReplayedAt = &t
	}
	return q, err
}

// Quarantine implements store.Store.
func (s *Store) Quarantine(ctx context.Context, f store.QuarantineFilter) ([]store.QuarantineRecord, error) {
	var a args
	q := `SELECT ` + quarantineCols + ` FROM quarantine WHERE true`
	if f.Source != "" {
		q += ` AND source = ` + a.add(f.Source)
	}
	if f.Before != "" {
		q += ` AND id < ` + a.add(f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ` + a.add(store.PageLimit(f.Limit))
	rows, err := s.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("postgres: quarantine: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.QuarantineRecord, error) { return scanQuarantine(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: quarantine: %w", err)
	}
	return out, nil
}

// QuarantineItem implements store.Store.
func (s *Store) QuarantineItem(ctx context.Context, id string) (store.QuarantineRecord, error) {
	r, err := scanQuarantine(s.pool.QueryRow(ctx, `SELECT `+quarantineCols+` FROM quarantine WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("postgres: quarantine %s: %w", id, err)
	}
	return r, nil
}

// Counts implements store.Store.
func (s *Store) Counts(ctx context.Context) (store.Counts, error) {
	var c store.Counts
	err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM shipments WHERE visible),
		(SELECT count(*) FROM quarantine)`).Scan(&c.Events, &c.Shipments, &c.Quarantine)
	if err != nil {
		return c, fmt.Errorf("postgres: counts: %w", err)
	}
	return c, nil
}
