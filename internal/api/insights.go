package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/crossdockhq/crossdock/internal/billing"
	"github.com/crossdockhq/crossdock/internal/insight"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/vehicle"
)

// Bounds of what one insight answer reads.
const (
	insightActive   = 500 // active shipments scanned for late stops, per status
	insightVehicles = 500
	insightSample   = 5000 // durations behind a percentile
	insightCases    = 50
)

// OperationsInsight is GET /api/v1/insights/operations.
type OperationsInsight struct {
	At         time.Time        `json:"at"`
	Shipments  map[string]int64 `json:"shipments" doc:"Visible shipments by status"`
	OnHold     int              `json:"on_hold" doc:"Active shipments on hold (of those scanned)"`
	Late       []LateStop       `json:"late" doc:"Active shipments running late, latest delay first"`
	CaseGroups []CaseGroup      `json:"case_groups" doc:"Open cases by code, region and carrier"`
	Cases      []CaseView       `json:"cases" doc:"The oldest open cases"`
	Vehicles   []VehiclePin     `json:"vehicles" doc:"Vehicles with a known position, most recently updated first"`
}

// LateStop is one active shipment with a standing delay or an ETA past
// its next stop's window.
type LateStop struct {
	ShipmentID string     `json:"shipment_id"`
	Status     string     `json:"status"`
	StopID     string     `json:"stop_id,omitempty"`
	ETA        *time.Time `json:"eta"`
	WindowTo   *time.Time `json:"window_to"`
	LateBy     float64    `json:"late_minutes" doc:"ETA minus the window's end, in minutes; 0 when only a delay was reported"`
	Reason     string     `json:"reason,omitempty"`
	Since      time.Time  `json:"since"`
}

// CaseGroup counts open cases sharing a code, region and carrier.
type CaseGroup struct {
	Code     string    `json:"code"`
	Region   string    `json:"region"`
	Carrier  string    `json:"carrier"`
	Blocking bool      `json:"blocking"`
	Count    int64     `json:"count"`
	Over1h   int64     `json:"over_1h"`
	Over4h   int64     `json:"over_4h"`
	Over24h  int64     `json:"over_24h"`
	Oldest   time.Time `json:"oldest"`
}

// VehiclePin is a vehicle's last position.
type VehiclePin struct {
	ID         string    `json:"id"`
	Lat        float64   `json:"lat"`
	Lon        float64   `json:"lon"`
	Time       time.Time `json:"time"`
	SpeedKph   *float64  `json:"speed_kph"`
	ShipmentID *string   `json:"shipment_id"`
}

// FinanceInsight is GET /api/v1/insights/finance.
type FinanceInsight struct {
	At           time.Time      `json:"at"`
	Invoices     []InvoiceTotal `json:"invoices" doc:"Invoices by status and currency"`
	ReadyOldest  *time.Time     `json:"ready_oldest" doc:"Creation of the oldest invoice not yet posted"`
	Blocked      []BlockedCount `json:"billing_blocked" doc:"Shipments whose billing waits on an open case, by code"`
	PODToInvoice Percentiles    `json:"pod_to_invoice" doc:"Proof of delivery to invoice, invoices of the last 30 days"`
	Revenue      []DayRevenue   `json:"revenue" doc:"Invoiced amount per day (failed invoices left out), last 30 days"`
}

// InvoiceTotal sums the invoices of one status and currency.
type InvoiceTotal struct {
	Status   string `json:"status"`
	Currency string `json:"currency"`
	Count    int64  `json:"count"`
	Amount   string `json:"amount" doc:"Sum of totals, decimal"`
}

// BlockedCount counts open blocking cases of one code.
type BlockedCount struct {
	Code  string `json:"code"`
	Count int64  `json:"count"`
}

// DayRevenue is one day's invoiced amount in one currency.
type DayRevenue struct {
	Day      string `json:"day" doc:"YYYY-MM-DD, UTC"`
	Currency string `json:"currency"`
	Count    int64  `json:"count"`
	Amount   string `json:"amount"`
}

// Percentiles summarizes a sample of durations in seconds.
type Percentiles struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_seconds"`
	P95   float64 `json:"p95_seconds"`
}

// PlatformInsight is GET /api/v1/insights/platform.
type PlatformInsight struct {
	At          time.Time         `json:"at"`
	Ingest      []IngestRate      `json:"ingest" doc:"Items taken in per second over the last minute, by input"`
	WriterQueue float64           `json:"writer_queue" doc:"Submissions waiting for the writer"`
	WriterLag   Percentiles       `json:"writer_lag" doc:"Submission to durable commit over the last minute"`
	Duplicates  float64           `json:"duplicates_per_second" doc:"Repeated events answered duplicate, per second over the last minute"`
	Quarantine  int64             `json:"quarantine" doc:"Payloads held in quarantine"`
	Connectors  []ConnectorStatus `json:"connectors"`
	DeadLetters int               `json:"dead_letters"`
	Propagation Percentiles       `json:"propagation" doc:"Event time to delivery at a subscriber, deliveries of the last hour"`
}

