package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/crossdockhq/crossdock/internal/config"
)

func TestMasterDataOwnership(t *testing.T) {
	t.Parallel()
	h := newHubWith(t, hubOptions{ownership: config.Ownership{Customers: []string{"partner/erp"}, Locations: []string{"partner/erp", "admin"}}})
	erp, _ := h.createPartner("erp")
	tms, _ := h.createPartner("tms")
	cust := []byte(`{"name":"ACME GmbH","vat_id":"DE123","currency":"EUR","address":{"city":"Berlin","country":"DE"}}`)
	r := h.do(http.MethodPut, "/api/v1/customers/CUST-7", erp, "application/json", cust)
	if r.status != http.StatusOK || r.json(t)["source"] != "partner/erp" {
		t.Fatalf("owner put: %d %s", r.status, r.body)
	}
	r = h.do(http.MethodPut, "/api/v1/customers/CUST-7", tms, "application/json", []byte(`{"name":"Hijacked"}`))
	p := r.json(t)
	if r.status != http.StatusForbidden || p["quarantine_id"] == nil {
		t.Fatalf("non-owner put: %d %s", r.status, r.body)
	}
	q := h.get("/api/v1/quarantine/" + p["quarantine_id"].(string)).json(t)
	if !strings.Contains(q["reason"].(string), "not a system of record for customers") {
		t.Fatalf("quarantined refusal: %v", q)
	}
	got := h.do(http.MethodGet, "/api/v1/customers/CUST-7", readKey, "", nil).json(t)
	if got["name"] != "ACME GmbH" || got["vat_id"] != "DE123" {
		t.Fatalf("customer after refused write: %v", got)
	}
	if r := h.do(http.MethodGet, "/api/v1/customers/CUST-7", tms, "", nil); r.status != http.StatusNotFound {
		t.Fatalf("a partner reads only what it wrote: %d", r.status)
	}
	if r := h.do(http.MethodGet, "/api/v1/customers/CUST-7", erp, "", nil); r.status != http.StatusOK {
		t.Fatalf("the writer reads it: %d", r.status)
	}
	if r := h.do(http.MethodPut, "/api/v1/locations/DC-1", adminKey, "application/json", []byte(`{"lat":95,"lon":8}`)); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad location: %d %s", r.status, r.body)
	}
}

// Orders can name a location id instead of coordinates; an unknown id is
// kept in quarantine and applies on replay once the location exists.
func TestOrderStopsResolveLocations(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	order := `{"order_id":"SO-9","customer_id":"CUST-7","stops":[` +
		`{"id":"S1","type":"pickup","location":{"id":"DC-1"}},` +
		`{"id":"S2","type":"delivery","location":{"id":"SHOP-9","radius_m":80}}]}`
	if r := h.do(http.MethodPut, "/api/v1/locations/DC-1", adminKey, "application/json", []byte(`{"name":"DC Frankfurt","lat":50.11,"lon":8.68,"radius_m":300}`)); r.status != http.StatusOK {
		t.Fatalf("put location: %d %s", r.status, r.body)
	}
	r := h.post(ev("o1", "order.released", "SHP-9", 0, order))
	p := r.json(t)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `data.stops[1].location.id`) || !strings.Contains(string(r.body), "SHOP-9") {
		t.Fatalf("unknown location: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodPut, "/api/v1/locations/SHOP-9", adminKey, "application/json", []byte(`{"lat":48.14,"lon":11.58}`)); r.status != http.StatusOK {
		t.Fatalf("put location: %d %s", r.status, r.body)
	}
	rp := h.do(http.MethodPost, "/api/v1/quarantine/"+p["quarantine_id"].(string)+"/replay", adminKey, "", nil)
	if rp.status != http.StatusOK || rp.json(t)["state"] != "accepted" {
		t.Fatalf("replay: %d %s", rp.status, rp.body)
	}
	var tl struct {
		Items []struct {
			Type   string
			Detail json.RawMessage
		}
	}
	_ = json.Unmarshal(h.get("/api/v1/shipments/SHP-9/timeline").body, &tl)
	var data struct {
		Stops []struct {
			Location struct {
				ID       string
				Lat, Lon float64
				RadiusM  float64 `json:"radius_m"`
			}
		}
	}
	if len(tl.Items) == 0 || json.Unmarshal(tl.Items[0].Detail, &data) != nil || len(data.Stops) != 2 {
		t.Fatalf("timeline: %+v", tl)
	}
	l1, l2 := data.Stops[0].Location, data.Stops[1].Location
	if l1.ID != "DC-1" || l1.Lat != 50.11 || l1.RadiusM != 300 || l2.Lat != 48.14 || l2.RadiusM != 80 {
		t.Fatalf("the stored order carries the resolved coordinates (the stop's own radius wins): %+v", data.Stops)
	}
}
