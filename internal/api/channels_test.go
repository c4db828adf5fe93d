package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/api"
	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/signature"
)

const acmeKey = "acme-partner-key-0123456789"

// channelHub is a hub with one declared partner, acme, holding the
// contract's status mapping, an order mapping, a slow mapping and a CSV
// positions mapping.
func channelHub(t *testing.T, signing *config.Signing) *hub {
	t.Helper()
	acme := config.Partner{
		ID: "acme", Name: "ACME", Scopes: config.PartnerScopes, RateLimit: config.RateLimit{PerSecond: 1000, Burst: 1000},
		Signing: signing,
		Tables:  map[string]map[string]any{"codes": {"DEP": "departed", "ARR": "arrived"}},
		Inbound: []config.Mapping{
			{Name: "status", Timeout: config.Duration(time.Second), JQ: `{type: "shipment.milestone", id: .eventId, subject: .load, time: .ts,
				data: {code: (.code | code("codes")), stop_id: .stop}}`},
			{Name: "order", Timeout: config.Duration(time.Second), JQ: `{type: "order.released", id: .ref, subject: .ref, time: .ts,
				data: {order_id: .ref, customer_id: "CUST-7", stops: [.stops[] | {id, type, location: {id: .site}}]}}`},
			{Name: "slow", Timeout: config.Duration(20 * time.Millisecond), JQ: `def f: f; f`},
		},
		Files: []config.FileMapping{{Name: "positions", Delimiter: ";", Timeout: config.Duration(time.Second),
			JQ: `{type: "telemetry.position", id: "\(.truck)@\(.time)", subject: .truck, time: .time, data: {lat, lon}}`,
			Columns: []config.Column{
				{Name: "truck", Header: "Truck", Type: "string", Required: true},
				{Name: "time", Header: "Zeit", Type: "time", Required: true},
				{Name: "lat", Header: "Breite", Type: "number", Required: true},
				{Name: "lon", Header: "Länge", Type: "number", Required: true},
			}}},
	}
	return newHubWith(t, hubOptions{
		partners: []config.Partner{acme},
		keys:     []config.Key{{Name: "acme-key", SHA256: sha256hex(acmeKey), Partner: "acme"}},
	})
}

