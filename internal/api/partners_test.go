package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/config"
)

func (h *hub) createPartner(id string) (key, prefix string) {
	h.t.Helper()
	r := h.do(http.MethodPost, "/api/v1/partners", adminKey, "application/json", []byte(`{"id":"`+id+`","name":"Partner `+id+`"}`))
	if r.status != http.StatusCreated {
		h.t.Fatalf("create partner %s: %d %s", id, r.status, r.body)
	}
	var out struct{ ID, Key, Prefix string }
	if err := json.Unmarshal(r.body, &out); err != nil || out.ID != id || !strings.HasPrefix(out.Key, out.Prefix) || len(out.Key) < 30 {
		h.t.Fatalf("create partner answer %s (%v)", r.body, err)
	}
	return out.Key, out.Prefix
}

func (h *hub) postAs(key, body string) response {
	h.t.Helper()
	return h.do(http.MethodPost, "/api/v1/events", key, "application/cloudevents+json", []byte(body))
}

func TestPartnerKeysLifecycle(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	key, prefix := h.createPartner("acme-tms")
	if r := h.do(http.MethodPost, "/api/v1/partners", adminKey, "application/json", []byte(`{"id":"acme-tms"}`)); r.status != http.StatusConflict {
		t.Fatalf("second create: %d %s", r.status, r.body)
	}
	for _, body := range []string{`{"id":"Bad Id"}`, `{"id":"x","scopes":["admin"]}`} {
		if r := h.do(http.MethodPost, "/api/v1/partners", adminKey, "application/json", []byte(body)); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
	}

	// The key works, sends under partner/acme-tms, and is not an admin key.
	res := results(t, h.postAs(key, "["+ev("e1", "order.released", "SHP-A", 0, orderData)+"]"))
	if res[0]["status"] != "accepted" || res[0]["source"] != "partner/acme-tms/tms/acme" {
		t.Fatalf("partner event: %v", res)
	}
	if r := h.do(http.MethodGet, "/api/v1/partners", key, "", nil); r.status != http.StatusForbidden {
		t.Fatalf("partner listing partners: %d", r.status)
	}

	second := h.do(http.MethodPost, "/api/v1/partners/acme-tms/keys", adminKey, "", nil)
	if second.status != http.StatusCreated {
		t.Fatalf("issue key: %d %s", second.status, second.body)
	}
	var k2 struct{ Key, Prefix string }
	_ = json.Unmarshal(second.body, &k2)
	if r := h.do(http.MethodPost, "/api/v1/partners/nobody/keys", adminKey, "", nil); r.status != http.StatusNotFound {
		t.Fatalf("key for unknown partner: %d", r.status)
	}

	list := h.do(http.MethodGet, "/api/v1/partners/acme-tms/keys", adminKey, "", nil)
	if list.status != http.StatusOK || !strings.Contains(string(list.body), prefix) || !strings.Contains(string(list.body), k2.Prefix) ||
		strings.Contains(string(list.body), key) || strings.Contains(string(list.body), k2.Key) {
		t.Fatalf("key list must show prefixes, never keys: %s", list.body)
	}

	// Revoking takes effect at once, even for a key just used (cached).
	if r := h.do(http.MethodGet, "/api/v1/shipments/SHP-A", key, "", nil); r.status != http.StatusOK {
		t.Fatalf("read before revoke: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodDelete, "/api/v1/partners/acme-tms/keys/"+prefix, adminKey, "", nil); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodGet, "/api/v1/shipments/SHP-A", key, "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("revoked key: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodDelete, "/api/v1/partners/acme-tms/keys/"+prefix, adminKey, "", nil); r.status != http.StatusNotFound {
		t.Fatalf("revoke twice: %d", r.status)
	}
	if r := h.do(http.MethodGet, "/api/v1/shipments/SHP-A", k2.Key, "", nil); r.status != http.StatusOK {
		t.Fatalf("the other key keeps working: %d %s", r.status, r.body)
	}
	p := h.do(http.MethodGet, "/api/v1/partners/acme-tms", adminKey, "", nil).json(t)
	keys := p["keys"].([]any)
	if len(keys) != 2 || keys[0].(map[string]any)["revoked_at"] == nil || keys[1].(map[string]any)["revoked_at"] != nil {
		t.Fatalf("partner view: %v", p)
	}
}

// Object-level authorization (OWASP API1) on every read endpoint: a
// partner reads what it sent or was shared with it; anything else answers
// exactly like an absent object.
func TestPartnerIsolation(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	acme, _ := h.createPartner("acme")
	beta, _ := h.createPartner("beta")
	route := `{"vehicle_id":"TRK-1","driver_id":"D1"}`
	results(t, h.postAs(acme, "["+ev("a1", "order.released", "SHP-A", 0, orderData)+","+ev("a2", "route.assigned", "SHP-A", 1, route)+"]"))
	results(t, h.postAs(beta, "["+ev("b1", "order.released", "SHP-B", 0, orderData)+"]"))
	results(t, h.post("["+ev("i1", "order.released", "SHP-I", 0, orderData)+"]"))
	results(t, h.post("["+`{"specversion":"1.0","id":"p1","source":"gps","type":"telemetry.position","subject":"TRK-1","time":"`+at(2)+`","data":{"lat":50.1,"lon":8.6}}`+"]"))

	reads := []struct {
		path string
		who  map[string]int // key → status
	}{
		{"/api/v1/shipments/SHP-A", map[string]int{acme: 200, beta: 404, adminKey: 200, readKey: 200}},
		{"/api/v1/shipments/SHP-B", map[string]int{acme: 404, beta: 200}},
		{"/api/v1/shipments/SHP-I", map[string]int{acme: 404, beta: 404, readKey: 200}},
		{"/api/v1/shipments/SHP-NONE", map[string]int{acme: 404, beta: 404}},
		{"/api/v1/shipments/SHP-A/timeline", map[string]int{acme: 200, beta: 404}},
		{"/api/v1/shipments/SHP-B/timeline", map[string]int{acme: 404, beta: 200}},
		{"/api/v1/vehicles/TRK-1", map[string]int{acme: 200, beta: 404, readKey: 200}},
		{"/api/v1/vehicles/TRK-1/positions", map[string]int{acme: 404, beta: 404, readKey: 200}},
		{"/api/v1/quarantine", map[string]int{acme: 403, beta: 403}},
		{"/api/v1/partners", map[string]int{acme: 403}},
		{"/api/v1/tracking/SHP-A", map[string]int{"": 200}},
	}
	for _, rd := range reads {
		for key, want := range rd.who {
			r := h.do(http.MethodGet, rd.path, key, "", nil)
			if r.status != want {
				t.Errorf("GET %s as %.12s: %d, want %d: %s", rd.path, key, r.status, want, r.body)
			}
			if want == 404 && strings.Contains(string(r.body), "CUST-7") {
				t.Errorf("GET %s as %.12s leaks data: %s", rd.path, key, r.body)
			}
		}
	}
	// A 404 for another partner's shipment reads exactly like an absent one.
	other := h.do(http.MethodGet, "/api/v1/shipments/SHP-B", acme, "", nil).json(t)
	absent := h.do(http.MethodGet, "/api/v1/shipments/SHP-NONE", acme, "", nil).json(t)
	if strings.ReplaceAll(fmt.Sprint(other["detail"]), "SHP-B", "X") != strings.ReplaceAll(fmt.Sprint(absent["detail"]), "SHP-NONE", "X") {
		t.Errorf("404s differ: %v vs %v", other, absent)
	}

	ids := func(key, query string) []string {
		var out struct{ Items []struct{ ID string } }
		r := h.do(http.MethodGet, "/api/v1/shipments"+query, key, "", nil)
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, it := range out.Items {
			s = append(s, it.ID)
		}
		return s
	}
	if got := ids(acme, ""); fmt.Sprint(got) != "[SHP-A]" {
		t.Errorf("acme's list: %v", got)
	}
	if got := ids(beta, "?customer_id=CUST-7"); fmt.Sprint(got) != "[SHP-B]" {
		t.Errorf("beta's filtered list: %v", got)
	}
	if got := ids(adminKey, ""); len(got) != 3 {
		t.Errorf("admin's list: %v", got)
	}

	// Sharing opens one shipment to one partner; only ops may share.
	if r := h.do(http.MethodPut, "/api/v1/shipments/SHP-I/partners/beta", acme, "", nil); r.status != http.StatusForbidden {
		t.Fatalf("partner sharing: %d", r.status)
	}
	if r := h.do(http.MethodPut, "/api/v1/shipments/SHP-I/partners/beta", adminKey, "", nil); r.status != http.StatusNoContent {
		t.Fatalf("share: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodPut, "/api/v1/shipments/SHP-I/partners/nobody", adminKey, "", nil); r.status != http.StatusNotFound {
		t.Fatalf("share with unknown partner: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodGet, "/api/v1/shipments/SHP-I", beta, "", nil); r.status != http.StatusOK {
		t.Fatalf("shared shipment: %d", r.status)
	}
	if got := ids(beta, ""); fmt.Sprint(got) != "[SHP-B SHP-I]" && fmt.Sprint(got) != "[SHP-I SHP-B]" {
		t.Errorf("beta's list after sharing: %v", got)
	}

	// A rejected event shares nothing.
	bad := ev("b2", "shipment.milestone", "SHP-A", 5, `{"code":"arrived","stop_id":"S9"}`)
	if r := h.postAs(beta, bad); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad milestone: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodGet, "/api/v1/shipments/SHP-A", beta, "", nil); r.status != http.StatusNotFound {
		t.Fatalf("a rejected event must not open a shipment: %d", r.status)
	}
}

func TestPartnerRateLimit(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	var clock = func() time.Time { return now }
	h := newHubWith(t, hubOptions{
		partners: []config.Partner{{ID: "slow", Name: "Slow", Scopes: config.PartnerScopes, RateLimit: config.RateLimit{PerSecond: 0.5, Burst: 2}}},
		keys:     []config.Key{{Name: "slow-key", SHA256: sha256hex("slow-partner-key-0123456789"), Partner: "slow"}},
		now:      clock,
	})
	for i := range 2 {
		if r := h.do(http.MethodGet, "/api/v1/shipments", "slow-partner-key-0123456789", "", nil); r.status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i, r.status, r.body)
		}
	}
	r := h.do(http.MethodGet, "/api/v1/shipments", "slow-partner-key-0123456789", "", nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "2" || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("over the limit: %d Retry-After=%q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	if r := h.postAs("slow-partner-key-0123456789", ev("x", "order.released", "SHP-X", 0, orderData)); r.status != http.StatusTooManyRequests {
		t.Fatalf("events endpoint over the limit: %d", r.status)
	}
	if r := h.get("/api/v1/shipments"); r.status != http.StatusOK {
		t.Fatalf("internal keys are not limited by a partner's bucket: %d", r.status)
	}
}

func TestOwnershipOfOrders(t *testing.T) {
	t.Parallel()
	h := newHubWith(t, hubOptions{ownership: config.Ownership{Orders: []string{"partner/erp", "tms"}}})
	erp, _ := h.createPartner("erp")
	carrier, _ := h.createPartner("carrier")
	if res := results(t, h.postAs(erp, "["+ev("o1", "order.released", "SHP-1", 0, orderData)+"]")); res[0]["status"] != "accepted" {
		t.Fatalf("owner: %v", res)
	}
	r := h.postAs(carrier, ev("o2", "order.released", "SHP-2", 0, orderData))
	p := r.json(t)
	if r.status != http.StatusForbidden || p["quarantine_id"] == nil || !strings.Contains(fmt.Sprint(p["errors"]), "source") {
		t.Fatalf("non-owner order: %d %s", r.status, r.body)
	}
	// In a batch the refused item is rejected, the rest applied.
	res := results(t, h.postAs(carrier, "["+ev("o3", "order.released", "SHP-3", 0, orderData)+","+ev("m1", "shipment.milestone", "SHP-1", 5, `{"code":"departed","stop_id":"S1"}`)+"]"))
	if res[0]["status"] != "rejected" || res[1]["status"] != "accepted" {
		t.Fatalf("batch: %v", res)
	}
	// An internal source under an owner entry may write orders.
	if res := results(t, h.post("["+strings.Replace(ev("o4", "order.released", "SHP-4", 0, orderData), "tms/acme", "tms/eu", 1)+"]")); res[0]["status"] != "accepted" {
		t.Fatalf("tms/eu: %v", res)
	}
}

func sha256hex(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

func TestPartnerBodyLimit(t *testing.T) {
	t.Parallel()
	const key = "small-partner-key-0123456789"
	h := newHubWith(t, hubOptions{
		partners: []config.Partner{{ID: "small", Name: "Small", Scopes: config.PartnerScopes, MaxBodyBytes: 1024,
			RateLimit: config.RateLimit{PerSecond: 100, Burst: 100}}},
		keys: []config.Key{{Name: "small-key", SHA256: sha256hex(key), Partner: "small"}},
	})
	big := "[" + ev("o1", "order.released", "SHP-1", 0, orderData) + "," + ev("o2", "order.released", "SHP-2", 0, orderData) + "," +
		ev("o3", "order.released", "SHP-3", 0, orderData) + "]"
	r := h.postAs(key, big)
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(string(r.body), "limit of 1024 bytes") || r.json(t)["quarantine_id"] == nil {
		t.Fatalf("over the partner's limit: %d %s", r.status, r.body)
	}
	if r := h.post(big); r.status != http.StatusAccepted {
		t.Fatalf("the same body from an internal key (64 KiB limit here): %d", r.status)
	}
}
