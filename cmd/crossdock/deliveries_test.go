package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/hubtest"
)

// receiver is an ERP stand-in that records what it is sent, deduplicating
// by Idempotency-Key as a well-behaved receiver does.
type receiver struct {
	mode  atomic.Value // "ok", "down" (503), "reject" (400 for invoice.ready)
	mu    sync.Mutex
	keys  map[string]bool
	order map[string][]string // shipment → event types in first-seen order
	dups  int
}

func newReceiver(t *testing.T, mode string) (*receiver, *httptest.Server) {
	r := &receiver{keys: map[string]bool{}, order: map[string][]string{}}
	r.mode.Store(mode)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var ev struct{ Type, Subject string }
		_ = json.Unmarshal(body, &ev)
		switch r.mode.Load() {
		case "down":
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case "reject":
			if ev.Type == "invoice.ready" {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"unknown customer CUST-1"}`))
				return
			}
		}
		key := req.Header.Get("Idempotency-Key")
		r.mu.Lock()
		if r.keys[key] {
			r.dups++
		} else {
			r.keys[key] = true
			r.order[ev.Subject] = append(r.order[ev.Subject], ev.Type)
		}
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = fmt.Fprintf(w, `{"erp_ref":"ERP-%s"}`, ev.Subject)
	}))
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.keys)
}

func connectorConfig(url string) string {
	return billingConfig + fmt.Sprintf(`connectors:
  - name: erp
    kind: rest
    url: %s
    events: [order.released, invoice.ready]
    retry: {max_attempts: 50, initial: 100ms, max: 1s}
`, url)
}

func deliverShipments(t *testing.T, h *hubtest.Hub, n int) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	order := `{"order_id":"SO-%[1]d","customer_id":"CUST-1","stops":[{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68}},` +
		`{"id":"S2","type":"delivery","location":{"lat":48.14,"lon":11.58}}]}`
	for i := range n {
		id := fmt.Sprintf("SHP-D%d", i)
		batch := "[" + strings.Join([]string{
			event("o"+id, "order.released", id, now.Add(-3*time.Hour), fmt.Sprintf(order, i)),
			event("p"+id, "delivery.completed", id, now.Add(-2*time.Hour), `{"stop_id":"S2","signed_by":"A","location":{"lat":48.14,"lon":11.58}}`),
			event("d"+id, "shipment.milestone", id, now.Add(-110*time.Minute), `{"code":"departed","stop_id":"S2"}`),
		}, ",") + "]"
		mustDo(t, h, http.MethodPost, "/api/v1/events", batch, http.StatusAccepted)
	}
}

// TestDeliveriesThroughAnOutageAndKill9: the ERP is down while shipments
// are ingested and invoiced; the hub is killed while it waits; once the ERP
// is back every event reaches it once (by Idempotency-Key), each
// shipment's order before its invoice.
func TestDeliveriesThroughAnOutageAndKill9(t *testing.T) {
	t.Parallel()
	rcv, srv := newReceiver(t, "down")
	h := hubtest.Start(t, hubtest.Options{Config: connectorConfig(srv.URL)})
	const n = 20
	deliverShipments(t, h, n)
	var list struct{ Items []struct{ State string } }
	h.GetJSON("/api/v1/deliveries?state=pending&limit=1000", &list)
	if len(list.Items) != 2*n {
		t.Fatalf("pending deliveries while the ERP is down: %d, want %d", len(list.Items), 2*n)
	}
	h.Kill()
	rcv.mode.Store("ok")
	h.Restart()
	waitFor(t, 60*time.Second, "every delivery", func() bool { return rcv.count() == 2*n })
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for i := range n {
		id := fmt.Sprintf("SHP-D%d", i)
		if got := fmt.Sprint(rcv.order[id]); got != "[order.released invoice.ready]" {
			t.Errorf("%s arrived as %s", id, got)
		}
	}
	waitFor(t, 30*time.Second, "every delivery settled", func() bool {
		var l struct{ Items []struct{ State string } }
		h.GetJSON("/api/v1/deliveries?state=delivered&limit=1000", &l)
		return len(l.Items) == 2*n
	})
	// Each invoice is posted with the ERP's reference; each shipment's
	// timeline shows its deliveries.
	var invs struct {
		Items []struct {
			ShipmentID string `json:"shipment_id"`
			Status     string
			ERPRef     *string `json:"erp_ref"`
		}
	}
	h.GetJSON("/api/v1/invoices?limit=1000", &invs)
	if len(invs.Items) != n {
		t.Fatalf("%d invoices, want %d", len(invs.Items), n)
	}
	for _, inv := range invs.Items {
		if inv.Status != "posted" || inv.ERPRef == nil || *inv.ERPRef != "ERP-"+inv.ShipmentID {
			t.Errorf("invoice of %s: %s %v", inv.ShipmentID, inv.Status, inv.ERPRef)
		}
	}
	var tl struct{ Items []struct{ Kind, Type string } }
	h.GetJSON("/api/v1/shipments/SHP-D0/timeline", &tl)
	deliveries := 0
	for _, it := range tl.Items {
		if it.Kind == "delivery" && it.Type == "delivery.delivered" {
			deliveries++
		}
	}
	if deliveries < 2 {
		t.Fatalf("timeline shows %d deliveries: %+v", deliveries, tl.Items)
	}
}

// A 400 kills the delivery at once with the answer kept; retried after the
// cause is fixed, it is delivered.
func TestDeadDeliveryRetried(t *testing.T) {
	t.Parallel()
	rcv, srv := newReceiver(t, "reject")
	h := hubtest.Start(t, hubtest.Options{Config: connectorConfig(srv.URL)})
	deliverShipments(t, h, 1)
	var dead struct {
		Items []struct {
			ID        string
			LastError string `json:"last_error"`
			Attempts  int
		}
	}
	waitFor(t, 30*time.Second, "the dead letter", func() bool {
		h.GetJSON("/api/v1/deliveries?state=dead&connector=erp", &dead)
		return len(dead.Items) == 1
	})
	if d := dead.Items[0]; d.Attempts != 1 || !strings.Contains(d.LastError, "unknown customer CUST-1") {
		t.Fatalf("dead letter %+v", d)
	}
	var inv struct{ Items []struct{ Status string } }
	h.GetJSON("/api/v1/invoices?shipment_id=SHP-D0", &inv)
	if len(inv.Items) != 1 || inv.Items[0].Status != "failed" {
		t.Fatalf("the refused invoice is failed: %+v", inv)
	}
	rcv.mode.Store("ok")
	mustDo(t, h, http.MethodPost, "/api/v1/deliveries/"+dead.Items[0].ID+"/retry", "", http.StatusOK)
	waitFor(t, 30*time.Second, "the retried delivery", func() bool { return rcv.count() == 2 })
	waitFor(t, 30*time.Second, "the invoice posted", func() bool {
		h.GetJSON("/api/v1/invoices?shipment_id=SHP-D0", &inv)
		return len(inv.Items) == 1 && inv.Items[0].Status == "posted"
	})
	mustDo(t, h, http.MethodPost, "/api/v1/deliveries/"+dead.Items[0].ID+"/retry", "", http.StatusConflict)
}

// TestConnectorCircuitAndPause: an ERP that keeps failing opens the
// circuit (deliveries wait without spending attempts); pausing shows in
// the connector's state; once resumed and the ERP is back, all arrive.
func TestConnectorCircuitAndPause(t *testing.T) {
	t.Parallel()
	rcv, srv := newReceiver(t, "down")
	h := hubtest.Start(t, hubtest.Options{Config: connectorConfig(srv.URL)})
	deliverShipments(t, h, 3)
	type status struct {
		Name, State string
		Backlog     int
		LastError   string `json:"last_error"`
	}
	var list struct{ Items []status }
	waitFor(t, 60*time.Second, "the circuit to open", func() bool {
		h.GetJSON("/api/v1/connectors", &list)
		return len(list.Items) == 1 && list.Items[0].State == "open"
	})
	if c := list.Items[0]; c.Name != "erp" || c.Backlog != 6 || !strings.Contains(c.LastError, "circuit open") && !strings.Contains(c.LastError, "503") {
		t.Fatalf("connector while the ERP is down: %+v", c)
	}
	var dels struct{ Items []struct{ Attempts int } }
	h.GetJSON("/api/v1/deliveries?state=pending", &dels)
	for _, d := range dels.Items {
		if d.Attempts > 6 {
			t.Fatalf("attempts spent while the circuit is open: %+v", dels.Items)
		}
	}
	body := mustDo(t, h, http.MethodPost, "/api/v1/connectors/erp/pause", `{"reason":"ERP maintenance"}`, http.StatusOK)
	if !strings.Contains(string(body), `"state":"paused"`) || !strings.Contains(string(body), "ERP maintenance") {
		t.Fatalf("pause: %s", body)
	}
	mustDo(t, h, http.MethodPost, "/api/v1/connectors/nope/pause", "", http.StatusNotFound)
	wants := []string{`crossdock_connector_paused{connector="erp"} 1`, `crossdock_connector_backlog{connector="erp"} 6`,
		`crossdock_deliveries_total{connector="erp",result="retried"}`, `crossdock_deliveries_total{connector="erp",result="deferred"}`,
		`crossdock_connector_circuit_state{connector="erp"}`}
	var metrics []byte
	waitFor(t, 30*time.Second, "the connector's metrics", func() bool {
		var err error
		if _, metrics, err = h.Do(context.Background(), http.MethodGet, "/metrics", "", nil); err != nil {
			t.Fatal(err)
		}
		for _, want := range wants {
			if !strings.Contains(string(metrics), want) {
				return false
			}
		}
		return true
	})
	rcv.mode.Store("ok")
	mustDo(t, h, http.MethodPost, "/api/v1/connectors/erp/resume", "", http.StatusOK)
	waitFor(t, 60*time.Second, "every delivery after resuming", func() bool { return rcv.count() == 6 })
	waitFor(t, 30*time.Second, "an empty backlog", func() bool {
		h.GetJSON("/api/v1/connectors", &list)
		return list.Items[0].Backlog == 0 && list.Items[0].State == "closed"
	})
}

// TestBulkRetryAfterFixingTheConfig: the ERP refuses every post without
// the tenant header the config forgot; each delivery is dead at once with
// the ERP's answer kept. The operator fixes the config, restarts, and puts
// every dead letter back with one call: each is delivered once.
func TestBulkRetryAfterFixingTheConfig(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	keys := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("X-Tenant") != "eu" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"X-Tenant header missing"}`))
			return
		}
		mu.Lock()
		keys[req.Header.Get("Idempotency-Key")]++
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	h := hubtest.Start(t, hubtest.Options{Config: connectorConfig(srv.URL)})
	const n = 3
	deliverShipments(t, h, n)
	var dead struct {
		Items []struct {
			LastError string `json:"last_error"`
			Attempts  int
		}
	}
	waitFor(t, 30*time.Second, "every delivery dead", func() bool {
		h.GetJSON("/api/v1/deliveries?state=dead&connector=erp", &dead)
		return len(dead.Items) == 2*n
	})
	for _, d := range dead.Items {
		if d.Attempts != 1 || !strings.Contains(d.LastError, "400") || !strings.Contains(d.LastError, "X-Tenant header missing") {
			t.Fatalf("a 400 is dead at once with the answer kept: %+v", d)
		}
	}
	body := mustDo(t, h, http.MethodPost, "/api/v1/deliveries/retry", `{"connector":"erp","error_contains":"X-Tenant","dry_run":true}`, http.StatusOK)
	if !strings.Contains(string(body), `"matched":6`) || !strings.Contains(string(body), `"retried":0`) {
		t.Fatalf("dry run: %s", body)
	}
	mustDo(t, h, http.MethodPost, "/api/v1/deliveries/retry", `{"connector":"nope"}`, http.StatusUnprocessableEntity)
	h.Stop(10 * time.Second)
	h.SetConfig(strings.Replace(connectorConfig(srv.URL), "    events:", "    headers: {X-Tenant: eu}\n    events:", 1))
	h.Restart()
	body = mustDo(t, h, http.MethodPost, "/api/v1/deliveries/retry", `{"connector":"erp","error_contains":"X-Tenant"}`, http.StatusOK)
	if !strings.Contains(string(body), `"matched":6`) || !strings.Contains(string(body), `"retried":6`) {
		t.Fatalf("bulk retry: %s", body)
	}
	waitFor(t, 30*time.Second, "every retried delivery delivered", func() bool {
		var l struct{ Items []struct{ State string } }
		h.GetJSON("/api/v1/deliveries?state=delivered&connector=erp", &l)
		return len(l.Items) == 2*n
	})
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 2*n {
		t.Fatalf("the ERP holds %d deliveries, want %d", len(keys), 2*n)
	}
	for k, c := range keys {
		if c != 1 {
			t.Errorf("delivery %s arrived %d times", k, c)
		}
	}
	var inv struct{ Items []struct{ Status string } }
	h.GetJSON("/api/v1/invoices?limit=100", &inv)
	for _, i := range inv.Items {
		if i.Status != "posted" {
			t.Errorf("invoice %s after the retry", i.Status)
		}
	}
}

