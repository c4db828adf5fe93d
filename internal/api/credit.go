package api

import (
	"context"
	"errors"
	"math/big"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/credit"
)

// CustomerCredit is GET /api/v1/customers/{id}/credit.
type CustomerCredit struct {
	CustomerID string    `json:"customer_id"`
	Currency   string    `json:"currency"`
	Limit      *string   `json:"limit" doc:"Credit limit; null when the ERP sets none"`
	Balance    string    `json:"balance" doc:"What the customer owes: posted, unpaid receivables"`
	Available  *string   `json:"available" doc:"limit - balance; null without a limit"`
	Source     string    `json:"source" doc:"The ERP connector that answered"`
	AsOf       time.Time `json:"as_of" doc:"When the ERP gave this answer"`
	Stale      bool      `json:"stale" doc:"The ERP cannot answer now: this is the last known answer"`
	StaleWhy   string    `json:"stale_reason,omitempty"`
}

func (s *Server) registerCredit() {
	o := s.op("customer-credit", http.MethodGet, "/api/v1/customers/{id}/credit",
		"A customer's credit from the ERP (cached briefly; the last known answer, marked stale, while the ERP is down)", ScopeFinance)
	o.Errors = append(o.Errors, http.StatusNotFound, http.StatusServiceUnavailable)
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		ID string `path:"id" maxLength:"128"`
	}) (*struct{ Body CustomerCredit }, error) {
		if s.opt.Credit == nil {
			return nil, newProblem(http.StatusNotFound, "no configured connector answers credit lookups (tryton or odoo)")
		}
		a, err := s.opt.Credit.Get(ctx, in.ID)
		switch {
		case errors.Is(err, connector.ErrUnknownCustomer):
			return nil, newProblem(http.StatusNotFound, "the ERP has no customer "+strconv.Quote(in.ID))
		case errors.Is(err, credit.ErrUnavailable):
			s.opt.Logger.WarnContext(ctx, "credit lookup failed", "customer", in.ID, "err", err)
			return nil, huma.ErrorWithHeaders(newProblem(http.StatusServiceUnavailable, "the ERP cannot answer and no earlier answer is known; try again later"),
				http.Header{"Retry-After": {"30"}})
		case err != nil:
			return nil, s.internal(ctx, "credit lookup", err)
		}
		out := CustomerCredit{CustomerID: in.ID, Currency: a.Currency, Balance: a.Balance, Source: a.Source, AsOf: a.AsOf.UTC(),
			Stale: a.Stale, StaleWhy: a.Why}
		if a.Limit != "" {
			out.Limit = &a.Limit
			if av, ok := subtract(a.Limit, a.Balance); ok {
				out.Available = &av
			}
		}
		return &struct{ Body CustomerCredit }{out}, nil
	})
}

// subtract is a - b for decimal strings, with b's or two places.
func subtract(a, b string) (string, bool) {
	x, okA := new(big.Rat).SetString(a)
	y, okB := new(big.Rat).SetString(b)
	if !okA || !okB {
		return "", false
	}
	return x.Sub(x, y).FloatString(2), true
}
