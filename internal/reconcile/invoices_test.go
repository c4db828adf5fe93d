package reconcile

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/store"
)

func TestInvoiceFindings(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	inv := func(status string, age time.Duration) store.InvoiceRecord {
		return store.InvoiceRecord{ID: "INV-2026-000007", ShipmentID: "SHP-7", Currency: "EUR", Total: "1234.50", Status: status,
			ERPRef: "ERP-7", CreatedAt: now.Add(-age)}
	}
	held := func(total, currency string) map[string]map[string]connector.ERPInvoice {
		return map[string]map[string]connector.ERPInvoice{"erp": {"INV-2026-000007": {InvoiceID: "INV-2026-000007", Ref: "ERP-7", Total: total, Currency: currency}}}
	}
	lacks := map[string]map[string]connector.ERPInvoice{"erp": {}}
	tests := []struct {
		name  string
		inv   store.InvoiceRecord
		held  map[string]map[string]connector.ERPInvoice
		codes []string
		has   string // in the first finding's detail
	}{
		{"posted and held alike", inv("posted", time.Hour), held("1234.50", "EUR"), nil, ""},
		{"same amount written differently", inv("posted", time.Hour), held("1234.5", "eur"), nil, ""},
		{"posted, the ERP lacks it", inv("posted", time.Hour), lacks, []string{CodeMissingInERP}, "erp does not hold it"},
		{"another total", inv("posted", time.Hour), held("1244.50", "EUR"), []string{CodeAmountMismatch}, "1244.50 EUR in erp"},
		{"another currency", inv("posted", time.Hour), held("1234.50", "USD"), []string{CodeAmountMismatch}, "USD"},
		{"a total that is no number", inv("posted", time.Hour), held("n/a", "EUR"), []string{CodeAmountMismatch}, "n/a"},
		{"held cancelled", inv("posted", time.Hour), map[string]map[string]connector.ERPInvoice{"erp": {"INV-2026-000007": {Total: "1234.50", State: "cancel"}}}, []string{CodeMissingInERP}, "holds it cancelled"},
		{"ready, young", inv("ready", 10*time.Minute), lacks, nil, ""},
		{"ready too long", inv("ready", 3*time.Hour), lacks, []string{CodeStuckReady}, "waited 3h0m0s"},
		{"ready too long, yet in the ERP", inv("ready", 3*time.Hour), held("1234.50", "EUR"), []string{CodeStuckReady}, "posting was not recorded"},
		{"failed: dead letters show it", inv("failed", 3*time.Hour), lacks, nil, ""},
		{"no connector asked", inv("posted", time.Hour), map[string]map[string]connector.ERPInvoice{}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := invoiceFindings(tt.inv, []string{"erp"}, tt.held, now, time.Hour)
			var codes []string
			for _, f := range fs {
				codes = append(codes, f.Code)
				if f.InvoiceID != tt.inv.ID || f.ShipmentID != tt.inv.ShipmentID {
					t.Errorf("finding %+v does not name the invoice and shipment", f)
				}
			}
			if !slices.Equal(codes, tt.codes) {
				t.Fatalf("codes %v, want %v", codes, tt.codes)
			}
			if tt.has != "" && !strings.Contains(fs[0].Detail, tt.has) {
				t.Errorf("detail %q lacks %q", fs[0].Detail, tt.has)
			}
		})
	}
}

func TestFindingIDIsStable(t *testing.T) {
	a := Finding{Code: CodeAmountMismatch, ShipmentID: "SHP-1", InvoiceID: "INV-1", Key: "erp", Detail: "one", At: time.Now()}
	b := a
	b.Detail, b.At = "another wording", time.Time{}
	if findingID(a) != findingID(b) {
		t.Error("the same discrepancy got two ids")
	}
	for _, c := range []Finding{
		{Code: CodeMissingInERP, ShipmentID: "SHP-1", InvoiceID: "INV-1", Key: "erp"},
		{Code: CodeAmountMismatch, ShipmentID: "SHP-1", InvoiceID: "INV-1", Key: "erp2"},
		{Code: CodeAmountMismatch, ShipmentID: "SHP-1", InvoiceID: "INV-2", Key: "erp"},
	} {
		if findingID(c) == findingID(a) {
			t.Errorf("%+v shares an id with %+v", c, a)
		}
	}
}

func TestScheduledRunID(t *testing.T) {
	at := time.Date(2026, 12, 5, 2, 30, 0, 0, time.UTC)
	id := scheduledRunID(at, KindInvoices)
	if id != scheduledRunID(at, KindInvoices) {
		t.Fatal("a start and kind gave two ids")
	}
	if id == scheduledRunID(at, KindFuel) || id == scheduledRunID(at.Add(24*time.Hour), KindInvoices) {
		t.Fatal("different starts or kinds share an id")
	}
	if id[14] != '7' || !strings.ContainsRune("89ab", rune(id[19])) {
		t.Errorf("%s is not a UUID v7", id)
	}
	if later := scheduledRunID(at.Add(24*time.Hour), KindFuel); later <= id {
		t.Errorf("a later start's id %s does not sort after %s", later, id)
	}
}

func TestCheck(t *testing.T) {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		kind     string
		from, to time.Time
		ok       bool
	}{
		{KindInvoices, from, from.AddDate(0, 1, 0), true},
		{"payroll", from, from.AddDate(0, 1, 0), false},
		{KindFuel, from, from, false},
		{KindFuel, time.Time{}, from, false},
		{KindShipments, from, from.AddDate(2, 0, 0), false},
	}
	for _, tt := range tests {
		if err := Check(tt.kind, tt.from, tt.to); (err == nil) != tt.ok {
			t.Errorf("Check(%s, %s, %s) = %v, want ok %v", tt.kind, tt.from, tt.to, err, tt.ok)
		}
	}
}
