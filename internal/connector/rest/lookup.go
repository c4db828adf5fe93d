package rest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/itchyny/gojq"
	"golang.org/x/sync/errgroup"

	"github.com/crossdockhq/crossdock/internal/connector"
)

// Reconciling is a REST connector that also looks our invoices up at
// Config.ReconcileURL.
type Reconciling struct {
	*Connector
	pick *gojq.Code // ReconcileJQ compiled; nil: the answer's total
}

var _ connector.InvoiceLooker = (*Reconciling)(nil)

// lookupConcurrency bounds the GETs of one LookupInvoices in flight.
const lookupConcurrency = 8

// maxLookupAnswer bounds the answer to one lookup.
const maxLookupAnswer = 1 << 20

// pickTimeout bounds one run of ReconcileJQ.
const pickTimeout = time.Second

// placeholder is what ReconcileURL holds where the invoice id goes.
const placeholder = "{invoice_id}"

// reconcileConfig checks ReconcileURL and ReconcileJQ and compiles the
// latter (nil without). Errors do not repeat the URL: it may hold a token.
func reconcileConfig(c Config) (*gojq.Code, error) {
	if c.ReconcileURL == "" {
		if c.ReconcileJQ != "" {
			return nil, errors.New("reconcile_jq: needs reconcile_url")
		}
		return nil, nil
	}
	u, err := url.Parse(c.ReconcileURL)
	switch rest := strings.ReplaceAll(c.ReconcileURL, placeholder, ""); {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, errors.New("reconcile_url: want http:// or https://")
	case rest == c.ReconcileURL:
		return nil, errors.New("reconcile_url: want " + placeholder + " where the invoice id goes")
	case strings.ContainsAny(rest, "{}"):
		return nil, errors.New("reconcile_url: only " + placeholder + " is replaced")
	}
	if c.ReconcileJQ == "" {
		return nil, nil
	}
	q, err := gojq.Parse(c.ReconcileJQ)
	if err != nil {
		return nil, fmt.Errorf("reconcile_jq: %w", err)
	}
	code, err := gojq.Compile(q, gojq.WithEnvironLoader(func() []string { return nil }))
	if err != nil {
		return nil, fmt.Errorf("reconcile_jq: %w", err)
	}
	return code, nil
}

// LookupInvoices implements connector.InvoiceLooker: one GET of
// ReconcileURL per id, at most lookupConcurrency at once, with the
// headers, credentials and timeout of deliveries. 404 means the ERP lacks
// the invoice; a 2xx JSON answer gives Total from its "total" (or what
// ReconcileJQ picks), a string or a number kept as the decimal text it
// was sent as; Currency from "currency", Ref from "number" (else "id")
// and State from "state" (else "status") when they are there. Any other
// answer fails the batch with its status; no answer body goes into an
// error.
func (r *Reconciling) LookupInvoices(ctx context.Context, ids []string) (map[string]connector.ERPInvoice, error) {
	found := make(map[string]connector.ERPInvoice, len(ids))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lookupConcurrency)
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		g.Go(func() error {
			e, ok, err := r.lookup(gctx, id)
			if err != nil {
				return fmt.Errorf("rest: %s: lookup invoice %s: %w", r.cfg.Name, id, err)
			}
			if ok {
				mu.Lock()
				found[id] = e
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return found, nil
}

// lookup GETs invoice id; ok is false when the ERP lacks it.
func (r *Reconciling) lookup(ctx context.Context, id string) (connector.ERPInvoice, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	u := strings.ReplaceAll(r.cfg.ReconcileURL, placeholder, escape(id))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return connector.ERPInvoice{}, false, errors.New("bad reconcile_url")
	}
	req.Header.Set("Accept", "application/json")
	r.authorize(req)
	resp, err := r.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL: it may hold a token
		}
		return connector.ERPInvoice{}, false, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxLookupAnswer))
		return connector.ERPInvoice{}, false, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxLookupAnswer))
		return connector.ERPInvoice{}, false, fmt.Errorf("answered %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxLookupAnswer+1))
	if err != nil {
		return connector.ERPInvoice{}, false, fmt.Errorf("read answer: %w", err)
	}
	if len(body) > maxLookupAnswer {
		return connector.ERPInvoice{}, false, fmt.Errorf("answer over %d bytes", maxLookupAnswer)
	}
	e, err := r.read(ctx, body)
	if err != nil {
		return connector.ERPInvoice{}, false, err
	}
	e.InvoiceID = id
	return e, true, nil
}

