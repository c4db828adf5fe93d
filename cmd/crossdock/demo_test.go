package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/hubtest"
)

// demoOutput collects what the demo process prints while the test reads it.
type demoOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *demoOutput) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *demoOutput) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// demoGet GETs path from the hub with the admin key and decodes a 200.
func demoGet(t *testing.T, base, path string, v any) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+hubtest.AdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return true
}

// TestDemoShowsEveryState runs `crossdock demo` on the real binary at
// 600× and watches the API until the demo has shown what it promises:
// shipments in transit and invoiced, one on hold with an open case,
// invoices posted to the ERP, the ERP's outage with its recovery (a
// delivery that needed more than one attempt, and the backlog drained),
// and the finance clerk's reconciliation runs finding the invoice edited
// in the ERP and the fuel card used far from its truck. Then SIGTERM
// stops it cleanly.
func TestDemoShowsEveryState(t *testing.T) {
	t.Parallel()
	bin := hubtest.Binary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	base := "http://" + addr

	cmd := exec.Command(bin, "demo", "--speed", "600", "--seed", "1")
	cmd.Env = append(os.Environ(), "CROSSDOCK_HTTP_ADDR="+addr, "CROSSDOCK_DATA_DIR="+t.TempDir(), "CROSSDOCK_ADMIN_KEY="+hubtest.AdminKey)
	var stdout, stderr demoOutput
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("demo stdout:\n%s\ndemo stderr (tail):\n%s", stdout.String(), demoTail(stderr.String(), 4000))
		}
	})
	began := time.Now()

	waitFor(t, 60*time.Second, "the demo's console line", func() bool {
		select {
		case <-exited:
			t.Fatalf("demo exited: %s", stderr.String())
		default:
		}
		return strings.Contains(stdout.String(), "\n")
	})
	want := fmt.Sprintf("crossdock demo: console %s/  key %s  (speed 600×, 12 vehicles, seed 1)\n", base, hubtest.AdminKey)
	if got := stdout.String(); got != want {
		t.Fatalf("stdout %q, want %q", got, want)
	}

	seen := map[string]time.Duration{} // what showed, and when
	mark := func(k string) {
		if _, ok := seen[k]; !ok {
			seen[k] = time.Since(began).Round(100 * time.Millisecond)
		}
	}
	var outage bool
	check := func() bool {
		var ships struct {
			Items []struct {
				Status string
				OnHold bool `json:"on_hold"`
			}
		}
		if demoGet(t, base, "/api/v1/shipments?limit=1000", &ships) {
			for _, s := range ships.Items {
				mark("shipment " + s.Status)
				if s.OnHold {
					mark("on hold")
				}
			}
		}
		var cases struct{ Items []struct{ Code string } }
		if demoGet(t, base, "/api/v1/cases?status=open", &cases) && len(cases.Items) > 0 {
			mark("open case")
		}
		var invoices struct{ Items []struct{ Status string } }
		if demoGet(t, base, "/api/v1/invoices?status=posted", &invoices) && len(invoices.Items) > 0 {
			mark("invoice posted")
		}
		var deliveries struct{ Items []struct{ Attempts int } }
		if demoGet(t, base, "/api/v1/deliveries?state=delivered&connector=erp&limit=1000", &deliveries) {
			for _, d := range deliveries.Items {
				if d.Attempts > 1 {
					outage = true // refused during the outage, delivered after it
					mark("erp refused, then took an invoice")
				}
			}
		}
		var conns struct {
			Items []struct {
				Name, State string
				Backlog     int
			}
		}
		if outage && demoGet(t, base, "/api/v1/connectors", &conns) {
			for _, c := range conns.Items {
				if c.Name == "erp" && c.Backlog == 0 && c.State == "closed" {
					mark("erp outage recovered")
				}
			}
		}
		for _, k := range []string{"shipment in_transit", "shipment invoiced", "on hold", "open case", "invoice posted", "erp outage recovered"} {
			if _, ok := seen[k]; !ok {
				return false
			}
		}
		return true
	}
	waitFor(t, 75*time.Second, "every state of the demo", func() bool {
		select {
		case <-exited:
			t.Fatalf("demo exited: %s", demoTail(stderr.String(), 4000))
		default:
		}
		return check()
	})
	t.Logf("seen after: %v", seen)

	// At noon of the simulated day (24 s in at 600×) the finance clerk
	// reconciles: the invoices run finds the invoice the ERP's clerk
	// discounted, the fuel run the card used far from its truck.
	runs := map[string]demoRun{}
	waitFor(t, 90*time.Second, "the finance clerk's reconciliation runs with their findings", func() bool {
		select {
		case <-exited:
			t.Fatalf("demo exited: %s", demoTail(stderr.String(), 4000))
		default:
		}
		var list struct {
			Items []struct{ ID, Kind, Status string }
		}
		if !demoGet(t, base, "/api/v1/reconciliations", &list) {
			return false
		}
		for _, r := range list.Items {
			if _, ok := runs[r.Kind]; ok || r.Status == "running" {
				continue
			}
			var run demoRun
			if !demoGet(t, base, "/api/v1/reconciliations/"+r.ID, &run) {
				return false
			}
			if run.Status != "done" {
				t.Fatalf("%s run %s: %s: %s", r.Kind, r.ID, run.Status, run.Error)
			}
			runs[r.Kind] = run
			mark("reconciled " + r.Kind)
		}
		return len(runs) == 2
	})
	t.Logf("reconciled after: invoices %s, fuel %s", seen["reconciled invoices"], seen["reconciled fuel"])
	for kind, code := range map[string]string{"invoices": "amount_mismatch", "fuel": "fuel_far_from_vehicle"} {
		run := runs[kind]
		if run.Counts[code] != 1 {
			t.Errorf("%s run: checked %d, counts %v; want one %s", kind, run.Checked, run.Counts, code)
		}
		t.Logf("%s run: checked %d, counts %v", kind, run.Checked, run.Counts)
		for _, f := range run.Findings {
			t.Logf("%s run: %s: %s", kind, f.Code, f.Detail)
		}
	}

	_ = cmd.Process.Signal(syscall.SIGTERM)
	stopping := time.Now()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop within 30s of SIGTERM")
	}
	t.Logf("stopped %s after SIGTERM", time.Since(stopping).Round(10*time.Millisecond))
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if !strings.Contains(stderr.String(), `"msg":"demo stopped"`) {
		t.Errorf("no clean stop in the log")
	}
}

// demoRun is a reconciliation run as GET /api/v1/reconciliations/{id}
// answers it.
type demoRun struct {
	Status, Error string
	Checked       int
	Counts        map[string]int
	Findings      []struct{ Code, Detail string }
}

func demoTail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
