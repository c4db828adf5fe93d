package tryton

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// decimal is a Numeric value as trytond's JSON-RPC carries it.
func decimal(s string) map[string]string {
	return map[string]string{"__class__": "Decimal", "decimal": s}
}

// numeric decodes a Numeric value: {"__class__": "Decimal", "decimal": …},
// a plain number, or null ("").
type numeric string

func (n *numeric) UnmarshalJSON(b []byte) error {
	var d struct {
		Decimal string `json:"decimal"`
	}
	switch {
	case string(b) == "null":
		*n = ""
	case len(b) > 0 && b[0] == '{':
		if err := json.Unmarshal(b, &d); err != nil {
			return err
		}
		*n = numeric(d.Decimal)
	default:
		var f json.Number
		if err := json.Unmarshal(b, &f); err != nil {
			return err
		}
		*n = numeric(f.String())
	}
	return nil
}

// record is a search_read row; a Many2One reads as an id or null (0).
type record map[string]json.RawMessage

func (r record) id(field string) int64 {
	var v int64
	_ = json.Unmarshal(r[field], &v)
	return v
}

func (r record) text(field string) string {
	var v string
	_ = json.Unmarshal(r[field], &v)
	return v
}

func (r record) numeric(field string) string {
	var v numeric
	_ = json.Unmarshal(r[field], &v)
	return string(v)
}

// trytonContext is the Tryton context of every call: the company the
// connector works for (company-dependent values such as receivables are
// read for it); empty before the company is known.
func (c *Connector) trytonContext(company int64) map[string]any {
	if company == 0 {
		return map[string]any{}
	}
	return map[string]any{"company": company}
}

// searchRead runs model.search_read(domain, 0, limit, order by id, fields).
func (c *Connector) searchRead(ctx context.Context, company int64, model string, domain []any, limit int, fields ...string) ([]record, error) {
	return c.searchPage(ctx, company, model, domain, 0, limit, fields...)
}

// searchPage runs model.search_read(domain, offset, limit, order by id,
// fields): limit 0 reads every record from offset on.
func (c *Connector) searchPage(ctx context.Context, company int64, model string, domain []any, offset, limit int, fields ...string) ([]record, error) {
	var lim any
	if limit > 0 {
		lim = limit
	}
	var rows []record
	order := [][]string{{"id", "ASC"}}
	err := c.rpc.call(ctx, "model."+model+".search_read", &rows, domain, offset, lim, order, fields, c.trytonContext(company))
	return rows, err
}

// defaults is what every invoice uses, looked up once from the options and
// the ERP.
type defaults struct {
	company  int64
	currency string // the company's currency code
	journal  int64
	revenue  int64
	// receivable and paymentTerm are the options' (0: the party's, else
	// the accounting configuration's: configReceivable, configTerm).
	receivable       int64
	paymentTerm      int64
	configReceivable int64
	configTerm       int64
	// taxAccount books our tax; 0 with taxErr when none could be chosen
	// (an invoice without tax does not need one).
	taxAccount int64
	taxErr     string
	// creditLimit: party.party has credit_limit_amount
	// (account_credit_limit is activated).
	creditLimit bool
}

// defaults returns the cached defaults, looking them up (once for all
// concurrent callers) when they are not yet known. A failed lookup is not
// cached: the ERP's setup may be completed later, so it is retryable.
func (c *Connector) defaults(ctx context.Context) (*defaults, error) {
	c.mu.Lock()
	d := c.cached
	c.mu.Unlock()
	if d != nil {
		return d, nil
	}
	ch := c.lookups.DoChan("defaults", func() (any, error) {
		fctx, cancel := c.flightContext(ctx)
		defer cancel()
		d, err := c.lookupDefaults(fctx)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.cached = d
		c.mu.Unlock()
		return d, nil
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*defaults), nil
	}
}

func (c *Connector) lookupDefaults(ctx context.Context) (*defaults, error) {
	d := &defaults{}
	var err error
	if d.company, d.currency, err = c.lookupCompany(ctx); err != nil {
		return nil, err
	}
	opt := c.cfg.Options
	if d.journal, err = c.one(ctx, d.company, "account.journal", OptJournal, opt[OptJournal],
		[]any{[]any{"type", "=", "revenue"}}, "revenue journal"); err != nil {
		return nil, err
	}
	open := []any{[]any{"company", "=", d.company}, []any{"closed", "!=", true}}
	if d.revenue, err = c.one(ctx, d.company, "account.account", OptRevenueAccount, opt[OptRevenueAccount],
		append(open, []any{"type.revenue", "=", true}), "revenue account"); err != nil {
		return nil, err
	}
	if v := opt[OptReceivableAccount]; v != "" {
		if d.receivable, err = c.one(ctx, d.company, "account.account", OptReceivableAccount, v,
			append(open, []any{"type.receivable", "=", true}), "receivable account"); err != nil {
			return nil, err
		}
	}
	if v := opt[OptPaymentTerm]; v != "" {
		if d.paymentTerm, err = c.one(ctx, d.company, "account.invoice.payment_term", OptPaymentTerm, v,
			nil, "payment term"); err != nil {
			return nil, err
		}
	}
	if v := opt[OptTaxAccount]; v != "" {
		if d.taxAccount, err = c.one(ctx, d.company, "account.account", OptTaxAccount, v,
			append(open, []any{"type", "!=", nil}), "tax account"); err != nil {
			return nil, err
		}
	} else if err := c.lookupTaxAccount(ctx, d); err != nil {
		return nil, err
	}
	var conf []record
	if err := c.rpc.call(ctx, "model.account.configuration.read", &conf, []int64{1},
		[]string{"default_account_receivable", "default_customer_payment_term"}, c.trytonContext(d.company)); err != nil {
		return nil, fmt.Errorf("read the accounting configuration: %w", err)
	}
	if len(conf) == 1 {
		d.configReceivable = conf[0].id("default_account_receivable")
		d.configTerm = conf[0].id("default_customer_payment_term")
	}
	var fields map[string]json.RawMessage
	if err := c.rpc.call(ctx, "model.party.party.fields_get", &fields, []string{"credit_limit_amount"}, c.trytonContext(d.company)); err != nil {
		return nil, fmt.Errorf("party fields: %w", err)
	}
	_, d.creditLimit = fields["credit_limit_amount"]
	return d, nil
}

