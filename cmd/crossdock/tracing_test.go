package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/hubtest"
)

// TestOneTracePerCorrelationID: with OTEL_EXPORTER_OTLP_ENDPOINT set, the
// hub exports OTLP/HTTP traces in which one event — taken in by the API,
// committed, then delivered by another process after a kill -9 — is one
// trace, the trace of its correlation id, whose spans chain intake →
// commit → event → delivery. The destination gets a traceparent in that
// trace. No span carries a payload or a key.
func TestOneTracePerCorrelationID(t *testing.T) {
	t.Parallel()
	otlp := hubtest.NewOTLPReceiver(t)
	var up atomic.Bool
	var mu sync.Mutex
	var traceparents []string
	erp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		traceparents = append(traceparents, r.Header.Get("traceparent"))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(erp.Close)
	h := hubtest.Start(t, hubtest.Options{
		Env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp.URL, "OTEL_BSP_SCHEDULE_DELAY=50"},
		Config: fmt.Sprintf(`connectors:
  - name: erp
    kind: rest
    url: %s
    events: [order.released]
    retry: {max_attempts: 50, initial: 100ms, max: 500ms}
monitors: []
`, erp.URL)})
	const corr = "e2e-trace-0001"
	sum := sha256.Sum256([]byte(corr))
	traceID := hex.EncodeToString(sum[:16]) // docs/observability.md: SHA-256 of the correlation id
	now := time.Now().UTC().Truncate(time.Second)
	body := event("o-T1", "order.released", "SHP-T1", now.Add(-time.Hour),
		`{"order_id":"SO-T1","customer_id":"CUST-SECRET-7","references":{"po":"PO-SECRET-42"},"stops":[{"id":"S1","type":"delivery","location":{"lat":50.11,"lon":8.68}}]}`)
	req, err := http.NewRequest(http.MethodPost, h.URL+"/api/v1/events", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+hubtest.AdminKey)
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("X-Correlation-ID", corr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("post: %v %v", resp, err)
	}
	resp.Body.Close()

	byName := func(name string) []hubtest.Span {
		var out []hubtest.Span
		for _, s := range otlp.Spans() {
			if s.Name == name && s.TraceID == traceID {
				out = append(out, s)
			}
		}
		return out
	}
	waitFor(t, 30*time.Second, "the intake's spans", func() bool {
		return len(byName("event order.released")) == 1 && len(byName("deliver erp")) > 0
	})
	// The destination was down; the process dies; another one delivers.
	h.Kill()
	up.Store(true)
	h.Restart()
	var delivered hubtest.Span
	waitFor(t, 60*time.Second, "the delivery's span", func() bool {
		for _, s := range byName("deliver erp") {
			if s.Attributes["crossdock.delivery.result"] == "delivered" {
				delivered = s
				return len(byName("workflow delivery.delivered")) == 1
			}
		}
		return false
	})
	post, commits, ev := byName("POST /api/v1/events"), byName("pipeline.commit"), byName("event order.released")[0]
	if len(post) != 1 || post[0].ParentSpanID != "" || post[0].Kind != "SPAN_KIND_SERVER" || post[0].Service != "crossdock" {
		t.Fatalf("intake spans %+v", post)
	}
	commitIDs, parentOf := map[string]bool{}, map[string]bool{}
	for _, c := range commits {
		commitIDs[c.SpanID], parentOf[c.ParentSpanID] = true, true
	}
	if !parentOf[post[0].SpanID] || !parentOf[delivered.SpanID] {
		t.Fatalf("commits %+v: want one under the request and one under the delivery", commits)
	}
	if !commitIDs[ev.ParentSpanID] {
		t.Fatalf("event span %+v is not a commit's child", ev)
	}
	if delivered.ParentSpanID != ev.SpanID || delivered.Attributes["crossdock.connector"] != "erp" ||
		delivered.Attributes["cloudevents.event_id"] != "o-T1" || delivered.Attributes["crossdock.correlation_id"] != corr {
		t.Fatalf("delivery span %+v, event span %s", delivered, ev.SpanID)
	}
	if ev.Attributes["crossdock.shipment_id"] != "SHP-T1" || ev.Attributes["cloudevents.event_type"] != "order.released" {
		t.Fatalf("event span %+v", ev)
	}
	mu.Lock()
	tp := traceparents
	mu.Unlock()
	if len(tp) != 1 || !strings.HasPrefix(tp[0], "00-"+traceID+"-"+delivered.SpanID+"-") {
		t.Fatalf("traceparents at the destination %v, want the delivery span %s of trace %s", tp, delivered.SpanID, traceID)
	}
	for _, s := range otlp.Spans() {
		for k, v := range s.Attributes {
			if strings.Contains(v, "SECRET") || strings.Contains(v, hubtest.AdminKey) {
				t.Errorf("span %s attribute %s leaks %q", s.Name, k, v)
			}
		}
	}
}
