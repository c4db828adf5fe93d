package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/api"
	"github.com/crossdockhq/crossdock/internal/billing"
	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/credit"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/store/sqlite"
)

const (
	adminKey = "test-admin-key-0123456789"
	readKey  = "test-read-key-0123456789"
)

type hub struct {
	t   *testing.T
	srv *httptest.Server
}

// hubOptions adjust the hub a test runs against.
type hubOptions struct {
	partners  []config.Partner
	keys      []config.Key
	ownership config.Ownership
	now       func() time.Time
	billing   *billing.Engine
	credit    *credit.Cache
}

func newHub(t *testing.T) *hub {
	t.Helper()
	return newHubWith(t, hubOptions{})
}

func newHubWith(t *testing.T, o hubOptions) *hub {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "crossdock.db")})
	if err != nil {
		t.Fatal(err)
	}
	m := obs.NewMetrics()
	p := pipeline.New(st, pipeline.Options{Metrics: m, StateCache: 1000, Billing: o.billing})
	sum := sha256.Sum256([]byte(readKey))
	cfgKeys := append([]config.Key{{Name: "reader", SHA256: hex.EncodeToString(sum[:]), Scopes: []string{"read"}}}, o.keys...)
	for _, pt := range o.partners {
		if err := st.PutPartner(ctx, store.PartnerRecord{ID: pt.ID, Name: pt.Name, Scopes: pt.Scopes, FromConfig: true, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := api.NewKeyRing(adminKey, cfgKeys, o.partners, st)
	if err != nil {
		t.Fatal(err)
	}
	mappings, err := api.CompileMappings(o.partners)
	if err != nil {
		t.Fatal(err)
	}
	s := api.New(api.Options{
		Store: st, Pipeline: p, Keys: keys, Metrics: m, MaxBodyBytes: 64 << 10, MaxBatchEvents: 50,
		Limits: canonical.DefaultLimits(), Ready: st.Ping, Partners: o.partners, Ownership: o.ownership, Now: o.now, Mappings: mappings, Billing: o.billing,
		Credit: o.credit,
	})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		_ = p.Close(ctx)
		_ = st.Close()
	})
	return &hub{t: t, srv: srv}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not JSON (%v): %s", err, r.body)
	}
	return m
}

func (h *hub) do(method, path, key, ct string, body []byte, hdr ...string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

func (h *hub) post(body string, hdr ...string) response {
	h.t.Helper()
	return h.do(http.MethodPost, "/api/v1/events", adminKey, "application/cloudevents+json", []byte(body), hdr...)
}

func (h *hub) get(path string) response {
	h.t.Helper()
	return h.do(http.MethodGet, path, adminKey, "", nil)
}

var base = time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)

func at(min int) string { return base.Add(time.Duration(min) * time.Minute).Format(time.RFC3339) }

