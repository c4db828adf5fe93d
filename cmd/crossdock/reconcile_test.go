package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/hubtest"
	"github.com/crossdockhq/crossdock/internal/store/postgres/pgtest"
)

// ledger is an ERP behind a rest connector with a reconcile_url: it books
// each invoice.ready it is sent under our invoice id and answers GET
// /invoices/{id} with what it holds (404 when nothing). A test can edit
// or delete a booked invoice, and make it refuse one shipment's invoices.
type ledger struct {
	mu     sync.Mutex
	docs   map[string]map[string]string // invoice id → number, total, currency
	refuse string                       // a shipment whose invoices get 503
	n      int
}

func newLedger(t *testing.T) (*ledger, *httptest.Server) {
	l := &ledger{docs: map[string]map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			id := strings.TrimPrefix(r.URL.Path, "/invoices/")
			d, ok := l.docs[id]
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			_ = json.NewEncoder(w).Encode(d)
			return
		}
		var ev struct {
			Data struct {
				ID         string `json:"id"`
				ShipmentID string `json:"shipment_id"`
				Total      string `json:"total"`
				Currency   string `json:"currency"`
			} `json:"data"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if ev.Data.ShipmentID == l.refuse {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if d, ok := l.docs[ev.Data.ID]; ok { // a repeat: answer what was booked
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]string{"id": d["number"]})
			return
		}
		l.n++
		number := fmt.Sprintf("ERP-%04d", l.n)
		l.docs[ev.Data.ID] = map[string]string{"number": number, "total": ev.Data.Total, "currency": ev.Data.Currency}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]string{"id": number})
	}))
	t.Cleanup(srv.Close)
	return l, srv
}

func (l *ledger) edit(id string, f func(d map[string]string)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l.docs[id])
}

func (l *ledger) drop(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.docs, id)
}

func (l *ledger) holds(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.docs[id]
	return ok
}

func reconcileConfig(erp string, billing bool) string {
	c := `connectors:
  - name: erp
    kind: rest
    url: ` + erp + `/invoices
    events: [invoice.ready]
    retry: {max_attempts: 50, initial: 200ms, max: 1s}
    reconcile_url: ` + erp + `/invoices/{invoice_id}
reconciliation:
  schedule: "@daily"
  stuck_ready_after: 2s
`
	if billing {
		c += billingConfig + fuelCardPartner
	}
	return c
}

// fuelCardPartner imports a fuel-card provider's CSV transactions as
// fuel.purchased events.
const fuelCardPartner = `partners:
  - id: fuelcard
    name: Fuel card provider
    files:
      - name: transactions
        jq: |
          {type: "fuel.purchased", id: .txn, subject: .truck, time: .time,
           data: {liters: .liters, amount: .amount, currency: .currency, station: .station, lat: .lat, lon: .lon}}
        columns:
          - {name: txn, header: Transaction, required: true}
          - {name: truck, header: Vehicle, required: true}
          - {name: time, header: Booked, type: time, layout: "2006-01-02T15:04:05Z07:00", required: true}
          - {name: liters, header: Litres, type: number, required: true}
          - {name: amount, header: Amount, type: decimal, required: true}
          - {name: currency, header: Currency, required: true}
          - {name: station, header: Station}
          - {name: lat, header: Lat, type: number}
          - {name: lon, header: Lon, type: number}
`

// apiFinding is a finding as the API shows it.
type apiFinding struct {
	ID, Code, Detail string
	ShipmentID       string `json:"shipment_id"`
	InvoiceID        string `json:"invoice_id"`
	VehicleID        string `json:"vehicle_id"`
	Data             map[string]any
}

// runRec starts a run over [from, to) and waits for it to end.
func runRec(t *testing.T, h *hubtest.Hub, kind string, from, to time.Time) (status string, findings []apiFinding) {
	t.Helper()
	body := fmt.Sprintf(`{"kind":%q,"from":%q,"to":%q}`, kind, from.Format(time.RFC3339), to.Format(time.RFC3339))
	var started struct{ ID, Status string }
	if err := json.Unmarshal(mustDo(t, h, http.MethodPost, "/api/v1/reconciliations", body, http.StatusAccepted), &started); err != nil || started.ID == "" {
		t.Fatalf("start %s: %+v %v", kind, started, err)
	}
	var run struct {
		Status, Error string
		Findings      []apiFinding
	}
	waitFor(t, 60*time.Second, "the "+kind+" run", func() bool {
		h.GetJSON("/api/v1/reconciliations/"+started.ID, &run)
		return run.Status != "running"
	})
	if run.Status != "done" {
		t.Fatalf("%s run %s: %s", kind, run.Status, run.Error)
	}
	return run.Status, run.Findings
}

func codesOf(fs []apiFinding) []string {
	var out []string
	for _, f := range fs {
		subject := f.ShipmentID
		if subject == "" {
			subject = f.VehicleID
		}
		out = append(out, f.Code+" "+subject)
	}
	slices.Sort(out)
	return out
}

// TestReconciliation builds each discrepancy for real on the binary — an
// invoice edited and one deleted in the ERP, one the ERP will not take,
// a shipment delivered before billing was configured, buffered positions
// after an invoice, two PODs for one stop, a pickup without departure, a
// fuel purchase far from its truck — and checks that runs find exactly
// those, open non-blocking cases, and that a finding can be acted on.
func TestReconciliation(t *testing.T) {
	t.Parallel()
	reconciliation(t, "")
}

func TestIntegrationReconciliationPostgres(t *testing.T) {
	u := pgtest.FreshSchema(t, "PostgreSQL reconciliation test")
	t.Parallel()
	reconciliation(t, u)
}

func reconciliation(t *testing.T, databaseURL string) {
	erp, srv := newLedger(t)
	h := hubtest.Start(t, hubtest.Options{Config: reconcileConfig(srv.URL, false), DatabaseURL: databaseURL})
	now := time.Now().UTC().Truncate(time.Second)
	order := func(id, s2 string) string {
		return fmt.Sprintf(`{"order_id":"SO-%s","customer_id":"CUST-1","stops":[`+
			`{"id":"S1","type":"pickup","location":{"lat":50.0,"lon":8.0}},`+
			`{"id":"S2","type":"delivery","location":{"lat":50.0,"lon":%s}}]}`, id, s2)
	}
	pod := func(lon string) string {
		return `{"stop_id":"S2","signed_by":"A. Meyer","location":{"lat":50.0,"lon":` + lon + `}}`
	}
	// A whole trip by milestones: order, both departures, POD.
	trip := func(id string, at time.Time) []string {
		return []string{
			event("o-"+id, "order.released", id, at.Add(-time.Hour), order(id, "8.5")),
			event("d1-"+id, "shipment.milestone", id, at.Add(-50*time.Minute), `{"code":"departed","stop_id":"S1"}`),
			event("p-"+id, "delivery.completed", id, at, pod("8.5")),
			event("d2-"+id, "shipment.milestone", id, at.Add(5*time.Minute), `{"code":"departed","stop_id":"S2"}`),
		}
	}
	post := func(evs ...string) {
		t.Helper()
		mustDo(t, h, http.MethodPost, "/api/v1/events", "["+strings.Join(evs, ",")+"]", http.StatusAccepted)
	}

	// Delivered while the hub did not bill: never invoiced.
	post(trip("SHP-R7", now.Add(-3*time.Hour))...)
	h.Stop(10 * time.Second)
	h.SetConfig(reconcileConfig(srv.URL, true))
	h.Restart()

	erp.mu.Lock()
	erp.refuse = "SHP-R4"
	erp.mu.Unlock()
	for _, id := range []string{"SHP-R1", "SHP-R2", "SHP-R3", "SHP-R4"} {
		post(trip(id, now.Add(-2*time.Hour))...)
	}
	invoiceOf := func(id string) (string, string) {
		var l struct{ Items []struct{ ID, Status string } }
		h.GetJSON("/api/v1/invoices?shipment_id="+id, &l)
		if len(l.Items) != 1 {
			return "", ""
		}
		return l.Items[0].ID, l.Items[0].Status
	}
	inv := map[string]string{}
	waitFor(t, 30*time.Second, "three invoices posted, one held by the ERP", func() bool {
		for _, id := range []string{"SHP-R1", "SHP-R2", "SHP-R3", "SHP-R4"} {
			n, st := invoiceOf(id)
			if n == "" || (st != "posted") != (id == "SHP-R4") {
				return false
			}
			inv[id] = n
		}
		return true
	})
	erp.edit(inv["SHP-R2"], func(d map[string]string) {
		x, _ := new(big.Rat).SetString(d["total"])
		d["total"] = x.Add(x, big.NewRat(10, 1)).FloatString(2)
	})
	erp.drop(inv["SHP-R3"])
	time.Sleep(2500 * time.Millisecond) // past stuck_ready_after for SHP-R4's invoice

	from, to := now.Add(-6*time.Hour), now.Add(time.Hour)
	_, fs := runRec(t, h, "invoices", from, to)
	if got, want := codesOf(fs), []string{"amount_mismatch SHP-R2", "missing_in_erp SHP-R3", "stuck_ready SHP-R4"}; !slices.Equal(got, want) {
		t.Fatalf("invoice findings %q, want %q", got, want)
	}
	for _, f := range fs {
		if f.InvoiceID != inv[f.ShipmentID] || f.Detail == "" {
			t.Errorf("finding %+v does not name invoice %s", f, inv[f.ShipmentID])
		}
		if f.Code == "amount_mismatch" && f.Data["difference"] != "10.00" {
			t.Errorf("amount_mismatch data %v, want difference 10.00", f.Data)
		}
	}

	// The finding opened a case that does not hold billing.
	var cases struct {
		Items []struct {
			Code, Status string
			Blocking     bool
		}
	}
	h.GetJSON("/api/v1/cases?shipment_id=SHP-R2", &cases)
	if len(cases.Items) != 1 || cases.Items[0].Code != "reconciliation_amount_mismatch" || cases.Items[0].Status != "open" || cases.Items[0].Blocking {
		t.Fatalf("SHP-R2 cases %+v, want one open non-blocking reconciliation_amount_mismatch", cases.Items)
	}

	// Act on missing_in_erp: deliver the invoice again; the next run
	// finds it in the ERP and opens no second case for SHP-R2.
	var runs struct{ Items []struct{ ID string } }
	h.GetJSON("/api/v1/reconciliations?kind=invoices", &runs)
	missing := fs[slices.IndexFunc(fs, func(f apiFinding) bool { return f.Code == "missing_in_erp" })]
	mustDo(t, h, http.MethodPost, "/api/v1/reconciliations/"+runs.Items[0].ID+"/findings/"+missing.ID+"/redeliver", "", http.StatusAccepted)
	waitFor(t, 30*time.Second, "the ERP to hold the redelivered invoice", func() bool { return erp.holds(inv["SHP-R3"]) })
	_, fs = runRec(t, h, "invoices", from, to)
	if got, want := codesOf(fs), []string{"amount_mismatch SHP-R2", "stuck_ready SHP-R4"}; !slices.Equal(got, want) {
		t.Fatalf("after the redelivery: invoice findings %q, want %q", got, want)
	}
	h.GetJSON("/api/v1/cases?shipment_id=SHP-R2", &cases)
	if len(cases.Items) != 1 {
		t.Fatalf("the second run opened another case: %+v", cases.Items)
	}

	metrics := string(mustDo(t, h, http.MethodGet, "/metrics", "", http.StatusOK))
	for _, want := range []string{`crossdock_reconciliation_runs_total{kind="invoices",status="done"} 2`,
		`crossdock_reconciliation_findings_total{code="amount_mismatch",kind="invoices"} 2`,
		`crossdock_reconciliation_findings_total{code="missing_in_erp",kind="invoices"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Shipments: two PODs for one stop; a pickup without departure; a
	// device that uploads its buffered positions after the invoice.
	post(trip("SHP-R5", now.Add(-2*time.Hour))...)
	post(event("p2-SHP-R5", "delivery.completed", "SHP-R5", now.Add(-119*time.Minute), pod("8.5")))
	post(
		event("o-SHP-R8", "order.released", "SHP-R8", now.Add(-3*time.Hour), order("SHP-R8", "8.5")),
		event("p-SHP-R8", "delivery.completed", "SHP-R8", now.Add(-2*time.Hour), pod("8.5")),
		event("d2-SHP-R8", "shipment.milestone", "SHP-R8", now.Add(-115*time.Minute), `{"code":"departed","stop_id":"S2"}`),
	)
	pos := func(id string, at time.Time, lon float64) string {
		return event(fmt.Sprintf("pos-%s-%d", id, at.Unix()), "telemetry.position", id, at, fmt.Sprintf(`{"lat":50.0,"lon":%g}`, lon))
	}
	post(
		event("o-SHP-R6", "order.released", "SHP-R6", now.Add(-4*time.Hour), order("SHP-R6", "10.0")),
		event("a-SHP-R6", "route.assigned", "SHP-R6", now.Add(-4*time.Hour), `{"vehicle_id":"TRK-R6","driver_id":"DRV-6"}`),
	)
	post(pos("TRK-R6", now.Add(-3*time.Hour), 8.0), pos("TRK-R6", now.Add(-175*time.Minute), 8.05), pos("TRK-R6", now.Add(-170*time.Minute), 8.1))
	post(event("p-SHP-R6", "delivery.completed", "SHP-R6", now.Add(-2*time.Hour), pod("10.0")))
	waitFor(t, 10*time.Second, "SHP-R6 invoiced on its short measured distance", func() bool { n, _ := invoiceOf("SHP-R6"); return n != "" })
	post(pos("TRK-R6", now.Add(-140*time.Minute), 9.0), pos("TRK-R6", now.Add(-100*time.Minute), 10.0), pos("TRK-R6", now.Add(-90*time.Minute), 10.05))

	_, fs = runRec(t, h, "shipments", from, to)
	want := []string{"delivered_not_invoiced SHP-R7", "distance_changed_after_invoice SHP-R6", "duplicate_pod SHP-R5", "inferred_departure SHP-R8"}
	if got := codesOf(fs); !slices.Equal(got, want) {
		t.Fatalf("shipment findings %q, want %q", got, want)
	}
	for _, f := range fs {
		if f.Code == "distance_changed_after_invoice" {
			adj, _ := f.Data["proposed_adjustment"].(string)
			if billed, _ := f.Data["billed_km"].(float64); billed > 10 || adj == "" || strings.HasPrefix(adj, "-") || adj == "0.00" {
				t.Errorf("distance finding %v: want a debit for the km driven after the invoice", f.Data)
			}
		}
	}

	// Fuel: a purchase 220 km from where the truck was, and one beside it.
	post(pos("TRK-F", now.Add(-40*time.Minute), 8.0), pos("TRK-F", now.Add(-30*time.Minute), 8.01), pos("TRK-F", now.Add(-20*time.Minute), 8.02))
	// The fuel-card provider's export, through its CSV file mapping.
	var key struct{ Key string }
	if err := json.Unmarshal(mustDo(t, h, http.MethodPost, "/api/v1/partners/fuelcard/keys", "", http.StatusCreated), &key); err != nil {
		t.Fatal(err)
	}
	csv := "Transaction,Vehicle,Booked,Litres,Amount,Currency,Station,Lat,Lon\n" +
		"fuel-1,TRK-F," + now.Add(-30*time.Minute).Format(time.RFC3339) + ",310.5,512.33,EUR,Munich Nord,48.14,11.58\n" +
		"fuel-2,TRK-F," + now.Add(-21*time.Minute).Format(time.RFC3339) + ",50,82.50,EUR,Frankfurt West,50.0,8.02\n"
	status, b, err := h.DoAs(t.Context(), key.Key, http.MethodPost, "/api/v1/partners/fuelcard/files/transactions", "text/csv", []byte(csv))
	if err != nil || status != http.StatusAccepted || !strings.Contains(string(b), `"accepted":2`) {
		t.Fatalf("fuel card file: %d %v %s", status, err, b)
	}
	_, fs = runRec(t, h, "fuel", from, to)
	if got := codesOf(fs); !slices.Equal(got, []string{"fuel_far_from_vehicle TRK-F"}) || !strings.Contains(fs[0].Detail, "Munich Nord") {
		t.Fatalf("fuel findings %q (%+v), want fuel_far_from_vehicle TRK-F for Munich Nord", got, fs)
	}

	// The CLI runs one and prints the findings as CSV.
	var out, errOut bytes.Buffer
	code := run([]string{"reconcile", "-url", h.URL, "-key", hubtest.AdminKey, "-kind", "invoices",
		"-from", from.Format(time.RFC3339), "-to", to.Format(time.RFC3339), "-format", "csv", "-q"}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "amount_mismatch,SHP-R2,"+inv["SHP-R2"]) || strings.Count(out.String(), "\n") != 3 {
		t.Fatalf("crossdock reconcile exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
}

// TestReconciliationRefusals checks the API's answers to bad requests and
// keys without the scope.
func TestReconciliationRefusals(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{})
	tests := []struct {
		name, body string
		want       int
		field      string
	}{
		{"unknown kind", `{"kind":"payroll","from":"2026-11-01T00:00:00Z","to":"2026-11-02T00:00:00Z"}`, http.StatusUnprocessableEntity, "kind"},
		{"to before from", `{"kind":"fuel","from":"2026-11-02T00:00:00Z","to":"2026-11-01T00:00:00Z"}`, http.StatusUnprocessableEntity, "to"},
		{"over a year", `{"kind":"fuel","from":"2024-01-01T00:00:00Z","to":"2026-01-01T00:00:00Z"}`, http.StatusUnprocessableEntity, "to"},
		{"no from", `{"kind":"fuel","to":"2026-01-01T00:00:00Z"}`, http.StatusUnprocessableEntity, "from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustDo(t, h, http.MethodPost, "/api/v1/reconciliations", tt.body, tt.want)
			if !strings.Contains(string(b), tt.field) {
				t.Errorf("problem %s does not name %s", b, tt.field)
			}
		})
	}
	mustDo(t, h, http.MethodGet, "/api/v1/reconciliations/0190c0de-0000-7000-8000-000000000000", "", http.StatusNotFound)
	var p struct{ Key string }
	if err := json.Unmarshal(mustDo(t, h, http.MethodPost, "/api/v1/partners", `{"id":"acme","name":"ACME","scopes":["events:write","read"]}`, http.StatusCreated), &p); err != nil {
		t.Fatal(err)
	}
	status, b, _ := h.DoAs(t.Context(), p.Key, http.MethodGet, "/api/v1/reconciliations", "", nil)
	if status != http.StatusForbidden {
		t.Errorf("a partner's key (no finance, no ops) listed runs: %d %s", status, b)
	}
}

// TestReconciliationSurvivesKill9 kills the hub while a run waits on the
// ERP: the acknowledged run is not lost — after the restart a node takes
// it over once its lease ends and finishes it — and its finding and case
// exist once.
func TestReconciliationSurvivesKill9(t *testing.T) {
	t.Parallel()
	erp, srv := newLedger(t)
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			select {
			case started <- struct{}{}:
				<-release // the first lookup hangs until the hub is dead
			default:
			}
		}
		srv.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(gate.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	h := hubtest.Start(t, hubtest.Options{Config: reconcileConfig(gate.URL, true)})
	now := time.Now().UTC().Truncate(time.Second)
	order := `{"order_id":"SO-K","customer_id":"CUST-1","stops":[{"id":"S1","type":"pickup","location":{"lat":50.0,"lon":8.0}},` +
		`{"id":"S2","type":"delivery","location":{"lat":50.0,"lon":8.5}}]}`
	mustDo(t, h, http.MethodPost, "/api/v1/events", "["+strings.Join([]string{
		event("o-K1", "order.released", "SHP-K1", now.Add(-3*time.Hour), order),
		event("d1-K1", "shipment.milestone", "SHP-K1", now.Add(-170*time.Minute), `{"code":"departed","stop_id":"S1"}`),
		event("p-K1", "delivery.completed", "SHP-K1", now.Add(-2*time.Hour), `{"stop_id":"S2","signed_by":"K","location":{"lat":50.0,"lon":8.5}}`),
		event("d2-K1", "shipment.milestone", "SHP-K1", now.Add(-115*time.Minute), `{"code":"departed","stop_id":"S2"}`),
	}, ",")+"]", http.StatusAccepted)
	var id string
	waitFor(t, 30*time.Second, "SHP-K1's invoice posted", func() bool {
		var l struct{ Items []struct{ ID, Status string } }
		h.GetJSON("/api/v1/invoices?shipment_id=SHP-K1", &l)
		if len(l.Items) == 1 && l.Items[0].Status == "posted" {
			id = l.Items[0].ID
		}
		return id != ""
	})
	erp.edit(id, func(d map[string]string) { d["total"] = "1.00" })

	var run struct{ ID, Status string }
	body := fmt.Sprintf(`{"kind":"invoices","from":%q,"to":%q}`, now.Add(-6*time.Hour).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339))
	if err := json.Unmarshal(mustDo(t, h, http.MethodPost, "/api/v1/reconciliations", body, http.StatusAccepted), &run); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the run never looked the invoice up")
	}
	h.Kill()
	close(release)
	h.Restart()
	var got struct {
		Status   string
		Findings []apiFinding
	}
	waitFor(t, 3*time.Minute, "the run taken over after the restart", func() bool {
		h.GetJSON("/api/v1/reconciliations/"+run.ID, &got)
		return got.Status != "running"
	})
	if got.Status != "done" || len(got.Findings) != 1 || got.Findings[0].Code != "amount_mismatch" {
		t.Fatalf("run after kill -9: %+v", got)
	}
	var cases struct{ Items []struct{ Code string } }
	h.GetJSON("/api/v1/cases?shipment_id=SHP-K1", &cases)
	if len(cases.Items) != 1 || cases.Items[0].Code != "reconciliation_amount_mismatch" {
		t.Fatalf("cases after kill -9: %+v", cases.Items)
	}
}
