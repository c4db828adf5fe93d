package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a wall clock that moves only when told: After moves it on
// by d at once, so a loop waiting on it runs as fast as it can.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func invoiceEvent(id, total string) string {
	return `{"specversion":"1.0","id":"e-` + id + `","source":"crossdock/billing","type":"invoice.ready","subject":"SHP-1",` +
		`"data":{"id":"` + id + `","total":"` + total + `"}}`
}

func postInvoice(t *testing.T, erp *ERP, key, invoice string) (int, string, string) {
	t.Helper()
	return postTotal(t, erp, key, invoice, "321.00")
}

// postTotal posts invoice with total and returns the status, the ERP's
// reference and Retry-After.
func postTotal(t *testing.T, erp *ERP, key, invoice, total string) (int, string, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/invoices", strings.NewReader(invoiceEvent(invoice, total)))
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	rec := httptest.NewRecorder()
	erp.ServeHTTP(rec, req)
	var out struct {
		ERPRef string `json:"erp_ref"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out.ERPRef, rec.Header().Get("Retry-After")
}

func TestSimERPIdempotency(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 24, 21, 30, 0, 0, time.UTC)
	clk := &fakeClock{now: start}
	erp := NewERP(ERPOptions{Clock: clk, Start: start, Speed: 60})
	steps := []struct {
		key, invoice string
		status       int
		ref          string
	}{
		{"k-1", "INV-1", http.StatusCreated, "ERP-000001"},
		{"k-2", "INV-2", http.StatusCreated, "ERP-000002"},
		{"k-1", "INV-1", http.StatusOK, "ERP-000001"}, // a retry: the same reference, nothing created
		{"k-1", "INV-1", http.StatusOK, "ERP-000001"},
		{"", "INV-3", http.StatusBadRequest, ""},
		{"k-3", "INV-3", http.StatusCreated, "ERP-000003"},
	}
	for i, s := range steps {
		if status, ref, _ := postInvoice(t, erp, s.key, s.invoice); status != s.status || ref != s.ref {
			t.Fatalf("step %d: %d %q, want %d %q", i, status, ref, s.status, s.ref)
		}
	}
	if got, want := erp.Stats(), (ERPStats{Received: 3, Duplicates: 2}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	rec := httptest.NewRecorder()
	erp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/invoices/INV-2", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"erp_ref":"ERP-000002"`) || !strings.Contains(rec.Body.String(), `"total":"321.00"`) {
		t.Errorf("GET /invoices/INV-2: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	erp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/invoices/INV-9", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET an unknown invoice: %d", rec.Code)
	}
}

func TestSimERPOutage(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 24, 21, 30, 0, 0, time.UTC)
	type post struct {
		at     time.Duration // wall clock since the start: a second is a simulated minute at 60×
		key    string
		status int
	}
	// The window may begin at minute 15, with the first post once two
	// invoices were taken; it lasts 15 minutes, or until three posts were
	// refused but not past 30.
	for _, c := range []struct {
		name  string
		posts []post
	}{
		{"before the window", []post{{5 * time.Second, "k1", 201}, {6 * time.Second, "k2", 201}, {14 * time.Second, "k3", 201}}},
		{"in the window, then after", []post{{5 * time.Second, "k1", 201}, {10 * time.Second, "k2", 201},
			{16 * time.Second, "k3", 503}, {20 * time.Second, "k3", 503}, {30 * time.Second, "k3", 503}, {31 * time.Second, "k3", 201},
			{32 * time.Second, "k3", 200}}},
		{"it waits for two invoices taken", []post{{16 * time.Second, "k1", 201}, {17 * time.Second, "k1", 200}, {18 * time.Second, "k2", 201},
			{19 * time.Second, "k3", 503}, {25 * time.Second, "k3", 503}, {30 * time.Second, "k3", 503}, {34 * time.Second, "k3", 201}}},
		{"too few refusals stretch it", []post{{5 * time.Second, "k1", 201}, {6 * time.Second, "k2", 201},
			{20 * time.Second, "k3", 503}, {36 * time.Second, "k3", 503}, {40 * time.Second, "k3", 503}, {41 * time.Second, "k3", 201}}},
		{"but not past twice its length", []post{{5 * time.Second, "k1", 201}, {6 * time.Second, "k2", 201},
			{20 * time.Second, "k3", 503}, {49 * time.Second, "k3", 503}, {50 * time.Second, "k3", 201}}},
	} {
		clk := &fakeClock{now: start}
		erp := NewERP(ERPOptions{Clock: clk, Start: start, Speed: 60})
		refused := 0
		for i, p := range c.posts {
			clk.set(start.Add(p.at))
			status, _, retry := postInvoice(t, erp, p.key, "INV-"+p.key)
			if status != p.status {
				t.Errorf("%s: post %d at %s: %d, want %d", c.name, i, p.at, status, p.status)
			}
			if status == http.StatusServiceUnavailable {
				refused++
				if retry == "" {
					t.Errorf("%s: 503 without Retry-After", c.name)
				}
			}
		}
		if got := erp.Stats().Refused; got != refused {
			t.Errorf("%s: refused %d, want %d", c.name, got, refused)
		}
	}
}

