package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/hubtest"
	"github.com/crossdockhq/crossdock/internal/obs"
)

func TestTracedRequests(t *testing.T) {
	t.Parallel()
	const upTrace, upSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	traceparent := "00-" + upTrace + "-" + upSpan + "-01"
	tests := []struct {
		name                  string
		xcid, traceparent     string
		wantTrace, wantParent string
		wantLink              string
		status                int
	}{
		{"correlation id only", "corr-1", "", obs.TraceID("corr-1").String(), "", "", http.StatusOK},
		{"traceparent is the parent", "", traceparent, upTrace, upSpan, "", http.StatusOK},
		{"another trace is linked", "corr-2", traceparent, obs.TraceID("corr-2").String(), "", upTrace + "/" + upSpan, http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv := hubtest.NewOTLPReceiver(t)
			tr, err := obs.NewTracing(context.Background(), obs.TracingOptions{Endpoint: rcv.URL, SampleRatio: 1})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(tt.status) })
			h := correlation(traced(tr)(mux))
			req := httptest.NewRequest(http.MethodGet, "/things/SHP-1", nil)
			if tt.xcid != "" {
				req.Header.Set(headerCorrelationID, tt.xcid)
			}
			if tt.traceparent != "" {
				req.Header.Set("traceparent", tt.traceparent)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tr.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			spans := rcv.Spans()
			if len(spans) != 1 {
				t.Fatalf("spans %+v", spans)
			}
			s := spans[0]
			link := ""
			if len(s.Links) == 1 {
				link = s.Links[0]
			}
			if s.Name != "GET /things/{id}" || s.Kind != "SPAN_KIND_SERVER" || s.TraceID != tt.wantTrace || s.ParentSpanID != tt.wantParent ||
				link != tt.wantLink || s.Attributes["http.route"] != "GET /things/{id}" || s.StatusError != (tt.status >= 500) {
				t.Fatalf("span %+v", s)
			}
		})
	}
}

// Without tracing the middleware is not in the chain at all.
func TestTracedOff(t *testing.T) {
	t.Parallel()
	h := http.NotFoundHandler()
	if got := traced(nil)(h); got == nil {
		t.Fatal("nil handler")
	}
	rec := httptest.NewRecorder()
	traced(nil)(h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d", rec.Code)
	}
}
