package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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

// cents converts invoices.total (decimal text) to integer cents per row,
// exactly: numeric arithmetic, then a bigint the SUM adds without loss.
const cents = `(total::numeric * 100)::bigint`

// nsPerDay divides created_at_ns into UTC days (Unix time has no leap seconds).
const nsPerDay = int64(24 * time.Hour)

// collect runs a read query and collects its rows with scan; what names
// the query in errors ("postgres: what: …").
func collect[T any](ctx context.Context, s *Store, what string, scan func(pgx.CollectableRow) (T, error), q string, a ...any) ([]T, error) {
	rows, err := s.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return out, nil
}

// ShipmentStatusCounts implements store.InsightStore over the visible rows
// (the partial shipments_status index when the planner finds it cheaper).
func (s *Store) ShipmentStatusCounts(ctx context.Context) (map[string]int64, error) {
	type row struct {
		status string
		n      int64
	}
	rows, err := collect(ctx, s, "shipment status counts", func(r pgx.CollectableRow) (row, error) {
		var v row
		err := r.Scan(&v.status, &v.n)
		return v, err
	}, `SELECT status, count(*) FROM shipments WHERE visible GROUP BY status`)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.status] = r.n
	}
	return out, nil
}

// OpenCaseGroups implements store.InsightStore over the open range of the
// cases_status index.
func (s *Store) OpenCaseGroups(ctx context.Context, now time.Time) ([]store.CaseGroup, error) {
	q := `SELECT code, region, carrier, blocking, count(*),
		count(*) FILTER (WHERE opened_at_ns < $1),
		count(*) FILTER (WHERE opened_at_ns < $2),
		count(*) FILTER (WHERE opened_at_ns < $3),
		MIN(opened_at_ns)
		FROM cases WHERE status = $4
		GROUP BY code, region, carrier, blocking
		ORDER BY count(*) DESC, code, region, carrier, blocking DESC`
	return collect(ctx, s, "open case groups", func(r pgx.CollectableRow) (store.CaseGroup, error) {
		var g store.CaseGroup
		var oldest int64
		err := r.Scan(&g.Code, &g.Region, &g.Carrier, &g.Blocking, &g.Count, &g.Over1h, &g.Over4h, &g.Over24h, &oldest)
		g.Oldest = store.FromUnixNanos(oldest)
		return g, err
	}, q, store.UnixNanos(now.Add(-time.Hour)), store.UnixNanos(now.Add(-4*time.Hour)), store.UnixNanos(now.Add(-24*time.Hour)), store.CaseOpen)
}

// InvoiceTotals implements store.InsightStore; it reads every invoice, as
// its totals are over every invoice.
func (s *Store) InvoiceTotals(ctx context.Context) ([]store.InvoiceTotal, error) {
	q := `SELECT status, currency, count(*), SUM(` + cents + `)::bigint, MIN(created_at_ns)
		FROM invoices GROUP BY status, currency ORDER BY status, currency`
	return collect(ctx, s, "invoice totals", func(r pgx.CollectableRow) (store.InvoiceTotal, error) {
		var t store.InvoiceTotal
		var oldest int64
		err := r.Scan(&t.Status, &t.Currency, &t.Count, &t.TotalCents, &oldest)
		t.Oldest = store.FromUnixNanos(oldest)
		return t, err
	}, q)
}

// RevenueByDay implements store.InsightStore over the range from of the
// invoices_created index.
func (s *Store) RevenueByDay(ctx context.Context, from time.Time) ([]store.DayRevenue, error) {
	q := `SELECT created_at_ns / $1 AS day, currency, count(*), SUM(` + cents + `)::bigint
		FROM invoices WHERE created_at_ns >= $2 AND status <> 'failed'
		GROUP BY day, currency ORDER BY day, currency`
	return collect(ctx, s, "revenue by day", func(r pgx.CollectableRow) (store.DayRevenue, error) {
		var d store.DayRevenue
		var day int64
		err := r.Scan(&day, &d.Currency, &d.Count, &d.TotalCents)
		d.Day = time.Unix(0, day*nsPerDay).UTC()
		return d, err
	}, q, nsPerDay, store.UnixNanos(from))
}

// PODToInvoice implements store.InsightStore. The newest invoices come
// from the invoices_created index; each one's last proof of delivery is
// one backward step through its shipment's range of events_timeline.
func (s *Store) PODToInvoice(ctx context.Context, since time.Time, limit int) ([]time.Duration, error) {
	q := `SELECT i.created_at_ns - p.received_at_ns
		FROM (SELECT id, shipment_id, created_at_ns FROM invoices WHERE created_at_ns >= $1
			ORDER BY created_at_ns DESC, id DESC LIMIT $2) i
		CROSS JOIN LATERAL (SELECT e.received_at_ns FROM events e
			WHERE e.shipment_id = i.shipment_id AND e.shipment_id <> '' AND e.type = 'delivery.completed'
			ORDER BY e.time_ns DESC, e.seq DESC LIMIT 1) p
		ORDER BY i.created_at_ns DESC, i.id DESC`
	return collect(ctx, s, "pod to invoice", func(r pgx.CollectableRow) (time.Duration, error) {
		var d int64
		err := r.Scan(&d)
		return time.Duration(d), err
	}, q, store.UnixNanos(since), insightLimit(limit))
}

// PropagationLags implements store.InsightStore: a backward range read of
// the partial events_delivered index. The literal type repeats the
// index's WHERE so a generic plan may use it too.
func (s *Store) PropagationLags(ctx context.Context, since time.Time, limit int) ([]time.Duration, error) {
	q := `SELECT data FROM events WHERE type = 'delivery.delivered' AND received_at_ns >= $1
		ORDER BY received_at_ns DESC, seq DESC LIMIT $2`
	data, err := collect(ctx, s, "propagation lags", func(r pgx.CollectableRow) ([]byte, error) {
		var b []byte
		err := r.Scan(&b)
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
// rewritten by every position the telemetry path records. Placeholder
// rows are not vehicles.
func (s *Store) RecentVehicles(ctx context.Context, limit int) ([]store.VehicleRecord, error) {
	q := `SELECT id, state, updated_at_ns FROM vehicles WHERE state <> '' ORDER BY updated_at_ns DESC, id LIMIT $1`
	return collect(ctx, s, "recent vehicles", func(r pgx.CollectableRow) (store.VehicleRecord, error) {
		var v store.VehicleRecord
		var state string
		var upd int64
		err := r.Scan(&v.ID, &state, &upd)
		v.State, v.UpdatedAt = []byte(state), store.FromUnixNanos(upd)
		return v, err
	}, q, insightLimit(limit))
}
