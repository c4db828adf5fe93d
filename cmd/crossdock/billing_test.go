package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/hubtest"
)

const billingConfig = `billing:
  currency: EUR
  tax_rate: "0.10"
  rating_wait: 1m
  rate_cards:
    - customer_id: "*"
      per_km: "1.20"
      per_stop: "25.00"
      minimum: "150.00"
      fuel_surcharge_pct: "8.5"
      accessorials: {liftgate: "75.00", detention_per_hour: "60.00", detention_free_minutes: 120}
`

func event(id, typ, subject string, at time.Time, data string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"tms","type":%q,"subject":%q,"time":%q,"data":%s}`,
		id, typ, subject, at.Format(time.RFC3339), data)
}

// TestDeliveryToCashSurvivesKill9 runs delivery to cash on the real binary:
// a departure invoices at once; a shipment without a departure is rated by
// its rating-wait timer, which must survive a SIGKILL (it is a row in the
// jobs table, not a goroutine).
func TestDeliveryToCashSurvivesKill9(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{Config: billingConfig})
	now := time.Now().UTC().Truncate(time.Second)
	order := `{"order_id":"SO-%[1]s","customer_id":"CUST-1","accessorials":["liftgate"],"stops":[` +
		`{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68}},` +
		`{"id":"S2","type":"delivery","location":{"lat":48.14,"lon":11.58}}]}`
	pod := `{"stop_id":"S2","signed_by":"A. Meyer","location":{"lat":48.14,"lon":11.58}}`
	batch := "[" + strings.Join([]string{
		event("o1", "order.released", "SHP-E1", now.Add(-3*time.Hour), fmt.Sprintf(order, "E1")),
		event("p1", "delivery.completed", "SHP-E1", now.Add(-2*time.Hour), pod),
		event("d1", "shipment.milestone", "SHP-E1", now.Add(-110*time.Minute), `{"code":"departed","stop_id":"S2"}`),
		event("o2", "order.released", "SHP-E2", now.Add(-time.Hour), fmt.Sprintf(order, "E2")),
		event("p2", "delivery.completed", "SHP-E2", now.Add(-50*time.Second), pod), // rating due 10 s from now
	}, ",") + "]"
	mustDo(t, h, http.MethodPost, "/api/v1/events", batch, http.StatusAccepted)

	var s struct {
		Status    string
		InvoiceID *string `json:"invoice_id"`
	}
	h.GetJSON("/api/v1/shipments/SHP-E1", &s)
	if s.Status != "invoiced" || s.InvoiceID == nil {
		t.Fatalf("departed shipment: %+v", s)
	}
	h.GetJSON("/api/v1/shipments/SHP-E2", &s)
	if s.Status != "delivered" {
		t.Fatalf("rated before its rating wait: %+v", s)
	}
	h.Kill()
	h.Restart()
	waitFor(t, 90*time.Second, "the rating-wait timer after the restart", func() bool {
		h.GetJSON("/api/v1/shipments/SHP-E2", &s)
		return s.Status == "invoiced"
	})
	var inv struct {
		ID, Total, Rule string
		Lines           []struct{ Code string }
	}
	body := mustDo(t, h, http.MethodGet, "/api/v1/invoices/"+*s.InvoiceID, "", http.StatusOK)
	if err := json.Unmarshal(body, &inv); err != nil || inv.Rule != "rating wait after the last proof of delivery" || len(inv.Lines) < 3 {
		t.Fatalf("invoice %s", body)
	}
	var list struct{ Items []struct{ ID string } }
	h.GetJSON("/api/v1/invoices", &list)
	year := now.Year()
	if len(list.Items) != 2 || list.Items[0].ID != fmt.Sprintf("INV-%d-000001", year) || list.Items[1].ID != fmt.Sprintf("INV-%d-000002", year) {
		t.Fatalf("gapless numbers: %+v", list)
	}
}
