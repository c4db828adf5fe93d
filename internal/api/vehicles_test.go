package api_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestVehicleRegistryAndTelemetry(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	put := func(id, body string) response {
		return h.do(http.MethodPut, "/api/v1/vehicles/"+id, adminKey, "application/json", []byte(body))
	}
	r := put("TRK-12", `{"device_ids":["356307042441013","356307042441013","osm-7"]}`)
	if r.status != http.StatusOK {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	if got := r.json(t)["device_ids"]; len(got.([]any)) != 2 {
		t.Fatalf("device_ids %v, want the two distinct ids", got)
	}
	tests := []struct {
		name, id, body string
		status         int
		detail         string
	}{
		{"another vehicle's device", "TRK-13", `{"device_ids":["osm-7"]}`, http.StatusConflict, "belongs to vehicle TRK-12"},
		{"empty device id", "TRK-13", `{"device_ids":[""]}`, http.StatusUnprocessableEntity, "device_ids[0]"},
		{"control character", "TRK-13", `{"device_ids":["a\u0007"]}`, http.StatusUnprocessableEntity, "device_ids[0]"},
		{"not a list", "TRK-13", `{"device_ids":"osm-7"}`, http.StatusUnprocessableEntity, "device_ids"},
		{"unknown member", "TRK-13", `{"devices":["x"]}`, http.StatusUnprocessableEntity, "devices"},
	}
	for _, tt := range tests {
		r := put(tt.id, tt.body)
		if r.status != tt.status || !strings.Contains(string(r.body), tt.detail) || r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want %d naming %q", tt.name, r.status, r.body, tt.status, tt.detail)
		}
	}

	results(t, h.post(`[`+ev("o1", "order.released", "SHP-1", 0, orderData)+`,`+
		ev("a1", "route.assigned", "SHP-1", 1, `{"vehicle_id":"TRK-12","driver_id":"D1"}`)+`,`+
		strings.Replace(ev("p1", "telemetry.position", "TRK-12", 10, `{"lat":50.1101,"lon":8.6801,"speed_kph":4}`), "tms/acme", "fleet/app", 1)+`,`+
		strings.Replace(ev("p2", "telemetry.position", "TRK-12", 40, `{"lat":50.1,"lon":8.8,"speed_kph":70}`), "tms/acme", "fleet/app", 1)+`]`,
		"Content-Type", "application/cloudevents-batch+json"))

	v := h.get("/api/v1/vehicles/TRK-12").json(t)
	pos, _ := v["position"].(map[string]any)
	if v["shipment_id"] != "SHP-1" || pos == nil || pos["lat"] != 50.1 || pos["speed_kph"] != 70.0 || pos["time"] != at(40) {
		t.Fatalf("vehicle %v", v)
	}
	s := h.get("/api/v1/shipments/SHP-1").json(t)
	stop := s["stops"].([]any)[0].(map[string]any)
	if stop["status"] != "departed" || stop["dwell_minutes"] != 30.0 || s["distance_km"].(float64) < 8 || s["status"] != "in_transit" {
		t.Fatalf("shipment %v", s)
	}
	tl := h.get("/api/v1/shipments/SHP-1/timeline").json(t)
	var telemetry int
	for _, it := range tl["items"].([]any) {
		item := it.(map[string]any)
		if item["source"] == "crossdock/telemetry" {
			telemetry++
		}
		if item["type"] == "telemetry.position" {
			t.Errorf("raw position on the timeline: %v", item)
		}
	}
	if telemetry != 2 {
		t.Errorf("%d telemetry milestones on the timeline, want arrived and departed: %s", telemetry, h.get("/api/v1/shipments/SHP-1/timeline").body)
	}
	tr := h.do(http.MethodGet, "/api/v1/tracking/SHP-1", "", "", nil).json(t)
	if tr["eta"] == nil || tr["next_stop_id"] != "S2" {
		t.Errorf("tracking %v, want an eta at S2", tr)
	}
	list := h.get("/api/v1/vehicles/TRK-12/positions?limit=1").json(t)
	if items := list["items"].([]any); len(items) != 1 || list["next_from"] == nil {
		t.Fatalf("first page %v", list)
	}
	list = h.get("/api/v1/vehicles/TRK-12/positions?from=" + list["next_from"].(string)).json(t)
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["source"] != "fleet/app" || list["next_from"] != nil {
		t.Fatalf("second page %v", list)
	}
}
