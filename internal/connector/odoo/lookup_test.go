package odoo

import (
	"context"
	"encoding/json"
	"errors"
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

func TestLookupInvoices(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFakeOdoo(t)
			c := open(t, f, api)
			f.addMove(map[string]any{"ref": "INV-1", "name": "INV/2026/00001", "state": "posted", "amount_total": 650.46, "currency_id": int64(1)})
			f.addMove(map[string]any{"ref": "INV-2", "name": "INV/2026/00002", "state": "cancel", "amount_total": 10.0, "currency_id": int64(1)})
			f.addMove(map[string]any{"ref": "INV-2", "name": "INV/2026/00003", "state": "posted", "amount_total": 12.5, "currency_id": int64(2)})
			f.addMove(map[string]any{"ref": "INV-2", "name": "/", "state": "draft", "amount_total": 13.0, "currency_id": int64(1)})
			draft := f.addMove(map[string]any{"ref": "INV-3", "name": "/", "state": "draft", "amount_total": 0.1, "currency_id": int64(1)})
			f.addMove(map[string]any{"ref": "INV-5", "name": "INV/2026/00004", "state": "cancel", "amount_total": 7.0, "currency_id": int64(1)})
			f.addMove(map[string]any{"ref": "INV-1", "move_type": "out_refund", "name": "RINV/2026/00001", "state": "posted", "amount_total": 650.46, "currency_id": int64(1)})

			tests := []struct {
				name string
				ids  []string
				want map[string]connector.ERPInvoice
			}{
				{"none", nil, map[string]connector.ERPInvoice{}},
				{"absent", []string{"INV-9"}, map[string]connector.ERPInvoice{}},
				{"found and absent", []string{"INV-1", "INV-2", "INV-3", "INV-4", "INV-5"}, map[string]connector.ERPInvoice{
					"INV-1": {InvoiceID: "INV-1", Ref: "INV/2026/00001", Total: "650.46", Currency: "EUR", State: "posted"},
					"INV-2": {InvoiceID: "INV-2", Ref: "INV/2026/00003", Total: "12.5", Currency: "USD", State: "posted"},
					"INV-3": {InvoiceID: "INV-3", Ref: strconv.FormatInt(draft, 10), Total: "0.1", Currency: "EUR", State: "draft"},
					"INV-5": {InvoiceID: "INV-5", Ref: "INV/2026/00004", Total: "7", Currency: "EUR", State: "cancel"},
				}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					before := f.count("account.move/search_read")
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
					if n := f.count("account.move/search_read") - before; n != want {
						t.Errorf("%d searches, want %d", n, want)
					}
				})
			}
		})
	}
}

// count is how many times op was called.
func (f *fakeOdoo) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == op {
			n++
		}
	}
	return n
}

func TestLookupInvoicesAfterDelivery(t *testing.T) {
	f := newFakeOdoo(t)
	c := open(t, f, APIJSON2)
	e := connectortest.Invoice(1)
	r, err := c.Deliver(context.Background(), connectortest.Delivery(e))
	if err != nil {
		t.Fatal(err)
	}
	id := invoiceID(t, e)
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
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFakeOdoo(t)
			c := open(t, f, api)
			f.fail(injection{op: "account.move/search_read", times: 1, status: 502, raw: "<html>Bad Gateway</html>"})
			got, err := c.LookupInvoices(context.Background(), []string{"INV-1"})
			if err == nil || !strings.HasPrefix(err.Error(), "odoo: erp: lookup invoices: account.move/search_read") {
				t.Fatalf("got %v, %v; want the lookup's error", got, err)
			}
			if strings.Contains(err.Error(), f.apiKey) || strings.Contains(err.Error(), f.password) {
				t.Fatal("a secret is in the error")
			}
		})
	}
}

func TestListInvoices(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFakeOdoo(t)
			c := open(t, f, api)
			at := func(h int) string {
				return time.Date(2026, 11, 20, h, 0, 0, 0, time.UTC).Format("2006-01-02 15:04:05")
			}
			add := func(ref, created string, total float64) {
				f.addMove(map[string]any{"ref": ref, "name": "INV/" + ref, "state": "posted", "amount_total": total, "currency_id": int64(1), "create_date": created})
			}
			add("INV_A-0", "2026-11-19 23:59:59", 0.5)
			for i := 1; i <= listPage+1; i++ {
				add("INV_A-"+strconv.Itoa(i), at(1), float64(i))
			}
			add("INVXA-1", at(2), 1)   // _ is no wildcard
			add("OTHER-1", at(2), 1)   // another prefix
			add("INV_A-X", at(24), 99) // at to: out
			berlin := time.FixedZone("CET", 3600)
			from := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).In(berlin)
			to := from.Add(24 * time.Hour)

			var sizes []int
			var refs []string
			err := c.ListInvoices(context.Background(), "INV_A", from, to, func(page []connector.ERPInvoice) error {
				sizes = append(sizes, len(page))
				for _, e := range page {
					refs = append(refs, e.InvoiceID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sizes, []int{listPage, 1}) {
				t.Errorf("pages of %v, want %d then 1", sizes, listPage)
			}
			if len(refs) != listPage+1 || refs[0] != "INV_A-1" || refs[len(refs)-1] != "INV_A-"+strconv.Itoa(listPage+1) {
				t.Errorf("listed %d: %v … ", len(refs), refs[:min(3, len(refs))])
			}

			stop := errors.New("stop")
			if err := c.ListInvoices(context.Background(), "INV_A", from, to, func([]connector.ERPInvoice) error { return stop }); !errors.Is(err, stop) {
				t.Fatalf("fn's error: got %v", err)
			}
		})
	}
}

// The requests of a lookup and a listing, compared with the transcripts
// in testdata: one search_read by ref in the ids; pages by ref =like the
// escaped prefix and create_date in UTC as Odoo writes it.
func TestLookupTranscript(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFakeOdoo(t)
			c := open(t, f, api)
			ctx := context.Background()
			if _, err := c.LookupInvoices(ctx, []string{"INV-2026-000042", "INV-2026-000043"}); err != nil {
				t.Fatal(err)
			}
			from := time.Date(2026, 11, 20, 1, 2, 3, 0, time.FixedZone("CET", 3600))
			if err := c.ListInvoices(ctx, "INV_2026%", from, from.Add(time.Hour), func([]connector.ERPInvoice) error { return nil }); err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			got := strings.Join(f.transcript, "\n")
			f.mu.Unlock()
			path := filepath.Join("testdata", "lookup_"+api+".golden")
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
		})
	}
}

func TestNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{`650.46`, "650.46"}, {`100.0`, "100.0"}, {`0`, "0"}, {`1e+21`, "1000000000000000000000"},
		{`1.5e-05`, "0.000015"}, {`false`, ""}, {`"12.30"`, "12.30"},
	}
	for _, tt := range tests {
		var n number
		if err := json.Unmarshal([]byte(tt.in), &n); err != nil || string(n) != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.in, n, err, tt.want)
		}
	}
}
