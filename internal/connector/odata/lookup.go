package odata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crossdockhq/crossdock/internal/connector"
)

var _ connector.InvoiceLister = (*Connector)(nil)

// maxURL bounds a lookup's URL: SAP's ICM and the proxies before it
// refuse long request lines (8 KiB is a common limit), so a batch of ids
// goes in as many requests as keep each URL within it.
const maxURL = 6000

// listPage is how many orders one ListInvoices request asks for ($top).
const listPage = connector.LookupBatch

// lookupSelect are the properties a lookup reads: the order's net value,
// and its items' tax to make the gross total.
const lookupSelect = "SalesOrder,PurchaseOrderByCustomer,TotalNetAmount,TransactionCurrency,OverallSDProcessStatus,to_Item/TaxAmount"

// processStatus names OverallSDProcessStatus's codes for people.
var processStatus = map[string]string{"A": "open", "B": "in process", "C": "completed"}

// LookupInvoices implements connector.InvoiceLooker: the sales orders
// whose PurchaseOrderByCustomer is one of ids, by a $filter of equalities
// joined with or, in as few GETs as keep each URL within maxURL
// (following SAP's __next links). Total is the order's TotalNetAmount
// plus its items' TaxAmount; Ref the SalesOrder; State its overall
// processing status (open, in process, completed). When several orders
// carry one id, the lowest SalesOrder stands for it.
func (c *Connector) LookupInvoices(ctx context.Context, ids []string) (map[string]connector.ERPInvoice, error) {
	found := make(map[string]connector.ERPInvoice, len(ids))
	for _, batch := range c.batches(ids) {
		_, err := c.orders(ctx, c.lookupURL(batch), func(orders []salesOrder) error {
			for _, o := range orders {
				e, err := o.erpInvoice()
				if err != nil {
					return err
				}
				if _, ok := found[e.InvoiceID]; !ok {
					found[e.InvoiceID] = e
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("odata: %s: lookup invoices: %w", c.cfg.Name, err)
		}
	}
	return found, nil
}

// ListInvoices implements connector.InvoiceLister: the sales orders whose
// PurchaseOrderByCustomer starts with prefix, in pages of $top ordered by
// SalesOrder. CreationDate is a day, not an instant: the orders created
// on the days (UTC) from from's to the one before to (to's too, when it
// is not a midnight) are listed.
func (c *Connector) ListInvoices(ctx context.Context, prefix string, from, to time.Time, fn func([]connector.ERPInvoice) error) error {
	day := func(t time.Time) string { return "datetime'" + t.Format("2006-01-02") + "T00:00:00'" }
	first := from.UTC().Truncate(24 * time.Hour)
	end := to.UTC().Truncate(24 * time.Hour)
	if end.Before(to) {
		end = end.Add(24 * time.Hour)
	}
	filter := "startswith(PurchaseOrderByCustomer," + literal(prefix) + ") eq true and CreationDate ge " + day(first) +
		" and CreationDate lt " + day(end)
	for skip := 0; ; skip += listPage {
		q := c.query(filter)
		q.Set("$orderby", "SalesOrder")
		q.Set("$top", strconv.Itoa(listPage))
		q.Set("$skip", strconv.Itoa(skip))
		var stop error
		n, err := c.orders(ctx, c.entitySetURL(q), func(orders []salesOrder) error {
			page := make([]connector.ERPInvoice, len(orders))
			for i, o := range orders {
				e, err := o.erpInvoice()
				if err != nil {
					return err
				}
				page[i] = e
			}
			if err := fn(page); err != nil {
				stop = err
				return err
			}
			return nil
		})
		switch {
		case stop != nil:
			return stop
		case err != nil:
			return fmt.Errorf("odata: %s: list invoices: %w", c.cfg.Name, err)
		case n < listPage:
			return nil
		}
	}
}

// batches splits ids into the batches whose lookup URL stays within
// maxURL. An id longer than PurchaseOrderByCustomer holds is no order's
// and is left out.
func (c *Connector) batches(ids []string) [][]string {
	var out [][]string
	var batch []string
	for _, id := range ids {
		if utf8.RuneCountInString(id) > externalRefLen {
			continue
		}
		if len(batch) > 0 && len(c.lookupURL(append(batch, id))) > maxURL {
			out = append(out, batch)
			batch = nil
		}
		batch = append(batch, id)
	}
	if len(batch) > 0 {
		out = append(out, batch)
	}
	return out
}

// lookupURL is the GET of the orders made for ids.
func (c *Connector) lookupURL(ids []string) string {
	terms := make([]string, len(ids))
	for i, id := range ids {
		terms[i] = "PurchaseOrderByCustomer eq " + literal(id)
	}
	q := c.query(strings.Join(terms, " or "))
	q.Set("$orderby", "SalesOrder")
	return c.entitySetURL(q)
}

// query is the query of a read of lookupSelect with filter.
func (c *Connector) query(filter string) url.Values {
	q := url.Values{}
	q.Set("$filter", filter)
	q.Set("$select", lookupSelect)
	q.Set("$expand", "to_Item")
	q.Set("$format", "json")
	return q
}

// literal is s as an OData string literal.
func literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// salesOrder is an A_SalesOrder as a lookup reads it.
type salesOrder struct {
	SalesOrder              string  `json:"SalesOrder"`
	PurchaseOrderByCustomer string  `json:"PurchaseOrderByCustomer"`
	TotalNetAmount          decimal `json:"TotalNetAmount"`
	TransactionCurrency     string  `json:"TransactionCurrency"`
	OverallSDProcessStatus  string  `json:"OverallSDProcessStatus"`
	Items                   items   `json:"to_Item"`
}

// erpInvoice is o as reconciliation sees it.
func (o salesOrder) erpInvoice() (connector.ERPInvoice, error) {
	if o.TotalNetAmount == "" {
		return connector.ERPInvoice{}, fmt.Errorf("sales order %s: no TotalNetAmount", o.SalesOrder)
	}
	amounts := []string{string(o.TotalNetAmount)}
	for _, it := range o.Items {
		if it.TaxAmount != "" {
			amounts = append(amounts, string(it.TaxAmount))
		}
	}
	total, err := sum(amounts)
	if err != nil {
		return connector.ERPInvoice{}, fmt.Errorf("sales order %s: %w", o.SalesOrder, err)
	}
	state := o.OverallSDProcessStatus
	if s, ok := processStatus[state]; ok {
		state = s
	}
	return connector.ERPInvoice{InvoiceID: o.PurchaseOrderByCustomer, Ref: o.SalesOrder, Total: total,
		Currency: o.TransactionCurrency, State: state}, nil
}

// sum adds decimal texts exactly, written with as many places as the
// most precise of them.
func sum(amounts []string) (string, error) {
	total, places := new(big.Rat), 0
	for _, a := range amounts {
		r, ok := new(big.Rat).SetString(a)
		if !ok || !decimalAmount(a) {
			return "", fmt.Errorf("amount %q is not a decimal", bound(a, 40))
		}
		total.Add(total, r)
		if _, frac, ok := strings.Cut(a, "."); ok {
			places = max(places, len(frac))
		}
	}
	return total.FloatString(places), nil
}

// decimalAmount reports whether s is plain decimal text: digits, a sign,
// a point.
func decimalAmount(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	digits := func(t string) bool { return strings.Trim(t, "0123456789") == "" }
	return whole != "" && digits(whole) && digits(frac)
}

// decimal is an Edm.Decimal: a string in V2's JSON, a number in V4's;
// "" for null.
type decimal string

func (d *decimal) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*d = decimal(s)
		return nil
	}
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		*d = decimal(n)
		return nil
	}
	*d = ""
	return nil
}

