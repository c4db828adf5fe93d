package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/crossdockhq/crossdock/internal/billing"
	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/workflow"
)

// InvoiceList is a page of invoices in number order.
type InvoiceList struct {
	Items      []pipeline.Invoice `json:"items"`
	NextCursor *string            `json:"next_cursor"`
}

type invoicesIn struct {
	ShipmentID string `query:"shipment_id" maxLength:"256"`
	CustomerID string `query:"customer_id" maxLength:"256"`
	Status     string `query:"status" enum:"ready,posted,failed,"`
	Limit      int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Cursor     string `query:"cursor" maxLength:"512"`
}

// QuoteRequest is an order-shaped body priced by POST /api/v1/rates/quote.
type QuoteRequest struct {
	canonical.OrderReleased
	// DistanceKm, when given, is priced instead of the planned distance
	// (straight lines between the stops times the road factor).
	DistanceKm float64 `json:"distance_km,omitempty" minimum:"0" maximum:"100000"`
	// DwellMinutes per stop id prices expected detention.
	DwellMinutes map[string]float64 `json:"dwell_minutes,omitempty"`
}

func (s *Server) registerInvoices() {
	huma.Register(s.api, s.op("list-invoices", http.MethodGet, "/api/v1/invoices", "List invoices in number order", ScopeFinance),
		func(ctx context.Context, in *invoicesIn) (*struct{ Body InvoiceList }, error) {
			f := store.InvoiceFilter{ShipmentID: in.ShipmentID, CustomerID: in.CustomerID, Status: in.Status, Limit: in.Limit}
			if in.Cursor != "" {
				if err := decodeCursor(in.Cursor, &f.After); err != nil {
					return nil, err
				}
			}
			recs, err := s.opt.Store.Invoices(ctx, f)
			if err != nil {
				return nil, s.internal(ctx, "list invoices", err)
			}
			out := InvoiceList{Items: make([]pipeline.Invoice, 0, len(recs))}
			for _, r := range recs {
				inv, err := invoiceOf(r)
				if err != nil {
					return nil, s.internal(ctx, "decode invoice", err)
				}
				out.Items = append(out.Items, inv)
			}
			if len(recs) == in.Limit {
				c := encodeCursor(recs[len(recs)-1].ID)
				out.NextCursor = &c
			}
			return &struct{ Body InvoiceList }{out}, nil
		})
	huma.Register(s.api, s.op("get-invoice", http.MethodGet, "/api/v1/invoices/{id}", "Get an invoice with every line explained", ScopeFinance),
		func(ctx context.Context, in *struct {
			ID string `path:"id" maxLength:"64"`
		}) (*struct{ Body pipeline.Invoice }, error) {
			r, err := s.opt.Store.Invoice(ctx, in.ID)
			if errors.Is(err, store.ErrNotFound) {
				return nil, newProblem(http.StatusNotFound, "no invoice "+strconv.Quote(in.ID))
			}
			if err != nil {
				return nil, s.internal(ctx, "get invoice", err)
			}
			inv, err := invoiceOf(r)
			if err != nil {
				return nil, s.internal(ctx, "decode invoice", err)
			}
			return &struct{ Body pipeline.Invoice }{inv}, nil
		})
	quote := s.op("quote-rate", http.MethodPost, "/api/v1/rates/quote", "Price an order without creating anything", ScopeRead)
	quote.DefaultStatus = http.StatusOK
	quote.Errors = append(quote.Errors, http.StatusUnprocessableEntity, http.StatusServiceUnavailable)
	huma.Register(s.api, quote, func(ctx context.Context, in *struct{ Body QuoteRequest }) (*struct{ Body billing.Quote }, error) {
		if s.opt.Billing == nil {
			return nil, newProblem(http.StatusServiceUnavailable, "no rate cards are configured (billing.rate_cards)")
		}
		o := in.Body.OrderReleased
		if len(o.Stops) == 0 {
			return nil, fieldProblem("body.stops", "at least one stop is required")
		}
		st := &shipment.State{ID: "quote"}
		if _, err := shipment.Apply(st, canonical.Event{ID: "quote", Source: "quote", Time: s.opt.Now()}, &o); err != nil {
			return nil, s.internal(ctx, "quote", err)
		}
		rin := workflow.RatingInput(st, s.opt.RoadFactor)
		if in.Body.DistanceKm > 0 {
			rin.DistanceKm = in.Body.DistanceKm
		}
		for i := range rin.Stops {
			if d, ok := in.Body.DwellMinutes[rin.Stops[i].ID]; ok {
				rin.Stops[i].DwellMinutes = &d
			}
		}
		q, err := s.opt.Billing.Rate(rin)
		if err != nil {
			pr := newProblem(http.StatusUnprocessableEntity, err.Error())
			if code := billing.CaseCode(err); code != "" {
				pr.Errors = []canonical.FieldError{{Field: "body.customer_id", Message: code}}
			}
			return nil, pr
		}
		return &struct{ Body billing.Quote }{q}, nil
	})
}

func invoiceOf(r store.InvoiceRecord) (pipeline.Invoice, error) {
	var inv pipeline.Invoice
	if err := json.Unmarshal(r.Data, &inv); err != nil {
		return inv, err
	}
	inv.Status = r.Status
	if r.ERPRef != "" {
		inv.ERPRef = &r.ERPRef
	}
	return inv, nil
}
