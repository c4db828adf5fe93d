package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/crossdockhq/crossdock/internal/billing"
	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/workflow"
)

// SourceBilling is the source of invoice.ready events.
const SourceBilling = "crossdock/billing"

// Billing event types.
const (
	TypeInvoiceReady = "invoice.ready"
	TypeRated        = "workflow.rated"
	TypeRatingHeld   = "workflow.rating_held"
)

// Invoice statuses.
const InvoiceReady = "ready"

// Invoice is an invoice as the contract shows it.
type Invoice struct {
	ID         string         `json:"id"`
	ShipmentID string         `json:"shipment_id"`
	CustomerID string         `json:"customer_id"`
	Currency   string         `json:"currency"`
	Lines      []billing.Line `json:"lines"`
	Subtotal   string         `json:"subtotal"`
	Tax        string         `json:"tax"`
	Total      string         `json:"total"`
	Status     string         `json:"status"`
	ERPRef     *string        `json:"erp_ref"`
	RateCard   string         `json:"rate_card" doc:"customer_id of the rate card used, or *"`
	CreatedAt  time.Time      `json:"created_at"`
	// Rule says why the shipment was rated when it was.
	Rule string `json:"rule"`
}

// rating is a shipment rated in this batch, numbered when the batch
// writes (so the gapless counter is taken inside the transaction).
type rating struct {
	st    *shipment.State
	quote billing.Quote
	cause canonical.Event
	rule  string
}

// maybeRate rates st when the delivery-to-cash rule says it is due now.
// A rating that runs into a business problem (no rate card, an unpriced
// accessorial) records it as a fact, which opens a blocking case.
func (p *Pipeline) maybeRate(st *shipment.State, cause canonical.Event, bs *batchState) {
	if p.opt.Billing == nil || st.Order == nil || bs.rated[st.ID] {
		return
	}
	cases := workflow.Cases(st, p.opt.Workflow)
	r := workflow.RatingReadiness(st, cases, p.opt.RatingWait)
	if !r.Ready || r.Due.After(bs.now) {
		return
	}
	q, err := p.opt.Billing.Rate(workflow.RatingInput(st, p.opt.Telemetry.RoadFactor))
	if err != nil {
		code := billing.CaseCode(err)
		if code == "" {
			code = "rating_failed"
		}
		key := code + " " + bs.now.Format(time.RFC3339Nano)
		if st.Flow.RatingIssues == nil {
			st.Flow.RatingIssues = map[string]shipment.RatingIssue{}
		}
		st.Flow.RatingIssues[key] = shipment.RatingIssue{Code: code, Detail: err.Error(), At: bs.now}
		bs.shipDirty[st.ID] = true
		p.flow(st, cases, cause, bs)
		p.flowEvent(st, cause, TypeRatingHeld, map[string]any{"rule": r.Reason, "case": code, "detail": err.Error()}, bs)
		return
	}
	if bs.rated == nil {
		bs.rated = map[string]bool{}
	}
	bs.rated[st.ID] = true
	bs.ratings = append(bs.ratings, rating{st: st, quote: q, cause: cause, rule: r.Reason})
}

// invoice numbers the batch's ratings and turns them into invoices: the
// invoice fact on the shipment, the invoices row, invoice.ready and the
// status change on the timeline.
func (p *Pipeline) invoice(ctx context.Context, tx store.Tx, bs *batchState) error {
	slices.SortFunc(bs.ratings, func(a, b rating) int {
		switch {
		case a.st.ID < b.st.ID:
			return -1
		case a.st.ID > b.st.ID:
			return 1
		}
		return 0
	})
	for _, r := range bs.ratings {
		year := bs.now.Year()
		n, err := tx.NextSequence(ctx, fmt.Sprintf("invoice/%d", year))
		if err != nil {
			return fmt.Errorf("pipeline: invoice number: %w", err)
		}
		st, q := r.st, r.quote
		inv := Invoice{
			ID: fmt.Sprintf("%s-%d-%06d", cmp.Or(p.opt.InvoicePrefix, "INV"), year, n), ShipmentID: st.ID, CustomerID: st.Order.Data.CustomerID, Currency: q.Currency,
			Lines: q.Lines, Subtotal: q.Subtotal, Tax: q.Tax, Total: q.Total, Status: InvoiceReady, RateCard: q.Card,
			CreatedAt: bs.now, Rule: r.rule,
		}
		data, err := json.Marshal(inv)
		if err != nil {
			return fmt.Errorf("pipeline: encode invoice: %w", err)
		}
		before := st.Status()
		st.Flow.Invoice = &shipment.InvoiceFact{ID: inv.ID, At: bs.now, Currency: inv.Currency, Total: inv.Total}
		bs.shipDirty[st.ID] = true
		corr := st.CorrelationID
		if corr == "" {
			corr = r.cause.CorrelationID
		}
		ev := store.EventRecord{
			Source: SourceBilling, ID: uuid.NewSHA1(invoiceNS, []byte(inv.ID)).String(), Type: TypeInvoiceReady, Subject: st.ID,
			ShipmentID: st.ID, Time: bs.now, ReceivedAt: bs.now, CorrelationID: corr, CausationID: r.cause.ID, Data: data,
		}
		bs.records = append(bs.records, ev)
		cause := canonical.Event{Source: ev.Source, ID: ev.ID, Subject: st.ID, Time: bs.now, CorrelationID: corr}
		if after := st.Status(); after != before {
			bs.records = append(bs.records, statusChanged(cause, before, after, bs.now))
		}
		p.flowEvent(st, r.cause, TypeRated, map[string]any{"rule": r.rule, "invoice_id": inv.ID, "total": inv.Total, "currency": inv.Currency}, bs)
		bs.invoices = append(bs.invoices, store.InvoiceRecord{
			ID: inv.ID, ShipmentID: st.ID, CustomerID: inv.CustomerID, Currency: inv.Currency, Total: inv.Total,
			Status: InvoiceReady, Data: data, CreatedAt: bs.now, UpdatedAt: bs.now,
		})
	}
	return nil
}

var invoiceNS = uuid.MustParse("0b3f4d6e-8a1c-4f5e-9d2b-7c6a5e4f3d21")
