package tryton

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
)

// lookupFields are the account.invoice fields a lookup reads; a dotted
// name reads the Many2One's field (trytond answers it under "currency.").
var lookupFields = []string{"reference", "number", "state", "total_amount", "currency.code"}

// LookupInvoices implements connector.InvoiceLooker with one search_read
// of the company's customer invoices whose reference is one of ids. When
// several carry one reference, the posted (or paid) one stands for it,
// else a draft or validated one, else a cancelled one.
func (c *Connector) LookupInvoices(ctx context.Context, ids []string) (map[string]connector.ERPInvoice, error) {
	found := make(map[string]connector.ERPInvoice, len(ids))
	if len(ids) == 0 {
		return found, nil
	}
	d, err := c.defaults(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: lookup invoices: %w", c.cfg.Name, err)
	}
	rows, err := c.searchRead(ctx, d.company, "account.invoice", append(customerInvoices(d.company),
		[]any{"reference", "in", ids}), 0, lookupFields...)
	if err != nil {
		return nil, fmt.Errorf("%s: lookup invoices: %w", c.cfg.Name, err)
	}
	for _, r := range rows {
		e := toERPInvoice(r)
		if had, ok := found[e.InvoiceID]; ok && stateRank[had.State] >= stateRank[e.State] {
			continue
		}
		found[e.InvoiceID] = e
	}
	return found, nil
}

// ListInvoices implements connector.InvoiceLister: the company's customer
// invoices whose reference starts with prefix and whose create_date is in
// [from, to), in pages of search_read ordered by id.
func (c *Connector) ListInvoices(ctx context.Context, prefix string, from, to time.Time, fn func([]connector.ERPInvoice) error) error {
	d, err := c.defaults(ctx)
	if err != nil {
		return fmt.Errorf("%s: list invoices: %w", c.cfg.Name, err)
	}
	domain := append(customerInvoices(d.company),
		[]any{"reference", "like", likePrefix(prefix)},
		[]any{"create_date", ">=", datetime(from)},
		[]any{"create_date", "<", datetime(to)})
	for offset := 0; ; offset += c.listPage {
		rows, err := c.searchPage(ctx, d.company, "account.invoice", domain, offset, c.listPage, lookupFields...)
		if err != nil {
			return fmt.Errorf("%s: list invoices: %w", c.cfg.Name, err)
		}
		if len(rows) == 0 {
			return nil
		}
		page := make([]connector.ERPInvoice, len(rows))
		for i, r := range rows {
			page[i] = toERPInvoice(r)
		}
		if err := fn(page); err != nil {
			return err
		}
		if len(rows) < c.listPage {
			return nil
		}
	}
}

// customerInvoices is the domain of the company's customer invoices.
func customerInvoices(company int64) []any {
	return []any{[]any{"company", "=", company}, []any{"type", "=", "out"}}
}

// toERPInvoice reads a row of lookupFields. Ref is the invoice's number,
// or its id while it has none (a draft).
func toERPInvoice(r record) connector.ERPInvoice {
	var cur struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(r["currency."], &cur)
	ref := r.text("number")
	if ref == "" {
		ref = strconv.FormatInt(r.id("id"), 10)
	}
	return connector.ERPInvoice{
		InvoiceID: r.text("reference"), Ref: ref, Total: r.numeric("total_amount"), Currency: cur.Code, State: r.text("state"),
	}
}

// likePrefix is a like pattern matching the texts that start with prefix:
// trytond escapes wildcards with a backslash.
func likePrefix(prefix string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(prefix) + "%"
}

// datetime is t as trytond's JSON-RPC carries a datetime: naive, in UTC,
// as trytond stores create_date.
func datetime(t time.Time) map[string]any {
	t = t.UTC()
	return map[string]any{
		"__class__": "datetime", "year": t.Year(), "month": int(t.Month()), "day": t.Day(),
		"hour": t.Hour(), "minute": t.Minute(), "second": t.Second(), "microsecond": t.Nanosecond() / 1000,
	}
}