// lookupCompany finds the company of the company option (an id or the
// company's name), or the only company.
func (c *Connector) lookupCompany(ctx context.Context) (int64, string, error) {
	var domain []any
	if v := c.cfg.Options[OptCompany]; v != "" {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			domain = []any{[]any{"id", "=", id}}
		} else {
			domain = []any{[]any{"party.name", "=", v}}
		}
	}
	rows, err := c.searchRead(ctx, 0, "company.company", domain, 2, "id", "currency.code")
	if err != nil {
		return 0, "", fmt.Errorf("find the company: %w", err)
	}
	switch {
	case len(rows) == 0 && c.cfg.Options[OptCompany] != "":
		return 0, "", fmt.Errorf("no company %q in the ERP (option %s)", c.cfg.Options[OptCompany], OptCompany)
	case len(rows) == 0:
		return 0, "", fmt.Errorf("the ERP has no company")
	case len(rows) > 1:
		return 0, "", fmt.Errorf("the ERP has several companies: set option %s", OptCompany)
	}
	var cur struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(rows[0]["currency."], &cur)
	return rows[0].id("id"), cur.Code, nil
}

// one finds the single record of model matching base and the option's
// value (its code or its name), or, without a value, the single record
// matching base. what names it in errors.
func (c *Connector) one(ctx context.Context, company int64, model, option, value string, base []any, what string) (int64, error) {
	domain := append([]any{}, base...)
	if value != "" {
		byName := []any{"name", "=", value}
		if model == "account.invoice.payment_term" {
			domain = append(domain, byName)
		} else {
			domain = append(domain, []any{"OR", []any{"code", "=", value}, byName})
		}
	}
	rows, err := c.searchRead(ctx, company, model, domain, 2, "id")
	if err != nil {
		return 0, fmt.Errorf("find %s: %w", what, err)
	}
	switch {
	case len(rows) == 1:
		return rows[0].id("id"), nil
	case value != "" && len(rows) == 0:
		return 0, fmt.Errorf("%s %q (option %s) is not in the ERP", what, value, option)
	case value != "":
		return 0, fmt.Errorf("%s %q (option %s) matches several records: name one by its code", what, value, option)
	case len(rows) == 0:
		return 0, fmt.Errorf("the ERP has no %s: create one or set option %s", what, option)
	}
	return 0, fmt.Errorf("the ERP has several candidates for %s: set option %s", what, option)
}

// lookupTaxAccount defaults the tax account to the invoice account of the
// company's only tax.
func (c *Connector) lookupTaxAccount(ctx context.Context, d *defaults) error {
	rows, err := c.searchRead(ctx, d.company, "account.tax",
		[]any{[]any{"company", "=", d.company}, []any{"parent", "=", nil}}, 2, "invoice_account")
	if err != nil {
		return fmt.Errorf("find the tax account: %w", err)
	}
	if len(rows) == 1 && rows[0].id("invoice_account") != 0 {
		d.taxAccount = rows[0].id("invoice_account")
		return nil
	}
	d.taxErr = fmt.Sprintf("the company has %s: set option %s to book the invoice's tax", taxCount(len(rows)), OptTaxAccount)
	return nil
}

func taxCount(n int) string {
	switch n {
	case 0:
		return "no tax"
	case 1:
		return "a tax without an invoice account"
	}
	return "several taxes"
}

// currencyID finds the ERP's currency with ISO code; 0 when it has none.
func (c *Connector) currencyID(ctx context.Context, company int64, code string) (int64, error) {
	if v, ok := c.currencies.Load(code); ok {
		return v.(int64), nil
	}
	rows, err := c.searchRead(ctx, company, "currency.currency", []any{[]any{"code", "=", strings.ToUpper(code)}}, 1, "id")
	if err != nil {
		return 0, fmt.Errorf("find currency %s: %w", code, err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	id := rows[0].id("id")
	c.currencies.Store(code, id)
	return id, nil
}