// items is an expanded to_Item: {"results": […]} in V2, […] in V4.
type items []struct {
	TaxAmount decimal `json:"TaxAmount"`
}

func (it *items) UnmarshalJSON(b []byte) error {
	var v2 struct {
		Results []struct {
			TaxAmount decimal `json:"TaxAmount"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &v2); err == nil {
		*it = v2.Results
		return nil
	}
	var v4 []struct {
		TaxAmount decimal `json:"TaxAmount"`
	}
	if err := json.Unmarshal(b, &v4); err != nil {
		return err
	}
	*it = v4
	return nil
}

// orders GETs u and the pages SAP links from it (d.__next in V2,
// @odata.nextLink in V4), calling fn with each page; it returns how many
// orders there were.
func (c *Connector) orders(ctx context.Context, u string, fn func([]salesOrder) error) (int, error) {
	op := "GET " + c.cfg.Options["entity_set"]
	n := 0
	for u != "" {
		status, h, body, err := c.do(ctx, "", http.MethodGet, u, nil, nil)
		if err != nil {
			return n, fmt.Errorf("%s: %w", op, err)
		}
		if status != http.StatusOK {
			return n, classify(op, status, h, body, c.cfg.Now())
		}
		var ans struct {
			D *struct {
				Results []salesOrder `json:"results"`
				Next    string       `json:"__next"`
			} `json:"d"`
			Value    []salesOrder `json:"value"`
			NextLink string       `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(body, &ans); err != nil {
			return n, fmt.Errorf("%s: unexpected answer: %w", op, err)
		}
		results, next := ans.Value, ans.NextLink
		if ans.D != nil {
			results, next = ans.D.Results, ans.D.Next
		}
		n += len(results)
		if len(results) > 0 {
			if err := fn(results); err != nil {
				return n, err
			}
		}
		if u, err = c.nextURL(u, next); err != nil {
			return n, fmt.Errorf("%s: %w", op, err)
		}
	}
	return n, nil
}

// nextURL resolves a next link against the page's URL; "" for none. A
// link off the service's host is refused: the credentials go with it.
func (c *Connector) nextURL(page, next string) (string, error) {
	if next == "" {
		return "", nil
	}
	base, err := url.Parse(page)
	if err != nil {
		return "", err
	}
	ref, err := url.Parse(next)
	if err != nil {
		return "", fmt.Errorf("next link: %w", err)
	}
	u := base.ResolveReference(ref)
	svc, _ := url.Parse(c.cfg.URL)
	if u.Scheme != svc.Scheme || u.Host != svc.Host {
		return "", errors.New("next link leaves the service's host: not followed")
	}
	return u.String(), nil
}
