package odata

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
)

// gets counts the GETs of the entity set the fake was sent.
func (f *fakeSAP) gets() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.transcript {
		if strings.HasPrefix(r, "GET "+servicePath+"/A_SalesOrder?") {
			n++
		}
	}
	return n
}

// requestLines are the request lines of the GETs the fake was sent.
func (f *fakeSAP) requestLines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.transcript {
		if line, _, _ := strings.Cut(r, "\n"); strings.HasPrefix(line, "GET "+servicePath+"/A_SalesOrder?") {
			out = append(out, strings.TrimPrefix(line, "GET "))
		}
	}
	return out
}

// item is an expanded order item with its tax.
func item(tax string) map[string]any { return map[string]any{"TaxAmount": tax} }

func TestLookupInvoices(t *testing.T) {
	f := newFakeSAP(t)
	c := open(t, config(f.srv.URL, f.user, f.password))
	e := connectortest.Invoice(1)
	r, err := c.Deliver(context.Background(), connectortest.Delivery(e))
	if err != nil {
		t.Fatal(err)
	}
	id := invoiceID(t, e)
	f.addOrder(map[string]any{"PurchaseOrderByCustomer": id, "TotalNetAmount": "1.00", "TransactionCurrency": "EUR"}) // a second: not the one
	obrien := f.addOrder(map[string]any{"PurchaseOrderByCustomer": "O'Brien-7", "TotalNetAmount": "100.000", "TransactionCurrency": "USD",
		"OverallSDProcessStatus": "C", "to_Item": []any{item("7.125"), item("0.5")}})
	untaxed := f.addOrder(map[string]any{"PurchaseOrderByCustomer": "INV-UNTAXED", "TotalNetAmount": "42.00", "TransactionCurrency": "EUR",
		"OverallSDProcessStatus": "B"})

	tests := []struct {
		name string
		ids  []string
		want map[string]connector.ERPInvoice
		gets int
	}{
		{"none", nil, map[string]connector.ERPInvoice{}, 0},
		{"absent", []string{"INV-ABSENT"}, map[string]connector.ERPInvoice{}, 1},
		{"too long for the field", []string{strings.Repeat("X", externalRefLen+1)}, map[string]connector.ERPInvoice{}, 0},
		{"found and absent", []string{id, "O'Brien-7", "INV-UNTAXED", "INV-ABSENT"}, map[string]connector.ERPInvoice{
			// 591.33 net + SAP's tax 49.50 + 5.00 + 4.63
			id:            {InvoiceID: id, Ref: r.Ref, Total: "650.46", Currency: "EUR", State: "open"},
			"O'Brien-7":   {InvoiceID: "O'Brien-7", Ref: obrien, Total: "107.625", Currency: "USD", State: "completed"},
			"INV-UNTAXED": {InvoiceID: "INV-UNTAXED", Ref: untaxed, Total: "42.00", Currency: "EUR", State: "in process"},
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.gets()
			got, err := c.LookupInvoices(context.Background(), tt.ids)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if n := f.gets() - before; n != tt.gets {
				t.Errorf("%d GETs, want %d", n, tt.gets)
			}
		})
	}
}

