package tryton

import (
	"context"
	"errors"
	"fmt"
)

// party is a customer as an invoice needs it.
type party struct {
	id          int64
	address     int64 // the invoice address
	receivable  int64
	paymentTerm int64 // 0: none
}

// findParty returns the id of the party carrying our customer id as an
// identifier without a type (party.identifier code); 0 when there is none.
// With several, the oldest.
func (c *Connector) findParty(ctx context.Context, company int64, customerID string) (int64, error) {
	rows, err := c.searchRead(ctx, company, "party.identifier",
		[]any{[]any{"code", "=", customerID}, []any{"type", "=", nil}}, 0, "party")
	if err != nil {
		return 0, fmt.Errorf("find party %s: %w", customerID, err)
	}
	var id int64
	for _, r := range rows {
		if p := r.id("party"); p != 0 && (id == 0 || p < id) {
			id = p
		}
	}
	return id, nil
}

// party finds the customer's party or creates it (named after the
// customer id, with the id as an identifier and an empty invoice address),
// then reads its receivable account and payment term. Concurrent callers
// for one customer share one run, so none creates it twice.
func (c *Connector) party(ctx context.Context, d *defaults, customerID string) (party, error) {
	ch := c.lookups.DoChan("party\x00"+customerID, func() (any, error) {
		ctx, cancel := c.flightContext(ctx)
		defer cancel()
		id, err := c.findParty(ctx, d.company, customerID)
		if err != nil {
			return 0, err
		}
		if id == 0 {
			var ids []int64
			err := c.rpc.call(ctx, "model.party.party.create", &ids, []any{map[string]any{
				"name":        customerID,
				"identifiers": []any{[]any{"create", []map[string]any{{"code": customerID}}}},
				"addresses":   []any{[]any{"create", []map[string]any{{"invoice": true}}}},
			}}, c.trytonContext(d.company))
			if err != nil {
				return 0, fmt.Errorf("create party %s: %w", customerID, err)
			}
			if len(ids) != 1 {
				return 0, fmt.Errorf("create party %s: answered %d ids", customerID, len(ids))
			}
			id = ids[0]
		}
		return id, nil
	})
	var id int64
	select {
	case <-ctx.Done():
		return party{}, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return party{}, res.Err
		}
		id = res.Val.(int64)
	}
	return c.partySettings(ctx, d, id)
}

// partySettings reads what an invoice of party id needs: its invoice
// address (created when it has none), receivable account and payment term,
// the options first, then the party's, then the accounting configuration's.
func (c *Connector) partySettings(ctx context.Context, d *defaults, id int64) (party, error) {
	p := party{id: id, receivable: d.receivable, paymentTerm: d.paymentTerm}
	rows, err := c.searchRead(ctx, d.company, "party.party", []any{[]any{"id", "=", id}}, 1,
		"account_receivable", "customer_payment_term")
	if err != nil {
		return party{}, fmt.Errorf("read party %d: %w", id, err)
	}
	if len(rows) == 0 {
		return party{}, fmt.Errorf("party %d vanished", id)
	}
	if p.receivable == 0 {
		p.receivable = rows[0].id("account_receivable")
	}
	if p.receivable == 0 {
		p.receivable = d.configReceivable
	}
	if p.receivable == 0 {
		return party{}, fmt.Errorf("party %d has no receivable account and the ERP no default: set option %s", id, OptReceivableAccount)
	}
	if p.paymentTerm == 0 {
		p.paymentTerm = rows[0].id("customer_payment_term")
	}
	if p.paymentTerm == 0 {
		p.paymentTerm = d.configTerm
	}
	if p.address, err = c.invoiceAddress(ctx, d.company, id); err != nil {
		return party{}, err
	}
	return p, nil
}

// invoiceAddress is the party's first address marked for invoices, else its
// first address, else a new empty one.
func (c *Connector) invoiceAddress(ctx context.Context, company, partyID int64) (int64, error) {
	rows, err := c.searchRead(ctx, company, "party.address",
		[]any{[]any{"party", "=", partyID}}, 0, "invoice")
	if err != nil {
		return 0, fmt.Errorf("find the address of party %d: %w", partyID, err)
	}
	var first int64
	for _, r := range rows {
		if first == 0 {
			first = r.id("id")
		}
		if r.id("invoice") != 0 || string(r["invoice"]) == "true" {
			return r.id("id"), nil
		}
	}
	if first != 0 {
		return first, nil
	}
	var ids []int64
	if err := c.rpc.call(ctx, "model.party.address.create", &ids,
		[]any{map[string]any{"party": partyID, "invoice": true}}, c.trytonContext(company)); err != nil {
		return 0, fmt.Errorf("create an address for party %d: %w", partyID, err)
	}
	if len(ids) != 1 {
		return 0, errors.New("create address: no id answered")
	}
	return ids[0], nil
}
