package tryton

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/crossdockhq/crossdock/internal/backoff"
	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/outbox"
)

// typeInvoiceReady is the only event type this connector takes.
const typeInvoiceReady = "invoice.ready"

// Connector posts customer invoices to one Tryton database and answers
// credit and invoice lookups from it. It is safe for concurrent use.
type Connector struct {
	cfg Config
	rpc *rpc

	mu     sync.Mutex
	cached *defaults

	currencies sync.Map // ISO code → currency.currency id
	// posting admits one account.invoice post at a time: Tryton numbers
	// invoices from a strict sequence it locks with NOWAIT, so concurrent
	// posts fail each other ("could not obtain lock on row").
	posting chan struct{}
	// lookups shares one lookup of the defaults, one find-or-create of a
	// party and one delivery of an invoice between concurrent callers.
	lookups singleflight.Group
	// listPage is how many invoices one ListInvoices request reads.
	listPage int
}

var (
	_ connector.Connector     = (*Connector)(nil)
	_ connector.CreditLooker  = (*Connector)(nil)
	_ connector.InvoiceLister = (*Connector)(nil)
)

// New checks cfg and returns the connector. It makes no call: the ERP is
// first reached by the first delivery or credit lookup.
func New(cfg Config) (*Connector, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Connector{
		cfg:      cfg,
		rpc:      &rpc{url: cfg.URL, user: cfg.Username, password: cfg.Password, timeout: cfg.Timeout, client: cfg.Client},
		posting:  make(chan struct{}, 1),
		listPage: connector.LookupBatch,
	}, nil
}

// Name implements connector.Connector.
func (c *Connector) Name() string { return c.cfg.Name }

// Deliver implements connector.Connector: it makes the invoice.ready
// event's invoice a posted customer invoice in Tryton, once, and answers
// its number. See the package documentation for the steps and the errors.
func (c *Connector) Deliver(ctx context.Context, d connector.Delivery) (connector.Receipt, error) {
	if d.Event.Type != typeInvoiceReady {
		return connector.Receipt{}, outbox.Permanent(fmt.Errorf("tryton takes %s only, not %s", typeInvoiceReady, d.Event.Type))
	}
	inv, err := parseInvoice(d.Event.Data)
	if err != nil {
		return connector.Receipt{}, outbox.Permanent(fmt.Errorf("%s: %w", c.cfg.Name, err))
	}
	// Concurrent deliveries of one invoice share one run: neither creates
	// it while the other does.
	ch := c.lookups.DoChan("invoice\x00"+inv.ID, func() (any, error) {
		// The shared run outlives a caller that gives up (the others, or
		// its retry, wait on it); it is bounded on its own.
		fctx, cancel := c.flightContext(ctx)
		defer cancel()
		return c.deliver(fctx, inv)
	})
	select {
	case <-ctx.Done():
		return connector.Receipt{}, fmt.Errorf("%s: %w", c.cfg.Name, ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			return connector.Receipt{}, fmt.Errorf("%s: invoice %s: %w", c.cfg.Name, inv.ID, res.Err)
		}
		return connector.Receipt{Ref: res.Val.(string)}, nil
	}
}

// flightStages bounds a shared run: a delivery is at most this many
// calls of the connector's timeout in a row (defaults, search, party,
// create, validate, post).
const flightStages = 8

// flightContext is the context of a run shared by concurrent callers: not
// cancelled with the caller that started it, bounded by its own deadline.
func (c *Connector) flightContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), flightStages*c.cfg.Timeout)
}

// deliver returns the number of the posted invoice inv, creating and
// posting it unless Tryton has it already.
func (c *Connector) deliver(ctx context.Context, inv invoice) (string, error) {
	d, err := c.defaults(ctx)
	if err != nil {
		return "", err
	}
	existing, err := c.findInvoice(ctx, d.company, inv.ID)
	if err != nil {
		return "", err
	}
	if existing != nil {
		return c.finish(ctx, d.company, *existing)
	}
	id, err := c.createInvoice(ctx, d, inv)
	if err != nil {
		return "", err
	}
	return c.finish(ctx, d.company, erpInvoice{ID: id, State: "draft"})
}

// erpInvoice is an account.invoice as the connector reads it.
type erpInvoice struct {
	ID     int64
	State  string
	Number string
}

// stateRank orders the states of the invoices carrying one reference: the
// highest stands for our invoice.
var stateRank = map[string]int{"posted": 3, "paid": 3, "validated": 2, "draft": 2, "cancelled": 1}

// findInvoice finds the customer invoice whose reference is our invoice id:
// a posted or paid one first, else a draft or validated one (created, then
// a crash or a timeout before it was posted), else a cancelled one. Nil
// when there is none.
func (c *Connector) findInvoice(ctx context.Context, company int64, ref string) (*erpInvoice, error) {
	rows, err := c.searchRead(ctx, company, "account.invoice", []any{
		[]any{"company", "=", company}, []any{"type", "=", "out"}, []any{"reference", "=", ref},
	}, 0, "state", "number")
	if err != nil {
		return nil, fmt.Errorf("search by reference: %w", err)
	}
	var best *erpInvoice
	for _, r := range rows {
		e := erpInvoice{ID: r.id("id"), State: r.text("state"), Number: r.text("number")}
		if best == nil || stateRank[e.State] > stateRank[best.State] {
			best = &e
		}
	}
	return best, nil
}

