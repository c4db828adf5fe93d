package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

func invoiceRec(id, shipment, currency, total, status string, created time.Time) store.InvoiceRecord {
	return store.InvoiceRecord{ID: id, ShipmentID: shipment, CustomerID: "CUST-1", Currency: currency, Total: total,
		Status: status, Data: []byte(`{}`), CreatedAt: created, UpdatedAt: created}
}

// typedEv is an event of type typ on shipment's timeline at time at,
// received at rcv.
func typedEv(id, typ, shipment string, at, rcv time.Time, data string) store.EventRecord {
	return store.EventRecord{Source: "test", ID: id, Type: typ, Subject: shipment, ShipmentID: shipment,
		Time: at, ReceivedAt: rcv, Data: []byte(data)}
}

func testInsightShipmentCounts(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	if got, err := st.ShipmentStatusCounts(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v %v", got, err)
	}
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.LockShipments(ctx, []string{"S1", "PLACEHOLDER"}); err != nil { // may leave a placeholder
			return err
		}
		return tx.PutShipments(ctx, []store.ShipmentRecord{
			ship("S1", "released", "C", true, t0), ship("S2", "released", "C", true, t0),
			ship("S3", "delivered", "C", true, t0), ship("H1", "released", "C", false, t0),
			ship("H2", "cancelled", "C", false, t0),
		})
	})
	want := map[string]int64{"released": 2, "delivered": 1} // hidden shipments are not counted
	if got, err := st.ShipmentStatusCounts(ctx); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ShipmentStatusCounts() = %v %v, want %v", got, err, want)
	}
}

func testInsightCaseGroups(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	now := t0.Add(48 * time.Hour)
	if got, err := st.OpenCaseGroups(ctx, now); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v %v", got, err)
	}
	type key struct {
		code, region, carrier string
		blocking              bool
	}
	damaged, damagedSoft := key{"damaged", "DE", "acme", true}, key{"damaged", "DE", "acme", false}
	late, pod := key{"late", "FR", "beta", true}, key{"awaiting_pod", "", "", false}
	const ns = time.Nanosecond
	var recs []store.CaseRecord
	for i, c := range []struct {
		k      key
		status string
		age    time.Duration // opened this long before now
	}{
		// Each bucket counts cases opened strictly more than its age ago.
		{damaged, store.CaseOpen, time.Hour},
		{damaged, store.CaseOpen, time.Hour + ns},
		{damaged, store.CaseOpen, 4 * time.Hour},
		{damaged, store.CaseOpen, 4*time.Hour + ns},
		{damaged, store.CaseOpen, 24 * time.Hour},
		{damaged, store.CaseOpen, 24*time.Hour + ns},
		{damaged, store.CaseResolved, 30 * time.Hour},
		{damaged, store.CaseSuperseded, 30 * time.Hour},
		{damaged, store.CaseCancelled, 30 * time.Hour},
		{damagedSoft, store.CaseOpen, 0},
		{damagedSoft, store.CaseOpen, 30 * time.Minute},
		{late, store.CaseOpen, 2 * time.Hour},
		{late, store.CaseOpen, 5 * time.Hour},
		{late, store.CaseResolved, 50 * time.Hour},
		{pod, store.CaseOpen, 10 * time.Minute},
	} {
		r := caseRec(fmt.Sprintf("c-%02d", i), "SHP-1", c.k.code, c.status, now.Add(-c.age).Sub(t0))
		r.Region, r.Carrier, r.Blocking = c.k.region, c.k.carrier, c.k.blocking
		recs = append(recs, r)
	}
	write(t, st, func(ctx context.Context, tx store.Tx) error { return tx.PutCases(ctx, recs) })
	group := func(k key, n, over1h, over4h, over24h int64, oldest time.Duration) store.CaseGroup {
		return store.CaseGroup{Code: k.code, Region: k.region, Carrier: k.carrier, Blocking: k.blocking, Count: n,
			Over1h: over1h, Over4h: over4h, Over24h: over24h, Oldest: now.Add(-oldest)}
	}
	// By count descending, then code.
	want := []store.CaseGroup{
		group(damaged, 6, 5, 3, 1, 24*time.Hour+ns),
		group(damagedSoft, 2, 0, 0, 0, 30*time.Minute),
		group(late, 2, 2, 1, 0, 5*time.Hour),
		group(pod, 1, 0, 0, 0, 10*time.Minute),
	}
	got, err := st.OpenCaseGroups(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("OpenCaseGroups()\n got %+v\nwant %+v", got, want)
	}
	// Ages move with now: a day and a nanosecond later every open case is
	// over a day old.
	got, err = st.OpenCaseGroups(ctx, now.Add(24*time.Hour+ns))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range got {
		if g.Over1h != g.Count || g.Over4h != g.Count || g.Over24h != g.Count {
			t.Errorf("a day later: %+v, want every case in every bucket", g)
		}
	}
}