// A full batch of long ids does not fit one URL: it goes in as few GETs
// as keep each within maxURL, and every id is answered.
func TestLookupInvoicesSplitsLongURLs(t *testing.T) {
	f := newFakeSAP(t)
	c := open(t, config(f.srv.URL, f.user, f.password))
	ids := make([]string, connector.LookupBatch)
	for i := range ids {
		ids[i] = "INV-2026-" + strings.Repeat("0", externalRefLen-9-len(strconv.Itoa(i))) + strconv.Itoa(i)
		if i%3 == 0 {
			f.addOrder(map[string]any{"PurchaseOrderByCustomer": ids[i], "TotalNetAmount": strconv.Itoa(i) + ".00", "TransactionCurrency": "EUR"})
		}
	}
	got, err := c.LookupInvoices(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != (len(ids)+2)/3 {
		t.Errorf("found %d, want %d", len(got), (len(ids)+2)/3)
	}
	for i, id := range ids {
		e, ok := got[id]
		if ok != (i%3 == 0) || (ok && e.Total != strconv.Itoa(i)+".00") {
			t.Errorf("%s: %+v, %v", id, e, ok)
		}
	}
	lines := f.requestLines()
	if len(lines) != 3 {
		t.Errorf("%d GETs for %d ids, want 3", len(lines), len(ids))
	}
	for _, l := range lines {
		if n := len(f.srv.URL) + len(l); n > maxURL {
			t.Errorf("a URL of %d characters, more than %d", n, maxURL)
		}
	}
}

// SAP's server-driven paging: the __next links are followed.
func TestLookupInvoicesFollowsNext(t *testing.T) {
	f := newFakeSAP(t)
	f.pageSize = 2
	c := open(t, config(f.srv.URL, f.user, f.password))
	var ids []string
	for i := range 5 {
		ids = append(ids, "INV-"+strconv.Itoa(i))
		f.addOrder(map[string]any{"PurchaseOrderByCustomer": ids[i], "TotalNetAmount": "1.00", "TransactionCurrency": "EUR"})
	}
	got, err := c.LookupInvoices(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || f.gets() != 3 {
		t.Fatalf("found %d in %d GETs, want 5 in 3", len(got), f.gets())
	}
}

func TestLookupInvoicesErrors(t *testing.T) {
	tests := []struct {
		name string
		in   injection
		want string
	}{
		{"server error", injection{status: http.StatusInternalServerError, body: "boom"},
			"odata: erp: lookup invoices: GET A_SalesOrder: 500 boom"},
		{"logon failed", injection{status: http.StatusUnauthorized, body: "Logon failed"},
			"odata: erp: lookup invoices: GET A_SalesOrder: authentication or authorization refused"},
		{"next link off the host", injection{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}},
			body: `{"d":{"results":[],"__next":"https://elsewhere.example/A_SalesOrder?$skiptoken=1"}}`},
			"odata: erp: lookup invoices: GET A_SalesOrder: next link leaves the service's host"},
		{"no net amount", injection{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}},
			body: `{"d":{"results":[{"SalesOrder":"7","PurchaseOrderByCustomer":"INV-1"}]}}`},
			"odata: erp: lookup invoices: sales order 7: no TotalNetAmount"},
		{"not a decimal", injection{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}},
			body: `{"d":{"results":[{"SalesOrder":"7","PurchaseOrderByCustomer":"INV-1","TotalNetAmount":"1e3"}]}}`},
			`odata: erp: lookup invoices: sales order 7: amount "1e3" is not a decimal`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSAP(t)
			c := open(t, config(f.srv.URL, f.user, f.password))
			tt.in.op, tt.in.times = "GET A_SalesOrder", 1
			f.fail(tt.in)
			got, err := c.LookupInvoices(context.Background(), []string{"INV-1"})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("got %v, %v; want an error starting %q", got, err, tt.want)
			}
			if strings.Contains(err.Error(), f.password) {
				t.Fatal("the password is in the error")
			}
		})
	}
}

