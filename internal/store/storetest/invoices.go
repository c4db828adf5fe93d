package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

func testInvoices(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	inv := func(id, ship, cust string) store.InvoiceRecord {
		return store.InvoiceRecord{ID: id, ShipmentID: ship, CustomerID: cust, Currency: "EUR", Total: "412.50", Status: "ready",
			Data: []byte(`{"id":"` + id + `"}`), CreatedAt: t0, UpdatedAt: t0}
	}
	a, b, c := inv("INV-2026-000001", "SHP-1", "C1"), inv("INV-2026-000002", "SHP-2", "C2"), inv("INV-2026-000003", "SHP-3", "C1")
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.PutInvoices(ctx, []store.InvoiceRecord{a, b, c})
	})
	got, err := st.Invoice(ctx, b.ID)
	if err != nil || !reflect.DeepEqual(got, b) {
		t.Fatalf("invoice: %+v %v", got, err)
	}
	if _, err := st.Invoice(ctx, "INV-0"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent: %v", err)
	}
	b.Status, b.ERPRef, b.UpdatedAt = "posted", "ERP-99", t0.Add(time.Hour)
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.SetInvoiceStatus(ctx, b.ID, "posted", "ERP-99", t0.Add(time.Hour))
	})
	if got, _ := st.Invoice(ctx, b.ID); !reflect.DeepEqual(got, b) {
		t.Fatalf("after posting: %+v", got)
	}
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetInvoiceStatus(ctx, "INV-0", "posted", "", t0); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("absent invoice: %v", err)
		}
		return nil
	})
	for _, c := range []struct {
		f    store.InvoiceFilter
		want []string
	}{
		{store.InvoiceFilter{}, []string{a.ID, b.ID, c.ID}},
		{store.InvoiceFilter{CustomerID: "C1"}, []string{a.ID, c.ID}},
		{store.InvoiceFilter{ShipmentID: "SHP-2", Status: "posted"}, []string{b.ID}},
		{store.InvoiceFilter{After: a.ID, Limit: 1}, []string{b.ID}},
	} {
		recs, err := st.Invoices(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
		if !reflect.DeepEqual(ids, c.want) {
			t.Errorf("%+v: %v, want %v", c.f, ids, c.want)
		}
	}
}

// Numbers drawn by transactions that roll back are given again: the
// sequence has no gaps, even with writers racing on PostgreSQL.
func testSequences(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	next := func(commit bool) int64 {
		tx, err := st.Begin(ctx)
		if err != nil {
			t.Error(err)
			return 0
		}
		defer func() { _ = tx.Rollback() }()
		v, err := tx.NextSequence(ctx, "invoice/2026")
		if err != nil {
			t.Error(err)
			return 0
		}
		if commit {
			if err := tx.Commit(); err != nil {
				t.Error(err)
			}
		}
		return v
	}
	if v := next(true); v != 1 {
		t.Fatalf("first: %d", v)
	}
	if v := next(false); v != 2 {
		t.Fatalf("second (rolled back): %d", v)
	}
	if v := next(true); v != 2 {
		t.Fatalf("after a rollback: %d, want 2 again", v)
	}
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				v := next(true)
				mu.Lock()
				if seen[v] {
					t.Errorf("number %d given twice", v)
				}
				seen[v] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for v := int64(3); v <= 42; v++ {
		if !seen[v] {
			t.Fatalf("gap at %d: %v", v, fmt.Sprint(len(seen)))
		}
	}
}

// CreatedFrom and CreatedTo bound the invoices' creation: [From, To).
func testInvoiceCreatedFilter(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	inv := func(id, cust string, created time.Duration) store.InvoiceRecord {
		return store.InvoiceRecord{ID: id, ShipmentID: "SHP-" + id, CustomerID: cust, Currency: "EUR", Total: "10.00", Status: "ready",
			Data: []byte(`{}`), CreatedAt: t0.Add(created), UpdatedAt: t0.Add(created)}
	}
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.PutInvoices(ctx, []store.InvoiceRecord{
			inv("INV-1", "C1", 0), inv("INV-2", "C2", 1), inv("INV-3", "C1", time.Hour), inv("INV-4", "C1", 2*time.Hour),
			inv("INV-0", "C3", 0), // created with INV-1: ties go by id
		})
	})
	for _, tt := range []struct {
		name string
		f    store.InvoiceFilter
		want []string
	}{
		{"no bounds", store.InvoiceFilter{}, []string{"INV-0", "INV-1", "INV-2", "INV-3", "INV-4"}},
		{"from is inclusive", store.InvoiceFilter{CreatedFrom: t0.Add(1)}, []string{"INV-2", "INV-3", "INV-4"}},
		{"to is exclusive", store.InvoiceFilter{CreatedTo: t0.Add(time.Hour)}, []string{"INV-0", "INV-1", "INV-2"}},
		{"both", store.InvoiceFilter{CreatedFrom: t0.Add(1), CreatedTo: t0.Add(2 * time.Hour)}, []string{"INV-2", "INV-3"}},
		{"to a nanosecond after", store.InvoiceFilter{CreatedFrom: t0, CreatedTo: t0.Add(1)}, []string{"INV-0", "INV-1"}},
		{"empty period", store.InvoiceFilter{CreatedFrom: t0.Add(time.Hour), CreatedTo: t0.Add(time.Hour)}, nil},
		{"after every invoice", store.InvoiceFilter{CreatedFrom: t0.Add(2*time.Hour + 1)}, nil},
		{"with customer", store.InvoiceFilter{CustomerID: "C1", CreatedFrom: t0.Add(1)}, []string{"INV-3", "INV-4"}},
		{"with cursor and limit", store.InvoiceFilter{CreatedTo: t0.Add(3 * time.Hour), After: "INV-1", Limit: 2}, []string{"INV-2", "INV-3"}},
		{"by creation", store.InvoiceFilter{ByCreation: true, CreatedFrom: t0}, []string{"INV-0", "INV-1", "INV-2", "INV-3", "INV-4"}},
		{"by creation, after the first", store.InvoiceFilter{ByCreation: true, CreatedFrom: t0, AfterCreated: t0, After: "INV-0"}, []string{"INV-1", "INV-2", "INV-3", "INV-4"}},
		{"by creation, after a tie", store.InvoiceFilter{ByCreation: true, CreatedFrom: t0, AfterCreated: t0, After: "INV-1", Limit: 2}, []string{"INV-2", "INV-3"}},
		{"by creation, to", store.InvoiceFilter{ByCreation: true, CreatedTo: t0.Add(time.Hour), AfterCreated: t0.Add(1), After: "INV-2"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := st.Invoices(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range recs {
				ids = append(ids, r.ID)
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("Invoices(%+v) = %v, want %v", tt.f, ids, tt.want)
			}
		})
	}
}
