package odoo

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/erpinvoice"
	"github.com/crossdockhq/crossdock/internal/outbox"
)

// TypeInvoiceReady is the one event type this connector delivers.
const TypeInvoiceReady = "invoice.ready"

// Connector posts customer invoices to Odoo. It is safe for concurrent
// use.
type Connector struct {
	cfg Config
	seq atomic.Int64 // JSON-RPC request ids

	// jsonrpc session: uid is 0 until logged in; loginSem lets one login
	// run; loginErr and loginFailed (guarded by loginSem) are the last
	// failed login, shared with whoever waited for it.
	uid         atomic.Int64
	loginSem    chan struct{}
	loginErr    error
	loginFailed time.Time

	locks erpinvoice.Keyed
}

var (
	_ connector.Connector    = (*Connector)(nil)
	_ connector.CreditLooker = (*Connector)(nil)
)

// New checks c and returns the connector. It does not call Odoo.
func New(c Config) (*Connector, error) {
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &Connector{cfg: c, loginSem: make(chan struct{}, 1)}, nil
}

// Name implements connector.Connector.
func (c *Connector) Name() string { return c.cfg.Name }

// Deliver implements connector.Connector for invoice.ready: it finds or
// creates the customer (res.partner by ref = our customer id), finds the
// invoice (account.move out_invoice by ref = our invoice id) or creates
// it as a draft, checks Odoo's total is ours and posts it. Receipt.Ref is
// the move's name (INV/2026/00001). Other event types are permanent
// errors.
func (c *Connector) Deliver(ctx context.Context, d connector.Delivery) (connector.Receipt, error) {
	if d.Event.Type != TypeInvoiceReady {
		return connector.Receipt{}, outbox.Permanent(fmt.Errorf("odoo: %s: event type %q: only %s is delivered", c.cfg.Name, d.Event.Type, TypeInvoiceReady))
	}
	inv, err := erpinvoice.Parse(d.Event.Data)
	if err != nil {
		return connector.Receipt{}, outbox.Permanent(fmt.Errorf("odoo: %s: %w", c.cfg.Name, err))
	}
	ctx = context.WithValue(ctx, correlationKey{}, d.CorrelationID)
	ref, err := c.deliver(ctx, inv)
	if err != nil {
		return connector.Receipt{}, fmt.Errorf("odoo: %s: invoice %s: %w", c.cfg.Name, inv.ID, err)
	}
	return connector.Receipt{Ref: ref}, nil
}

// move is an account.move as read back.
type move struct {
	ID          int64   `json:"id"`
	Name        char    `json:"name"`
	State       string  `json:"state"`
	AmountTotal float64 `json:"amount_total"`
}

// char is a char field: Odoo answers false for an empty one.
type char string

func (t *char) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*t = char(s)
	}
	return nil
}

var moveFields = []string{"name", "state", "amount_total"}

func (c *Connector) deliver(ctx context.Context, inv erpinvoice.Invoice) (string, error) {
	unlock, err := c.locks.Lock(ctx, "move "+inv.ID)
	if err != nil {
		return "", err
	}
	defer unlock()
	var moves []move
	err = c.decode(ctx, &moves, "account.move", "search_read", nil, map[string]any{
		"domain": []any{[]any{"move_type", "=", "out_invoice"}, []any{"ref", "=", inv.ID}},
		"fields": moveFields, "order": "id",
	}, "domain")
	if err != nil {
		return "", err
	}
	m, found := pick(moves)
	if !found {
		if m, err = c.create(ctx, inv); err != nil {
			return "", err
		}
	}
	switch m.State {
	case "posted":
		return string(m.Name), nil
	case "draft":
	default:
		return "", outbox.Permanent(fmt.Errorf("move %d (%s) is %s in Odoo: not posted again", m.ID, m.Name, m.State))
	}
	if !sameAmount(m.AmountTotal, inv.Total) {
		return "", outbox.Permanent(fmt.Errorf("the total Odoo computes is %.2f, ours is %s: draft move %d kept, not posted", m.AmountTotal, inv.Total, m.ID))
	}
	if _, err := c.call(ctx, "account.move", "action_post", []int64{m.ID}, nil); err != nil {
		if outbox.IsPermanent(err) {
			return "", fmt.Errorf("post draft move %d (kept for an operator): %w", m.ID, err)
		}
		return "", err
	}
	posted, err := c.read(ctx, m.ID)
	if err != nil {
		return "", err
	}
	return string(posted.Name), nil
}

