package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCorrelationFromHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, xcid, tp, want string }{
		{"header wins", "abc-123", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "abc-123"},
		{"traceparent", "", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"all-zero trace id", "", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
		{"malformed traceparent", "", "00-xyz-01", ""},
		{"header with spaces ignored", "a b", "", ""},
		{"header too long ignored", strings.Repeat("a", MaxCorrelationLen+1), "", ""},
		{"none", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := CorrelationFromHeaders(tt.xcid, tt.tp); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoggerAddsCorrelationID(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.With("k", "v").InfoContext(WithCorrelation(context.Background(), "cid-1"), "hello")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if line["correlation_id"] != "cid-1" || line["k"] != "v" {
		t.Fatalf("line = %v", line)
	}
	if _, err := NewLogger(io.Discard, "loud", "json"); err == nil {
		t.Fatal("bad level accepted")
	}
	if _, err := NewLogger(io.Discard, "info", "xml"); err == nil {
		t.Fatal("bad format accepted")
	}
}

func TestMetricsHandler(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	m.EventsTotal.WithLabelValues("order.released", "accepted").Inc()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{`crossdock_events_total{result="accepted",type="order.released"} 1`, "crossdock_writer_queue_depth", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// Every configured connector registers its gauges beside the others'.
func TestRegisterSeveralConnectors(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	for i, name := range []string{"erp", "pager"} {
		m.RegisterConnector(name, ConnectorGauges{
			Circuit: func() float64 { return 0 },
			Paused:  func() float64 { return 0 },
			Backlog: func() (float64, float64, float64, bool) { return float64(i + 1), 0, 0, true },
		})
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`crossdock_connector_backlog{connector="erp"} 1`, `crossdock_connector_backlog{connector="pager"} 2`,
		`crossdock_connector_dead_letters{connector="pager"} 0`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