// finish posts e unless it is, and returns its number.
func (c *Connector) finish(ctx context.Context, company int64, e erpInvoice) (string, error) {
	switch e.State {
	case "posted", "paid":
		if e.Number == "" {
			return "", errors.New("tryton holds it posted without a number")
		}
		return e.Number, nil
	case "cancelled":
		return "", outbox.Permanent(fmt.Errorf("tryton holds it cancelled (account.invoice %d): it is not sent again", e.ID))
	case "draft":
		if err := c.rpc.call(ctx, "model.account.invoice.validate_invoice", nil, []int64{e.ID}, c.trytonContext(company)); err != nil {
			return "", fmt.Errorf("validate account.invoice %d: %w", e.ID, err)
		}
	}
	if err := c.post(ctx, company, e.ID); err != nil {
		return "", fmt.Errorf("post account.invoice %d: %w", e.ID, err)
	}
	rows, err := c.searchRead(ctx, company, "account.invoice", []any{[]any{"id", "=", e.ID}}, 1, "state", "number")
	if err != nil {
		return "", fmt.Errorf("read account.invoice %d: %w", e.ID, err)
	}
	if len(rows) == 0 {
		return "", fmt.Errorf("account.invoice %d vanished after post", e.ID)
	}
	number, state := rows[0].text("number"), rows[0].text("state")
	if (state != "posted" && state != "paid") || number == "" {
		return "", fmt.Errorf("account.invoice %d is %s after post, number %q", e.ID, state, number)
	}
	return number, nil
}

// postLockRetries bounds the tries of a post that found Tryton's invoice
// sequence locked by another process.
const postLockRetries = 8

// post posts account.invoice id, one post at a time. post needs a fresh
// session: rpc.call logs in again when trytond refuses a stale one.
func (c *Connector) post(ctx context.Context, company, id int64) error {
	select {
	case c.posting <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wait to post: %w", ctx.Err())
	}
	defer func() { <-c.posting }()
	// Another process posting at the same moment (a second hub node, a
	// person in Tryton) holds the sequence row: Tryton answers at once
	// instead of waiting, so wait a little here before the outbox's
	// slower retry.
	var err error
	for attempt := range postLockRetries {
		err = c.rpc.call(ctx, "model.account.invoice.post", nil, []int64{id}, c.trytonContext(company))
		if err == nil || !strings.Contains(err.Error(), "could not obtain lock") {
			return err
		}
		t := time.NewTimer(backoff.Jitter(backoff.Exp(attempt+1, 50*time.Millisecond, time.Second), 0.5))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (waiting for Tryton's invoice sequence: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
	return err
}

// createInvoice creates inv as a draft customer invoice and returns its id.
func (c *Connector) createInvoice(ctx context.Context, d *defaults, inv invoice) (int64, error) {
	currency, err := c.currencyID(ctx, d.company, inv.Currency)
	if err != nil {
		return 0, err
	}
	if currency == 0 {
		return 0, outbox.Permanent(fmt.Errorf("currency %q is unknown to the ERP", inv.Currency))
	}
	if !inv.Tax.IsZero() && d.taxAccount == 0 {
		// Looked up again next time: the ERP may be set up by then.
		c.mu.Lock()
		c.cached = nil
		c.mu.Unlock()
		return 0, errors.New(d.taxErr)
	}
	p, err := c.party(ctx, d, inv.CustomerID)
	if err != nil {
		return 0, err
	}
	lines := make([]map[string]any, 0, len(inv.Lines))
	for _, l := range inv.Lines {
		lines = append(lines, map[string]any{
			"type": "line", "company": d.company, "currency": currency, "account": d.revenue,
			"description": l.Description, "quantity": l.Quantity, "unit_price": decimal(l.UnitPrice),
		})
	}
	values := map[string]any{
		"type": "out", "company": d.company, "party": p.id, "invoice_address": p.address,
		"currency": currency, "journal": d.journal, "account": p.receivable,
		"reference": inv.ID, "description": description(inv),
		"lines": []any{[]any{"create", lines}},
	}
	if p.paymentTerm != 0 {
		values["payment_term"] = p.paymentTerm
	}
	if !inv.Tax.IsZero() {
		values["taxes"] = []any{[]any{"create", []map[string]any{{
			"description": "Tax", "account": d.taxAccount, "manual": true,
			"base": decimal(inv.Subtotal.String()), "amount": decimal(inv.Tax.String()),
		}}}}
	}
	var ids []int64
	if err := c.rpc.call(ctx, "model.account.invoice.create", &ids, []any{values}, c.trytonContext(d.company)); err != nil {
		return 0, fmt.Errorf("create: %w", err)
	}
	if len(ids) != 1 {
		return 0, fmt.Errorf("create answered %d ids", len(ids))
	}
	return ids[0], nil
}

func description(inv invoice) string {
	if inv.ShipmentID == "" {
		return inv.ID
	}
	return "Shipment " + inv.ShipmentID
}
