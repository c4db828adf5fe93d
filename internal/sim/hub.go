package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// hubClient calls the hub's API.
type hubClient struct {
	base, key string
	http      *http.Client
}

// callError is an answer the caller did not want, or no answer.
type callError struct {
	what   string
	status int // 0: no answer
	body   string
	err    error
}

func (e *callError) Error() string {
	if e.err != nil {
		return e.what + ": " + e.err.Error()
	}
	return fmt.Sprintf("%s: %d %s", e.what, e.status, e.body)
}

func (e *callError) Unwrap() error { return e.err }

// retryable reports whether err may pass by itself (the hub unreachable,
// busy or failing), so the same request is worth sending again later.
func retryable(err error) bool {
	var ce *callError
	if !errors.As(err, &ce) {
		return false
	}
	return ce.status == 0 || ce.status >= 500 || ce.status == http.StatusTooManyRequests || ce.status == http.StatusRequestTimeout
}

// call sends one request with key and returns the body of an answer with
// one of the wanted statuses.
func (h *hubClient) call(ctx context.Context, method, path, key, contentType string, body []byte, want ...int) ([]byte, error) {
	what := method + " " + path
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, &callError{what: what, err: err}
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return nil, &callError{what: what, err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, &callError{what: what, err: err}
	}
	if !slices.Contains(want, resp.StatusCode) {
		return nil, &callError{what: what, status: resp.StatusCode, body: strings.TrimSpace(string(b[:min(len(b), 512)]))}
	}
	return b, nil
}

// result is one event's outcome in a 202 answer.
type result struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// rejections lists the rejected events of results as "id: field message".
func rejections(rs []result) []string {
	var out []string
	for _, r := range rs {
		if r.Status != "rejected" {
			continue
		}
		msg := r.ID + ":"
		for _, e := range r.Errors {
			msg += " " + e.Field + " " + e.Message
		}
		out = append(out, msg)
	}
	return out
}

// postEvents posts a JSON array of events and returns the rejected ones.
func (h *hubClient) postEvents(ctx context.Context, body []byte) ([]string, error) {
	b, err := h.call(ctx, http.MethodPost, "/api/v1/events", h.key, "application/cloudevents-batch+json", body, http.StatusAccepted)
	if err != nil {
		return nil, err
	}
	var out struct{ Results []result }
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("events answer: %w", err)
	}
	return rejections(out.Results), nil
}

// postEDI posts an X12 interchange as partner with the partner's key and
// returns what the hub did not take.
func (h *hubClient) postEDI(ctx context.Context, partner, key string, body []byte) ([]string, error) {
	b, err := h.call(ctx, http.MethodPost, "/api/v1/partners/"+url.PathEscape(partner)+"/edi", key, "application/edi-x12", body, http.StatusAccepted)
	if err != nil {
		return nil, err
	}
	var out struct {
		Results []struct {
			ControlNumber string `json:"control_number"`
			Status        string
			Errors        []struct{ Message string }
			Events        []result
		}
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("edi answer: %w", err)
	}
	var bad []string
	for _, r := range out.Results {
		for _, e := range r.Errors {
			bad = append(bad, "set "+r.ControlNumber+": "+e.Message)
		}
		bad = append(bad, rejections(r.Events)...)
	}
	return bad, nil
}

// openCases lists the shipment's open cases.
func (h *hubClient) openCases(ctx context.Context, shipmentID string) ([]struct{ ID, Code string }, error) {
	b, err := h.call(ctx, http.MethodGet, "/api/v1/cases?status=open&shipment_id="+url.QueryEscape(shipmentID), h.key, "", nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var out struct{ Items []struct{ ID, Code string } }
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("cases answer: %w", err)
	}
	return out.Items, nil
}

// resolveCase resolves a case; one resolved meanwhile is fine.
func (h *hubClient) resolveCase(ctx context.Context, id, resolution, note string) error {
	body, _ := json.Marshal(map[string]string{"resolution": resolution, "note": note})
	_, err := h.call(ctx, http.MethodPost, "/api/v1/cases/"+url.PathEscape(id)+"/resolve", h.key, "application/json", body,
		http.StatusOK, http.StatusConflict)
	return err
}

