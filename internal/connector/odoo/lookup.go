package odoo

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
)

var _ connector.InvoiceLister = (*Connector)(nil)

// lookupFields are the account.move fields a lookup reads.
var lookupFields = []string{"ref", "name", "amount_total", "state", "currency_id"}

// listPage is how many moves one ListInvoices request reads.
const listPage = connector.LookupBatch

// odooDatetime is how Odoo writes a Datetime: naive, in UTC.
const odooDatetime = "2006-01-02 15:04:05"

// lookedUp is an account.move as a lookup reads it.
type lookedUp struct {
	ID          int64           `json:"id"`
	Ref         char            `json:"ref"`
	Name        char            `json:"name"`
	AmountTotal number          `json:"amount_total"`
	State       string          `json:"state"`
	Currency    json.RawMessage `json:"currency_id"` // [id, "EUR"] or false
}

// LookupInvoices implements connector.InvoiceLooker with one search_read
// of the customer invoices (account.move, move_type out_invoice) whose
// ref is one of ids. When several carry one ref, the posted one stands
// for it, else a draft, else any.
func (c *Connector) LookupInvoices(ctx context.Context, ids []string) (map[string]connector.ERPInvoice, error) {
	found := make(map[string]connector.ERPInvoice, len(ids))
	if len(ids) == 0 {
		return found, nil
	}
	var moves []lookedUp
	err := c.decode(ctx, &moves, "account.move", "search_read", nil, map[string]any{
		"domain": []any{[]any{"move_type", "=", "out_invoice"}, []any{"ref", "in", ids}},
		"fields": lookupFields, "order": "id",
	}, "domain")
	if err != nil {
		return nil, fmt.Errorf("odoo: %s: lookup invoices: %w", c.cfg.Name, err)
	}
	rank := map[string]int{"posted": 2, "draft": 1}
	for _, m := range moves {
		e := m.erpInvoice()
		if had, ok := found[e.InvoiceID]; ok && rank[had.State] >= rank[e.State] {
			continue
		}
		found[e.InvoiceID] = e
	}
	return found, nil
}

// ListInvoices implements connector.InvoiceLister: the customer invoices
// whose ref is =like the prefix (its % and _ escaped) and whose
// create_date is in [from, to), to the second, in pages of search_read
// ordered by id.
func (c *Connector) ListInvoices(ctx context.Context, prefix string, from, to time.Time, fn func([]connector.ERPInvoice) error) error {
	domain := []any{
		[]any{"move_type", "=", "out_invoice"},
		[]any{"ref", "=like", likePrefix(prefix)},
		[]any{"create_date", ">=", from.UTC().Format(odooDatetime)},
		[]any{"create_date", "<", to.UTC().Format(odooDatetime)},
	}
	for offset := 0; ; offset += listPage {
		var moves []lookedUp
		err := c.decode(ctx, &moves, "account.move", "search_read", nil, map[string]any{
			"domain": domain, "fields": lookupFields, "offset": offset, "limit": listPage, "order": "id",
		}, "domain")
		if err != nil {
			return fmt.Errorf("odoo: %s: list invoices: %w", c.cfg.Name, err)
		}
		if len(moves) == 0 {
			return nil
		}
		page := make([]connector.ERPInvoice, len(moves))
		for i, m := range moves {
			page[i] = m.erpInvoice()
		}
		if err := fn(page); err != nil {
			return err
		}
		if len(moves) < listPage {
			return nil
		}
	}
}

// erpInvoice is m as reconciliation sees it: Ref is the move's name, or
// its id while it has none (a draft is named "/").
func (m lookedUp) erpInvoice() connector.ERPInvoice {
	ref := string(m.Name)
	if ref == "" || ref == "/" {
		ref = strconv.FormatInt(m.ID, 10)
	}
	e := connector.ERPInvoice{InvoiceID: string(m.Ref), Ref: ref, Total: string(m.AmountTotal), State: m.State}
	var many2one []any
	if json.Unmarshal(m.Currency, &many2one) == nil && len(many2one) == 2 {
		e.Currency, _ = many2one[1].(string)
	}
	return e
}

// number is a float field as decimal text: the digits Odoo sent, an
// exponent written out; "" for false.
type number string

func (n *number) UnmarshalJSON(b []byte) error {
	var v json.Number
	if json.Unmarshal(b, &v) != nil {
		*n = ""
		return nil
	}
	s := v.String()
	if r, ok := new(big.Rat).SetString(s); ok && strings.ContainsAny(s, "eE") {
		s = exact(r)
	}
	*n = number(s)
	return nil
}

// exact writes r, a decimal, with as many places as it needs.
func exact(r *big.Rat) string {
	places := 0
	for scaled := new(big.Rat).Set(r); !scaled.IsInt(); places++ {
		scaled.Mul(scaled, big.NewRat(10, 1))
	}
	return r.FloatString(places)
}

// likePrefix is an =like pattern matching the texts that start with
// prefix: PostgreSQL escapes wildcards with a backslash.
func likePrefix(prefix string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(prefix) + "%"
}
