package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/hubtest"
)

// outage is a TCP proxy in front of a real server that can be cut off:
// the ERP going down and coming back, as the hub sees it.
type outage struct {
	ln     net.Listener
	target string
	down   atomic.Bool
	mu     sync.Mutex
	conns  map[net.Conn]bool
}

func newOutage(t *testing.T, target string) *outage {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &outage{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go o.serve()
	t.Cleanup(func() { _ = ln.Close(); o.cut() })
	return o
}

func (o *outage) serve() {
	for {
		c, err := o.ln.Accept()
		if err != nil {
			return
		}
		if o.down.Load() {
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", o.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		o.mu.Lock()
		o.conns[c], o.conns[up] = true, true
		o.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
		go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
	}
}

// cut takes the ERP down: new connections are refused, open ones dropped.
func (o *outage) cut() {
	o.down.Store(true)
	o.mu.Lock()
	defer o.mu.Unlock()
	for c := range o.conns {
		_ = c.Close()
	}
	o.conns = map[net.Conn]bool{}
}

// tryton calls a real Tryton's JSON-RPC to check what the hub posted.
type tryton struct {
	t         *testing.T
	url, auth string
	id        int
}

func loginTryton(t *testing.T, u, user, pw string) *tryton {
	tr := &tryton{t: t, url: u}
	var res []any
	tr.call("common.db.login", []any{user, map[string]string{"password": pw}}, &res)
	if len(res) != 2 {
		t.Fatalf("tryton login: %v", res)
	}
	tr.auth = "Session " + base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%s:%v:%v", user, res[0], res[1])))
	return tr
}

func (tr *tryton) call(method string, params []any, out any) {
	tr.t.Helper()
	tr.id++
	body, _ := json.Marshal(map[string]any{"id": tr.id, "method": method, "params": params})
	req, _ := http.NewRequest(http.MethodPost, tr.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tr.auth != "" {
		req.Header.Set("Authorization", tr.auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tr.t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		Result json.RawMessage
		Error  any
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || ans.Error != nil {
		tr.t.Fatalf("tryton %s: %v %v", method, err, ans.Error)
	}
	if err := json.Unmarshal(ans.Result, out); err != nil {
		tr.t.Fatalf("tryton %s: %s: %v", method, ans.Result, err)
	}
}

// TestIntegrationTrytonOutageAndKill9: the ERP is down while shipments
// are invoiced; the hub is killed while it waits; once Tryton is back,
// every invoice is posted there exactly once, and the hub answers the
// customer's credit from it.
func TestIntegrationTrytonOutageAndKill9(t *testing.T) {
	u, user, pw := os.Getenv("CROSSDOCK_TEST_TRYTON_URL"), os.Getenv("CROSSDOCK_TEST_TRYTON_USER"), os.Getenv("CROSSDOCK_TEST_TRYTON_PASSWORD")
	if u == "" {
		t.Skip("CROSSDOCK_TEST_TRYTON_URL not set: the hub against a real Tryton is skipped (.ci/tryton/start runs one)")
	}
	t.Parallel()
	erp, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newOutage(t, erp.Host)
	proxy.cut()
	// Each run posts under its own prefix: Tryton keeps earlier runs'
	// invoices, and the connector finds an invoice by its id.
	prefix := "T" + strings.ToUpper(strconv.FormatInt(time.Now().UnixNano()/1e6%1e10, 36))
	cfg := billingConfig + "  invoice_prefix: " + prefix + "\n" + fmt.Sprintf(`connectors:
  - name: ledger
    kind: tryton
    url: http://%s%s
    username: %s
    password_env: CROSSDOCK_TEST_TRYTON_PASSWORD
    events: [invoice.ready]
    retry: {max_attempts: 50, initial: 100ms, max: 1s}
`, proxy.ln.Addr(), erp.Path, user)
	h := hubtest.Start(t, hubtest.Options{Config: cfg, Env: []string{"CROSSDOCK_TEST_TRYTON_PASSWORD=" + pw}})
	const n = 4
	deliverShipments(t, h, n)
	waitFor(t, 30*time.Second, "invoices waiting for the ERP", func() bool {
		var l struct{ Items []struct{ Attempts int } }
		h.GetJSON("/api/v1/deliveries?state=pending&connector=ledger", &l)
		return len(l.Items) == n && l.Items[0].Attempts > 0
	})
	mustDo(t, h, http.MethodGet, "/api/v1/customers/CUST-1/credit", "", http.StatusServiceUnavailable)
	h.Kill()
	proxy.down.Store(false)
	h.Restart()
	var invs struct {
		Items []struct {
			ID     string
			Status string
			Total  string
			ERPRef *string `json:"erp_ref"`
		}
	}
	waitFor(t, 90*time.Second, "every invoice posted in Tryton", func() bool {
		h.GetJSON("/api/v1/invoices?limit=100", &invs)
		posted := 0
		for _, i := range invs.Items {
			if i.Status == "posted" {
				posted++
			}
		}
		return len(invs.Items) == n && posted == n
	})
	tr := loginTryton(t, u, user, pw)
	for _, inv := range invs.Items {
		var found []struct {
			Number      string
			State       string
			TotalAmount struct{ Decimal string } `json:"total_amount"`
		}
		tr.call("model.account.invoice.search_read", []any{[]any{[]any{"reference", "=", inv.ID}}, 0, nil, nil,
			[]string{"number", "state", "total_amount"}, map[string]any{}}, &found)
		if len(found) != 1 {
			t.Fatalf("Tryton holds %d invoices with reference %s, want 1", len(found), inv.ID)
		}
		if f := found[0]; f.State != "posted" || inv.ERPRef == nil || *inv.ERPRef != f.Number || f.TotalAmount.Decimal != inv.Total {
			t.Errorf("%s: Tryton has %+v; the hub says %s %v total %s", inv.ID, f, inv.Status, inv.ERPRef, inv.Total)
		}
	}
	var credit struct {
		Balance, Currency, Source string
		Stale                     bool
	}
	if code := h.GetJSON("/api/v1/customers/CUST-1/credit", &credit); code != http.StatusOK || credit.Source != "ledger" || credit.Stale || credit.Currency != "EUR" {
		t.Fatalf("credit from Tryton: %d %+v", code, credit)
	}
	if b, err := strconv.ParseFloat(credit.Balance, 64); err != nil || b <= 0 {
		t.Fatalf("CUST-1 owes the posted invoices: balance %q", credit.Balance)
	}
	// Reconciled against Tryton — one batched lookup, and a listing of the
	// documents under this run's prefix — the hub and the ERP agree.
	now := time.Now().UTC()
	if _, fs := runRec(t, h, "invoices", now.Add(-time.Hour), now.Add(time.Hour)); len(fs) != 0 {
		t.Fatalf("reconciliation against Tryton found %+v", fs)
	}
	var runs struct{ Items []struct{ Checked int } }
	h.GetJSON("/api/v1/reconciliations?kind=invoices", &runs)
	if len(runs.Items) != 1 || runs.Items[0].Checked != n {
		t.Fatalf("runs %+v, want one that checked %d invoices", runs.Items, n)
	}
	if want := fmt.Sprintf(`"looked_up":%d,"listed":%d`, n, n); !strings.Contains(h.Logs(), want) {
		t.Fatalf("the run did not look up and list the %d invoices in Tryton (%s): %s", n, want, h.Logs())
	}
}