func testInsightInvoiceTotals(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	if got, err := st.InvoiceTotals(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v %v", got, err)
	}
	var recs []store.InvoiceRecord
	add := func(currency, total, status string, created time.Time) {
		recs = append(recs, invoiceRec(fmt.Sprintf("INV-%06d", len(recs)+1), "SHP-1", currency, total, status, created))
	}
	// 1000 × 0.10 as float64 sums to 99.9999999999986: cents must not drift.
	for i := range 1000 {
		add("EUR", "0.10", "ready", t0.Add(time.Duration(i+1)*time.Second))
	}
	add("EUR", "1234.55", "ready", t0.Add(time.Nanosecond))
	add("USD", "1.00", "ready", t0.Add(time.Hour))
	add("USD", "19.99", "posted", t0.Add(2*time.Hour))
	add("USD", "0.01", "posted", t0.Add(time.Hour+1))
	add("USD", "12.3", "posted", t0.Add(3*time.Hour))
	add("USD", "98765432.19", "posted", t0.Add(4*time.Hour))
	add("EUR", "50.00", "failed", t0.Add(5*time.Hour))
	write(t, st, func(ctx context.Context, tx store.Tx) error { return tx.PutInvoices(ctx, recs) })
	// By status, then currency; failed invoices count here too.
	want := []store.InvoiceTotal{
		{Status: "failed", Currency: "EUR", Count: 1, TotalCents: 5000, Oldest: t0.Add(5 * time.Hour)},
		{Status: "posted", Currency: "USD", Count: 4, TotalCents: 1999 + 1 + 1230 + 9876543219, Oldest: t0.Add(time.Hour + 1)},
		{Status: "ready", Currency: "EUR", Count: 1001, TotalCents: 1000*10 + 123455, Oldest: t0.Add(time.Nanosecond)},
		{Status: "ready", Currency: "USD", Count: 1, TotalCents: 100, Oldest: t0.Add(time.Hour)},
	}
	got, err := st.InvoiceTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("InvoiceTotals()\n got %+v\nwant %+v", got, want)
	}
}

