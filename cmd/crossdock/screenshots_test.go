package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crossdockhq/crossdock/internal/hubtest"
)

// TestConsoleScreenshots writes the screenshots of docs/console.md from a
// demo run (`make screenshots`); it runs only when CROSSDOCK_SCREENSHOTS
// names the directory to write them to.
func TestConsoleScreenshots(t *testing.T) {
	dir := os.Getenv("CROSSDOCK_SCREENSHOTS")
	if dir == "" {
		t.Skip("CROSSDOCK_SCREENSHOTS not set: this only regenerates docs/images (make screenshots)")
	}
	ctx := chromium(t)
	bin := hubtest.Binary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	base := "http://" + addr
	cmd := exec.Command(bin, "demo", "--seed", "1")
	cmd.Env = append(os.Environ(), "CROSSDOCK_HTTP_ADDR="+addr, "CROSSDOCK_DATA_DIR="+t.TempDir(), "CROSSDOCK_ADMIN_KEY="+hubtest.AdminKey)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	waitFor(t, 30*time.Second, "the demo hub", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	// Let the demo run into its ERP outage: some invoices posted, the
	// backlog of the rest waiting.
	var shipment struct{ Items []struct{ ID string } }
	waitFor(t, 3*time.Minute, "an invoiced shipment", func() bool {
		return demoGet(t, base, "/api/v1/shipments?status=invoiced&limit=1", &shipment) && len(shipment.Items) > 0
	})
	time.Sleep(20 * time.Second) // the simulated day moves on; pictures of a busier hub

	shot := func(ctx context.Context, name, path, ready string) {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.Navigate(base+path),
			chromedp.WaitVisible(css(ready)),
			chromedp.Sleep(2500*time.Millisecond), // one live update
		)
		var png []byte
		if err == nil {
			png, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logIn := func(ctx context.Context) {
		t.Helper()
		if err := chromedp.Do(ctx,
			chromedp.Navigate(base+"/"),
			chromedp.SendKeys(css(`#key`), hubtest.AdminKey),
			chromedp.Submit(css(`#key`)),
			chromedp.WaitVisible(css(`#ops-cases`)),
		); err != nil {
			t.Fatalf("log in: %v", err)
		}
	}
	logIn(ctx)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot(ctx, "console-ops.png", "/console/ops", "#ops-map")
	shot(ctx, "console-finance.png", "/console/finance", "#fin-revenue")
	shot(ctx, "console-shipment.png", "/console/shipments/"+shipment.Items[0].ID, "#sh-timeline")
	shot(ctx, "console-platform.png", "/console/platform", "#plat-connectors")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	shot(ctx, "track-phone.png", "/track/"+shipment.Items[0].ID, "main")

	// At noon of the simulated day, four minutes in, the finance clerk
	// reconciles: the invoices run and its finding, in a second browser
	// (the first one's time is up by then).
	var runs struct {
		Items []struct{ ID, Kind string }
	}
	waitFor(t, 5*time.Minute, "the finance clerk's reconciliation runs", func() bool {
		return demoGet(t, base, "/api/v1/reconciliations?status=done", &runs) && len(runs.Items) >= 2
	})
	ctx = chromium(t)
	logIn(ctx)
	for _, r := range runs.Items {
		if r.Kind == "invoices" {
			shot(ctx, "console-reconcile.png", "/console/reconcile?run="+r.ID, "#rec-run table")
		}
	}
}
