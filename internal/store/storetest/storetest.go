package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

// Opener returns a fresh, empty store and a function that opens the same
// data again after the first was closed.
type Opener func(t *testing.T) (st store.Store, reopen func() store.Store)

// Run runs the suite against the implementation open builds.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"AppendAssignsIncreasingSeq", testAppend},
		{"AppendConflictRollsBack", testConflict},
		{"Shipments", testShipments},
		{"ShipmentPaging", testShipmentPaging},
		{"Timeline", testTimeline},
		{"Vehicles", testVehicles},
		{"Quarantine", testQuarantine},
		{"RollbackDiscards", testRollback},
		{"SurvivesReopen", testReopen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

var t0 = time.Date(2026, 11, 22, 8, 0, 0, 123456789, time.UTC)

func ev(source, id, shipment string, at time.Duration) store.EventRecord {
	return store.EventRecord{
		Source: source, ID: id, Type: "shipment.milestone", Subject: shipment, ShipmentID: shipment,
		Time: t0.Add(at), ReceivedAt: t0.Add(time.Hour), CorrelationID: "corr", CausationID: "cause",
		Principal: "admin", Data: []byte(`{"code":"arrived"}`),
	}
}

// write runs f in a committed transaction.
func write(t *testing.T, st store.Store, f func(tx store.Tx) error) {
	t.Helper()
	ctx := context.Background()
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := f(tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func testAppend(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	evs := []store.EventRecord{ev("a", "1", "S1", 0), ev("a", "2", "S1", time.Minute), ev("b", "1", "S2", 0)}
	write(t, st, func(tx store.Tx) error {
		known, err := tx.ExistingEvents(ctx, []store.EventKey{{Source: "a", ID: "1"}})
		if err != nil || len(known) != 0 {
			return fmt.Errorf("existing before insert: %v %v", known, err)
		}
		return tx.AppendEvents(ctx, evs)
	})
	if !(evs[0].Seq > 0 && evs[1].Seq > evs[0].Seq && evs[2].Seq > evs[1].Seq) {
		t.Fatalf("seqs %d %d %d", evs[0].Seq, evs[1].Seq, evs[2].Seq)
	}
	write(t, st, func(tx store.Tx) error {
		known, err := tx.ExistingEvents(ctx, []store.EventKey{{Source: "a", ID: "1"}, {Source: "a", ID: "9"}, {Source: "b", ID: "1"}})
		if err != nil {
			return err
		}
		if !known[store.EventKey{Source: "a", ID: "1"}] || known[store.EventKey{Source: "a", ID: "9"}] || !known[store.EventKey{Source: "b", ID: "1"}] {
			return fmt.Errorf("existing: %v", known)
		}
		return nil
	})
	got, err := st.Event(ctx, store.EventKey{Source: "a", ID: "2"})
	if err != nil {
		t.Fatal(err)
	}
	want := evs[1]
	if !got.Time.Equal(want.Time) || got.Time.Nanosecond() != want.Time.Nanosecond() {
		t.Fatalf("time %v, want %v (exact to the nanosecond)", got.Time, want.Time)
	}
	got.Time = want.Time
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("event round trip\n got %+v\nwant %+v", got, want)
	}
	if _, err := st.Event(ctx, store.EventKey{Source: "a", ID: "404"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing event: %v", err)
	}
	c, err := st.Counts(ctx)
	if err != nil || c.Events != 3 {
		t.Fatalf("counts %+v %v", c, err)
	}
}

func testConflict(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	write(t, st, func(tx store.Tx) error { return tx.AppendEvents(ctx, []store.EventRecord{ev("a", "1", "S", 0)}) })
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = tx.AppendEvents(ctx, []store.EventRecord{ev("a", "2", "S", 0), ev("a", "1", "S", 0)})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("appending a stored key: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Event(ctx, store.EventKey{Source: "a", ID: "2"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled-back event visible: %v", err)
	}
}

func ship(id, status, customer string, visible bool, upd time.Time) store.ShipmentRecord {
	return store.ShipmentRecord{ID: id, Visible: visible, Status: status, CustomerID: customer, State: []byte(`{"id":"` + id + `"}`), UpdatedAt: upd}
}

func testShipments(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	recs := []store.ShipmentRecord{
		ship("S1", "released", "C1", true, t0),
		ship("S2", "in_transit", "C2", true, t0.Add(time.Second)),
		ship("S3", "", "", false, t0),
	}
	write(t, st, func(tx store.Tx) error {
		locked, err := tx.LockShipments(ctx, []string{"S1", "S2", "S3"})
		if err != nil || len(locked) != 0 {
			return fmt.Errorf("lock before put: %v %v", locked, err)
		}
		return tx.PutShipments(ctx, recs)
	})
	got, err := st.Shipment(ctx, "S1")
	if err != nil || !reflect.DeepEqual(got, recs[0]) {
		t.Fatalf("shipment round trip: %+v %v", got, err)
	}
	if _, err := st.Shipment(ctx, "S3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("invisible shipment readable: %v", err)
	}
	write(t, st, func(tx store.Tx) error {
		locked, err := tx.LockShipments(ctx, []string{"S2", "S1", "S9"})
		if err != nil {
			return err
		}
		if len(locked) != 2 || !bytes.Equal(locked["S2"].State, recs[1].State) || !locked["S1"].Visible {
			return fmt.Errorf("locked %+v", locked)
		}
		upd := recs[0]
		upd.Status, upd.UpdatedAt = "planned", t0.Add(2*time.Second)
		return tx.PutShipments(ctx, []store.ShipmentRecord{upd})
	})
	for _, tt := range []struct {
		f    store.ShipmentFilter
		want []string
	}{
		{store.ShipmentFilter{Limit: 10}, []string{"S2", "S1"}},
		{store.ShipmentFilter{Status: "planned", Limit: 10}, []string{"S1"}},
		{store.ShipmentFilter{CustomerID: "C2", Limit: 10}, []string{"S2"}},
		{store.ShipmentFilter{UpdatedSince: t0.Add(2 * time.Second), Limit: 10}, []string{"S1"}},
		{store.ShipmentFilter{Limit: 1}, []string{"S2"}},
	} {
		list, err := st.Shipments(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range list {
			ids = append(ids, r.ID)
		}
		if !reflect.DeepEqual(ids, tt.want) {
			t.Errorf("filter %+v: %v, want %v", tt.f, ids, tt.want)
		}
	}
	if c, _ := st.Counts(ctx); c.Shipments != 2 {
		t.Fatalf("counts %+v", c)
	}
}

func testShipmentPaging(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	var recs []store.ShipmentRecord
	for i := range 57 {
		recs = append(recs, ship(fmt.Sprintf("S%03d", i), "released", "C", true, t0.Add(time.Duration(i%7)*time.Second)))
	}
	write(t, st, func(tx store.Tx) error { return tx.PutShipments(ctx, recs) })
	seen := map[string]bool{}
	var after *store.ShipmentCursor
	var last store.ShipmentCursor
	for {
		page, err := st.Shipments(ctx, store.ShipmentFilter{Limit: 10, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			if seen[r.ID] {
				t.Fatalf("%s twice", r.ID)
			}
			c := store.ShipmentCursor{UpdatedAt: r.UpdatedAt, ID: r.ID}
			if c.UpdatedAt.Before(last.UpdatedAt) || (c.UpdatedAt.Equal(last.UpdatedAt) && c.ID < last.ID) {
				t.Fatalf("out of order: %+v after %+v", c, last)
			}
			seen[r.ID], last = true, c
		}
		if len(page) < 10 {
			break
		}
		after = &store.ShipmentCursor{UpdatedAt: last.UpdatedAt, ID: last.ID}
	}
	if len(seen) != 57 {
		t.Fatalf("paged over %d of 57", len(seen))
	}
}

func testTimeline(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	write(t, st, func(tx store.Tx) error {
		return tx.AppendEvents(ctx, []store.EventRecord{
			ev("a", "late", "S1", 3*time.Minute), ev("a", "early", "S1", time.Minute),
			ev("b", "same-time", "S1", time.Minute), ev("a", "other", "S2", 0),
		})
	})
	var ids []string
	var after *store.TimelineCursor
	for {
		page, err := st.Timeline(ctx, "S1", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			ids = append(ids, e.ID)
		}
		if len(page) < 2 {
			break
		}
		l := page[len(page)-1]
		after = &store.TimelineCursor{Time: l.Time, Seq: l.Seq}
	}
	if want := []string{"early", "same-time", "late"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("timeline %v, want %v", ids, want)
	}
}

func testVehicles(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	v := store.VehicleRecord{ID: "TRK-1", State: []byte(`{"id":"TRK-1"}`), UpdatedAt: t0}
	write(t, st, func(tx store.Tx) error {
		if got, err := tx.LockVehicles(ctx, []string{"TRK-1"}); err != nil || len(got) != 0 {
			return fmt.Errorf("lock: %v %v", got, err)
		}
		return tx.PutVehicles(ctx, []store.VehicleRecord{v})
	})
	got, err := st.Vehicle(ctx, "TRK-1")
	if err != nil || !reflect.DeepEqual(got, v) {
		t.Fatalf("vehicle %+v %v", got, err)
	}
	if _, err := st.Vehicle(ctx, "TRK-404"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing vehicle: %v", err)
	}
}

func testQuarantine(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	q := func(id, source string) store.QuarantineRecord {
		return store.QuarantineRecord{
			ID: id, ReceivedAt: t0, Source: source, Principal: "admin", Reason: "id: is required",
			Errors: []byte(`[{"field":"id","message":"is required"}]`), ContentType: "application/json",
			Payload: []byte{0xff, 0x00, '{'}, Truncated: true,
		}
	}
	write(t, st, func(tx store.Tx) error {
		return tx.PutQuarantine(ctx, []store.QuarantineRecord{q("q1", "a"), q("q2", "b"), q("q3", "a")})
	})
	got, err := st.QuarantineItem(ctx, "q2")
	if err != nil || !reflect.DeepEqual(got, q("q2", "b")) {
		t.Fatalf("quarantine round trip: %+v %v", got, err)
	}
	replayed := q("q2", "b")
	at := t0.Add(time.Hour)
	replayed.ReplayedAt, replayed.ReplayState, replayed.Reason = &at, "accepted", "fixed"
	write(t, st, func(tx store.Tx) error { return tx.PutQuarantine(ctx, []store.QuarantineRecord{replayed}) })
	got, _ = st.QuarantineItem(ctx, "q2")
	if got.ReplayState != "accepted" || got.ReplayedAt == nil || !got.ReplayedAt.Equal(at) || got.Reason != "fixed" {
		t.Fatalf("replayed record %+v", got)
	}
	for _, tt := range []struct {
		f    store.QuarantineFilter
		want []string
	}{
		{store.QuarantineFilter{Limit: 10}, []string{"q3", "q2", "q1"}},
		{store.QuarantineFilter{Source: "a", Limit: 10}, []string{"q3", "q1"}},
		{store.QuarantineFilter{Before: "q3", Limit: 1}, []string{"q2"}},
	} {
		list, err := st.Quarantine(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range list {
			ids = append(ids, r.ID)
		}
		if !reflect.DeepEqual(ids, tt.want) {
			t.Errorf("filter %+v: %v, want %v", tt.f, ids, tt.want)
		}
	}
	if _, err := st.QuarantineItem(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing item: %v", err)
	}
}

func testRollback(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = tx.AppendEvents(ctx, []store.EventRecord{ev("a", "1", "S", 0)})
	_ = tx.PutShipments(ctx, []store.ShipmentRecord{ship("S", "released", "C", true, t0)})
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if c, err := st.Counts(ctx); err != nil || c.Events != 0 || c.Shipments != 0 {
		t.Fatalf("after rollback: %+v %v", c, err)
	}
	tx, _ = st.Begin(ctx)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatalf("rollback after commit: %v", err)
	}
}

func testReopen(t *testing.T, open Opener) {
	st, reopen := open(t)
	ctx := context.Background()
	write(t, st, func(tx store.Tx) error { return tx.AppendEvents(ctx, []store.EventRecord{ev("a", "1", "S", 0)}) })
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = reopen()
	defer st.Close()
	if _, err := st.Event(ctx, store.EventKey{Source: "a", ID: "1"}); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}
