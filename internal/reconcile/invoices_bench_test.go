package reconcile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/store/sqlite"
)

// memERP is an ERP answering batched lookups, as a local ERP with a
// search endpoint would, and counting the requests. What it holds follows
// from the invoice number (see invoiceFixture), so its own memory does not
// grow with the invoices and the benchmark's heap is the run's.
type memERP struct {
	requests atomic.Int64
	largest  atomic.Int64
}

func (e *memERP) LookupInvoices(_ context.Context, ids []string) (map[string]connector.ERPInvoice, error) {
	e.requests.Add(1)
	if n := int64(len(ids)); n > e.largest.Load() {
		e.largest.Store(n)
	}
	out := make(map[string]connector.ERPInvoice, len(ids))
	for _, id := range ids {
		i, err := strconv.Atoi(strings.TrimPrefix(id, "INV-2026-"))
		if err != nil {
			return nil, fmt.Errorf("lookup %q: %w", id, err)
		}
		i--
		switch i % 1000 {
		case 0: // missing
		case 500:
			out[id] = connector.ERPInvoice{InvoiceID: id, Total: "1.00", Currency: "EUR"}
		default:
			out[id] = connector.ERPInvoice{InvoiceID: id, Total: fixtureTotal(i), Currency: "EUR"}
		}
	}
	return out, nil
}

// fixtureTotal is invoice i's total.
func fixtureTotal(i int) string { return strconv.Itoa(100+i%900) + ".50" }

// invoiceFixture stores n posted invoices created over the day before
// now; every 1000th is missing from the ERP and every 1000th (offset 500)
// held there with another total.
func invoiceFixture(tb testing.TB, n int, now time.Time) (*sqlite.Store, *memERP) {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(tb.TempDir(), "hub.db")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	erp := &memERP{}
	const chunk = 5000
	for start := 0; start < n; start += chunk {
		tx, err := st.Begin(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		recs := make([]store.InvoiceRecord, 0, chunk)
		for i := start; i < min(n, start+chunk); i++ {
			id := fmt.Sprintf("INV-2026-%06d", i+1)
			total := fixtureTotal(i)
			at := now.Add(-24 * time.Hour).Add(time.Duration(i) * (24 * time.Hour / time.Duration(n)))
			recs = append(recs, store.InvoiceRecord{ID: id, ShipmentID: "SHP-" + strconv.Itoa(i), CustomerID: "CUST-1", Currency: "EUR",
				Total: total, Status: "posted", ERPRef: "ERP-" + strconv.Itoa(i), Data: []byte(`{}`), CreatedAt: at, UpdatedAt: at})
		}
		if err := tx.PutInvoices(ctx, recs); err != nil {
			tb.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
	}
	return st, erp
}

// runInvoices starts and works one invoices run over the fixture's day.
func runInvoices(tb testing.TB, st store.Store, erp *memERP, now time.Time) store.ReconciliationRecord {
	tb.Helper()
	ctx := context.Background()
	r := New(Options{Store: st, Lookups: map[string]connector.InvoiceLooker{"erp": erp}, Now: func() time.Time { return now }})
	run, _, err := r.Start(ctx, Request{Kind: KindInvoices, From: now.Add(-25 * time.Hour), To: now, Trigger: TriggerAPI, RequestedBy: "bench"})
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.Handle(ctx, store.JobRecord{Kind: JobRun, Key: run.ID, Attempts: 1}); err != nil {
		tb.Fatal(err)
	}
	run, err = st.Reconciliation(ctx, run.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return run
}

func TestInvoicesRunFindsTamperedRecords(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	st, erp := invoiceFixture(t, 3000, now)
	run := runInvoices(t, st, erp, now)
	if run.Status != store.ReconcileDone || run.Checked != 3000 || run.Findings != 6 {
		t.Fatalf("run %+v, want done, 3000 checked, 6 findings", run)
	}
	counts, err := st.FindingCounts(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if counts[CodeMissingInERP] != 3 || counts[CodeAmountMismatch] != 3 {
		t.Errorf("counts %v, want 3 missing_in_erp and 3 amount_mismatch", counts)
	}
	if got := erp.largest.Load(); got != connector.LookupBatch {
		t.Errorf("largest lookup %d ids, want batches of %d", got, connector.LookupBatch)
	}
	if got := erp.requests.Load(); got != 3000/connector.LookupBatch {
		t.Errorf("%d lookups for 3000 invoices, want %d", got, 3000/connector.LookupBatch)
	}
}

// BenchmarkReconcileInvoices reconciles CROSSDOCK_BENCH_INVOICES invoices
// (default 10,000; the target is 100,000 in under 60 s) on embedded
// SQLite against an in-memory ERP answering batched lookups, and reports
// invoices/s and the peak heap in use while the run works.
func BenchmarkReconcileInvoices(b *testing.B) {
	n := 10_000
	if v, err := strconv.Atoi(os.Getenv("CROSSDOCK_BENCH_INVOICES")); err == nil && v > 0 {
		n = v
	}
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	st, erp := invoiceFixture(b, n, now)
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	b.ResetTimer()
	for range b.N {
		run := runInvoices(b, st, erp, now)
		if run.Checked != int64(n) {
			b.Fatalf("checked %d of %d", run.Checked, n)
		}
	}
	b.StopTimer()
	close(stop)
	<-sampled
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "invoices/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

// listingERP is memERP that also lists the documents carrying our
// reference: the fixture's invoices plus one the hub never issued.
type listingERP struct {
	memERP
	n      int
	prefix string
}

func (e *listingERP) ListInvoices(_ context.Context, prefix string, _, _ time.Time, fn func([]connector.ERPInvoice) error) error {
	e.prefix = prefix
	page := []connector.ERPInvoice{{InvoiceID: "INV-2026-900001", Ref: "ERP-X", Total: "77.00", Currency: "EUR", State: "posted"}}
	for i := range e.n {
		page = append(page, connector.ERPInvoice{InvoiceID: fmt.Sprintf("INV-2026-%06d", i+1)})
		if len(page) == 100 {
			if err := fn(page); err != nil {
				return err
			}
			page = nil
		}
	}
	return fn(page)
}

func TestInvoicesRunFindsUnknownInHub(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	st, _ := invoiceFixture(t, 1500, now)
	erp := &listingERP{n: 1500}
	ctx := context.Background()
	r := New(Options{Store: st, Lookups: map[string]connector.InvoiceLooker{"erp": erp}, Now: func() time.Time { return now }})
	run, _, err := r.Start(ctx, Request{Kind: KindInvoices, From: now.Add(-25 * time.Hour), To: now, Trigger: TriggerAPI})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Handle(ctx, store.JobRecord{Key: run.ID}); err != nil {
		t.Fatal(err)
	}
	fs, err := st.Findings(ctx, store.FindingFilter{RunID: run.ID, Code: CodeUnknownInHub, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].InvoiceID != "INV-2026-900001" || fs[0].ShipmentID != "" || !strings.Contains(fs[0].Detail, "never issued") {
		t.Fatalf("unknown_in_hub findings %+v, want INV-2026-900001 alone", fs)
	}
	if erp.prefix != "INV-" {
		t.Errorf("listed with prefix %q, want the hub's INV-", erp.prefix)
	}
}