// IngestRate is one input's intake rate.
type IngestRate struct {
	Input     string  `json:"input"`
	PerSecond float64 `json:"per_second"`
	Total     float64 `json:"total" doc:"Since the process started"`
}

func (s *Server) registerInsights() {
	huma.Register(s.api, s.op("get-operations-insight", http.MethodGet, "/api/v1/insights/operations",
		"Operations dashboard: shipments by status, late shipments, open cases, vehicles", ScopeOps),
		func(ctx context.Context, _ *struct{}) (*struct{ Body OperationsInsight }, error) {
			out, err := s.operationsInsight(ctx)
			if err != nil {
				return nil, err
			}
			return &struct{ Body OperationsInsight }{out}, nil
		})
	huma.Register(s.api, s.op("get-finance-insight", http.MethodGet, "/api/v1/insights/finance",
		"Finance dashboard: invoices by status, billing held by cases, POD-to-invoice time, revenue by day", ScopeFinance),
		func(ctx context.Context, _ *struct{}) (*struct{ Body FinanceInsight }, error) {
			out, err := s.financeInsight(ctx)
			if err != nil {
				return nil, err
			}
			return &struct{ Body FinanceInsight }{out}, nil
		})
	huma.Register(s.api, s.op("get-platform-insight", http.MethodGet, "/api/v1/insights/platform",
		"Platform dashboard: ingest by input, writer lag, duplicates, quarantine, connectors, propagation lag", ScopeAdmin),
		func(ctx context.Context, _ *struct{}) (*struct{ Body PlatformInsight }, error) {
			out, err := s.platformInsight(ctx)
			if err != nil {
				return nil, err
			}
			return &struct{ Body PlatformInsight }{out}, nil
		})
}

func (s *Server) operationsInsight(ctx context.Context) (OperationsInsight, error) {
	now := s.opt.Now().UTC()
	out := OperationsInsight{At: now, Late: []LateStop{}, CaseGroups: []CaseGroup{}, Cases: []CaseView{}, Vehicles: []VehiclePin{}}
	var err error
	if out.Shipments, err = s.opt.Store.ShipmentStatusCounts(ctx); err != nil {
		return out, s.internal(ctx, "count shipments", err)
	}
	for _, status := range []string{shipment.StatusPlanned, shipment.StatusInTransit} {
		recs, err := s.opt.Store.Shipments(ctx, store.ShipmentFilter{Status: status, Limit: insightActive})
		if err != nil {
			return out, s.internal(ctx, "list active shipments", err)
		}
		for _, rec := range recs {
			st, err := decodeShipment(rec)
			if err != nil {
				return out, s.internal(ctx, "decode shipment", err)
			}
			v := st.View(rec.UpdatedAt)
			if v.OnHold {
				out.OnHold++
			}
			if l, ok := lateStop(v); ok {
				out.Late = append(out.Late, l)
			}
		}
	}
	slices.SortFunc(out.Late, func(a, b LateStop) int { return b.Since.Compare(a.Since) })
	groups, err := s.opt.Store.OpenCaseGroups(ctx, now)
	if err != nil {
		return out, s.internal(ctx, "group cases", err)
	}
	for _, g := range groups {
		out.CaseGroups = append(out.CaseGroups, CaseGroup{Code: g.Code, Region: g.Region, Carrier: g.Carrier, Blocking: g.Blocking,
			Count: g.Count, Over1h: g.Over1h, Over4h: g.Over4h, Over24h: g.Over24h, Oldest: g.Oldest})
	}
	cases, err := s.opt.Store.Cases(ctx, store.CaseFilter{Status: store.CaseOpen, Limit: insightCases})
	if err != nil {
		return out, s.internal(ctx, "list cases", err)
	}
	for _, c := range cases {
		out.Cases = append(out.Cases, caseView(c))
	}
	vs, err := s.opt.Store.RecentVehicles(ctx, insightVehicles)
	if err != nil {
		return out, s.internal(ctx, "list vehicles", err)
	}
	for _, rec := range vs {
		st := &vehicle.State{ID: rec.ID}
		if err := json.Unmarshal(rec.State, st); err != nil {
			return out, s.internal(ctx, "decode vehicle", err)
		}
		v := st.View(rec.UpdatedAt)
		if v.Position == nil {
			continue
		}
		out.Vehicles = append(out.Vehicles, VehiclePin{ID: v.ID, Lat: v.Position.Lat, Lon: v.Position.Lon, Time: v.Position.Time,
			SpeedKph: v.Position.SpeedKph, ShipmentID: v.ShipmentID})
	}
	return out, nil
}

