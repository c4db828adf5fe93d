package insight

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/crossdockhq/crossdock/internal/store"
)

func TestQuantiles(t *testing.T) {
	t.Parallel()
	s := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Second
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // newest first, as the store answers: unsorted
	}
	tests := []struct {
		name string
		ds   []time.Duration
		qs   []float64
		want []time.Duration
	}{
		{"none", nil, []float64{0.5, 0.95}, s(0, 0)},
		{"one", s(7), []float64{0, 0.5, 1}, s(7, 7, 7)},
		{"nearest rank", s(hundred...), []float64{0.5, 0.95, 0.99, 1}, s(50, 95, 99, 100)},
		{"unsorted small", s(30, 10, 20, 40), []float64{0.25, 0.5, 0.75}, s(10, 20, 30)},
		{"clamped", s(1, 2, 3), []float64{-1, 2}, s(1, 3)},
		{"no quantiles", s(1), nil, s()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			orig := fmt.Sprint(tt.ds)
			got := Quantiles(tt.ds, tt.qs...)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("Quantiles(%v, %v) = %v, want %v", tt.ds, tt.qs, got, tt.want)
			}
			if fmt.Sprint(tt.ds) != orig {
				t.Fatal("the input was modified")
			}
		})
	}
}

func TestBound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    map[string]float64
		limit int
		want  map[string]float64
	}{
		{"within", map[string]float64{"a": 1, "b": 2}, 2, map[string]float64{"a": 1, "b": 2}},
		{"folded", map[string]float64{"a": 5, "b": 4, "c": 1, "d": 1}, 3, map[string]float64{"a": 5, "b": 4, "other": 2}},
		{"ties by key", map[string]float64{"z": 1, "y": 1, "x": 1}, 2, map[string]float64{"x": 1, "other": 2}},
		{"other already there", map[string]float64{"other": 9, "a": 1, "b": 1}, 2, map[string]float64{"a": 1, "other": 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Bound(tt.in, tt.limit); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// fakeInsights implements store.InsightStore from fixed figures.
type fakeInsights struct {
	reads     atomic.Int32
	fail      atomic.Bool
	shipments map[string]int64
	cases     []store.CaseGroup
	invoices  []store.InvoiceTotal
	pod, lag  []time.Duration
}

func (f *fakeInsights) ShipmentStatusCounts(context.Context) (map[string]int64, error) {
	f.reads.Add(1)
	if f.fail.Load() {
		return nil, errors.New("database is down")
	}
	return f.shipments, nil
}
func (f *fakeInsights) OpenCaseGroups(context.Context, time.Time) ([]store.CaseGroup, error) {
	return f.cases, nil
}
func (f *fakeInsights) InvoiceTotals(context.Context) ([]store.InvoiceTotal, error) {
	return f.invoices, nil
}
func (f *fakeInsights) RevenueByDay(context.Context, time.Time) ([]store.DayRevenue, error) {
	return nil, nil
}
func (f *fakeInsights) PODToInvoice(_ context.Context, _ time.Time, limit int) ([]time.Duration, error) {
	return f.pod[:min(limit, len(f.pod))], nil
}
func (f *fakeInsights) PropagationLags(_ context.Context, _ time.Time, limit int) ([]time.Duration, error) {
	return f.lag[:min(limit, len(f.lag))], nil
}
func (f *fakeInsights) RecentVehicles(context.Context, int) ([]store.VehicleRecord, error) {
	return nil, nil
}

var _ store.InsightStore = (*fakeInsights)(nil)

type fakeClock struct{ now atomic.Int64 }

func (c *fakeClock) Now() time.Time           { return time.Unix(0, c.now.Load()).UTC() }
func (c *fakeClock) Add(d time.Duration)      { c.now.Add(int64(d)) }
func newClock(t time.Time) *fakeClock         { c := &fakeClock{}; c.now.Store(t.UnixNano()); return c }
func secs(v ...float64) (out []time.Duration) { return durations(time.Second, v...) }

func durations(unit time.Duration, v ...float64) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x * float64(unit))
	}
	return out
}

