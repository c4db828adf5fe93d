package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

func (t *tx) ExistingPositions(ctx context.Context, keys []store.PositionKey) (map[store.PositionKey]bool, error) {
	st := t.stmt(ctx, t.s.stmts.positionExists)
	out := make(map[store.PositionKey]bool)
	for _, k := range keys {
		var one int
		err := st.QueryRowContext(ctx, k.VehicleID, store.UnixNanos(k.Time)).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("sqlite: existing positions: %w", err)
		default:
			out[k] = true
		}
	}
	return out, nil
}

func (t *tx) AppendPositions(ctx context.Context, recs []store.PositionRecord) error {
	st := t.stmt(ctx, t.s.stmts.insertPosition)
	for _, p := range recs {
		res, err := st.ExecContext(ctx, p.VehicleID, store.UnixNanos(p.Time), p.DeviceID, p.Source, p.EventID,
			store.UnixNanos(p.ReceivedAt), p.CorrelationID, p.Lat, p.Lon, p.SpeedKph, p.Heading, p.OdometerKm,
			p.TemperatureC, p.AltitudeM, p.AccuracyM, p.BatteryPct)
		if err != nil {
			return fmt.Errorf("sqlite: append position %s: %w", p.VehicleID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("sqlite: append position %s: %w", p.VehicleID, store.ErrConflict)
		}
	}
	return nil
}

func (t *tx) DeviceVehicles(ctx context.Context, ids []string) (map[string]string, error) {
	st := t.stmt(ctx, t.s.stmts.deviceVehicle)
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		var v string
		err := st.QueryRowContext(ctx, id).Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("sqlite: device %s: %w", id, err)
		default:
			out[id] = v
		}
	}
	return out, nil
}

func (t *tx) SetDevices(ctx context.Context, vehicleID string, deviceIDs []string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM devices WHERE vehicle_id = ?`, vehicleID); err != nil {
		return fmt.Errorf("sqlite: set devices of %s: %w", vehicleID, err)
	}
	for _, d := range deviceIDs {
		res, err := t.tx.ExecContext(ctx, `INSERT INTO devices (device_id, vehicle_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, d, vehicleID)
		if err != nil {
			return fmt.Errorf("sqlite: set devices of %s: %w", vehicleID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("sqlite: device %s: %w", d, store.ErrConflict)
		}
	}
	return nil
}

const positionCols = `vehicle_id, time_ns, device_id, source, event_id, received_at_ns, correlation_id,
	lat, lon, speed_kph, heading, odometer_km, temperature_c, altitude_m, accuracy_m, battery_pct`

// Positions implements store.Store.
func (s *Store) Positions(ctx context.Context, f store.PositionFilter) ([]store.PositionRecord, error) {
	q := `SELECT ` + positionCols + ` FROM positions WHERE vehicle_id = ?`
	args := []any{f.VehicleID}
	if !f.From.IsZero() {
		q += ` AND time_ns >= ?`
		args = append(args, store.UnixNanos(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND time_ns < ?`
		args = append(args, store.UnixNanos(f.To))
	}
	q += ` ORDER BY time_ns LIMIT ?`
	args = append(args, store.PageLimit(f.Limit))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: positions: %w", err)
	}
	defer rows.Close()
	var out []store.PositionRecord
	for rows.Next() {
		var p store.PositionRecord
		var tm, rcv int64
		if err := rows.Scan(&p.VehicleID, &tm, &p.DeviceID, &p.Source, &p.EventID, &rcv, &p.CorrelationID,
			&p.Lat, &p.Lon, &p.SpeedKph, &p.Heading, &p.OdometerKm, &p.TemperatureC, &p.AltitudeM, &p.AccuracyM, &p.BatteryPct); err != nil {
			return nil, fmt.Errorf("sqlite: positions: %w", err)
		}
		p.Time, p.ReceivedAt = store.FromUnixNanos(tm), store.FromUnixNanos(rcv)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: positions: %w", err)
	}
	return out, nil
}

// PrunePositions implements store.Store on the writer connection: it
// waits for the pipeline's current transaction, never runs alongside it.
func (s *Store) PrunePositions(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM positions WHERE (vehicle_id, time_ns) IN (
		SELECT vehicle_id, time_ns FROM positions WHERE time_ns < ? LIMIT ?)`, store.UnixNanos(before), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune positions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune positions: %w", err)
	}
	return n, nil
}
