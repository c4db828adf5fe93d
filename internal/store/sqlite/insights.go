package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

// insightLimit clamps an insight's row limit to 1..10000, 1000 when unset.
func insightLimit(n int) int {
	switch {
	case n <= 0:
		return 1000
	case n > 10000:
		return 10000
	}
	return n
}

// cents converts invoices.total (decimal text) to integer cents per row:
// rounding each row to a whole cent is exact for two-place decimals, so
// the SUM of these is exact where a SUM of REALs would drift.
const cents = `CAST(ROUND(CAST(total AS REAL) * 100) AS INTEGER)`

// nsPerDay divides created_at_ns into UTC days (Unix time has no leap seconds).
const nsPerDay = int64(24 * time.Hour)

// ShipmentStatusCounts implements store.InsightStore: a scan of the
// partial shipments_status index (visible rows only), never the table.
func (s *Store) ShipmentStatusCounts(ctx context.Context) (map[string]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status, count(*) FROM shipments WHERE visible = 1 GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: shipment status counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var status string
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			return nil, fmt.Errorf("sqlite: shipment status counts: %w", err)
		}
		out[status] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: shipment status counts: %w", err)
	}
	return out, nil
}

// OpenCaseGroups implements store.InsightStore over the open range of the
// cases_status index.
func (s *Store) OpenCaseGroups(ctx context.Context, now time.Time) ([]store.CaseGroup, error) {
	q := `SELECT code, region, carrier, blocking, count(*),
		SUM(CASE WHEN opened_at_ns < ? THEN 1 ELSE 0 END),
		SUM(CASE WHEN opened_at_ns < ? THEN 1 ELSE 0 END),
		SUM(CASE WHEN opened_at_ns < ? THEN 1 ELSE 0 END),
		MIN(opened_at_ns)
		FROM cases WHERE status = ?
		GROUP BY code, region, carrier, blocking
		ORDER BY count(*) DESC, code, region, carrier, blocking DESC`
	return queryAll(ctx, s.r, "open case groups", func(sc interface{ Scan(...any) error }) (store.CaseGroup, error) {
		var g store.CaseGroup
		var oldest int64
		err := sc.Scan(&g.Code, &g.Region, &g.Carrier, &g.Blocking, &g.Count, &g.Over1h, &g.Over4h, &g.Over24h, &oldest)
		g.Oldest = store.FromUnixNanos(oldest)
		return g, err
	}, q, store.UnixNanos(now.Add(-time.Hour)), store.UnixNanos(now.Add(-4*time.Hour)), store.UnixNanos(now.Add(-24*time.Hour)), store.CaseOpen)
}

// InvoiceTotals implements store.InsightStore; it reads every invoice, as
// its totals are over every invoice.
func (s *Store) InvoiceTotals(ctx context.Context) ([]store.InvoiceTotal, error) {
	q := `SELECT status, currency, count(*), SUM(` + cents + `), MIN(created_at_ns)
		FROM invoices GROUP BY status, currency ORDER BY status, currency`
	return queryAll(ctx, s.r, "invoice totals", func(sc interface{ Scan(...any) error }) (store.InvoiceTotal, error) {
		var r store.InvoiceTotal
		var oldest int64
		err := sc.Scan(&r.Status, &r.Currency, &r.Count, &r.TotalCents, &oldest)
		r.Oldest = store.FromUnixNanos(oldest)
		return r, err
	}, q)
}

// RevenueByDay implements store.InsightStore over the range from of the
// invoices_created index.
func (s *Store) RevenueByDay(ctx context.Context, from time.Time) ([]store.DayRevenue, error) {
	q := `SELECT created_at_ns / ? AS day, currency, count(*), SUM(` + cents + `)
		FROM invoices WHERE created_at_ns >= ? AND status <> 'failed'
		GROUP BY day, currency ORDER BY day, currency`
	return queryAll(ctx, s.r, "revenue by day", func(sc interface{ Scan(...any) error }) (store.DayRevenue, error) {
		var r store.DayRevenue
		var day int64
		err := sc.Scan(&day, &r.Currency, &r.Count, &r.TotalCents)
		r.Day = time.Unix(0, day*nsPerDay).UTC()
		return r, err
	}, q, nsPerDay, store.UnixNanos(from))
}