// An OData V4 answer: value, numbers for decimals, to_Item a list.
func TestLookupInvoicesV4(t *testing.T) {
	f := newFakeSAP(t)
	c := open(t, config(f.srv.URL, f.user, f.password))
	f.fail(injection{op: "GET A_SalesOrder", times: 1, status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}},
		body: `{"value":[{"SalesOrder":"7","PurchaseOrderByCustomer":"INV-1","TotalNetAmount":100.5,"TransactionCurrency":"EUR",` +
			`"OverallSDProcessStatus":"X","to_Item":[{"TaxAmount":10.05},{"TaxAmount":null}]}]}`})
	got, err := c.LookupInvoices(context.Background(), []string{"INV-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := connector.ERPInvoice{InvoiceID: "INV-1", Ref: "7", Total: "110.55", Currency: "EUR", State: "X"}
	if got["INV-1"] != want {
		t.Fatalf("got %+v, want %+v", got["INV-1"], want)
	}
}

func TestListInvoices(t *testing.T) {
	f := newFakeSAP(t)
	c := open(t, config(f.srv.URL, f.user, f.password))
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	add := func(ref string, created time.Time) {
		f.addOrder(map[string]any{"PurchaseOrderByCustomer": ref, "TotalNetAmount": "1.00", "TransactionCurrency": "EUR", "CreationDate": sapDate(created)})
	}
	add("INV-O'B-0", day.Add(-time.Hour)) // the day before
	for i := 1; i <= listPage+1; i++ {
		add("INV-O'B-"+strconv.Itoa(i), day.Add(time.Duration(i)*time.Minute))
	}
	add("INV-OTHER-1", day)
	add("INV-O'B-X", day.Add(24*time.Hour)) // to's day

	list := func(from, to time.Time) (pages []int, refs []string) {
		t.Helper()
		err := c.ListInvoices(context.Background(), "INV-O'B-", from, to, func(page []connector.ERPInvoice) error {
			pages = append(pages, len(page))
			for _, e := range page {
				refs = append(refs, e.InvoiceID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return pages, refs
	}
	pages, refs := list(day.Add(3*time.Hour), day.Add(24*time.Hour))
	if !reflect.DeepEqual(pages, []int{listPage, 1}) || refs[0] != "INV-O'B-1" || refs[len(refs)-1] != "INV-O'B-"+strconv.Itoa(listPage+1) {
		t.Errorf("pages %v: %v … %v", pages, refs[:2], refs[len(refs)-1])
	}
	// to in the middle of a day: that day's orders too.
	if _, refs := list(day, day.Add(25*time.Hour)); len(refs) != listPage+2 || refs[len(refs)-1] != "INV-O'B-X" {
		t.Errorf("to at 01:00: %d listed, last %v", len(refs), refs[len(refs)-1])
	}
	if _, refs := list(day.Add(-48*time.Hour), day.Add(-24*time.Hour)); len(refs) != 0 {
		t.Errorf("two days before: %v", refs)
	}

	stop := errors.New("stop")
	if err := c.ListInvoices(context.Background(), "INV-", day, day.Add(24*time.Hour), func([]connector.ERPInvoice) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("fn's error: got %v", err)
	}
}

// The requests of a lookup and a listing, compared with the transcript in
// testdata: the $filter, $select and $expand, kept in review.
func TestLookupTranscript(t *testing.T) {
	f := newFakeSAP(t)
	cfg := config(f.srv.URL, f.user, f.password)
	cfg.Options = map[string]string{"sales_organization": "1710", "distribution_channel": "10", "division": "00",
		"material": "SRV_FREIGHT", "sap_client": "100"}
	c := open(t, cfg)
	ctx := context.Background()
	if _, err := c.LookupInvoices(ctx, []string{"INV-2026-000042", "O'Brien-7"}); err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 20, 0, 0, 0, 0, time.FixedZone("CET", 3600)) // 2026-11-19 23:00 UTC
	if err := c.ListInvoices(ctx, "INV-2026-", from, from.Add(24*time.Hour), func([]connector.ERPInvoice) error { return nil }); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	got := strings.Join(f.transcript, "\n")
	f.mu.Unlock()
	path := filepath.Join("testdata", "lookup.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("requests differ from %s (go test -update to accept):\n%s", path, got)
	}
}

func TestSum(t *testing.T) {
	tests := []struct {
		in   []string
		want string
		ok   bool
	}{
		{[]string{"591.33", "49.50", "5.00", "4.63"}, "650.46", true},
		{[]string{"100.000", "7.125", "0.5"}, "107.625", true},
		{[]string{"42"}, "42", true},
		{[]string{"-10.00", "1.5"}, "-8.50", true},
		{[]string{"1/2"}, "", false},
		{[]string{"1e3"}, "", false},
		{[]string{"."}, "", false},
		{[]string{""}, "", false},
	}
	for _, tt := range tests {
		got, err := sum(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("sum(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
