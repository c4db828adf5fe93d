package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crossdockhq/crossdock/internal/store"
)

func (t *tx) ExistingPositions(ctx context.Context, keys []store.PositionKey) (map[store.PositionKey]bool, error) {
	veh, tm := make([]string, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		veh[i], tm[i] = k.VehicleID, store.UnixNanos(k.Time)
	}
	rows, err := t.tx.Query(ctx, `SELECT p.vehicle_id, p.time_ns FROM positions p
		JOIN unnest($1::text[], $2::bigint[]) AS k(vehicle_id, time_ns)
		ON p.vehicle_id = k.vehicle_id AND p.time_ns = k.time_ns`, veh, tm)
	if err != nil {
		return nil, fmt.Errorf("postgres: existing positions: %w", err)
	}
	defer rows.Close()
	out := make(map[store.PositionKey]bool)
	for rows.Next() {
		var v string
		var n int64
		if err := rows.Scan(&v, &n); err != nil {
			return nil, fmt.Errorf("postgres: existing positions: %w", err)
		}
		out[store.PositionKey{VehicleID: v, Time: store.FromUnixNanos(n)}] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: existing positions: %w", err)
	}
	return out, nil
}

func (t *tx) AppendPositions(ctx context.Context, recs []store.PositionRecord) error {
	n := len(recs)
	veh, dev, src, eid, corr := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	tm, rcv := make([]int64, n), make([]int64, n)
	lat, lon := make([]float64, n), make([]float64, n)
	speed, head, odo, temp, alt, acc, batt := make([]*float64, n), make([]*float64, n), make([]*float64, n),
		make([]*float64, n), make([]*float64, n), make([]*float64, n), make([]*float64, n)
	for i, p := range recs {
		veh[i], dev[i], src[i], eid[i], corr[i] = p.VehicleID, p.DeviceID, p.Source, p.EventID, p.CorrelationID
		tm[i], rcv[i], lat[i], lon[i] = store.UnixNanos(p.Time), store.UnixNanos(p.ReceivedAt), p.Lat, p.Lon
		speed[i], head[i], odo[i], temp[i], alt[i], acc[i], batt[i] = p.SpeedKph, p.Heading, p.OdometerKm,
			p.TemperatureC, p.AltitudeM, p.AccuracyM, p.BatteryPct
	}
	tag, err := t.tx.Exec(ctx, `INSERT INTO positions (vehicle_id, time_ns, device_id, source, event_id, received_at_ns,
			correlation_id, lat, lon, speed_kph, heading, odometer_km, temperature_c, altitude_m, accuracy_m, battery_pct)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[],
			$8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[], $14::float8[],
			$15::float8[], $16::float8[])
		ON CONFLICT DO NOTHING`, veh, tm, dev, src, eid, rcv, corr, lat, lon, speed, head, odo, temp, alt, acc, batt)
	if err != nil {
		return fmt.Errorf("postgres: append positions: %w", err)
	}
	if tag.RowsAffected() != int64(n) {
		return fmt.Errorf("postgres: append positions: %w", store.ErrConflict)
	}
	return nil
}

func (t *tx) DeviceVehicles(ctx context.Context, ids []string) (map[string]string, error) {
	rows, err := t.tx.Query(ctx, `SELECT device_id, vehicle_id FROM devices WHERE device_id = ANY($1::text[])`, ids)
	if err != nil {
		return nil, fmt.Errorf("postgres: devices: %w", err)
	}
	defer rows.Close()
	out := make(map[string]string, len(ids))
	for rows.Next() {
		var d, v string
		if err := rows.Scan(&d, &v); err != nil {
			return nil, fmt.Errorf("postgres: devices: %w", err)
		}
		out[d] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: devices: %w", err)
	}
	return out, nil
}

func (t *tx) SetDevices(ctx context.Context, vehicleID string, deviceIDs []string) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM devices WHERE vehicle_id = $1`, vehicleID)
	b.Queue(`INSERT INTO devices (device_id, vehicle_id) SELECT d, $2 FROM unnest($1::text[]) AS d ON CONFLICT DO NOTHING`, deviceIDs, vehicleID)
	br := t.tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("postgres: set devices of %s: %w", vehicleID, err)
	}
	tag, err := br.Exec()
	if err != nil {
		return fmt.Errorf("postgres: set devices of %s: %w", vehicleID, err)
	}
	if tag.RowsAffected() != int64(len(deviceIDs)) {
		return fmt.Errorf("postgres: set devices of %s: %w", vehicleID, store.ErrConflict)
	}
	return nil
}

const positionCols = `vehicle_id, time_ns, device_id, source, event_id, received_at_ns, correlation_id,
	lat, lon, speed_kph, heading, odometer_km, temperature_c, altitude_m, accuracy_m, battery_pct`

// Positions implements store.Store.
func (s *Store) Positions(ctx context.Context, f store.PositionFilter) ([]store.PositionRecord, error) {
	var a args
	q := `SELECT ` + positionCols + ` FROM positions WHERE vehicle_id = ` + a.add(f.VehicleID)
	if !f.From.IsZero() {
		q += ` AND time_ns >= ` + a.add(store.UnixNanos(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND time_ns < ` + a.add(store.UnixNanos(f.To))
	}
	q += ` ORDER BY time_ns LIMIT ` + a.add(store.PageLimit(f.Limit))
	rows, err := s.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("postgres: positions: %w", err)
	}
	defer rows.Close()
	var out []store.PositionRecord
	for rows.Next() {
		var p store.PositionRecord
		var tm, rcv int64
		if err := rows.Scan(&p.VehicleID, &tm, &p.DeviceID, &p.Source, &p.EventID, &rcv, &p.CorrelationID,
			&p.Lat, &p.Lon, &p.SpeedKph, &p.Heading, &p.OdometerKm, &p.TemperatureC, &p.AltitudeM, &p.AccuracyM, &p.BatteryPct); err != nil {
			return nil, fmt.Errorf("postgres: positions: %w", err)
		}
		p.Time, p.ReceivedAt = store.FromUnixNanos(tm), store.FromUnixNanos(rcv)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: positions: %w", err)
	}
	return out, nil
}

// PrunePositions implements store.Store.
func (s *Store) PrunePositions(ctx context.Context, before time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM positions WHERE (vehicle_id, time_ns) IN (
		SELECT vehicle_id, time_ns FROM positions WHERE time_ns < $1 LIMIT $2)`, store.UnixNanos(before), limit)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune positions: %w", err)
	}
	return tag.RowsAffected(), nil
}
