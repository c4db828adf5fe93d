package tryton

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
)

func TestLookupInvoices(t *testing.T) {
	f := newFake(t)
	c := f.connector(t, nil)
	now := time.Now()
	f.add(fakeInvoice{ref: "INV-1", state: "posted", number: "2026/0001", total: "650.46", currency: "EUR", created: now})
	f.add(fakeInvoice{ref: "INV-2", state: "cancelled", number: "2026/0002", total: "10.00", currency: "EUR", created: now})
	f.add(fakeInvoice{ref: "INV-2", state: "paid", number: "2026/0003", total: "12.00", currency: "EUR", created: now})
	f.add(fakeInvoice{ref: "INV-2", state: "draft", total: "13.00", currency: "EUR", created: now})
	draft := f.add(fakeInvoice{ref: "INV-3", state: "draft", total: "0.10", currency: "USD", created: now})
	f.add(fakeInvoice{ref: "INV-5", state: "cancelled", number: "2026/0004", total: "7.00", currency: "EUR", created: now})
	f.add(fakeInvoice{ref: "OTHER", state: "posted", number: "2026/0005", total: "1.00", currency: "EUR", created: now})

	tests := []struct {
		name string
		ids  []string
		want map[string]connector.ERPInvoice
	}{
		{"none", nil, map[string]connector.ERPInvoice{}},
		{"absent", []string{"INV-9"}, map[string]connector.ERPInvoice{}},
		{"found and absent", []string{"INV-1", "INV-2", "INV-3", "INV-4", "INV-5"}, map[string]connector.ERPInvoice{
			"INV-1": {InvoiceID: "INV-1", Ref: "2026/0001", Total: "650.46", Currency: "EUR", State: "posted"},
			// the paid one stands for the reference, not the cancelled one or the draft
			"INV-2": {InvoiceID: "INV-2", Ref: "2026/0003", Total: "12.00", Currency: "EUR", State: "paid"},
			// a draft has no number yet: its id
			"INV-3": {InvoiceID: "INV-3", Ref: strconv.FormatInt(draft, 10), Total: "0.10", Currency: "USD", State: "draft"},
			"INV-5": {InvoiceID: "INV-5", Ref: "2026/0004", Total: "7.00", Currency: "EUR", State: "cancelled"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.called("model.account.invoice.search_read")
			got, err := c.LookupInvoices(context.Background(), tt.ids)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			want := 1
			if len(tt.ids) == 0 {
				want = 0
			}
			if n := f.called("model.account.invoice.search_read") - before; n != want {
				t.Errorf("%d searches of account.invoice, want %d", n, want)
			}
		})
	}
}

// The domain asks for the company's customer invoices with one of the
// references, and reads the currency's code in the same call.
func TestLookupInvoicesAsksOnce(t *testing.T) {
	f := newFake(t)
	c := f.connector(t, nil)
	var domain, fields []any
	f.locked(func() {
		f.bodyCheck = func(body map[string]json.RawMessage, _ string) {
			var method string
			var params []json.RawMessage
			_ = json.Unmarshal(body["method"], &method)
			_ = json.Unmarshal(body["params"], &params)
			if method == "model.account.invoice.search_read" {
				_ = json.Unmarshal(params[0], &domain)
				_ = json.Unmarshal(params[4], &fields)
			}
		}
	})
	ids := make([]string, connector.LookupBatch)
	for i := range ids {
		ids[i] = "INV-" + strconv.Itoa(i)
	}
	if _, err := c.LookupInvoices(context.Background(), ids); err != nil {
		t.Fatal(err)
	}
	f.locked(func() {
		want := []any{[]any{"company", "=", 1.0}, []any{"type", "=", "out"}, []any{"reference", "in", toAny(ids)}}
		if !reflect.DeepEqual(domain, want) {
			t.Errorf("domain %v", domain)
		}
		if !reflect.DeepEqual(fields, toAny(lookupFields)) {
			t.Errorf("fields %v, want %v", fields, lookupFields)
		}
	})
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func TestLookupInvoicesAfterDelivery(t *testing.T) {
	f := newFake(t)
	c := f.connector(t, nil)
	e := connectortest.Invoice(1)
	r, err := deliver(t, c, e)
	if err != nil {
		t.Fatal(err)
	}
	id := invoiceRef(t, e)
	got, err := c.LookupInvoices(context.Background(), []string{id})
	if err != nil {
		t.Fatal(err)
	}
	want := connector.ERPInvoice{InvoiceID: id, Ref: r.Ref, Total: "650.46", Currency: "EUR", State: "posted"}
	if got[id] != want {
		t.Fatalf("got %+v, want %+v", got[id], want)
	}
}

func TestLookupInvoicesErrors(t *testing.T) {
	tests := []struct {
		name string
		rep  *reply
		want string
	}{
		{"server error", &reply{status: http.StatusInternalServerError}, "erp: lookup invoices: model.account.invoice.search_read: tryton answered 500"},
		{"user error", &reply{err: []any{"UserError", []any{"Invalid domain", ""}}}, "erp: lookup invoices: model.account.invoice.search_read: tryton refused: Invalid domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			c := f.connector(t, nil)
			f.setOverride(func(method string, _ []json.RawMessage) *reply {
				if method == "model.account.invoice.search_read" {
					return tt.rep
				}
				return nil
			})
			got, err := c.LookupInvoices(context.Background(), []string{"INV-1"})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("got %v, %v; want an error starting %q", got, err, tt.want)
			}
			if strings.Contains(err.Error(), fakePassword) {
				t.Fatal("the password is in the error")
			}
		})
	}
}

