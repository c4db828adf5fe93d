package tryton

import (
	"context"
	"fmt"

	"github.com/crossdockhq/crossdock/internal/connector"
)

// Credit implements connector.CreditLooker from the party carrying
// customerID as an identifier: Balance is its receivable (posted, unpaid
// receivable move lines of the company), Limit its credit_limit_amount
// when account_credit_limit is activated and sets one, Currency the
// company's.
func (c *Connector) Credit(ctx context.Context, customerID string) (connector.Credit, error) {
	d, err := c.defaults(ctx)
	if err != nil {
		return connector.Credit{}, fmt.Errorf("%s: credit: %w", c.cfg.Name, err)
	}
	id, err := c.findParty(ctx, d.company, customerID)
	if err != nil {
		return connector.Credit{}, fmt.Errorf("%s: credit: %w", c.cfg.Name, err)
	}
	if id == 0 {
		return connector.Credit{}, fmt.Errorf("%s: %s: %w", c.cfg.Name, customerID, connector.ErrUnknownCustomer)
	}
	fields := []string{"receivable"}
	if d.creditLimit {
		fields = append(fields, "credit_limit_amount")
	}
	rows, err := c.searchRead(ctx, d.company, "party.party", []any{[]any{"id", "=", id}}, 1, fields...)
	if err != nil {
		return connector.Credit{}, fmt.Errorf("%s: credit: read party %d: %w", c.cfg.Name, id, err)
	}
	if len(rows) == 0 {
		return connector.Credit{}, fmt.Errorf("%s: %s: %w", c.cfg.Name, customerID, connector.ErrUnknownCustomer)
	}
	cr := connector.Credit{CustomerID: customerID, Currency: d.currency, Balance: formatMoney(rows[0].numeric("receivable"))}
	if lim := rows[0].numeric("credit_limit_amount"); lim != "" {
		cr.Limit = formatMoney(lim)
	}
	return cr, nil
}