func testInsightRevenueByDay(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	day0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	day1, dayBefore := day0.Add(24*time.Hour), day0.Add(-24*time.Hour)
	var recs []store.InvoiceRecord
	add := func(currency, total, status string, created time.Time) {
		recs = append(recs, invoiceRec(fmt.Sprintf("INV-%06d", len(recs)+1), "SHP-1", currency, total, status, created))
	}
	add("EUR", "7.00", "posted", day0.Add(-time.Nanosecond)) // the day before, its last instant
	add("EUR", "1.00", "ready", day0)
	add("EUR", "10.00", "posted", day1.Add(-time.Nanosecond))
	add("EUR", "20.00", "posted", day1)
	for i := range 3 {
		add("EUR", "0.10", "ready", day1.Add(12*time.Hour+time.Duration(i)))
	}
	add("EUR", "1000.00", "failed", day1.Add(time.Hour)) // failed: never revenue
	add("USD", "5.00", "ready", day1.Add(23*time.Hour))
	write(t, st, func(ctx context.Context, tx store.Tx) error { return tx.PutInvoices(ctx, recs) })
	rev := func(day time.Time, currency string, n, cents int64) store.DayRevenue {
		return store.DayRevenue{Day: day, Currency: currency, Count: n, TotalCents: cents}
	}
	for _, tt := range []struct {
		name string
		from time.Time
		want []store.DayRevenue
	}{
		{"everything", time.Time{}, []store.DayRevenue{rev(dayBefore, "EUR", 1, 700), rev(day0, "EUR", 2, 1100),
			rev(day1, "EUR", 4, 2030), rev(day1, "USD", 1, 500)}},
		{"from is inclusive", day0, []store.DayRevenue{rev(day0, "EUR", 2, 1100), rev(day1, "EUR", 4, 2030), rev(day1, "USD", 1, 500)}},
		// Midnight in CET is 23:00 UTC the day before, and days are UTC days.
		{"from in another zone", time.Date(2026, 11, 23, 0, 0, 0, 0, time.FixedZone("CET", 3600)), []store.DayRevenue{rev(day0, "EUR", 1, 1000), rev(day1, "EUR", 4, 2030), rev(day1, "USD", 1, 500)}},
		{"from within a day", day1.Add(time.Nanosecond), []store.DayRevenue{rev(day1, "EUR", 3, 30), rev(day1, "USD", 1, 500)}},
		{"after the last", day1.Add(24 * time.Hour), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.RevenueByDay(ctx, tt.from)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, tt.want, func(a, b store.DayRevenue) bool { return reflect.DeepEqual(a, b) }) {
				t.Fatalf("RevenueByDay(%v)\n got %+v\nwant %+v", tt.from, got, tt.want)
			}
		})
	}
}

func testInsightPODToInvoice(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	pod := func(id, shipment string, tm, rcv time.Time) store.EventRecord {
		return typedEv(id, "delivery.completed", shipment, tm, rcv, `{}`)
	}
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return errors.Join(
			tx.AppendEvents(ctx, []store.EventRecord{
				// SHP-1's last POD in time was recorded first and received
				// first: last means last on the timeline, not last appended
				// or last received; its receipt is what counts.
				pod("p1-late", "SHP-1", at(2*time.Hour), at(150*time.Minute)),
				pod("p1-early", "SHP-1", at(time.Hour), at(165*time.Minute)),
				typedEv("m1", "shipment.milestone", "SHP-1", at(150*time.Minute), at(10*time.Hour), `{}`),
				typedEv("d2", "delivery.delivered", "SHP-2", at(time.Hour), at(10*time.Hour), `{"lag_ms":1}`),
				pod("p3", "SHP-3", at(30*time.Minute), at(45*time.Minute)),
				pod("p0", "SHP-0", at(-3*time.Hour), at(-165*time.Minute)),
				pod("p-none", "", at(time.Hour), at(time.Hour)), // on no timeline: no invoice's POD
			}),
			tx.PutInvoices(ctx, []store.InvoiceRecord{
				invoiceRec("INV-0", "SHP-0", "EUR", "1.00", "ready", at(-time.Hour)),
				invoiceRec("INV-1", "SHP-1", "EUR", "1.00", "posted", at(3*time.Hour)),
				invoiceRec("INV-2", "SHP-2", "EUR", "1.00", "ready", at(4*time.Hour)), // no POD
				invoiceRec("INV-3", "SHP-3", "EUR", "1.00", "failed", at(5*time.Hour)),
				invoiceRec("INV-5", "", "EUR", "1.00", "ready", at(6*time.Hour)), // no shipment
			}),
		)
	})
	for _, tt := range []struct {
		name  string
		since time.Time
		limit int
		want  []time.Duration
	}{
		{"newest first", t0, 0, []time.Duration{255 * time.Minute, 30 * time.Minute}},
		{"since is inclusive", at(3 * time.Hour), 10, []time.Duration{255 * time.Minute, 30 * time.Minute}},
		{"since", at(3*time.Hour + 1), 10, []time.Duration{255 * time.Minute}},
		{"since before every invoice", at(-2 * time.Hour), 10, []time.Duration{255 * time.Minute, 30 * time.Minute, 105 * time.Minute}},
		// The limit counts the newest invoices, with or without a POD.
		{"limit", t0, 2, []time.Duration{255 * time.Minute}},
		{"limit of invoices without POD", t0, 1, nil},
		{"after the last", at(7 * time.Hour), 10, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.PODToInvoice(ctx, tt.since, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("PODToInvoice(%v, %d) = %v, want %v", tt.since, tt.limit, got, tt.want)
			}
		})
	}
}