func TestCollector(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f := &fakeInsights{
		shipments: map[string]int64{"in_transit": 3, "delivered": 2},
		cases: []store.CaseGroup{
			{Code: "missing_signature", Region: "eu", Blocking: true, Count: 2, Over1h: 2, Over4h: 1},
			{Code: "missing_signature", Region: "us", Blocking: true, Count: 1},
			{Code: "late_arrival", Count: 4, Over1h: 4, Over4h: 4, Over24h: 3},
		},
		invoices: []store.InvoiceTotal{
			{Status: "posted", Currency: "EUR", Count: 2, TotalCents: 123450, Oldest: now.Add(-48 * time.Hour)},
			{Status: "ready", Currency: "EUR", Count: 1, TotalCents: 5000, Oldest: now.Add(-90 * time.Minute)},
			{Status: "ready", Currency: "USD", Count: 1, TotalCents: 1, Oldest: now.Add(-30 * time.Minute)},
		},
		pod: secs(100, 200, 300, 400),
		lag: secs(2, 1),
	}
	clock := newClock(now)
	c := NewCollector(f, Options{Now: clock.Now})
	want := `
# HELP crossdock_billing_blocking_cases Open cases that hold their shipment's billing, by code.
# TYPE crossdock_billing_blocking_cases gauge
crossdock_billing_blocking_cases{code="late_arrival"} 0
crossdock_billing_blocking_cases{code="missing_signature"} 3
# HELP crossdock_cases_open Open cases by code.
# TYPE crossdock_cases_open gauge
crossdock_cases_open{code="late_arrival"} 4
crossdock_cases_open{code="missing_signature"} 3
# HELP crossdock_cases_open_over_seconds Open cases opened more than age seconds ago (3600, 14400, 86400), by code.
# TYPE crossdock_cases_open_over_seconds gauge
crossdock_cases_open_over_seconds{age="14400",code="late_arrival"} 4
crossdock_cases_open_over_seconds{age="14400",code="missing_signature"} 1
crossdock_cases_open_over_seconds{age="3600",code="late_arrival"} 4
crossdock_cases_open_over_seconds{age="3600",code="missing_signature"} 2
crossdock_cases_open_over_seconds{age="86400",code="late_arrival"} 3
crossdock_cases_open_over_seconds{age="86400",code="missing_signature"} 0
# HELP crossdock_insight_up 1 when the business figures below were read from the store at the last refresh, else 0 (and they are absent).
# TYPE crossdock_insight_up gauge
crossdock_insight_up 1
# HELP crossdock_invoice_ready_oldest_seconds Age of the oldest invoice ready but not yet posted; 0 when none.
# TYPE crossdock_invoice_ready_oldest_seconds gauge
crossdock_invoice_ready_oldest_seconds 5400
# HELP crossdock_invoices Invoices by status (ready, posted, failed).
# TYPE crossdock_invoices gauge
crossdock_invoices{status="posted"} 2
crossdock_invoices{status="ready"} 2
# HELP crossdock_invoices_amount Sum of invoice totals by status and currency, in currency units.
# TYPE crossdock_invoices_amount gauge
crossdock_invoices_amount{currency="EUR",status="posted"} 1234.5
crossdock_invoices_amount{currency="EUR",status="ready"} 50
crossdock_invoices_amount{currency="USD",status="ready"} 0.01
# HELP crossdock_pod_to_invoice_samples Invoices behind crossdock_pod_to_invoice_seconds.
# TYPE crossdock_pod_to_invoice_samples gauge
crossdock_pod_to_invoice_samples 4
# HELP crossdock_pod_to_invoice_seconds Time from a shipment's last POD to its invoice, quantile over the invoices of the last hour (at most the newest 1000).
# TYPE crossdock_pod_to_invoice_seconds gauge
crossdock_pod_to_invoice_seconds{quantile="0.5"} 200
crossdock_pod_to_invoice_seconds{quantile="0.95"} 400
# HELP crossdock_propagation_lag_samples Deliveries behind crossdock_propagation_lag_seconds.
# TYPE crossdock_propagation_lag_samples gauge
crossdock_propagation_lag_samples 2
# HELP crossdock_propagation_lag_seconds Time from an event's own time to its delivery, quantile over the deliveries of the last hour (at most the newest 1000).
# TYPE crossdock_propagation_lag_seconds gauge
crossdock_propagation_lag_seconds{quantile="0.5"} 1
crossdock_propagation_lag_seconds{quantile="0.95"} 2
# HELP crossdock_shipments Visible shipments by status.
# TYPE crossdock_shipments gauge
crossdock_shipments{status="delivered"} 2
crossdock_shipments{status="in_transit"} 3
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	// Scrapes within the TTL are served from the cache.
	for range 5 {
		if n := testutil.CollectAndCount(c); n == 0 {
			t.Fatal("nothing collected")
		}
	}
	if n := f.reads.Load(); n != 1 {
		t.Fatalf("the store was read %d times within the TTL, want 1", n)
	}
	// A failed read shows as crossdock_insight_up 0, and is cached too.
	f.fail.Store(true)
	clock.Add(5 * time.Second)
	up := `
# HELP crossdock_insight_up 1 when the business figures below were read from the store at the last refresh, else 0 (and they are absent).
# TYPE crossdock_insight_up gauge
crossdock_insight_up 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(up)); err != nil {
		t.Fatal(err)
	}
	testutil.CollectAndCount(c)
	if n := f.reads.Load(); n != 2 {
		t.Fatalf("reads after the TTL: %d, want 2", n)
	}
	// It registers beside the hub's other metrics without a clash.
	r := prometheus.NewRegistry()
	if err := r.Register(c); err != nil {
		t.Fatal(err)
	}
}