// issueKey issues a key for a partner (the admin key's scope).
func (h *hubClient) issueKey(ctx context.Context, partner string) (string, error) {
	b, err := h.call(ctx, http.MethodPost, "/api/v1/partners/"+url.PathEscape(partner)+"/keys", h.key, "", nil, http.StatusCreated)
	if err != nil {
		return "", err
	}
	var out struct{ Key string }
	if err := json.Unmarshal(b, &out); err != nil || out.Key == "" {
		return "", fmt.Errorf("partner key answer: %q", b)
	}
	return out.Key, nil
}

// putCustomer writes a customer's master data.
func (h *hubClient) putCustomer(ctx context.Context, c customer) error {
	body, _ := json.Marshal(map[string]any{"name": c.name, "currency": "EUR",
		"address": map[string]string{"city": c.city, "country": c.country}})
	_, err := h.call(ctx, http.MethodPut, "/api/v1/customers/"+url.PathEscape(c.id), h.key, "application/json", body,
		http.StatusOK, http.StatusCreated, http.StatusNoContent)
	return err
}

// timeZones are the IANA zones of the map's countries.
var timeZones = map[string]string{"NL": "Europe/Amsterdam", "BE": "Europe/Brussels", "FR": "Europe/Paris",
	"LU": "Europe/Luxembourg", "DE": "Europe/Berlin"}

// putLocation writes a depot's or site's master data.
func (h *hubClient) putLocation(ctx context.Context, c *city, p place) error {
	body, _ := json.Marshal(map[string]any{"name": p.name, "lat": round6(p.at.lat), "lon": round6(p.at.lon), "radius_m": p.radiusM,
		"time_zone": timeZones[c.country], "address": map[string]string{"city": c.name, "country": c.country}})
	_, err := h.call(ctx, http.MethodPut, "/api/v1/locations/"+url.PathEscape(p.id), h.key, "application/json", body,
		http.StatusOK, http.StatusCreated, http.StatusNoContent)
	return err
}

// startReconciliation starts a reconciliation run of kind over [from, to)
// and returns its id.
func (h *hubClient) startReconciliation(ctx context.Context, kind string, from, to time.Time) (string, error) {
	body, _ := json.Marshal(map[string]any{"kind": kind, "from": from.UTC(), "to": to.UTC()})
	b, err := h.call(ctx, http.MethodPost, "/api/v1/reconciliations", h.key, "application/json", body, http.StatusAccepted)
	if err != nil {
		return "", err
	}
	var out struct{ ID string }
	if err := json.Unmarshal(b, &out); err != nil || out.ID == "" {
		return "", fmt.Errorf("reconciliation answer: %q", b)
	}
	return out.ID, nil
}

// runState is a reconciliation run's progress.
type runState struct {
	Status   string
	Checked  int64
	Findings int64 `json:"findings_count"`
	Counts   map[string]int64
	Error    string
}

// reconciliation reads a run's state (and none of its findings).
func (h *hubClient) reconciliation(ctx context.Context, id string) (runState, error) {
	var out runState
	b, err := h.call(ctx, http.MethodGet, "/api/v1/reconciliations/"+url.PathEscape(id)+"?limit=1", h.key, "", nil, http.StatusOK)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("reconciliation answer: %w", err)
	}
	return out, nil
}

// backlog is how many deliveries the hub's connectors have waiting.
func (h *hubClient) backlog(ctx context.Context) (int, error) {
	b, err := h.call(ctx, http.MethodGet, "/api/v1/connectors", h.key, "", nil, http.StatusOK)
	if err != nil {
		return 0, err
	}
	var out struct{ Items []struct{ Backlog int } }
	if err := json.Unmarshal(b, &out); err != nil {
		return 0, fmt.Errorf("connectors answer: %w", err)
	}
	n := 0
	for _, c := range out.Items {
		n += c.Backlog
	}
	return n, nil
}
