package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/signature"
)

// Config configures a REST connector.
type Config struct {
	Name    string
	URL     string            // where to POST; http:// or https://
	Headers map[string]string // sent on every request
	Bearer  string            // Authorization: Bearer …; "" for none
	// BasicUser and BasicPassword send HTTP Basic auth when BasicUser is
	// set (and no Bearer is).
	BasicUser, BasicPassword string
	Timeout                  time.Duration // per request; default 10s
	Client                   *http.Client  // default: one with Timeout
	// SigningSecret, when set, signs every body (the webhook kind): the
	// header signature.Header carries t=<unix>,v1=<HMAC-SHA256 of
	// "<t>.<body>">, which receivers verify as docs/connectors.md shows.
	SigningSecret string
	// Now is the clock of the signatures; default time.Now.
	Now func() time.Time
	// ReconcileURL, when set, makes the connector a
	// connector.InvoiceLooker: reconciliation GETs this http(s) URL with
	// {invoice_id} replaced by the invoice id (percent-encoded) and the
	// headers, credentials and timeout of deliveries. See LookupInvoices.
	ReconcileURL string
	// ReconcileJQ, when set, is a jq program picking the total (a string
	// or a number) out of ReconcileURL's answer; default .total.
	ReconcileJQ string
}

// Connector posts each event to Config.URL.
type Connector struct {
	cfg    Config
	client *http.Client
}

var _ connector.Connector = (*Connector)(nil)

// New checks c and returns the connector: a *Connector, or, when
// c.ReconcileURL is set, a *Reconciling, which also looks invoices up
// (connector.InvoiceLooker).
func New(c Config) (connector.Connector, error) {
	if c.Name == "" {
		return nil, errors.New("rest: name: required")
	}
	if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		return nil, fmt.Errorf("rest: %s: url: want http:// or https://, got %q", c.Name, c.URL)
	}
	pick, err := reconcileConfig(c)
	if err != nil {
		return nil, fmt.Errorf("rest: %s: %w", c.Name, err)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: c.Timeout}
	}
	conn := &Connector{cfg: c, client: client}
	if c.ReconcileURL != "" {
		return &Reconciling{Connector: conn, pick: pick}, nil
	}
	return conn, nil
}

// Name implements connector.Connector.
func (c *Connector) Name() string { return c.cfg.Name }

// maxKept bounds how much of a refusing answer is kept as the error.
const maxKept = 2 << 10

// Deliver implements connector.Connector: a CloudEvent JSON POST with
// Idempotency-Key and X-Correlation-ID (and traceparent while the
// delivery is traced). 2xx is delivered; 408, 425, 429
// and 5xx are retried (honouring Retry-After); other 4xx are permanent
// with the answer kept; a connection error is retried.
func (c *Connector) Deliver(ctx context.Context, d connector.Delivery) (connector.Receipt, error) {
	body, err := connector.BodyOf(d)
	if err != nil {
		return connector.Receipt{}, outbox.Permanent(fmt.Errorf("encode event: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return connector.Receipt{}, outbox.Permanent(err)
	}
	if d.Body != nil {
		req.Header.Set("Content-Type", "application/json") // reshaped by the connector's jq
	} else {
		req.Header.Set("Content-Type", "application/cloudevents+json")
	}
	c.authorize(req)
	req.Header.Set("Idempotency-Key", d.ID)
	if c.cfg.SigningSecret != "" {
		req.Header.Set(signature.Header, signature.Sign(c.cfg.SigningSecret, c.cfg.Now(), body))
	}
	if d.CorrelationID != "" {
		req.Header.Set("X-Correlation-ID", d.CorrelationID)
	}
	// traceparent of the delivery's span, when tracing is on, so the
	// destination joins the event's trace.
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := c.client.Do(req)
	if err != nil {
		return connector.Receipt{}, fmt.Errorf("post %s: %w", c.cfg.Name, err)
	}
	defer resp.Body.Close()
	kept, _ := io.ReadAll(io.LimitReader(resp.Body, maxKept))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return connector.Receipt{Ref: reference(resp, kept)}, nil
	}
	err = fmt.Errorf("%s answered %d: %s", c.cfg.Name, resp.StatusCode, strings.TrimSpace(string(kept)))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return connector.Receipt{}, outbox.RetryAfter(d, err)
		}
		return connector.Receipt{}, err
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooEarly || resp.StatusCode >= 500:
		return connector.Receipt{}, err
	}
	return connector.Receipt{}, outbox.Permanent(err)
}

// authorize sets the configured headers and credentials on req.
func (c *Connector) authorize(req *http.Request) {
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, v)
	}
	if c.cfg.Bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Bearer)
	} else if c.cfg.BasicUser != "" {
		req.SetBasicAuth(c.cfg.BasicUser, c.cfg.BasicPassword)
	}
}

// reference is the destination's reference for what it created: erp_ref,
// reference or id of a JSON answer, else the last segment of Location.
func reference(resp *http.Response, body []byte) string {
	var ans map[string]any
	if json.Unmarshal(body, &ans) == nil {
		for _, k := range []string{"erp_ref", "reference", "id"} {
			switch v := ans[k].(type) {
			case string:
				if v != "" {
					return v
				}
			case float64:
				return strconv.FormatFloat(v, 'f', -1, 64)
			}
		}
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		return loc[strings.LastIndex(loc, "/")+1:]
	}
	return ""
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}
