package odata

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/erpinvoice"
	"github.com/crossdockhq/crossdock/internal/outbox"
)

// TypeInvoiceReady is the one event type this connector delivers.
const TypeInvoiceReady = "invoice.ready"

// Field lengths of A_SalesOrder that our values must fit.
const (
	soldToPartyLen     = 10 // SoldToParty: String(10)
	externalRefLen     = 35 // PurchaseOrderByCustomer: String(35)
	salesOrderItemText = 40 // SalesOrderItemText: String(40)
)

// maxAnswer bounds how much of a successful answer is read.
const maxAnswer = 8 << 20

// Connector creates sales orders in SAP S/4HANA. It is safe for
// concurrent use: one cookie jar and one CSRF token are shared, and one
// token fetch runs at a time.
type Connector struct {
	cfg    Config
	client *http.Client

	fetchSem chan struct{} // one token fetch at a time
	mu       sync.Mutex    // guards token and gen
	token    string        // "" when SAP asks for none
	gen      int           // 0: no token fetched yet; bumped by each fetch

	locks erpinvoice.Keyed
}

var _ connector.Connector = (*Connector)(nil)

// New checks c and returns the connector. It does not call SAP.
func New(c Config) (*Connector, error) {
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	client := c.Client
	if client == nil {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return nil, fmt.Errorf("odata: %s: %w", c.Name, err)
		}
		client = &http.Client{Timeout: c.Timeout, Jar: jar}
	}
	return &Connector{cfg: c, client: client, fetchSem: make(chan struct{}, 1)}, nil
}

// Name implements connector.Connector.
func (c *Connector) Name() string { return c.cfg.Name }

// Deliver implements connector.Connector for invoice.ready: it looks
// for a sales order whose PurchaseOrderByCustomer is our invoice id and
// creates one (a deep insert with its items) when there is none.
// Receipt.Ref is the SalesOrder number. Other event types are permanent
// errors.
func (c *Connector) Deliver(ctx context.Context, d connector.Delivery) (connector.Receipt, error) {
	fail := func(err error) (connector.Receipt, error) {
		return connector.Receipt{}, fmt.Errorf("odata: %s: %w", c.cfg.Name, err)
	}
	if d.Event.Type != TypeInvoiceReady {
		return fail(outbox.Permanent(fmt.Errorf("event type %q: only %s is delivered", d.Event.Type, TypeInvoiceReady)))
	}
	inv, err := erpinvoice.Parse(d.Event.Data)
	if err != nil {
		return fail(outbox.Permanent(err))
	}
	body, err := c.salesOrder(inv)
	if err != nil {
		return fail(outbox.Permanent(fmt.Errorf("invoice %s: %w", inv.ID, err)))
	}
	unlock, err := c.locks.Lock(ctx, inv.ID)
	if err != nil {
		return fail(err)
	}
	defer unlock()
	var ref string
	found, err := c.find(ctx, d.CorrelationID, inv.ID)
	switch {
	case err == nil && len(found) > 0:
		ref = found[0]
	case err == nil:
		ref, err = c.create(ctx, d.CorrelationID, body)
	}
	if err != nil {
		return fail(fmt.Errorf("invoice %s: %w", inv.ID, err))
	}
	return connector.Receipt{Ref: ref}, nil
}

// salesOrder maps inv onto A_SalesOrder with its items (to_Item) and
// their prices (to_PricingElement). SAP's own tax determination adds the
// tax: our tax is not sent.
func (c *Connector) salesOrder(inv erpinvoice.Invoice) ([]byte, error) {
	if n := utf8.RuneCountInString(inv.CustomerID); n > soldToPartyLen {
		return nil, fmt.Errorf("customer_id %q: %d characters, SoldToParty takes %d", inv.CustomerID, n, soldToPartyLen)
	}
	if n := utf8.RuneCountInString(inv.ID); n > externalRefLen {
		return nil, fmt.Errorf("id: %d characters, PurchaseOrderByCustomer takes %d", n, externalRefLen)
	}
	o := c.cfg.Options
	var items []map[string]any
	for i, l := range inv.Lines {
		text, qty, rate := priced(l, salesOrderItemText)
		item := map[string]any{
			"SalesOrderItem":        strconv.Itoa(10 * (i + 1)),
			"Material":              perLine(o, "material", l.Code),
			"SalesOrderItemText":    text,
			"RequestedQuantity":     qty,
			"RequestedQuantityUnit": perLine(o, "unit", l.Code),
		}
		if o["condition_type"] != "none" {
			item["to_PricingElement"] = []map[string]any{{
				"ConditionType": o["condition_type"], "ConditionRateValue": rate, "ConditionCurrency": inv.Currency,
			}}
		}
		items = append(items, item)
	}
	order := map[string]any{
		"SalesOrderType":          o["sales_order_type"],
		"SalesOrganization":       o["sales_organization"],
		"DistributionChannel":     o["distribution_channel"],
		"OrganizationDivision":    o["division"],
		"SoldToParty":             inv.CustomerID,
		"PurchaseOrderByCustomer": inv.ID,
		"TransactionCurrency":     inv.Currency,
		"to_Item":                 items,
	}
	if !inv.CreatedAt.IsZero() {
		y, m, d := inv.CreatedAt.UTC().Date()
		order["SalesOrderDate"] = fmt.Sprintf("/Date(%d)/", time.Date(y, m, d, 0, 0, 0, 0, time.UTC).UnixMilli())
	}
	return json.Marshal(order)
}