// pick is the move that stands for the invoice: a posted one, else a
// draft, else any.
func pick(moves []move) (move, bool) {
	for _, state := range []string{"posted", "draft"} {
		for _, m := range moves {
			if m.State == state {
				return m, true
			}
		}
	}
	if len(moves) > 0 {
		return moves[0], true
	}
	return move{}, false
}

// create makes the invoice as a draft move and reads it back.
//
// Each line goes with tax_ids cleared, so Odoo adds no default sales tax
// of its own, and our tax goes as a line of its own ("Tax"): Odoo's
// total is then exactly ours, which deliver checks before posting.
func (c *Connector) create(ctx context.Context, inv erpinvoice.Invoice) (move, error) {
	currency, err := c.currency(ctx, inv.Currency)
	if err != nil {
		return move{}, err
	}
	partner, err := c.partner(ctx, inv.CustomerID)
	if err != nil {
		return move{}, err
	}
	noTax := []any{[]any{6, 0, []int64{}}}
	var lines []any
	for _, l := range inv.Lines {
		label, qty, price := priced(l)
		lines = append(lines, []any{0, 0, map[string]any{"name": label, "quantity": qty, "price_unit": price, "tax_ids": noTax}})
	}
	if erpinvoice.Rat(inv.Tax).Sign() != 0 {
		lines = append(lines, []any{0, 0, map[string]any{"name": "Tax", "quantity": json.Number("1"), "price_unit": json.Number(inv.Tax), "tax_ids": noTax}})
	}
	vals := map[string]any{
		"move_type": "out_invoice", "partner_id": partner, "currency_id": currency, "ref": inv.ID,
		"invoice_origin": inv.ShipmentID, "invoice_line_ids": lines,
	}
	if !inv.CreatedAt.IsZero() {
		vals["invoice_date"] = inv.CreatedAt.UTC().Format(time.DateOnly)
	}
	var ids []int64
	if err := c.decode(ctx, &ids, "account.move", "create", nil, map[string]any{"vals_list": []any{vals}}, "vals_list"); err != nil {
		return move{}, err
	}
	if len(ids) != 1 {
		return move{}, fmt.Errorf("account.move/create: answered %d ids, want 1", len(ids))
	}
	return c.read(ctx, ids[0])
}

func (c *Connector) read(ctx context.Context, id int64) (move, error) {
	var moves []move
	if err := c.decode(ctx, &moves, "account.move", "read", []int64{id}, map[string]any{"fields": moveFields}); err != nil {
		return move{}, err
	}
	if len(moves) != 1 {
		return move{}, fmt.Errorf("account.move/read %d: answered %d records", id, len(moves))
	}
	return moves[0], nil
}

// currency is the id of the active res.currency named code; one Odoo
// does not have active is a permanent error (the invoice cannot be
// created until an operator activates it, then replays the delivery).
func (c *Connector) currency(ctx context.Context, code string) (int64, error) {
	var found []struct {
		ID int64 `json:"id"`
	}
	err := c.decode(ctx, &found, "res.currency", "search_read", nil, map[string]any{
		"domain": []any{[]any{"name", "=", code}}, "fields": []string{"id"}, "limit": 1,
	}, "domain")
	if err != nil {
		return 0, err
	}
	if len(found) == 0 {
		return 0, outbox.Permanent(fmt.Errorf("currency %s is not active in Odoo (res.currency)", code))
	}
	return found[0].ID, nil
}

