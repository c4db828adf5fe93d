package store

import (
	"context"
	"time"
)

// InsightStore answers the aggregate questions of the console's
// dashboards and the business metrics. Each method is one bounded query
// over the live tables, never a cached copy. A limit ≤ 0 means 1000, and
// one above 10000 means 10000.
type InsightStore interface {
	// ShipmentStatusCounts counts visible shipments by status.
	ShipmentStatusCounts(ctx context.Context) (map[string]int64, error)
	// OpenCaseGroups groups open cases by (code, region, carrier,
	// blocking), ordered by count descending then code; ages are measured
	// against now.
	OpenCaseGroups(ctx context.Context, now time.Time) ([]CaseGroup, error)
	// InvoiceTotals groups every invoice by (status, currency), ordered by
	// status then currency.
	InvoiceTotals(ctx context.Context) ([]InvoiceTotal, error)
	// RevenueByDay sums the invoices created at or after from, except
	// failed ones, per UTC day of creation and currency, oldest day first.
	RevenueByDay(ctx context.Context, from time.Time) ([]DayRevenue, error)
	// PODToInvoice reports, for the newest limit invoices created at or
	// after since (newest first), the time from the hub's receipt of the
	// last delivery.completed event of the invoice's shipment (last in
	// timeline order: event time, then Seq) to the invoice's creation: the
	// part of the cash cycle the hub answers for, which a proof of delivery
	// synced late or replayed from history does not inflate. Invoices whose
	// shipment has no such event are left out, so fewer than limit may come
	// back.
	PODToInvoice(ctx context.Context, since time.Time, limit int) ([]time.Duration, error)
	// PropagationLags reports, for at most limit delivery.delivered events
	// received at or after since (newest received first), the lag_ms their
	// data records: from the delivered event's own time to its delivery.
	// Events whose data records no lag_ms are left out.
	PropagationLags(ctx context.Context, since time.Time, limit int) ([]time.Duration, error)
	// RecentVehicles lists at most limit vehicles, most recently updated
	// first (then by ID).
	RecentVehicles(ctx context.Context, limit int) ([]VehicleRecord, error)
}

// CaseGroup counts the open cases sharing a code, region, carrier and
// blocking flag.
type CaseGroup struct {
	Code     string
	Region   string
	Carrier  string
	Blocking bool
	Count    int64
	// Over1h, Over4h and Over24h count the cases of the group opened more
	// than that long before now (each includes the next).
	Over1h  int64
	Over4h  int64
	Over24h int64
	Oldest  time.Time // opened_at of the group's oldest case
}

// InvoiceTotal sums the invoices of one status and currency.
type InvoiceTotal struct {
	Status     string
	Currency   string
	Count      int64
	TotalCents int64     // sum of totals in cents, exact
	Oldest     time.Time // created_at of the oldest
}

// DayRevenue sums one UTC day's invoices in one currency.
type DayRevenue struct {
	Day        time.Time // midnight UTC
	Currency   string
	Count      int64
	TotalCents int64
}