// Label values beyond MaxLabelValues are summed under "other", keeping the
// cases' series consistent across their metrics.
func TestCollectorBoundsLabels(t *testing.T) {
	t.Parallel()
	f := &fakeInsights{shipments: map[string]int64{}}
	for i := range 2 * MaxLabelValues {
		f.cases = append(f.cases, store.CaseGroup{Code: fmt.Sprintf("code_%03d", i), Count: int64(1000 - i), Blocking: true, Over1h: 1})
	}
	c := NewCollector(f, Options{})
	r := prometheus.NewRegistry()
	r.MustRegister(c)
	mfs, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	for _, mf := range mfs {
		series[mf.GetName()] = len(mf.GetMetric())
	}
	if series["crossdock_cases_open"] != MaxLabelValues || series["crossdock_billing_blocking_cases"] != MaxLabelValues ||
		series["crossdock_cases_open_over_seconds"] != 3*MaxLabelValues {
		t.Fatalf("series: %v", series)
	}
	want := 0.0
	for i := MaxLabelValues - 1; i < 2*MaxLabelValues; i++ {
		want += float64(1000 - i)
	}
	if got := valueOf(t, r, "crossdock_cases_open", "other"); got != want {
		t.Fatalf("other = %g, want %g", got, want)
	}
}

// valueOf reads one series of a gathered gauge by its first label.
func valueOf(t *testing.T, r *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == name && m.GetLabel()[0].GetValue() == label {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no %s{%s}", name, label)
	return 0
}

func TestOldestReady(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   []store.InvoiceTotal
		want time.Duration
	}{
		{"none", nil, 0},
		{"only posted", []store.InvoiceTotal{{Status: "posted", Count: 1, Oldest: now.Add(-time.Hour)}}, 0},
		{"oldest of currencies", []store.InvoiceTotal{
			{Status: "ready", Count: 1, Oldest: now.Add(-time.Hour)},
			{Status: "ready", Count: 2, Oldest: now.Add(-3 * time.Hour)},
		}, 3 * time.Hour},
		{"clock behind", []store.InvoiceTotal{{Status: "ready", Count: 1, Oldest: now.Add(time.Minute)}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := OldestReady(tt.in, now); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}