// read makes an ERPInvoice of a 2xx answer.
func (r *Reconciling) read(ctx context.Context, body []byte) (connector.ERPInvoice, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return connector.ERPInvoice{}, errors.New("answer is not JSON")
	}
	obj, _ := v.(map[string]any)
	var e connector.ERPInvoice
	var err error
	if r.pick != nil {
		e.Total, err = r.picked(ctx, v)
	} else {
		e.Total, err = amount(obj["total"], "total")
	}
	if err != nil {
		return connector.ERPInvoice{}, err
	}
	e.Currency = text(obj["currency"])
	e.Ref = cmp.Or(text(obj["number"]), text(obj["id"]))
	e.State = cmp.Or(text(obj["state"]), text(obj["status"]))
	return e, nil
}

// picked is the total ReconcileJQ picks out of v: its first output.
func (r *Reconciling) picked(ctx context.Context, v any) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, pickTimeout)
	defer cancel()
	out, ok := r.pick.RunWithContext(ctx, v).Next()
	if !ok {
		return "", errors.New("reconcile_jq gave no total")
	}
	if err, isErr := out.(error); isErr {
		return "", fmt.Errorf("reconcile_jq: %w", err)
	}
	return amount(out, "reconcile_jq's total")
}

// decimalText is what a total may be: plain decimal text.
var decimalText = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// amount is v, a total, as decimal text: a string holding a decimal, or
// a number written as it was sent (an exponent written out).
func amount(v any, what string) (string, error) {
	var s string
	switch n := v.(type) {
	case nil:
		return "", fmt.Errorf("answer has no %s", what)
	case string:
		s = strings.TrimSpace(n)
	case json.Number:
		s = n.String()
	case int:
		s = strconv.Itoa(n)
	case *big.Int:
		s = n.String()
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return "", fmt.Errorf("%s is not a number", what)
		}
		s = strconv.FormatFloat(n, 'f', -1, 64)
	default:
		return "", fmt.Errorf("%s is of type %s, not a string or a number", what, gojq.TypeOf(v))
	}
	if decimalText.MatchString(s) {
		return s, nil
	}
	if _, isNumber := v.(json.Number); isNumber && smallExponent(s) {
		if r, ok := new(big.Rat).SetString(s); ok {
			return exact(r), nil
		}
	}
	return "", fmt.Errorf("%s %q is not a decimal", what, bound(s, 40))
}

// maxExponent bounds the exponent of a number written with one: a total
// has no business beyond it, and 1e-1000000 would take a long time to
// write out.
const maxExponent = 40

// smallExponent reports whether number text s has no exponent or one of
// at most maxExponent either way.
func smallExponent(s string) bool {
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return true
	}
	e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
	return err == nil && e >= -maxExponent && e <= maxExponent
}

// exact writes r, a decimal, with as many places as it needs.
func exact(r *big.Rat) string {
	places := 0
	for scaled := new(big.Rat).Set(r); !scaled.IsInt(); places++ {
		scaled.Mul(scaled, big.NewRat(10, 1))
	}
	return r.FloatString(places)
}

// text is v as a reference: a string, or a number's text; "" otherwise.
func text(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	}
	return ""
}

// bound cuts s to at most n runes for an error.
func bound(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// escape percent-encodes every byte of s but the unreserved ones (RFC
// 3986: letters, digits, - . _ ~), so that s is one path segment or one
// query value wherever {invoice_id} stands.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || slices.Contains([]byte("-._~"), c) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