func TestListInvoices(t *testing.T) {
	f := newFake(t)
	c := f.connector(t, nil)
	c.listPage = 2
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }
	for _, inv := range []fakeInvoice{
		{ref: "INV_A-1", state: "posted", number: "N1", total: "1.00", currency: "EUR", created: at(1)},
		{ref: "INV_A-2", state: "draft", total: "2.00", currency: "EUR", created: at(2)},
		{ref: "INVXA-3", state: "posted", number: "N3", total: "3.00", currency: "EUR", created: at(3)}, // _ is no wildcard
		{ref: "INV_A-4", state: "posted", number: "N4", total: "4.00", currency: "EUR", created: at(4)},
		{ref: "INV_A-5", state: "posted", number: "N5", total: "5.00", currency: "EUR", created: at(5)},
		{ref: "INV_A-6", state: "posted", number: "N6", total: "6.00", currency: "EUR", created: at(24)}, // at to: out
		{ref: "INV_A-0", state: "posted", number: "N0", total: "0.50", currency: "EUR", created: at(0).Add(-time.Second)},
		{ref: "OTHER-7", state: "posted", number: "N7", total: "7.00", currency: "EUR", created: at(6)},
	} {
		f.add(inv)
	}
	// Berlin's midnight is 23:00 UTC the day before: from and to are
	// instants, sent in UTC.
	berlin := time.FixedZone("CET", 3600)
	from, to := at(0).In(berlin), at(24).In(berlin)

	var pages [][]string
	err := c.ListInvoices(context.Background(), "INV_A", from, to, func(page []connector.ERPInvoice) error {
		var refs []string
		for _, e := range page {
			refs = append(refs, e.InvoiceID+"="+e.Total)
		}
		pages = append(pages, refs)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"INV_A-1=1.00", "INV_A-2=2.00"}, {"INV_A-4=4.00", "INV_A-5=5.00"}}
	if !reflect.DeepEqual(pages, want) {
		t.Fatalf("pages %v, want %v", pages, want)
	}

	stop := errors.New("stop")
	calls := 0
	err = c.ListInvoices(context.Background(), "INV_A", from, to, func([]connector.ERPInvoice) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("fn's error: got %v after %d calls", err, calls)
	}

	calls = 0
	err = c.ListInvoices(context.Background(), "NONE", from, to, func([]connector.ERPInvoice) error {
		calls++
		return nil
	})
	if err != nil || calls != 0 {
		t.Fatalf("no match: %v, %d calls", err, calls)
	}
}

func TestLikePrefix(t *testing.T) {
	tests := []struct{ prefix, want string }{
		{"INV-", `INV-%`},
		{"INV_2026%", `INV\_2026\%%`},
		{`a\b`, `a\\b%`},
		{"", "%"},
	}
	for _, tt := range tests {
		if got := likePrefix(tt.prefix); got != tt.want {
			t.Errorf("likePrefix(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}