// PODToInvoice implements store.InsightStore. The newest invoices come
// from the invoices_created index; each one's last proof of delivery is a
// backward walk of its shipment's range of events_timeline to the first
// delivery.completed (INDEXED BY: through events_type it would read every
// delivery.completed event there is).
func (s *Store) PODToInvoice(ctx context.Context, since time.Time, limit int) ([]time.Duration, error) {
	q := `SELECT i.created_at_ns, (SELECT e.received_at_ns FROM events e INDEXED BY events_timeline
			WHERE e.shipment_id = i.shipment_id AND e.shipment_id <> '' AND e.type = 'delivery.completed'
			ORDER BY e.time_ns DESC, e.seq DESC LIMIT 1)
		FROM (SELECT id, shipment_id, created_at_ns FROM invoices WHERE created_at_ns >= ?
			ORDER BY created_at_ns DESC, id DESC LIMIT ?) i
		ORDER BY i.created_at_ns DESC, i.id DESC`
	type row struct {
		created int64
		pod     sql.NullInt64 // NULL: the shipment has no proof of delivery
	}
	rows, err := queryAll(ctx, s.r, "pod to invoice", func(sc interface{ Scan(...any) error }) (row, error) {
		var r row
		err := sc.Scan(&r.created, &r.pod)
		return r, err
	}, q, store.UnixNanos(since), insightLimit(limit))
	if err != nil {
		return nil, err
	}
	out := make([]time.Duration, 0, len(rows))
	for _, r := range rows {
		if r.pod.Valid {
			out = append(out, time.Duration(r.created-r.pod.Int64))
		}
	}
	return out, nil
}

// PropagationLags implements store.InsightStore: a backward range read of
// the partial events_delivered index, already in the order asked for.
// The literal type repeats the index's WHERE, which SQLite must see to use
// it; INDEXED BY because without statistics the planner prefers the
// equality on events_type, then reads and sorts every delivered event.
func (s *Store) PropagationLags(ctx context.Context, since time.Time, limit int) ([]time.Duration, error) {
	q := `SELECT data FROM events INDEXED BY events_delivered WHERE type = 'delivery.delivered' AND received_at_ns >= ?
		ORDER BY received_at_ns DESC, seq DESC LIMIT ?`
	data, err := queryAll(ctx, s.r, "propagation lags", func(sc interface{ Scan(...any) error }) ([]byte, error) {
		var b []byte
		err := sc.Scan(&b)
		return b, err
	}, q, store.UnixNanos(since), insightLimit(limit))
	if err != nil {
		return nil, err
	}
	return lags(data), nil
}

// lags reads the lag_ms of each delivered event's data, leaving out those
// that record none (recorded before lag_ms was).
func lags(data [][]byte) []time.Duration {
	out := make([]time.Duration, 0, len(data))
	for _, b := range data {
		var d struct {
			LagMS *int64 `json:"lag_ms"`
		}
		if json.Unmarshal(b, &d) == nil && d.LagMS != nil {
			out = append(out, time.Duration(*d.LagMS)*time.Millisecond)
		}
	}
	return out
}

// RecentVehicles implements store.InsightStore. It sorts the vehicles
// table (one row per vehicle): an index on updated_at_ns would be
// rewritten by every position the telemetry path records.
func (s *Store) RecentVehicles(ctx context.Context, limit int) ([]store.VehicleRecord, error) {
	q := `SELECT id, state, updated_at_ns FROM vehicles WHERE state <> '' ORDER BY updated_at_ns DESC, id LIMIT ?`
	return queryAll(ctx, s.r, "recent vehicles", func(sc interface{ Scan(...any) error }) (store.VehicleRecord, error) {
		var r store.VehicleRecord
		var state string
		var upd int64
		err := sc.Scan(&r.ID, &state, &upd)
		r.State, r.UpdatedAt = []byte(state), store.FromUnixNanos(upd)
		return r, err
	}, q, insightLimit(limit))
}