func TestInboundMapping(t *testing.T) {
	t.Parallel()
	h := channelHub(t, nil)
	post := func(mapping, body string) response {
		return h.do(http.MethodPost, "/api/v1/partners/acme/inbound/"+mapping, acmeKey, "application/json", []byte(body))
	}
	results(t, h.post("["+ev("o1", "order.released", "SHP-1", 0, orderData)+"]"))
	status := `{"eventId":"st-1","load":"SHP-1","ts":"` + at(10) + `","code":"DEP","stop":"S1"}`
	res := results(t, post("status", status))
	if res[0]["status"] != "accepted" || res[0]["source"] != "partner/acme" || res[0]["id"] != "st-1" {
		t.Fatalf("mapped event: %v", res)
	}
	if res := results(t, post("status", status)); res[0]["status"] != "duplicate" {
		t.Fatalf("same payload again: %v", res)
	}
	if v := h.do(http.MethodGet, "/api/v1/shipments/SHP-1", acmeKey, "", nil).json(t); v["status"] != "in_transit" {
		t.Fatalf("the partner reads the shipment it sent a status for: %v", v)
	}

	for _, c := range []struct {
		name, mapping, body string
		status              int
		detail              string
	}{
		{"not JSON", "status", `{"eventId":`, 400, "payload"},
		{"unknown code", "status", strings.Replace(status, "DEP", "XXX", 1), 422, `code table codes has no entry for \"XXX\"`},
		{"invalid event", "status", strings.NewReplacer(`"stop":"S1"`, `"stop":"S9"`, "st-1", "st-9").Replace(status), 422, "data.stop_id"},
		{"time limit", "slow", `{}`, 422, "time limit of 20ms exceeded"},
		{"no such mapping", "nope", `{}`, 404, "no inbound mapping"},
	} {
		r := post(c.mapping, c.body)
		p := r.json(t)
		if r.status != c.status || !strings.Contains(string(r.body), c.detail) || p["quarantine_id"] == nil {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	if r := h.do(http.MethodPost, "/api/v1/partners/other/inbound/status", acmeKey, "application/json", []byte(status)); r.status != http.StatusNotFound {
		t.Fatalf("another partner's endpoint: %d", r.status)
	}
	if r := h.do(http.MethodPost, "/api/v1/partners/acme/inbound/status", readKey, "application/json", []byte(status)); r.status != http.StatusForbidden {
		t.Fatalf("a read key: %d", r.status)
	}

	// A mapped order naming an unknown location is kept with the partner's
	// payload; once the location exists, replay runs the mapping again.
	order := `{"ref":"SHP-2","ts":"` + at(0) + `","stops":[{"id":"S1","type":"pickup","site":"DC-1"},{"id":"S2","type":"delivery","site":"DC-2"}]}`
	if r := h.do(http.MethodPut, "/api/v1/locations/DC-1", adminKey, "application/json", []byte(`{"lat":50.1,"lon":8.6}`)); r.status != 200 {
		t.Fatal(r.status)
	}
	r := post("order", order)
	p := r.json(t)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "mapping order, event 1") {
		t.Fatalf("unknown location: %d %s", r.status, r.body)
	}
	q := h.get("/api/v1/quarantine/" + p["quarantine_id"].(string)).json(t)
	if q["content_type"] != "application/vnd.crossdock.inbound+json; partner=acme; mapping=order" || !strings.Contains(mustJSON(t, q["payload"]), `"site":"DC-2"`) {
		t.Fatalf("quarantined: %v", q)
	}
	if r := h.do(http.MethodPut, "/api/v1/locations/DC-2", adminKey, "application/json", []byte(`{"lat":48.1,"lon":11.5}`)); r.status != 200 {
		t.Fatal(r.status)
	}
	rp := h.do(http.MethodPost, "/api/v1/quarantine/"+p["quarantine_id"].(string)+"/replay", adminKey, "", nil).json(t)
	if rp["state"] != "accepted" {
		t.Fatalf("replay: %v", rp)
	}
	if r := h.do(http.MethodGet, "/api/v1/shipments/SHP-2", acmeKey, "", nil); r.status != http.StatusOK {
		t.Fatalf("a replayed partner payload is the partner's: %d %s", r.status, r.body)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInboundSignature(t *testing.T) {
	t.Parallel()
	const secret = "webhook-secret-0123456789"
	h := channelHub(t, &config.Signing{Secret: secret, Header: "X-Crossdock-Signature", Window: config.Duration(5 * time.Minute)})
	results(t, h.post("["+ev("o1", "order.released", "SHP-1", 0, orderData)+"]"))
	body := []byte(`{"eventId":"st-1","load":"SHP-1","ts":"` + at(10) + `","code":"ARR","stop":"S2"}`)
	send := func(sig string) response {
		return h.do(http.MethodPost, "/api/v1/partners/acme/inbound/status", acmeKey, "application/json", body, "X-Crossdock-Signature", sig)
	}
	for _, c := range []struct{ name, sig, reason string }{
		{"unsigned", "", "missing"},
		{"old", signature.Sign(secret, time.Now().Add(-10*time.Minute), body), "expired"},
		{"wrong secret", signature.Sign("not-the-secret-0123456789", time.Now(), body), "mismatch"},
		{"garbage", "sig", "malformed"},
	} {
		r := send(c.sig)
		if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), c.reason) || strings.Contains(string(r.body), secret) {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	if res := results(t, send(signature.Sign(secret, time.Now(), body))); res[0]["status"] != "accepted" {
		t.Fatalf("signed: %v", res)
	}
	m := string(h.do(http.MethodGet, "/metrics", "", "", nil).body)
	if !strings.Contains(m, `crossdock_signature_failures_total{partner="acme",reason="expired"} 1`) {
		t.Fatalf("signature failures are counted:\n%s", grepLines(m, "signature"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestEDI(t *testing.T) {
	t.Parallel()
	h := channelHub(t, nil)
	read := func(name string) []byte {
		b, err := os.ReadFile("../x12/testdata/samples/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	post := func(body []byte) response {
		return h.do(http.MethodPost, "/api/v1/partners/acme/edi", acmeKey, "application/edi-x12", body)
	}
	for id, loc := range map[string]string{"USLGBUPIC": `{"lat":33.79,"lon":-118.23}`} {
		if r := h.do(http.MethodPut, "/api/v1/locations/"+id, adminKey, "application/json", []byte(loc)); r.status != 200 {
			t.Fatal(r.status, string(r.body))
		}
	}
	var out struct {
		Results []struct {
			ID, Status   string
			Events       []map[string]any
			QuarantineID string `json:"quarantine_id"`
			Errors       []map[string]any
		}
		Ack string
	}
	// The 204's second stop names a location crossdock does not know: the
	// order is kept, the set still acknowledged (it is well-formed X12).
	r := post(read("204_sudu_tender1.x12"))
	if r.status != http.StatusAccepted || json.Unmarshal(r.body, &out) != nil {
		t.Fatalf("204: %d %s", r.status, r.body)
	}
	if len(out.Results) != 1 || out.Results[0].Events[0]["status"] != "rejected" || !strings.HasPrefix(out.Ack, "ISA") || !strings.Contains(out.Ack, "AK5*A") {
		t.Fatalf("204 results: %s", r.body)
	}
	if !strings.Contains(mustJSON(t, out.Results[0].Events[0]["errors"]), "data.stops[1].location.id") {
		t.Fatalf("the unknown stop location is named: %s", r.body)
	}

	r = post(read("214_1edisource_iea_fixed.x12"))
	if r.status != http.StatusAccepted || json.Unmarshal(r.body, &out) != nil {
		t.Fatalf("214: %d %s", r.status, r.body)
	}
	set := out.Results[0]
	if set.ID != "214" || set.Status != "accepted_with_errors" || set.QuarantineID == "" || len(set.Errors) == 0 || !strings.Contains(out.Ack, "AK5*E") {
		t.Fatalf("214 with an unmapped AT7 code: %s", r.body)
	}
	accepted := 0
	for _, e := range set.Events {
		if e["status"] == "accepted" {
			accepted++
			if !strings.HasPrefix(e["source"].(string), "partner/acme/x12") {
				t.Fatalf("EDI events are the partner's: %v", e)
			}
		}
	}
	if accepted == 0 {
		t.Fatalf("the mapped statuses apply: %s", r.body)
	}
	if r := post(read("214_1edisource_iea_fixed.x12")); !strings.Contains(string(r.body), `"status":"duplicate"`) {
		t.Fatalf("the same interchange again is duplicate: %s", r.body)
	}

	r = post(read("214_1edisource.x12"))
	p := r.json(t)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(p["detail"].(string), "segment 31 (IEA) element 2") || p["quarantine_id"] == nil {
		t.Fatalf("control number mismatch: %d %s", r.status, r.body)
	}
}

func TestFileImport(t *testing.T) {
	t.Parallel()
	h := channelHub(t, nil)
	csv := "\ufeffTruck;Zeit;Breite;Länge;Fahrer\r\n" +
		"TRK-1;" + at(1) + ";50.1;8.6;Anna\r\n" +
		"TRK-1;" + at(2) + ";50,2;8.6;Anna\r\n" +
		"TRK-2;" + at(2) + ";95;8.6;\"Bob\nSmith\"\r\n" +
		"TRK-2;" + at(3) + ";50.3;8.7;Bob\r\n"
	post := func(body string) response {
		return h.do(http.MethodPost, "/api/v1/partners/acme/files/positions", acmeKey, "text/csv", []byte(body))
	}
	var out api.FileResponse
	r := post(csv)
	if r.status != http.StatusAccepted || json.Unmarshal(r.body, &out) != nil {
		t.Fatalf("file: %d %s", r.status, r.body)
	}
	if out.Rows != 4 || out.Good != 2 || out.Bad != 2 || out.Accepted != 2 || len(out.Errors) != 2 {
		t.Fatalf("counts: %+v", out)
	}
	if e := out.Errors[0]; e.Row != 2 || e.Line != 3 || e.Column != "lat" || !strings.Contains(e.Reason, "use . as the decimal separator") || e.QuarantineID == "" {
		t.Fatalf("bad cell: %+v", e)
	}
	if e := out.Errors[1]; e.Row != 3 || !strings.Contains(e.Reason, "lat") {
		t.Fatalf("invalid event: %+v", e)
	}
	q := h.get("/api/v1/quarantine/" + out.Errors[0].QuarantineID).json(t)
	if !strings.HasPrefix(q["payload"].(string), "Truck;Zeit;Breite;Länge;Fahrer\n") || q["content_type"] != "text/csv; partner=acme; mapping=positions" {
		t.Fatalf("a bad row is kept as a replayable two-line CSV: %v", q)
	}
	if r := post(csv); !strings.Contains(string(r.body), `"duplicate":2`) {
		t.Fatalf("the same file again: %s", r.body)
	}
	r = post("Truck;Zeit\nTRK-1;" + at(1) + "\n")
	if p := r.json(t); r.status != http.StatusUnprocessableEntity || !strings.Contains(p["detail"].(string), `missing required columns: lat ("Breite"), lon ("Länge")`) || p["quarantine_id"] == nil {
		t.Fatalf("missing columns: %d %s", r.status, r.body)
	}
	if v := h.get("/api/v1/vehicles/TRK-2").json(t); v["position"].(map[string]any)["lat"] != 50.3 {
		t.Fatalf("rows applied: %v", v)
	}
}
