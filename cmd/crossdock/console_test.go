package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crossdockhq/crossdock/internal/hubtest"
)

// chromium starts a headless Chromium for one test. It runs when
// CROSSDOCK_TEST_CHROMIUM names the browser (.ci/run installs Debian's
// chromium and sets it) or a chromium is on PATH; on failure the page is
// saved as a screenshot under CROSSDOCK_TEST_ARTIFACTS (default
// $TMPDIR/crossdock-artifacts), named in the log.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("CROSSDOCK_TEST_CHROMIUM")
	if path == "" {
		path, _ = exec.LookPath("chromium")
	}
	if path == "" {
		t.Skip("CROSSDOCK_TEST_CHROMIUM not set and no chromium on PATH: the console's browser tests need Debian's chromium (.ci/run installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1366, 1000),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 3*time.Minute)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
				dir := os.Getenv("CROSSDOCK_TEST_ARTIFACTS")
				if dir == "" {
					dir = filepath.Join(os.TempDir(), "crossdock-artifacts")
				}
				name := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".png")
				if os.MkdirAll(dir, 0o755) == nil && os.WriteFile(name, png, 0o644) == nil {
					t.Logf("screenshot of the failing page: %s", name)
				}
			}
		}
		cancelTime()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// textOf waits until the element matching the CSS selector sel contains
// want (live panels update through server-sent events, with no reload).
func textOf(sel, want string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		deadline := time.Now().Add(45 * time.Second)
		for {
			got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
			if err != nil {
				return chromedp.Void{}, err
			}
			if strings.Contains(got, want) {
				return chromedp.Void{}, nil
			}
			if time.Now().After(deadline) {
				return chromedp.Void{}, fmt.Errorf("%s never showed %q; it shows %q", sel, want, got)
			}
			if err := chromedp.Do(ctx, chromedp.Sleep(100*time.Millisecond)); err != nil {
				return chromedp.Void{}, err
			}
		}
	}
}

// into runs an action that answers a value as a step, keeping the value.
func into[T any](a chromedp.Action[T], v *T) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		r, err := a(ctx, t)
		*v = r
		return chromedp.Void{}, err
	}
}

// click clicks the first element matching sel in one step inside the
// page, so a live panel swapped in between cannot leave the click on a
// node that is gone. It first removes the page's flash messages, so a
// wait for the outcome cannot be met by an earlier one.
func click(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		ok, err := chromedp.Evaluate[bool](`(() => { document.querySelectorAll('.flash, .problem').forEach(e => e.remove()); const b = document.querySelector(`+strconv.Quote(sel)+`); if (!b) return false; b.click(); return true })()`)(ctx, t)
		if err == nil && !ok {
			err = fmt.Errorf("nothing to click at %s", sel)
		}
		return chromedp.Void{}, err
	}
}

// css wraps a selector for the element actions.
func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

const consoleFinanceKey = "console-finance-key-0123456789"

// TestConsoleInBrowser drives the console in headless Chromium against
// the real binary: log in, see each dashboard with data, resolve a case
// and see its invoice appear, retry dead letters once the ERP accepts,
// follow a shipment's timeline, open the tracking page on a phone-sized
// screen, and find the platform view closed to a finance-only key.
func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	ctx := chromium(t)

	var accept atomic.Bool
	var posted atomic.Int64
	erp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !accept.Load() {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"customer CUST-B is not set up in the ERP"}`))
			return
		}
		n := posted.Add(1)
		w.WriteHeader(http.StatusCreated)
		_, _ = fmt.Fprintf(w, `{"id":"ERP-%d"}`, n)
	}))
	t.Cleanup(erp.Close)
	sum := sha256.Sum256([]byte(consoleFinanceKey))
	h := hubtest.Start(t, hubtest.Options{Config: billingConfig + fmt.Sprintf(`auth:
  keys:
    - {name: finance-clerk, sha256: %s, scopes: [finance]}
connectors:
  - name: erp
    kind: rest
    url: %s/invoices
    events: [invoice.ready]
    retry: {max_attempts: 2, initial: 100ms, max: 1s}
