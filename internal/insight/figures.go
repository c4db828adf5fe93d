package insight

import (
	"context"
	"fmt"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

// Window is how far back the time figures (POD to invoice, propagation
// lag) look; MaxSamples bounds how many of the newest they take.
const (
	Window     = time.Hour
	MaxSamples = 1000
)

// Figures are the business figures of one moment.
type Figures struct {
	At        time.Time
	Shipments map[string]int64     // visible shipments by status
	Cases     []store.CaseGroup    // open cases, grouped
	Invoices  []store.InvoiceTotal // every invoice by status and currency
	// PODToInvoice and PropagationLags are the samples of the last
	// Window, newest first, at most MaxSamples each.
	PODToInvoice    []time.Duration
	PropagationLags []time.Duration
}

// Read reads the figures at now, one bounded query each.
func Read(ctx context.Context, st store.InsightStore, now time.Time) (Figures, error) {
	f := Figures{At: now}
	var err error
	if f.Shipments, err = st.ShipmentStatusCounts(ctx); err != nil {
		return Figures{}, fmt.Errorf("insight: shipments: %w", err)
	}
	if f.Cases, err = st.OpenCaseGroups(ctx, now); err != nil {
		return Figures{}, fmt.Errorf("insight: cases: %w", err)
	}
	if f.Invoices, err = st.InvoiceTotals(ctx); err != nil {
		return Figures{}, fmt.Errorf("insight: invoices: %w", err)
	}
	if f.PODToInvoice, err = st.PODToInvoice(ctx, now.Add(-Window), MaxSamples); err != nil {
		return Figures{}, fmt.Errorf("insight: pod to invoice: %w", err)
	}
	if f.PropagationLags, err = st.PropagationLags(ctx, now.Add(-Window), MaxSamples); err != nil {
		return Figures{}, fmt.Errorf("insight: propagation lags: %w", err)
	}
	return f, nil
}

// InvoiceStatusReady is the status of an invoice not yet posted to the ERP.
const InvoiceStatusReady = "ready"

// OldestReady is how long the oldest invoice still ready (not posted) has
// waited at now; 0 when none waits.
func OldestReady(invoices []store.InvoiceTotal, now time.Time) time.Duration {
	var oldest time.Time
	for _, t := range invoices {
		if t.Status == InvoiceStatusReady && t.Count > 0 && !t.Oldest.IsZero() && (oldest.IsZero() || t.Oldest.Before(oldest)) {
			oldest = t.Oldest
		}
	}
	if oldest.IsZero() || now.Before(oldest) {
		return 0
	}
	return now.Sub(oldest)
}

// OpenCases counts the open cases of groups.
func OpenCases(groups []store.CaseGroup) int64 {
	var n int64
	for _, g := range groups {
		n += g.Count
	}
	return n
}
