package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/reconcile"
	"github.com/crossdockhq/crossdock/internal/store"
)

// work runs the reconciliation jobs queued, as the hub's scheduler does.
func work(t *testing.T, h testHub) {
	t.Helper()
	ctx := context.Background()
	jobs, err := h.st.ClaimJobs(ctx, []string{reconcile.JobRun}, time.Now(), time.Minute, "test", 10)
	if err != nil || len(jobs) == 0 {
		t.Fatalf("no reconciliation job to work: %v", err)
	}
	for _, j := range jobs {
		if err := h.rec.Handle(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConsoleReconciliation(t *testing.T) {
	t.Parallel()
	h := newHub(t, hubOptions{})
	ctx := context.Background()
	// An invoice ready for three hours: stuck_ready.
	created := time.Now().UTC().Add(-3 * time.Hour)
	tx, err := h.st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.PutInvoices(ctx, []store.InvoiceRecord{{ID: "INV-2026-000042", ShipmentID: "SHP-42", CustomerID: "C1", Currency: "EUR",
		Total: "99.00", Status: "ready", Data: []byte(`{}`), CreatedAt: created, UpdatedAt: created}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	// A support key does not see the view.
	rb := newBrowser(t, h.srv.URL)
	if p := rb.login(readKey); strings.Contains(p.body, "/console/reconcile") {
		t.Error("the read key's navigation offers reconciliation")
	}
	if a := rb.get("/console/reconcile"); a.status != http.StatusForbidden {
		t.Errorf("read key on the reconciliation view: %d", a.status)
	}

	b := newBrowser(t, h.srv.URL)
	page := b.login(financeKey)
	if !strings.Contains(page.body, `href="/console/reconcile"`) {
		t.Fatalf("finance navigation lacks reconciliation: %s", page.body)
	}
	view := b.get("/console/reconcile")
	if view.status != http.StatusOK || !strings.Contains(view.body, "No run yet.") {
		t.Fatalf("empty view: %d %s", view.status, view.body)
	}
	tok := csrfOf(t, view.body)
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	form := url.Values{"csrf": {tok}, "back": {"/console/reconcile"}, "kind": {"invoices"},
		"from": {day(created.AddDate(0, 0, -1))}, "to": {day(time.Now().UTC())}}
	a := b.do(http.MethodPost, "/console/reconciliations", form, nil)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/console/reconcile" {
		t.Fatalf("start: %d %s", a.status, a.header.Get("Location"))
	}
	if v := b.get("/console/reconcile"); !strings.Contains(v.body, "started (run ") || !strings.Contains(v.body, "Checking…") {
		t.Fatalf("after starting: %s", v.body)
	}
	work(t, h)
	v := b.get("/console/reconcile")
	for _, want := range []string{`<span class="tag done">done</span>`, "stuck_ready", "INV-2026-000042", "has waited 3h", "Deliver again"} {
		if !strings.Contains(v.body, want) {
			t.Errorf("finished run lacks %q: %s", want, v.body)
		}
	}
	// The finance dashboard shows the newest run of each kind.
	if fin := b.get("/console/finance"); !strings.Contains(fin.body, `id="fin-reconcile"`) || !strings.Contains(fin.body, `<span class="tag done">done</span></td><td class="n bad">1</td>`) {
		t.Errorf("finance dashboard lacks the run: %s", fin.body)
	}
	// Deliver again: this hub has no connector receiving invoice.ready,
	// which the API says and the console shows.
	m := regexp.MustCompile(`action="(/console/reconciliations/[^"]+/redeliver)"`).FindStringSubmatch(v.body)
	if m == nil {
		t.Fatal("no redeliver form")
	}
	back := "/console/reconcile?run=" + strings.Split(m[1], "/")[3]
	a = b.do(http.MethodPost, m[1], url.Values{"csrf": {tok}, "back": {back}}, nil)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != back {
		t.Fatalf("redeliver: %d %s", a.status, a.header.Get("Location"))
	}
	if v := b.get(back); !strings.Contains(v.body, "no connector receives invoice.ready") {
		t.Errorf("redeliver outcome not shown: %s", v.body)
	}
	// A bad period is refused with the API's reason.
	form.Set("to", day(created.AddDate(0, 0, -3)))
	b.do(http.MethodPost, "/console/reconciliations", form, nil)
	if v := b.get("/console/reconcile"); !strings.Contains(v.body, "to must be after from") {
		t.Errorf("bad period not explained: %s", v.body)
	}
}
