package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/hubtest"
)

// alertSink records every alert POSTed to it, duplicates included.
type alertSink struct {
	mu     sync.Mutex
	alerts []sentAlert
}

type sentAlert struct {
	Type, ID, Subject, Source string
	IdempotencyKey            string
	CorrelationID             string
	Data                      struct {
		Monitor, Metric, Connector, Unit string
		Value, Threshold                 float64
		RaisedAt                         string `json:"raised_at"`
		ResolvedAt                       string `json:"resolved_at"`
	}
}

func newAlertSink(t *testing.T) (*alertSink, *httptest.Server) {
	s := &alertSink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a sentAlert
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &a); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		a.IdempotencyKey, a.CorrelationID = r.Header.Get("Idempotency-Key"), r.Header.Get("X-Correlation-ID")
		s.mu.Lock()
		s.alerts = append(s.alerts, a)
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *alertSink) of(typ string) []sentAlert {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sentAlert
	for _, a := range s.alerts {
		if a.Type == typ {
			out = append(out, a)
		}
	}
	return out
}

// metricValue reads one series from the hub's /metrics; -1 when absent.
func metricValue(t *testing.T, h *hubtest.Hub, series string) float64 {
	t.Helper()
	_, body, err := h.Do(context.Background(), http.MethodGet, "/metrics", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDeadLetterMonitorRaisesAndResolves: a delivery the ERP refuses goes
// dead; the dead_letters monitor raises one alert.raised, delivered to the
// connector subscribed to alerts — once, across evaluations and a restart.
// Retried after the ERP is fixed, the delivery succeeds and the monitor
// sends alert.resolved.
func TestDeadLetterMonitorRaisesAndResolves(t *testing.T) {
	t.Parallel()
	var erpOK atomic.Bool
	erp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !erpOK.Load() {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"unknown customer"}`))
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(erp.Close)
	sink, alertSrv := newAlertSink(t)
	h := hubtest.Start(t, hubtest.Options{Config: fmt.Sprintf(`connectors:
  - name: erp
    kind: rest
    url: %s
    events: [order.released]
  - name: pager
    kind: rest
    url: %s
    events: [alert.raised, alert.resolved]
monitors:
  - name: erp-dead-letters
    metric: dead_letters
    above: 0
    connector: erp
    every: 1s
`, erp.URL, alertSrv.URL)})
	now := time.Now().UTC().Truncate(time.Second)
	mustDo(t, h, http.MethodPost, "/api/v1/events", event("o-M1", "order.released", "SHP-M1", now.Add(-time.Hour),
		`{"order_id":"SO-M1","customer_id":"CUST-1","stops":[{"id":"S1","type":"delivery","location":{"lat":50.11,"lon":8.68}}]}`), http.StatusAccepted)

	waitFor(t, 30*time.Second, "alert.raised at the pager", func() bool { return len(sink.of("alert.raised")) > 0 })
	raised := sink.of("alert.raised")[0]
	d := raised.Data
	if raised.ID != "erp-dead-letters/raised/1" || raised.Source != "crossdock/monitor" || raised.Subject != "erp-dead-letters" ||
		d.Monitor != "erp-dead-letters" || d.Metric != "dead_letters" || d.Connector != "erp" || d.Value != 1 || d.Threshold != 0 ||
		d.Unit != "count" || d.RaisedAt == "" || raised.IdempotencyKey == "" || raised.CorrelationID == "" {
		t.Fatalf("alert %+v", raised)
	}
	// The business figures are in /metrics beside the monitor's state.
	for series, want := range map[string]float64{
		`crossdock_monitor_firing{monitor="erp-dead-letters"}`: 1, `crossdock_insight_up`: 1,
		`crossdock_shipments{status="released"}`: 1, `crossdock_connector_dead_letters{connector="erp"}`: 1,
	} {
		if v := metricValue(t, h, series); v != want {
			t.Errorf("%s = %g, want %g", series, v, want)
		}
	}

	// A restart while it fires raises nothing again.
	if code := h.Stop(30 * time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, h.Logs())
	}
	h.Restart()
	waitFor(t, 30*time.Second, "three evaluations after the restart", func() bool {
		return metricValue(t, h, `crossdock_monitor_evaluations_total{monitor="erp-dead-letters",result="firing"}`) >= 3
	})
	if n := len(sink.of("alert.raised")); n != 1 {
		t.Fatalf("the pager got %d alert.raised, want 1", n)
	}

	// Fixed and retried, the dead letter is gone and the alert resolves.
	erpOK.Store(true)
	var dead struct{ Items []struct{ ID string } }
	h.GetJSON("/api/v1/deliveries?state=dead&connector=erp", &dead)
	if len(dead.Items) != 1 {
		t.Fatalf("dead letters %+v", dead)
	}
	mustDo(t, h, http.MethodPost, "/api/v1/deliveries/"+dead.Items[0].ID+"/retry", "", http.StatusOK)
	waitFor(t, 30*time.Second, "alert.resolved at the pager", func() bool { return len(sink.of("alert.resolved")) > 0 })
	resolved := sink.of("alert.resolved")[0]
	if resolved.ID != "erp-dead-letters/resolved/1" || resolved.Data.Value != 0 || resolved.Data.RaisedAt != d.RaisedAt ||
		resolved.Data.ResolvedAt == "" || resolved.CorrelationID != raised.CorrelationID {
		t.Fatalf("resolution %+v", resolved)
	}
	waitFor(t, 10*time.Second, "the monitor at rest", func() bool {
		return metricValue(t, h, `crossdock_monitor_firing{monitor="erp-dead-letters"}`) == 0
	})
	if r, s := len(sink.of("alert.raised")), len(sink.of("alert.resolved")); r != 1 || s != 1 {
		t.Fatalf("the pager got %d raised and %d resolved, want one each", r, s)
	}
}