// erpTotal is what GET /invoices/{id} answers.
func erpTotal(t *testing.T, erp *ERP, id string) (number, total string) {
	t.Helper()
	rec := httptest.NewRecorder()
	erp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/invoices/"+id, nil))
	var out struct{ ERPRef, Number, Total string }
	if err := json.Unmarshal(rec.Body.Bytes(), &out); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("GET /invoices/%s: %d %s", id, rec.Code, rec.Body)
	}
	return out.Number, out.Total
}

// TestSimERPEdit: when the ERP creates the invoice after the EditInvoice-th
// (repeats do not count), a clerk keys a 10 % discount on that one, to
// the cent; the ERP answers the edited total, counts and logs the edit.
func TestSimERPEdit(t *testing.T) {
	t.Parallel()
	type post struct{ key, invoice, total string }
	posts := []post{{"k1", "INV-1", "321.00"}, {"k2", "INV-2", "150.00"}, {"k3", "INV-3", "482.54"},
		{"k3", "INV-3", "482.54"}, {"k4", "INV-4", "99.99"}, {"k5", "INV-5", "10.00"}}
	for _, c := range []struct {
		name   string
		edit   int
		posts  int      // how many of posts are sent
		want   []string // the ERP's totals of INV-1… afterwards
		edited int
	}{
		{"not before the next invoice", 0, 4, []string{"321.00", "150.00", "482.54"}, 0},
		{"the third by default", 0, 5, []string{"321.00", "150.00", "434.29", "99.99"}, 1},
		{"once", 0, 6, []string{"321.00", "150.00", "434.29", "99.99", "10.00"}, 1},
		{"the first", 1, 6, []string{"288.90", "150.00", "482.54", "99.99", "10.00"}, 1},
		{"the fourth, rounded to the cent", 4, 6, []string{"321.00", "150.00", "482.54", "89.99", "10.00"}, 1},
		{"none", -1, 6, []string{"321.00", "150.00", "482.54", "99.99", "10.00"}, 0},
	} {
		start := time.Date(2026, 11, 24, 21, 30, 0, 0, time.UTC)
		var log bytes.Buffer
		erp := NewERP(ERPOptions{Clock: &fakeClock{now: start}, Start: start, Speed: 60, EditInvoice: c.edit,
			Logger: slog.New(slog.NewTextHandler(&log, nil))})
		for _, p := range posts[:c.posts] {
			postTotal(t, erp, p.key, p.invoice, p.total)
		}
		for i, want := range c.want {
			number, total := erpTotal(t, erp, fmt.Sprintf("INV-%d", i+1))
			if total != want || number != fmt.Sprintf("ERP-%06d", i+1) {
				t.Errorf("%s: INV-%d is %s %s in the ERP, want %s", c.name, i+1, number, total, want)
			}
		}
		if got := erp.Stats().Edited; got != c.edited {
			t.Errorf("%s: %d edited, want %d", c.name, got, c.edited)
		}
		if logged := strings.Count(log.String(), "a clerk keyed a discount by hand"); logged != c.edited {
			t.Errorf("%s: the edit logged %d times:\n%s", c.name, logged, log.String())
		}
	}
}