func ev(id, typ, subject string, min int, data string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"tms/acme","type":%q,"subject":%q,"time":%q,"data":%s}`, id, typ, subject, at(min), data)
}

const orderData = `{"order_id":"SO-1","customer_id":"CUST-7","stops":[` +
	`{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68,"radius_m":200}},` +
	`{"id":"S2","type":"delivery","location":{"lat":48.14,"lon":11.58,"radius_m":200}}]}`

func results(t *testing.T, r response) []map[string]any {
	t.Helper()
	if r.status != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", r.status, r.body)
	}
	var out struct{ Results []map[string]any }
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Results
}

func TestShipmentLifecycle(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	steps := []struct {
		event, wantResult, wantStatus string
	}{
		{ev("e1", "order.released", "SHP-1", 0, orderData), "accepted", "released"},
		{ev("e1", "order.released", "SHP-1", 0, orderData), "duplicate", "released"},
		{ev("e2", "route.assigned", "SHP-1", 5, `{"vehicle_id":"TRK-12","driver_id":"DRV-3"}`), "accepted", "planned"},
		{ev("e3", "shipment.milestone", "SHP-1", 30, `{"code":"arrived","stop_id":"S1"}`), "accepted", "in_transit"},
		{ev("e4", "shipment.milestone", "SHP-1", 45, `{"code":"departed","stop_id":"S1"}`), "accepted", "in_transit"},
		{ev("e5", "delivery.completed", "SHP-1", 90, `{"stop_id":"S2","signed_by":"Jane","location":{"lat":48.14,"lon":11.58}}`), "accepted", "delivered"},
		// a late, replayed departure cannot move a delivered shipment back
		{ev("e6", "shipment.milestone", "SHP-1", 44, `{"code":"departed","stop_id":"S1"}`), "accepted", "delivered"},
	}
	for _, s := range steps {
		res := results(t, h.post(s.event, "X-Correlation-ID", "corr-lifecycle"))
		if res[0]["status"] != s.wantResult {
			t.Fatalf("%s: result %v, want %s", s.event, res[0], s.wantResult)
		}
		sv := h.get("/api/v1/shipments/SHP-1").json(t)
		if sv["status"] != s.wantStatus {
			t.Fatalf("after %s: status %v, want %s", s.event, sv["status"], s.wantStatus)
		}
	}
	sv := h.get("/api/v1/shipments/SHP-1").json(t)
	if sv["vehicle_id"] != "TRK-12" || sv["customer_id"] != "CUST-7" || sv["on_hold"] != false || sv["invoice_id"] != nil {
		t.Fatalf("shipment = %v", sv)
	}
	stops := sv["stops"].([]any)
	s1 := stops[0].(map[string]any)
	if s1["status"] != "departed" || s1["departed_at"] != base.Add(44*time.Minute).Format(time.RFC3339) {
		t.Fatalf("stop S1 = %v (the earliest departure report wins)", s1)
	}
	if stops[1].(map[string]any)["status"] != "completed" {
		t.Fatalf("stop S2 = %v", stops[1])
	}

	tl := h.get("/api/v1/shipments/SHP-1/timeline").json(t)
	items := tl["items"].([]any)
	var changes []string
	for _, it := range items {
		m := it.(map[string]any)
		if m["correlation_id"] != "corr-lifecycle" {
			t.Fatalf("timeline item without the request's correlation id: %v", m)
		}
		if m["type"] == "shipment.status_changed" {
			d := m["detail"].(map[string]any)
			changes = append(changes, d["to"].(string))
			if m["causation_id"] == "" || m["source"] != "crossdock/shipment" {
				t.Fatalf("derived event without causation: %v", m)
			}
		}
	}
	if got := strings.Join(changes, ","); got != "released,planned,in_transit,delivered" {
		t.Fatalf("status changes %s", got)
	}
	if len(items) != 6+4 {
		t.Fatalf("timeline has %d items, want 10", len(items))
	}

	vv := h.get("/api/v1/vehicles/TRK-12").json(t)
	if vv["shipment_id"] != "SHP-1" {
		t.Fatalf("vehicle = %v", vv)
	}
	tr := h.do(http.MethodGet, "/api/v1/tracking/SHP-1", "", "", nil)
	if tr.status != http.StatusOK || strings.Contains(string(tr.body), "CUST-7") || strings.Contains(string(tr.body), "DRV-3") {
		t.Fatalf("tracking: %d %s", tr.status, tr.body)
	}
}

func TestEventBeforeOrderIsKeptAndApplied(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	results(t, h.post(ev("m1", "shipment.milestone", "SHP-2", 30, `{"code":"arrived","stop_id":"S1"}`)))
	if r := h.get("/api/v1/shipments/SHP-2"); r.status != http.StatusNotFound {
		t.Fatalf("shipment visible before its order: %d %s", r.status, r.body)
	}
	results(t, h.post(ev("o1", "order.released", "SHP-2", 0, orderData)))
	sv := h.get("/api/v1/shipments/SHP-2").json(t)
	if sv["status"] != "in_transit" || sv["stops"].([]any)[0].(map[string]any)["status"] != "arrived" {
		t.Fatalf("early milestone not applied: %v", sv)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	results(t, h.post(ev("o1", "order.released", "SHP-3", 0, orderData)))
	future := time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name, ct, body string
		status         int
		field          string
	}{
		{"not JSON", "", `{"specversion":`, 400, ""},
		{"JSON of the wrong shape", "", `"an event"`, 400, ""},
		{"unknown type", "", ev("b1", "shipment.teleported", "SHP-3", 1, `{}`), 422, "type"},
		{"missing id", "", strings.Replace(ev("b2", "shipment.cancelled", "SHP-3", 1, `{}`), `"id":"b2",`, "", 1), 422, "id"},
		{"empty source", "", strings.Replace(ev("b3", "shipment.cancelled", "SHP-3", 1, `{}`), `"source":"tms/acme"`, `"source":""`, 1), 422, "source"},
		{"missing subject", "", strings.Replace(ev("b4", "shipment.cancelled", "SHP-3", 1, `{}`), `"subject":"SHP-3",`, "", 1), 422, "subject"},
		{"time not RFC 3339", "", strings.Replace(ev("b5", "shipment.cancelled", "SHP-3", 1, `{}`), at(1), "22/11/2026 10:00", 1), 422, "time"},
		{"time far in the future", "", strings.Replace(ev("b6", "shipment.cancelled", "SHP-3", 1, `{}`), at(1), future, 1), 422, "time"},
		{"latitude out of range", "", ev("b7", "order.released", "SHP-9", 1, strings.Replace(orderData, `"lat":48.14`, `"lat":98.14`, 1)), 422, "data.stops[1].location.lat"},
		{"stop the order does not have", "", ev("b8", "shipment.milestone", "SHP-3", 5, `{"code":"arrived","stop_id":"S9"}`), 422, "data.stop_id"},
		{"reserved source", "", strings.Replace(ev("b9", "shipment.cancelled", "SHP-3", 1, `{}`), "tms/acme", "crossdock/shipment", 1), 422, "source"},
		{"derived type", "", ev("b10", "shipment.status_changed", "SHP-3", 1, `{"from":"","to":"delivered"}`), 422, "type"},
		{"unsupported media type", "text/csv", "a,b,c", 415, ""},
		{"body over the limit", "", `{"pad":"` + strings.Repeat("x", 70<<10) + `"}`, 413, ""},
	}
	for i, tt := range tests {
		r := h.do(http.MethodPost, "/api/v1/events", adminKey, tt.ct, []byte(tt.body))
		if r.status != tt.status {
			t.Fatalf("%s: status %d, want %d: %s", tt.name, r.status, tt.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s: content type %q", tt.name, ct)
		}
		p := r.json(t)
		for _, k := range []string{"type", "title", "status", "detail"} {
			if p[k] == nil {
				t.Fatalf("%s: problem lacks %s: %s", tt.name, k, r.body)
			}
		}
		if tt.field != "" {
			found := false
			for _, e := range p["errors"].([]any) {
				found = found || e.(map[string]any)["field"] == tt.field
			}
			if !found {
				t.Fatalf("%s: no error names %s: %s", tt.name, tt.field, r.body)
			}
		}
		qid, _ := p["quarantine_id"].(string)
		q := h.get("/api/v1/quarantine/" + qid)
		if q.status != http.StatusOK {
			t.Fatalf("%s: quarantine item %q: %d %s", tt.name, qid, q.status, q.body)
		}
		item := q.json(t)
		var kept string
		switch item["payload_encoding"] {
		case "json":
			b, _ := json.Marshal(item["payload"])
			kept = string(b)
		default:
			kept = item["payload"].(string)
		}
		if tt.status != 413 && kept != tt.body && !jsonEqual(kept, tt.body) {
			t.Fatalf("%s: kept payload %q, sent %q", tt.name, kept, tt.body)
		}
		list := h.get("/api/v1/quarantine?limit=1000").json(t)
		if n := len(list["items"].([]any)); n != i+1 {
			t.Fatalf("%s: quarantine holds %d items, want %d", tt.name, n, i+1)
		}
	}
	if sv := h.get("/api/v1/shipments/SHP-3").json(t); sv["status"] != "released" {
		t.Fatalf("bad input changed the shipment: %v", sv)
	}
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

func TestBatchWithSomeBadItems(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	body := "[" + strings.Join([]string{
		ev("o1", "order.released", "SHP-4", 0, orderData),
		`{"id":"junk"}`,
		ev("m1", "shipment.milestone", "SHP-4", 5, `{"code":"arrived","stop_id":"S7"}`),
		ev("m2", "shipment.milestone", "SHP-4", 6, `{"code":"arrived","stop_id":"S1"}`),
		ev("o1", "order.released", "SHP-4", 0, orderData),
	}, ",") + "]"
	res := results(t, h.do(http.MethodPost, "/api/v1/events", adminKey, "application/cloudevents-batch+json", []byte(body)))
	var got []string
	for _, r := range res {
		got = append(got, r["status"].(string))
	}
	if strings.Join(got, ",") != "accepted,rejected,rejected,accepted,duplicate" {
		t.Fatalf("results %v", res)
	}
	if res[1]["errors"] == nil || res[2]["quarantine_id"] == nil {
		t.Fatalf("rejected items lack errors or quarantine id: %v", res)
	}
	if sv := h.get("/api/v1/shipments/SHP-4").json(t); sv["status"] != "in_transit" {
		t.Fatalf("shipment %v", sv)
	}
	tooMany := "[" + strings.TrimSuffix(strings.Repeat(ev("x", "shipment.cancelled", "SHP-4", 1, `{}`)+",", 51), ",") + "]"
	if r := h.do(http.MethodPost, "/api/v1/events", adminKey, "application/json", []byte(tooMany)); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("51 events with a limit of 50: %d %s", r.status, r.body)
	}
}

func TestQuarantineReplayAfterFix(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	results(t, h.post(ev("o1", "order.released", "SHP-5", 0, orderData)))
	r := h.post(ev("m3", "shipment.milestone", "SHP-5", 50, `{"code":"arrived","stop_id":"S3"}`))
	qid := r.json(t)["quarantine_id"].(string)
	replay := func() map[string]any {
		r := h.do(http.MethodPost, "/api/v1/quarantine/"+qid+"/replay", adminKey, "", nil)
		if r.status != http.StatusOK {
			t.Fatalf("replay: %d %s", r.status, r.body)
		}
		return r.json(t)
	}
	if out := replay(); out["state"] != "rejected" {
		t.Fatalf("replay before the fix: %v", out)
	}
	amended := strings.Replace(orderData, `]}`, `,{"id":"S3","type":"delivery","location":{"lat":47.1,"lon":9.5}}]}`, 1)
	results(t, h.post(ev("o2", "order.released", "SHP-5", 10, amended)))
	if out := replay(); out["state"] != "accepted" {
		t.Fatalf("replay after the fix: %v", out)
	}
	if out := replay(); out["state"] != "duplicate" {
		t.Fatalf("second replay: %v", out)
	}
	item := h.get("/api/v1/quarantine/" + qid).json(t)
	if item["replay_state"] != "duplicate" || item["replayed_at"] == nil {
		t.Fatalf("quarantine item after replays: %v", item)
	}
	sv := h.get("/api/v1/shipments/SHP-5").json(t)
	if s3 := sv["stops"].([]any)[2].(map[string]any); s3["status"] != "arrived" {
		t.Fatalf("replayed milestone not applied: %v", s3)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	tests := []struct {
		name, method, path, key string
		status                  int
	}{
		{"no key", "GET", "/api/v1/shipments", "", 401},
		{"unknown key", "GET", "/api/v1/shipments", "nope-nope-nope-nope", 401},
		{"no key on events", "POST", "/api/v1/events", "", 401},
		{"read key cannot write", "POST", "/api/v1/events", readKey, 403},
		{"read key cannot see quarantine", "GET", "/api/v1/quarantine", readKey, 403},
		{"read key reads", "GET", "/api/v1/shipments", readKey, 200},
		{"schemas need a key", "GET", "/api/v1/schemas/order.released.json", "", 401},
		{"tracking is public", "GET", "/api/v1/tracking/none", "", 404},
		{"openapi is public", "GET", "/api/v1/openapi.json", "", 200},
		{"health is public", "GET", "/healthz", "", 200},
		{"readiness is public", "GET", "/readyz", "", 200},
		{"unknown api path", "GET", "/api/v1/nothing", adminKey, 404},
		{"read key cannot register devices", "PUT", "/api/v1/vehicles/TRK-1", readKey, 403},
		{"read key reads positions", "GET", "/api/v1/vehicles/TRK-1/positions", readKey, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(tt.method, tt.path, tt.key, "application/json", []byte(`{}`))
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status >= 400 && strings.HasPrefix(tt.path, "/api/") && r.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("error content type %q", r.header.Get("Content-Type"))
			}
		})
	}
}

func TestListShipmentsPaging(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	var batch []string
	for i := range 25 {
		batch = append(batch, ev(fmt.Sprint("o", i), "order.released", fmt.Sprintf("SHP-L%02d", i), 0, orderData))
	}
	results(t, h.do(http.MethodPost, "/api/v1/events", adminKey, "application/json", []byte("["+strings.Join(batch, ",")+"]")))
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		page := h.get("/api/v1/shipments?status=released&limit=10&cursor=" + cursor).json(t)
		for _, it := range page["items"].([]any) {
			id := it.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("%s listed twice", id)
			}
			seen[id] = true
		}
		next, _ := page["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 25 {
		t.Fatalf("listed %d shipments, want 25", len(seen))
	}
	if r := h.get("/api/v1/shipments?cursor=garbage"); r.status != 400 {
		t.Fatalf("bad cursor: %d", r.status)
	}
	if r := h.get("/api/v1/shipments?status=lost"); r.status != 422 && r.status != 400 {
		t.Fatalf("bad status filter: %d %s", r.status, r.body)
	}
}

func TestDescriptionAndSchemas(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	spec := h.get("/api/v1/openapi.json").json(t)
	paths := spec["paths"].(map[string]any)
	for _, p := range []string{"/api/v1/events", "/api/v1/shipments", "/api/v1/shipments/{id}", "/api/v1/shipments/{id}/timeline",
		"/api/v1/tracking/{shipment_id}", "/api/v1/quarantine", "/api/v1/quarantine/{id}/replay", "/api/v1/vehicles/{id}", "/api/v1/schemas/{file}",
		"/api/v1/cases", "/api/v1/cases/{id}/resolve", "/api/v1/invoices", "/api/v1/deliveries", "/api/v1/deliveries/{id}/retry",
		"/api/v1/partners", "/api/v1/partners/{id}/keys", "/api/v1/partners/{id}/keys/{prefix}", "/api/v1/partners/{id}/edi",
		"/api/v1/partners/{id}/inbound/{mapping}", "/api/v1/connectors",
		"/api/v1/insights/operations", "/api/v1/insights/finance", "/api/v1/insights/platform"} {
		if paths[p] == nil {
			t.Errorf("OpenAPI description lacks %s", p)
		}
	}
	for _, typ := range canonical.InboundTypes() {
		r := h.get("/api/v1/schemas/" + typ + ".json")
		if r.status != 200 || !json.Valid(r.body) {
			t.Errorf("schema %s: %d", typ, r.status)
		}
	}
	if r := h.get("/api/v1/schemas/nope.json"); r.status != 404 {
		t.Errorf("unknown schema: %d", r.status)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	results(t, h.post(ev("o1", "order.released", "SHP-M", 0, orderData)))
	body := string(h.do(http.MethodGet, "/metrics", "", "", nil).body)
	for _, want := range []string{
		`crossdock_events_total{result="accepted",type="order.released"} 1`,
		"crossdock_ingest_seconds_bucket", "crossdock_writer_batch_size_bucket", "crossdock_writer_queue_depth",
		`crossdock_http_requests_total{code="202",method="POST",route="POST /api/v1/events"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
