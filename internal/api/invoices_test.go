package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/crossdockhq/crossdock/internal/billing"
)

func billingEngine(t *testing.T) *billing.Engine {
	t.Helper()
	e, err := billing.Compile(billing.Config{Currency: "EUR", TaxRate: "0.10", RateCards: []billing.RateCard{
		{CustomerID: "*", PerKm: "1.20", PerStop: "25.00", Minimum: "150.00", FuelSurchargePct: "8.5",
			Accessorials: map[string]string{"liftgate": "75.00", "detention_per_hour": "60.00", "detention_free_minutes": "120"}},
		{CustomerID: "CUST-VIP", PerKm: "1.00", PerStop: "20.00", Minimum: "100.00", FuelSurchargePct: "5"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Delivery to cash over the API: PODs, a blocking case, its resolution,
// the last departure, then the invoice — priced from the card and listed.
func TestDeliveryToCash(t *testing.T) {
	t.Parallel()
	h := newHubWith(t, hubOptions{billing: billingEngine(t)})
	results(t, h.post("["+ev("o1", "order.released", "SHP-B", 0, orderData)+","+
		ev("a2", "shipment.milestone", "SHP-B", 100, `{"code":"arrived","stop_id":"S2"}`)+","+
		ev("p2", "delivery.completed", "SHP-B", 150, `{"stop_id":"S2","signed_by":"","location":{"lat":48.14,"lon":11.58}}`)+","+
		ev("d2", "shipment.milestone", "SHP-B", 290, `{"code":"departed","stop_id":"S2"}`)+"]"))
	var v struct {
		Status    string
		OnHold    bool    `json:"on_hold"`
		InvoiceID *string `json:"invoice_id"`
	}
	_ = json.Unmarshal(h.get("/api/v1/shipments/SHP-B").body, &v)
	if v.Status != "delivered" || !v.OnHold || v.InvoiceID != nil {
		t.Fatalf("held by the unsigned POD: %+v", v)
	}
	var cases struct{ Items []struct{ ID string } }
	_ = json.Unmarshal(h.get("/api/v1/cases?shipment_id=SHP-B&status=open").body, &cases)
	if len(cases.Items) != 1 {
		t.Fatalf("cases %+v", cases)
	}
	if r := h.do(http.MethodPost, "/api/v1/cases/"+cases.Items[0].ID+"/resolve", adminKey, "application/json", []byte(`{"resolution":"paper POD signed"}`)); r.status != http.StatusOK {
		t.Fatalf("resolve: %d %s", r.status, r.body)
	}
	_ = json.Unmarshal(h.get("/api/v1/shipments/SHP-B").body, &v)
	if v.Status != "invoiced" || v.OnHold || v.InvoiceID == nil {
		t.Fatalf("resolving the last blocking case rates at once: %+v", v)
	}
	if r := h.do(http.MethodGet, "/api/v1/invoices", readKey, "", nil); r.status != http.StatusForbidden {
		t.Fatalf("invoices need finance: %d", r.status)
	}
	inv := h.get("/api/v1/invoices/" + *v.InvoiceID).json(t)
	if inv["shipment_id"] != "SHP-B" || inv["customer_id"] != "CUST-7" || inv["currency"] != "EUR" || inv["status"] != "ready" || inv["erp_ref"] != nil {
		t.Fatalf("invoice %v", inv)
	}
	lines := mustJSON(t, inv["lines"])
	// 190 minutes at S2 is 70 beyond the 120 free: detention.
	for _, code := range []string{`"code":"distance"`, `"code":"stop"`, `"code":"fuel_surcharge"`, `"code":"detention"`} {
		if !strings.Contains(lines, code) {
			t.Fatalf("lines %s lack %s", lines, code)
		}
	}
	// An invoiced shipment cannot be cancelled.
	r := h.post(ev("c1", "shipment.cancelled", "SHP-B", 400, `{"reason":"customer"}`))
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "is invoiced") || r.json(t)["quarantine_id"] == nil {
		t.Fatalf("cancelling an invoiced shipment: %d %s", r.status, r.body)
	}
	var list struct{ Items []map[string]any }
	_ = json.Unmarshal(h.get("/api/v1/invoices?shipment_id=SHP-B").body, &list)
	if len(list.Items) != 1 || list.Items[0]["total"] != inv["total"] {
		t.Fatalf("list %+v", list)
	}
	var tl struct{ Items []struct{ Kind, Type string } }
	_ = json.Unmarshal(h.get("/api/v1/shipments/SHP-B/timeline").body, &tl)
	seen := map[string]bool{}
	for _, it := range tl.Items {
		seen[it.Kind+" "+it.Type] = true
	}
	for _, want := range []string{"case case.opened", "workflow workflow.billing_held", "case case.resolved", "workflow workflow.billing_released", "workflow workflow.rated", "event invoice.ready"} {
		if !seen[want] {
			t.Fatalf("timeline lacks %s: %v", want, seen)
		}
	}
}

func TestRateQuote(t *testing.T) {
	t.Parallel()
	h := newHubWith(t, hubOptions{billing: billingEngine(t)})
	quote := func(body string) response {
		return h.do(http.MethodPost, "/api/v1/rates/quote", readKey, "application/json", []byte(body))
	}
	r := quote(`{"order_id":"Q","customer_id":"CUST-VIP","stops":[{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68}},` +
		`{"id":"S2","type":"delivery","location":{"lat":48.14,"lon":11.58}}],"distance_km":300}`)
	q := r.json(t)
	if r.status != http.StatusOK || q["card"] != "CUST-VIP" || q["subtotal"] != "357.00" || q["total"] != "392.70" {
		t.Fatalf("quote: %d %s", r.status, r.body)
	}
	r = quote(`{"order_id":"Q","customer_id":"C","accessorials":["tail_lift"],"stops":[{"id":"S1","type":"delivery","location":{"lat":50.11,"lon":8.68}}]}`)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "unpriced_accessorial") {
		t.Fatalf("unpriced accessorial: %d %s", r.status, r.body)
	}
	off := newHub(t)
	if r := off.do(http.MethodPost, "/api/v1/rates/quote", adminKey, "application/json", []byte(`{"order_id":"Q","customer_id":"C","stops":[]}`)); r.status != http.StatusServiceUnavailable {
		t.Fatalf("without rate cards: %d %s", r.status, r.body)
	}
}