// partner is the id of the res.partner whose ref is customerID (archived
// ones too), created when there is none. Creations of one customer run
// one at a time here; two hub nodes creating the same new customer at
// the same instant could still make two partners.
func (c *Connector) partner(ctx context.Context, customerID string) (int64, error) {
	unlock, err := c.locks.Lock(ctx, "partner "+customerID)
	if err != nil {
		return 0, err
	}
	defer unlock()
	var found []struct {
		ID int64 `json:"id"`
	}
	err = c.decode(ctx, &found, "res.partner", "search_read", nil, map[string]any{
		"domain": []any{[]any{"ref", "=", customerID}}, "fields": []string{"id"}, "limit": 1, "order": "id",
		"context": map[string]any{"active_test": false},
	}, "domain")
	if err != nil {
		return 0, err
	}
	if len(found) > 0 {
		return found[0].ID, nil
	}
	var ids []int64
	err = c.decode(ctx, &ids, "res.partner", "create", nil, map[string]any{"vals_list": []any{map[string]any{
		"name": customerID, "ref": customerID, "is_company": true, "customer_rank": 1,
	}}}, "vals_list")
	if err != nil {
		return 0, err
	}
	if len(ids) != 1 {
		return 0, fmt.Errorf("res.partner/create: answered %d ids, want 1", len(ids))
	}
	return ids[0], nil
}

// decode calls and decodes the answer into v.
func (c *Connector) decode(ctx context.Context, v any, model, method string, ids []int64, named map[string]any, positional ...string) error {
	res, err := c.call(ctx, model, method, ids, named, positional...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(res, v); err != nil {
		return fmt.Errorf("%s/%s: unexpected answer: %w", model, method, err)
	}
	return nil
}

// sameAmount compares Odoo's float amount with our decimal to the cent.
func sameAmount(odoo float64, ours string) bool {
	cents := new(big.Rat).Mul(erpinvoice.Rat(ours), big.NewRat(100, 1))
	return cents.IsInt() && cents.Num().IsInt64() && cents.Num().Int64() == int64(math.Round(odoo*100))
}

// Credit implements connector.CreditLooker from the partner whose ref is
// customerID: Balance is its credit (posted receivables unpaid), Limit
// its credit_limit ("" when 0: Odoo sets none), in the company currency.
func (c *Connector) Credit(ctx context.Context, customerID string) (connector.Credit, error) {
	var found []struct {
		Credit      float64         `json:"credit"`
		CreditLimit float64         `json:"credit_limit"`
		Currency    json.RawMessage `json:"currency_id"`
	}
	err := c.decode(ctx, &found, "res.partner", "search_read", nil, map[string]any{
		"domain": []any{[]any{"ref", "=", customerID}}, "fields": []string{"credit", "credit_limit", "currency_id"},
		"limit": 1, "order": "id", "context": map[string]any{"active_test": false},
	}, "domain")
	if err != nil {
		return connector.Credit{}, fmt.Errorf("odoo: %s: credit %s: %w", c.cfg.Name, customerID, err)
	}
	if len(found) == 0 {
		return connector.Credit{}, fmt.Errorf("odoo: %s: credit %s: %w", c.cfg.Name, customerID, connector.ErrUnknownCustomer)
	}
	p := found[0]
	cr := connector.Credit{CustomerID: customerID, Balance: strconv.FormatFloat(p.Credit, 'f', 2, 64)}
	if p.CreditLimit != 0 {
		cr.Limit = strconv.FormatFloat(p.CreditLimit, 'f', 2, 64)
	}
	var many2one []any // [id, "EUR"] or false
	if json.Unmarshal(p.Currency, &many2one) == nil && len(many2one) == 2 {
		cr.Currency, _ = many2one[1].(string)
	}
	return cr, nil
}