// TestReplayToAConnector: the ERP lost a shipment's documents (restored
// from a backup); a replay sends that shipment's events again, with the
// keys they first had, and leaves other shipments alone.
func TestReplayToAConnector(t *testing.T) {
	t.Parallel()
	rcv, srv := newReceiver(t, "ok")
	h := hubtest.Start(t, hubtest.Options{Config: connectorConfig(srv.URL)})
	deliverShipments(t, h, 3)
	waitFor(t, 30*time.Second, "every delivery settled", func() bool {
		var l struct{ Items []struct{ State string } }
		h.GetJSON("/api/v1/deliveries?state=delivered&limit=100", &l)
		return rcv.count() == 6 && len(l.Items) == 6
	})
	rcv.mu.Lock()
	first := map[string]bool{}
	for k := range rcv.keys {
		first[k] = true
	}
	rcv.keys, rcv.order = map[string]bool{}, map[string][]string{}
	rcv.mu.Unlock()

	mustDo(t, h, http.MethodPost, "/api/v1/connectors/nope/replay", `{"shipment_id":"SHP-D1"}`, http.StatusNotFound)
	mustDo(t, h, http.MethodPost, "/api/v1/connectors/erp/replay", `{}`, http.StatusUnprocessableEntity)
	mustDo(t, h, http.MethodPost, "/api/v1/connectors/erp/replay", `{"shipment_id":"SHP-D1","types":["shipment.milestone"]}`, http.StatusUnprocessableEntity)
	body := mustDo(t, h, http.MethodPost, "/api/v1/connectors/erp/replay", `{"shipment_id":"SHP-D1","dry_run":true}`, http.StatusOK)
	if !strings.Contains(string(body), `"matched":2`) || !strings.Contains(string(body), `"queued":0`) {
		t.Fatalf("dry run: %s", body)
	}
	var stdout, stderr strings.Builder
	if code := run([]string{"replay", "-url", h.URL, "-key", hubtest.AdminKey, "-connector", "erp", "-shipment", "SHP-D1", "-from", "72h", "-q"},
		&stdout, &stderr); code != 0 {
		t.Fatalf("crossdock replay exited %d: %s%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"2 events matched; queued 2 deliveries to erp", "replay drained: 2 delivered, 0 dead"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("crossdock replay printed %q, want %q", stdout.String(), want)
		}
	}
	if rcv.count() != 2 {
		t.Fatalf("after the replay drained the receiver holds %d", rcv.count())
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if got := fmt.Sprint(rcv.order["SHP-D1"]); got != "[order.released invoice.ready]" || len(rcv.order) != 1 {
		t.Fatalf("replayed: %v", rcv.order)
	}
	for k := range rcv.keys {
		if !first[k] {
			t.Errorf("replayed with a new Idempotency-Key %s: a receiver could not tell it from a new document", k)
		}
	}
}

// TestEDIConnectorWritesX12Files: a carrier's trading partner receives a
// 214 per milestone and POD and a 210 per invoice as files in its
// directory, each once.
func TestEDIConnectorWritesX12Files(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := hubtest.Start(t, hubtest.Options{Config: billingConfig + fmt.Sprintf(`connectors:
  - name: partner-edi
    kind: edi
    url: %s
    events: [shipment.milestone, delivery.completed, invoice.ready]
    options: {sender_id: CROSSDOCK, receiver_id: ACMEFREIGHT, scac: XDCK}
`, dir)})
	deliverShipments(t, h, 2)
	var files []string
	waitFor(t, 30*time.Second, "six X12 files", func() bool {
		files, _ = filepath.Glob(filepath.Join(dir, "*.edi"))
		return len(files) == 6
	})
	sets := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "ISA*") {
			t.Fatalf("%s is not an X12 interchange: %.80s", f, b)
		}
		for _, st := range []string{"ST*210*", "ST*214*"} {
			if strings.Contains(string(b), st) {
				sets[st]++
			}
		}
	}
	if sets["ST*210*"] != 2 || sets["ST*214*"] != 4 {
		t.Fatalf("transaction sets %v, want two 210s and four 214s", sets)
	}
	var inv struct {
		Items []struct {
			Status string
			ERPRef *string `json:"erp_ref"`
		}
	}
	waitFor(t, 30*time.Second, "invoices posted with the interchange number", func() bool {
		h.GetJSON("/api/v1/invoices?limit=10", &inv)
		return len(inv.Items) == 2 && inv.Items[0].Status == "posted" && inv.Items[1].Status == "posted"
	})
	if r := inv.Items[0].ERPRef; r == nil || len(*r) != 9 {
		t.Fatalf("erp_ref is the ISA13 control number: %v", r)
	}
}

