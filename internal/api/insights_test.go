package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// The dashboards' aggregates over the API: operations, finance and
// platform, each behind its scope and closed to partners' keys.
func TestInsights(t *testing.T) {
	t.Parallel()
	h := newHubWith(t, hubOptions{billing: billingEngine(t)})
	results(t, h.post("["+ev("o1", "order.released", "SHP-I1", 0, orderData)+","+
		ev("r1", "route.assigned", "SHP-I1", 5, `{"vehicle_id":"TRK-I1","driver_id":"D1"}`)+","+
		ev("t1", "telemetry.position", "TRK-I1", 10, `{"vehicle_id":"TRK-I1","lat":49.5,"lon":9.9,"speed_kph":70}`)+","+
		ev("x1", "shipment.milestone", "SHP-I1", 20, `{"code":"delayed","stop_id":"S2","reason":"traffic jam"}`)+","+
		ev("o2", "order.released", "SHP-I2", 0, orderData)+","+
		ev("p2", "delivery.completed", "SHP-I2", 60, `{"stop_id":"S2","signed_by":"","location":{"lat":48.14,"lon":11.58}}`)+","+
		ev("o3", "order.released", "SHP-I3", 0, orderData)+","+
		ev("p3", "delivery.completed", "SHP-I3", 60, `{"stop_id":"S2","signed_by":"K. Lee","location":{"lat":48.14,"lon":11.58}}`)+","+
		ev("d3", "shipment.milestone", "SHP-I3", 70, `{"code":"departed","stop_id":"S2"}`)+"]"))

	var ops struct {
		Shipments map[string]int64
		Late      []struct {
			ShipmentID string `json:"shipment_id"`
			Reason     string
		}
		CaseGroups []struct {
			Code     string
			Blocking bool
			Count    int64
			Over1h   int64 `json:"over_1h"`
		} `json:"case_groups"`
		Cases []struct {
			ShipmentID string `json:"shipment_id"`
		}
		Vehicles []struct {
			ID         string
			Lat        float64
			ShipmentID *string `json:"shipment_id"`
		}
	}
	if err := json.Unmarshal(h.get("/api/v1/insights/operations").body, &ops); err != nil {
		t.Fatal(err)
	}
	if ops.Shipments["in_transit"]+ops.Shipments["planned"] != 1 || ops.Shipments["delivered"] != 1 || ops.Shipments["invoiced"] != 1 {
		t.Errorf("shipments by status: %v", ops.Shipments)
	}
	if len(ops.Late) != 1 || ops.Late[0].ShipmentID != "SHP-I1" || ops.Late[0].Reason != "traffic jam" {
		t.Errorf("late: %+v", ops.Late)
	}
	if len(ops.CaseGroups) != 1 || ops.CaseGroups[0].Code != "missing_signature" || !ops.CaseGroups[0].Blocking || ops.CaseGroups[0].Count != 1 || ops.CaseGroups[0].Over1h != 1 {
		t.Errorf("case groups: %+v", ops.CaseGroups)
	}
	if len(ops.Cases) != 1 || ops.Cases[0].ShipmentID != "SHP-I2" {
		t.Errorf("open cases: %+v", ops.Cases)
	}
	if len(ops.Vehicles) != 1 || ops.Vehicles[0].ID != "TRK-I1" || ops.Vehicles[0].Lat != 49.5 || ops.Vehicles[0].ShipmentID == nil {
		t.Errorf("vehicles: %+v", ops.Vehicles)
	}

	var fin struct {
		Invoices []struct {
			Status, Currency, Amount string
			Count                    int64
		}
		Blocked []struct {
			Code  string
			Count int64
		} `json:"billing_blocked"`
		PODToInvoice struct {
			Count int
			P50   float64 `json:"p50_seconds"`
		} `json:"pod_to_invoice"`
		Revenue []struct{ Day, Currency, Amount string }
	}
	if err := json.Unmarshal(h.get("/api/v1/insights/finance").body, &fin); err != nil {
		t.Fatal(err)
	}
	var inv struct{ Items []struct{ Total string } }
	_ = json.Unmarshal(h.get("/api/v1/invoices?shipment_id=SHP-I3").body, &inv)
	if len(inv.Items) != 1 || len(fin.Invoices) != 1 || fin.Invoices[0].Status != "ready" || fin.Invoices[0].Count != 1 || fin.Invoices[0].Amount != inv.Items[0].Total {
		t.Errorf("invoices %+v, the invoice %+v", fin.Invoices, inv.Items)
	}
	if len(fin.Blocked) != 1 || fin.Blocked[0].Code != "missing_signature" {
		t.Errorf("billing blocked: %+v", fin.Blocked)
	}
	if fin.PODToInvoice.Count != 1 || fin.PODToInvoice.P50 < 0 {
		t.Errorf("POD to invoice: %+v", fin.PODToInvoice)
	}
	if len(fin.Revenue) != 1 || fin.Revenue[0].Amount != inv.Items[0].Total {
		t.Errorf("revenue: %+v", fin.Revenue)
	}

	var plat struct {
		Ingest []struct {
			Input string
			Total float64
		}
		Quarantine int64
	}
	h.post(`{"specversion":"1.0","id":"bad","source":"tms","type":"order.released","subject":"SHP-Q","time":"2026-01-01T00:00:00Z","data":{}}`)
	if err := json.Unmarshal(h.get("/api/v1/insights/platform").body, &plat); err != nil {
		t.Fatal(err)
	}
	if plat.Quarantine != 1 || len(plat.Ingest) == 0 || plat.Ingest[0].Input != "events" || plat.Ingest[0].Total != 9 {
		t.Errorf("platform: %+v", plat)
	}

	tests := []struct {
		key, path string
		want      int
	}{
		{readKey, "/api/v1/insights/operations", http.StatusForbidden},
		{readKey, "/api/v1/insights/finance", http.StatusForbidden},
		{readKey, "/api/v1/insights/platform", http.StatusForbidden},
		{"", "/api/v1/insights/operations", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		if r := h.do(http.MethodGet, tt.path, tt.key, "", nil); r.status != tt.want {
			t.Errorf("%s with %q: %d, want %d", tt.path, tt.key, r.status, tt.want)
		}
	}
}