func testInsightPropagationLags(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	rcv := func(d time.Duration) time.Time { return t0.Add(d) }
	delivered := func(id string, received time.Time, data string) store.EventRecord {
		return typedEv(id, "delivery.delivered", "SHP-1", received, received, data)
	}
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.AppendEvents(ctx, []store.EventRecord{
			delivered("e1", rcv(0), `{"connector":"erp","lag_ms":1500}`),
			delivered("e2", rcv(time.Minute), `{"connector":"erp","lag_ms":250}`),
			delivered("e3", rcv(2*time.Minute), `{"connector":"erp"}`), // recorded before lag_ms was
			delivered("e4", rcv(3*time.Minute), `{"connector":"erp","lag_ms":0}`),
			typedEv("x1", "delivery.dead", "SHP-1", rcv(4*time.Minute), rcv(4*time.Minute), `{"lag_ms":999}`),
			typedEv("x2", "shipment.milestone", "SHP-1", rcv(4*time.Minute), rcv(4*time.Minute), `{"lag_ms":999}`),
		})
	})
	ms := time.Millisecond
	for _, tt := range []struct {
		name  string
		since time.Time
		limit int
		want  []time.Duration
	}{
		{"newest first", t0, 0, []time.Duration{0, 250 * ms, 1500 * ms}},
		{"since is inclusive", rcv(time.Minute), 10, []time.Duration{0, 250 * ms}},
		{"since", rcv(time.Minute + 1), 10, []time.Duration{0}},
		// The limit counts the newest events, with or without a lag.
		{"limit", t0, 2, []time.Duration{0}},
		{"limit reaching older events", t0, 3, []time.Duration{0, 250 * ms}},
		{"after the last", rcv(3*time.Minute + 1), 10, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.PropagationLags(ctx, tt.since, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("PropagationLags(%v, %d) = %v, want %v", tt.since, tt.limit, got, tt.want)
			}
		})
	}
}

func testInsightRecentVehicles(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	veh := func(id string, upd time.Duration) store.VehicleRecord {
		return store.VehicleRecord{ID: id, State: []byte(`{"id":"` + id + `"}`), UpdatedAt: t0.Add(upd)}
	}
	v1, v2, v3, v4 := veh("V1", 0), veh("V2", 2*time.Second), veh("V3", time.Second), veh("V4", 2*time.Second)
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.LockVehicles(ctx, []string{"V1", "PLACEHOLDER"}); err != nil { // may leave a placeholder
			return err
		}
		return tx.PutVehicles(ctx, []store.VehicleRecord{v4, v1, v3, v2, {ID: "EMPTY", UpdatedAt: t0.Add(time.Hour)}})
	})
	for _, tt := range []struct {
		name  string
		limit int
		want  []store.VehicleRecord
	}{
		{"most recent first, then by id", 0, []store.VehicleRecord{v2, v4, v3, v1}},
		{"limit", 2, []store.VehicleRecord{v2, v4}},
		{"limit above the count", 10, []store.VehicleRecord{v2, v4, v3, v1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.RecentVehicles(ctx, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, tt.want, func(a, b store.VehicleRecord) bool { return reflect.DeepEqual(a, b) }) {
				t.Fatalf("RecentVehicles(%d)\n got %+v\nwant %+v", tt.limit, got, tt.want)
			}
		})
	}
}