// lateStop reports an active shipment that runs late: a standing delay,
// or an ETA past the end of its next stop's window.
func lateStop(v shipment.View) (LateStop, bool) {
	l := LateStop{ShipmentID: v.ID, Status: v.Status, ETA: v.ETA}
	late := false
	if v.Delay != nil {
		late, l.StopID, l.Reason, l.Since = true, v.Delay.StopID, v.Delay.Reason, v.Delay.At
	}
	if v.ETA != nil && v.NextStopID != nil {
		for _, st := range v.Stops {
			if st.ID != *v.NextStopID || st.Window == nil || !v.ETA.After(st.Window.To) {
				continue
			}
			to := st.Window.To
			late, l.StopID, l.WindowTo = true, st.ID, &to
			l.LateBy = v.ETA.Sub(to).Round(time.Minute).Minutes()
			if l.Since.IsZero() {
				l.Since = v.UpdatedAt
			}
		}
	}
	return l, late
}

func (s *Server) financeInsight(ctx context.Context) (FinanceInsight, error) {
	now := s.opt.Now().UTC()
	out := FinanceInsight{At: now, Invoices: []InvoiceTotal{}, Blocked: []BlockedCount{}, Revenue: []DayRevenue{}}
	totals, err := s.opt.Store.InvoiceTotals(ctx)
	if err != nil {
		return out, s.internal(ctx, "sum invoices", err)
	}
	for _, t := range totals {
		out.Invoices = append(out.Invoices, InvoiceTotal{Status: t.Status, Currency: t.Currency, Count: t.Count, Amount: billing.FormatCents(t.TotalCents)})
		if t.Status == pipeline.InvoiceReady && (out.ReadyOldest == nil || t.Oldest.Before(*out.ReadyOldest)) {
			oldest := t.Oldest
			out.ReadyOldest = &oldest
		}
	}
	groups, err := s.opt.Store.OpenCaseGroups(ctx, now)
	if err != nil {
		return out, s.internal(ctx, "group cases", err)
	}
	blocked := map[string]int64{}
	for _, g := range groups {
		if g.Blocking {
			blocked[g.Code] += g.Count
		}
	}
	for code, n := range blocked {
		out.Blocked = append(out.Blocked, BlockedCount{Code: code, Count: n})
	}
	slices.SortFunc(out.Blocked, func(a, b BlockedCount) int {
		if a.Count != b.Count {
			return int(b.Count - a.Count)
		}
		return strings.Compare(a.Code, b.Code)
	})
	month := now.AddDate(0, 0, -30)
	ds, err := s.opt.Store.PODToInvoice(ctx, month, insightSample)
	if err != nil {
		return out, s.internal(ctx, "pod to invoice", err)
	}
	out.PODToInvoice = percentiles(ds)
	days, err := s.opt.Store.RevenueByDay(ctx, month.Truncate(24*time.Hour))
	if err != nil {
		return out, s.internal(ctx, "revenue by day", err)
	}
	for _, d := range days {
		out.Revenue = append(out.Revenue, DayRevenue{Day: d.Day.UTC().Format(time.DateOnly), Currency: d.Currency, Count: d.Count, Amount: billing.FormatCents(d.TotalCents)})
	}
	return out, nil
}

func (s *Server) platformInsight(ctx context.Context) (PlatformInsight, error) {
	now := s.opt.Now().UTC()
	out := PlatformInsight{At: now, Ingest: []IngestRate{}, Connectors: []ConnectorStatus{}}
	if s.opt.Metrics != nil {
		w, err := s.rates.window(s.opt.Metrics.Registry, now)
		if err != nil {
			return out, s.internal(ctx, "read metrics", err)
		}
		out.Ingest, out.WriterQueue, out.Duplicates = w.ingest, w.queue, w.duplicates
		out.WriterLag = w.writerLag
	}
	counts, err := s.opt.Store.Counts(ctx)
	if err != nil {
		return out, s.internal(ctx, "count quarantine", err)
	}
	out.Quarantine = counts.Quarantine
	for _, c := range s.connectors() {
		st, err := s.connectorStatus(ctx, c)
		if err != nil {
			return out, err
		}
		out.DeadLetters += st.Dead
		out.Connectors = append(out.Connectors, st)
	}
	lags, err := s.opt.Store.PropagationLags(ctx, now.Add(-time.Hour), insightSample)
	if err != nil {
		return out, s.internal(ctx, "propagation lag", err)
	}
	out.Propagation = percentiles(lags)
	return out, nil
}

func percentiles(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	q := insight.Quantiles(ds, 0.5, 0.95)
	return Percentiles{Count: len(ds), P50: q[0].Seconds(), P95: q[1].Seconds()}
}