`, hex.EncodeToString(sum[:]), erp.URL)})

	now := time.Now().UTC().Truncate(time.Second)
	order := `{"order_id":"SO-%[1]s","customer_id":"CUST-B","stops":[` +
		`{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68}},` +
		`{"id":"S2","type":"delivery","location":{"lat":48.14,"lon":11.58},"radius_m":300}]}`
	pod := `{"stop_id":"S2","signed_by":"A. Meyer","location":{"lat":48.14,"lon":11.58}}`
	damaged := `{"stop_id":"S2","signed_by":"<script>window.__xss=1</script>","location":{"lat":48.14,"lon":11.58},` +
		`"exceptions":[{"code":"damaged","note":"pallet crushed <img src=x onerror=window.__xss=2>"}]}`
	mustDo(t, h, http.MethodPost, "/api/v1/events", "["+strings.Join([]string{
		event("b1-o", "order.released", "SHP-B1", now.Add(-5*time.Hour), fmt.Sprintf(order, "B1")),
		event("b1-r", "route.assigned", "SHP-B1", now.Add(-290*time.Minute), `{"vehicle_id":"TRK-B1","driver_id":"DRV-B1"}`),
		event("b1-p", "telemetry.position", "TRK-B1", now.Add(-3*time.Hour), `{"vehicle_id":"TRK-B1","lat":49.2,"lon":10.1,"speed_kph":74}`),
		event("b1-pod", "delivery.completed", "SHP-B1", now.Add(-2*time.Hour), damaged),
		event("b1-d", "shipment.milestone", "SHP-B1", now.Add(-110*time.Minute), `{"code":"departed","stop_id":"S2"}`),
		event("b2-o", "order.released", "SHP-B2", now.Add(-4*time.Hour), fmt.Sprintf(order, "B2")),
		event("b2-pod", "delivery.completed", "SHP-B2", now.Add(-90*time.Minute), pod),
		event("b2-d", "shipment.milestone", "SHP-B2", now.Add(-80*time.Minute), `{"code":"departed","stop_id":"S2"}`),
	}, ",")+"]", http.StatusAccepted)

	// Log in with the admin key: the operations view opens.
	var marker any
	err := chromedp.Do(ctx,
		chromedp.Navigate(h.URL+"/"),
		chromedp.WaitVisible(css(`#key`)),
		chromedp.SendKeys(css(`#key`), hubtest.AdminKey),
		chromedp.Submit(css(`#key`)),
		chromedp.WaitVisible(css(`#ops-cases`)),
		textOf(`#ops-status`, "in transit"),
		textOf(`#ops-cases`, "SHP-B1"),
		textOf(`#ops-cases`, "damaged"),
		chromedp.WaitVisible(css(`#ops-map circle`)),
	)
	if err != nil {
		t.Fatalf("operations view: %v", err)
	}

	// Resolve the case in the UI; billing resumes and the invoice shows
	// on the finance view (failed, as the ERP refuses it for now).
	err = chromedp.Do(ctx,
		chromedp.SendKeys(css(`#ops-cases input[name=resolution]`), "credit note issued"),
		click(`#ops-cases button[type=submit]`),
		textOf(`.flash`, "resolved"),
		chromedp.Navigate(h.URL+"/console/finance"),
		chromedp.WaitVisible(css(`#fin-lists`)),
		textOf(`#fin-lists`, "SHP-B1"),
		textOf(`#fin-lists`, "SHP-B2"),
		textOf(`#fin-invoices`, "failed"),
		into(chromedp.Evaluate[any](`window.__live = 1`), &marker),
	)
	if err != nil {
		t.Fatalf("resolve a case, see its invoice: %v", err)
	}

	// A new invoice appears on the open page without a reload.
	mustDo(t, h, http.MethodPost, "/api/v1/events", "["+strings.Join([]string{
		event("b3-o", "order.released", "SHP-B3", now.Add(-3*time.Hour), fmt.Sprintf(order, "B3")),
		event("b3-pod", "delivery.completed", "SHP-B3", now.Add(-70*time.Minute), pod),
		event("b3-d", "shipment.milestone", "SHP-B3", now.Add(-60*time.Minute), `{"code":"departed","stop_id":"S2"}`),
	}, ",")+"]", http.StatusAccepted)
	var live any
	err = chromedp.Do(ctx,
		textOf(`#fin-lists`, "SHP-B3"),
		into(chromedp.Evaluate[any](`window.__live === 1`), &live),
	)
	if err != nil || live != true {
		t.Fatalf("live update on the finance view (same page: %v): %v", live, err)
	}

	// The ERP is fixed: retry every dead letter from the platform view.
	accept.Store(true)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.URL+"/console/platform"),
		textOf(`#plat-connectors`, "erp"),
		textOf(`#plat-dead`, "not set up in the ERP"),
	); err != nil {
		t.Fatalf("platform view: %v", err)
	}
	for i := 0; ; i++ {
		var left any
		if err := chromedp.Do(ctx, into(chromedp.Evaluate[any](`document.querySelectorAll('#plat-dead button').length`), &left)); err != nil {
			t.Fatal(err)
		}
		if left == float64(0) {
			break
		}
		if i > 10 {
			t.Fatalf("%d dead letters left after %d retries", left, i)
		}
		if err := chromedp.Do(ctx,
			click(`#plat-dead button`),
			textOf(`.flash`, "queued again"),
		); err != nil {
			t.Fatalf("retry a dead letter: %v", err)
		}
	}
	waitFor(t, 30*time.Second, "every invoice posted after the retries", func() bool {
		var list struct{ Items []struct{ Status string } }
		h.GetJSON("/api/v1/invoices", &list)
		for _, inv := range list.Items {
			if inv.Status != "posted" {
				return false
			}
		}
		return len(list.Items) == 3
	})
	if n := posted.Load(); n != 3 {
		t.Errorf("the ERP got %d invoices, want 3", n)
	}
	if err := chromedp.Do(ctx, textOf(`#plat-dead`, "No dead letter")); err != nil {
		t.Fatalf("dead letters after retry: %v", err)
	}

	// Support: find a shipment and read its timeline; markup in the data
	// stays text.
	var xss any
	err = chromedp.Do(ctx,
		chromedp.Navigate(h.URL+"/console/support"),
		chromedp.SendKeys(css(`input[name=q]`), "SHP-B1"),
		chromedp.Submit(css(`input[name=q]`)),
		chromedp.WaitVisible(css(`#sh-timeline`)),
		textOf(`#sh-timeline`, "invoice.ready"),
		textOf(`#sh-timeline`, "delivery.delivered"),
		textOf(`#sh-head`, "<script>window.__xss=1</script>"),
		into(chromedp.Evaluate[any](`window.__xss === undefined ? "clean" : String(window.__xss)`), &xss),
	)
	if err != nil || xss != "clean" {
		t.Fatalf("support timeline (xss: %v): %v", xss, err)
	}

	// The public tracking page on a phone: nothing wider than the screen.
	var width, scroll any
	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(375, 740, chromedp.EmulateMobile),
		chromedp.Navigate(h.URL+"/track/SHP-B2"),
		textOf(`body`, "Delivered"),
		into(chromedp.Evaluate[any](`window.innerWidth`), &width),
		into(chromedp.Evaluate[any](`document.documentElement.scrollWidth`), &scroll),
		chromedp.EmulateViewport(1366, 1000),
	)
	if err != nil || scroll.(float64) > width.(float64) {
		t.Fatalf("tracking page on a phone: page %d px wide on a %d px screen: %v", scroll, width, err)
	}

	// Log out; a finance-only key sees finance, not platform.
	err = chromedp.Do(ctx,
		chromedp.Navigate(h.URL+"/console/finance"),
		click(`header form button`),
		chromedp.WaitVisible(css(`#key`)),
		chromedp.SendKeys(css(`#key`), consoleFinanceKey),
		chromedp.Submit(css(`#key`)),
		chromedp.WaitVisible(css(`#fin-invoices`)),
		chromedp.Navigate(h.URL+"/console/platform"),
		textOf(`main`, "needs a key with the admin scope"),
	)
	if err != nil {
		t.Fatalf("finance-only key: %v", err)
	}
	var nav string
	if err := chromedp.Do(ctx, into(chromedp.Text(css(`header nav`)), &nav)); err != nil || strings.Contains(nav, "Platform") {
		t.Fatalf("finance key's navigation shows %q (%v)", nav, err)
	}
}