// perLine is option key.<code> when set, else key.
func perLine(o map[string]string, key, code string) string {
	if v := o[key+"."+code]; v != "" {
		return v
	}
	return o[key]
}

// find returns the numbers of the sales orders made for our invoice id.
func (c *Connector) find(ctx context.Context, corr, invoiceID string) ([]string, error) {
	q := url.Values{}
	q.Set("$filter", "PurchaseOrderByCustomer eq '"+strings.ReplaceAll(invoiceID, "'", "''")+"'")
	q.Set("$select", "SalesOrder")
	q.Set("$format", "json")
	op := "GET " + c.cfg.Options["entity_set"]
	status, h, body, err := c.do(ctx, corr, http.MethodGet, c.entitySetURL(q), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if status != http.StatusOK {
		return nil, classify(op, status, h, body, c.cfg.Now())
	}
	var ans struct {
		D *struct {
			Results []struct {
				SalesOrder string `json:"SalesOrder"`
			} `json:"results"`
		} `json:"d"`
		Value []struct {
			SalesOrder string `json:"SalesOrder"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("%s: unexpected answer: %w", op, err)
	}
	results := ans.Value
	if ans.D != nil {
		results = ans.D.Results
	}
	var found []string
	for _, r := range results {
		if r.SalesOrder != "" {
			found = append(found, r.SalesOrder)
		}
	}
	return found, nil
}

// create posts the sales order with the CSRF token, fetching a new token
// once when SAP answers 403 "x-csrf-token: Required".
func (c *Connector) create(ctx context.Context, corr string, order []byte) (string, error) {
	op := "POST " + c.cfg.Options["entity_set"]
	stale := 0
	for attempt := 1; ; attempt++ {
		token, gen, err := c.csrf(ctx, corr, stale)
		if err != nil {
			return "", err
		}
		hdr := http.Header{"Content-Type": {"application/json"}}
		if token != "" {
			hdr.Set("X-Csrf-Token", token)
		}
		status, h, body, err := c.do(ctx, corr, http.MethodPost, c.entitySetURL(nil), hdr, order)
		if err != nil {
			return "", fmt.Errorf("%s: %w", op, err)
		}
		if status == http.StatusForbidden && strings.EqualFold(h.Get("X-Csrf-Token"), "required") {
			if attempt == 1 {
				stale = gen
				continue
			}
			return "", fmt.Errorf("%s: SAP refused a freshly fetched CSRF token: 403 %s", op, bound(string(body), 200))
		}
		if status != http.StatusCreated && status != http.StatusOK {
			return "", classify(op, status, h, body, c.cfg.Now())
		}
		var ans struct {
			D struct {
				SalesOrder string `json:"SalesOrder"`
			} `json:"d"`
			SalesOrder string `json:"SalesOrder"` // V4 answers the entity bare
		}
		if err := json.Unmarshal(body, &ans); err != nil {
			return "", fmt.Errorf("%s: unexpected answer: %w", op, err)
		}
		if ans.D.SalesOrder != "" {
			return ans.D.SalesOrder, nil
		}
		if ans.SalesOrder == "" {
			return "", fmt.Errorf("%s: answer names no SalesOrder", op)
		}
		return ans.SalesOrder, nil
	}
}

// csrf returns the current token, fetching one when there is none yet
// or when the caller's (generation stale) was refused. One fetch runs at
// a time; the others wait for it and use its token.
func (c *Connector) csrf(ctx context.Context, corr string, stale int) (string, int, error) {
	c.mu.Lock()
	token, gen := c.token, c.gen
	c.mu.Unlock()
	if gen != 0 && gen != stale {
		return token, gen, nil
	}
	select {
	case c.fetchSem <- struct{}{}:
	case <-ctx.Done():
		return "", 0, fmt.Errorf("fetch csrf token: %w", ctx.Err())
	}
	defer func() { <-c.fetchSem }()
	c.mu.Lock()
	token, gen = c.token, c.gen
	c.mu.Unlock()
	if gen != 0 && gen != stale {
		return token, gen, nil
	}
	status, h, body, err := c.do(ctx, corr, http.MethodGet, c.url(c.cfg.URL+"/", nil), http.Header{"X-Csrf-Token": {"Fetch"}}, nil)
	if err != nil {
		return "", 0, fmt.Errorf("fetch csrf token: %w", err)
	}
	if status != http.StatusOK {
		return "", 0, classify("fetch csrf token", status, h, body, c.cfg.Now())
	}
	token = h.Get("X-Csrf-Token")
	if strings.EqualFold(token, "required") {
		token = ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.token = token
	return token, c.gen, nil
}

func (c *Connector) entitySetURL(q url.Values) string {
	return c.url(c.cfg.URL+"/"+c.cfg.Options["entity_set"], q)
}

// url adds sap-client to q when set.
func (c *Connector) url(base string, q url.Values) string {
	if client := c.cfg.Options["sap_client"]; client != "" {
		if q == nil {
			q = url.Values{}
		}
		q.Set("sap-client", client)
	}
	if len(q) == 0 {
		return base
	}
	return base + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}

// do makes one request within the connector's timeout, with the
// credentials; it returns the answer whatever its status.
func (c *Connector) do(ctx context.Context, corr, method, u string, hdr http.Header, body []byte) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, outbox.Permanent(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "crossdock")
	if corr != "" {
		req.Header.Set("X-Correlation-ID", corr)
	}
	if c.cfg.Username != "" {
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	} else {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Password)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, resp.Header, data, nil
}