// crossdock check runs each connector kind's own option checks, as serve
// would, without connecting anywhere.
func TestCheckNamesABadConnectorOption(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "crossdock.yaml")
	cfg := `connectors:
  - name: erp
    kind: odoo
    url: http://127.0.0.1:1
    events: [invoice.ready]
    password_env: HOME
    options: {api: json2, databse: prod}
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	if code := run([]string{"check", "-c", path}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "databse") {
		t.Fatalf("check exited %d: %s%s", code, stdout.String(), stderr.String())
	}
	if err := os.WriteFile(path, []byte(strings.Replace(cfg, "databse", "database", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"check", "-c", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("a good config: exit %d: %s%s", code, stdout.String(), stderr.String())
	}
}

// TestConnectorJQFiltersAndReshapes: a connector's jq program picks the
// events its destination wants and shapes the body it receives; the
// others are recorded as not sent, and the keys travel as always.
func TestConnectorJQFiltersAndReshapes(t *testing.T) {
	t.Parallel()
	type got struct{ body, contentType, key string }
	var mu sync.Mutex
	var posts []got
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, got{string(b), r.Header.Get("Content-Type"), r.Header.Get("Idempotency-Key")})
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	cfg := strings.Replace(connectorConfig(srv.URL), "    events:",
		"    jq: 'select(.type == \"invoice.ready\") | {invoice: .data.id, amount: .data.total, shipment: .subject}'\n    events:", 1)
	h := hubtest.Start(t, hubtest.Options{Config: cfg})
	deliverShipments(t, h, 2)
	waitFor(t, 30*time.Second, "every delivery settled", func() bool {
		var l struct{ Items []struct{ State string } }
		h.GetJSON("/api/v1/deliveries?state=delivered&limit=100", &l)
		return len(l.Items) == 4
	})
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 2 {
		t.Fatalf("the ERP got %d posts, want the 2 invoices: %+v", len(posts), posts)
	}
	for _, p := range posts {
		var b map[string]any
		if err := json.Unmarshal([]byte(p.body), &b); err != nil || len(b) != 3 || !strings.HasPrefix(fmt.Sprint(b["invoice"]), "INV-") ||
			p.contentType != "application/json" || p.key == "" {
			t.Errorf("reshaped post %+v (%v)", p, err)
		}
	}
	var tl struct {
		Items []struct {
			Kind, Type string
			Detail     map[string]any
		}
	}
	h.GetJSON("/api/v1/shipments/SHP-D0/timeline", &tl)
	filtered := 0
	for _, it := range tl.Items {
		if it.Kind == "delivery" && fmt.Sprint(it.Detail["ref"]) == "not sent: filtered by jq" {
			filtered++
		}
	}
	if filtered != 1 {
		t.Fatalf("the order.released delivery is on the timeline as not sent: %d entries %+v", filtered, tl.Items)
	}
}
