package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

// Opener returns a fresh, empty store that the test may use alone, and a
// function that opens the same data again after the first store was
// closed (same SQLite file, same PostgreSQL schema). The opener registers
// the cleanup of both.
type Opener func(t *testing.T) (st store.Store, reopen func() store.Store)

// Run runs the suite against the implementation open builds. Every test
// opens its own store, so they run in parallel.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"DialectAndPing", testDialect},
		{"Cases", testCases},
		{"Invoices", testInvoices},
		{"InvoiceCreatedFilter", testInvoiceCreatedFilter},
		{"Reconciliations", testReconciliations},
		{"ReconcileFindings", testReconcileFindings},
		{"ReconcileConcurrentFindings", testReconcileConcurrentFindings},
		{"InsightShipmentCounts", testInsightShipmentCounts},
		{"InsightCaseGroups", testInsightCaseGroups},
		{"InsightInvoiceTotals", testInsightInvoiceTotals},
		{"InsightRevenueByDay", testInsightRevenueByDay},
		{"InsightPODToInvoice", testInsightPODToInvoice},
		{"InsightPropagationLags", testInsightPropagationLags},
		{"InsightRecentVehicles", testInsightRecentVehicles},
		{"Sequences", testSequences},
		{"Jobs", testJobs},
		{"JobsClaimedOnce", testJobsClaimedOnce},
		{"JobsFIFO", testJobsFIFO},
		{"JobsListAndReset", testJobsListAndReset},
		{"ReplayJobs", testReplayJobs},
		{"SettleJobs", testSettleJobs},
		{"WakeJobs", testWakeJobs},
		{"EventFilter", testEventFilter},
		{"JobStatsAndDefer", testJobStatsAndDefer},
		{"RenewJob", testRenewJob},
		{"FinishJobInTx", testFinishJobInTx},
		{"AppendAssignsIncreasingSeq", testAppend},
		{"ExistingEvents", testExistingEvents},
		{"AppendConflictRollsBack", testConflict},
		{"EmptyBatches", testEmptyBatches},
		{"NilBytes", testNilBytes},
		{"ShipmentRoundTrip", testShipmentRoundTrip},
		{"InvisibleShipments", testInvisible},
		{"ShipmentFilters", testShipmentFilters},
		{"ShipmentPaging", testShipmentPaging},
		{"Timeline", testTimeline},
		{"TimelinePaging", testTimelinePaging},
		{"Vehicles", testVehicles},
		{"Quarantine", testQuarantine},
		{"QuarantinePaging", testQuarantinePaging},
		{"Counts", testCounts},
		{"RollbackDiscards", testRollback},
		{"RollbackAfterCommit", testRollbackAfterCommit},
		{"ReadsDoNotWaitForWriter", testReadsDuringWrite},
		{"SurvivesReopen", testReopen},
		{"Positions", testPositions},
		{"PositionConflict", testPositionConflict},
		{"PrunePositions", testPrunePositions},
		{"Devices", testDevices},
		{"Partners", testPartners},
		{"Keys", testKeys},
		{"Shares", testShares},
		{"MasterData", testMasterData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open)
		})
	}
}

// t0 has a nanosecond part so a time that lost precision shows.
var t0 = time.Date(2026, 11, 22, 8, 0, 0, 123456789, time.UTC)

func ev(source, id, shipment string, at time.Duration) store.EventRecord {
	return store.EventRecord{
		Source: source, ID: id, Type: "shipment.milestone", Subject: shipment, ShipmentID: shipment,
		Time: t0.Add(at), ReceivedAt: t0.Add(time.Hour + 1), CorrelationID: "corr-" + id, CausationID: "cause " + id,
		Principal: "admin", Data: []byte(`{"code":"arrived","id":"` + id + `"}`),
	}
}

func ship(id, status, customer string, visible bool, upd time.Time) store.ShipmentRecord {
	return store.ShipmentRecord{ID: id, Visible: visible, Status: status, CustomerID: customer, State: []byte(`{"id":"` + id + `","status":"` + status + `"}`), UpdatedAt: upd}
}

func quar(id, source string, at time.Time) store.QuarantineRecord {
	return store.QuarantineRecord{
		ID: id, ReceivedAt: at, Source: source, Principal: "partner-" + source, Reason: "id: is required",
		Errors: []byte(`[{"field":"id","message":"is required"}]`), ContentType: "application/json",
		Payload: []byte{0xff, 0x00, '{', 0x80}, Truncated: true,
	}
}

// write runs f in a committed transaction.
func write(t *testing.T, st store.Store, f func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	ctx := context.Background()
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := f(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func shipmentIDs(recs []store.ShipmentRecord) []string {
	ids := []string{}
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return ids
}

func eventIDs(evs []store.EventRecord) []string {
	ids := []string{}
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	return ids
}

func quarantineIDs(recs []store.QuarantineRecord) []string {
	ids := []string{}
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return ids
}

// sameTime fails unless got is want to the nanosecond, in UTC.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) || got.Location() != time.UTC && !got.IsZero() {
		t.Errorf("%s: %v, want %v (exact to the nanosecond, UTC)", what, got, want)
	}
}

// nilEmpty makes empty byte slices nil: a store may return either for an
// empty payload or error list.
func nilEmpty(q store.QuarantineRecord) store.QuarantineRecord {
	if len(q.Payload) == 0 {
		q.Payload = nil
	}
	if len(q.Errors) == 0 {
		q.Errors = nil
	}
	return q
}

func testDialect(t *testing.T, open Opener) {
	st, _ := open(t)
	if d := st.Dialect(); d != "sqlite" && d != "postgres" {
		t.Errorf("Dialect() = %q", d)
	}
	if err := st.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func testAppend(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	evs := []store.EventRecord{ev("a", "1", "S1", 0), ev("a", "2", "S1", time.Minute), ev("b", "1", "S2", 0)}
	evs[2].ShipmentID, evs[2].CausationID, evs[2].Principal = "", "", "" // empty strings stay empty
	write(t, st, func(ctx context.Context, tx store.Tx) error { return tx.AppendEvents(ctx, evs) })
	if !(evs[0].Seq > 0 && evs[1].Seq > evs[0].Seq && evs[2].Seq > evs[1].Seq) {
		t.Fatalf("seqs %d %d %d, want increasing from > 0", evs[0].Seq, evs[1].Seq, evs[2].Seq)
	}
	more := []store.EventRecord{ev("a", "3", "S1", 0)}
	write(t, st, func(ctx context.Context, tx store.Tx) error { return tx.AppendEvents(ctx, more) })
	if more[0].Seq <= evs[2].Seq {
		t.Fatalf("next transaction's seq %d not after %d", more[0].Seq, evs[2].Seq)
	}
	for _, want := range append(evs, more...) {
		got, err := st.Event(ctx, want.Key())
		if err != nil {
			t.Fatal(err)
		}
		sameTime(t, "Time", got.Time, want.Time)
		sameTime(t, "ReceivedAt", got.ReceivedAt, want.ReceivedAt)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("event round trip\n got %+v\nwant %+v", got, want)
		}
	}
	if _, err := st.Event(ctx, store.EventKey{Source: "a", ID: "404"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing event: %v, want ErrNotFound", err)
	}
	if _, err := st.Event(ctx, store.EventKey{Source: "b", ID: "2"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing event: %v, want ErrNotFound", err)
	}
}

func testExistingEvents(t *testing.T, open Opener) {
	st, _ := open(t)
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.AppendEvents(ctx, []store.EventRecord{ev("a", "1", "S", 0), ev("b", "1", "S", 0)})
	})
	k := func(s, id string) store.EventKey { return store.EventKey{Source: s, ID: id} }
	for _, tt := range []struct {
		name string
		keys []store.EventKey
		want []store.EventKey
	}{
		{"none given", nil, nil},
		{"none stored", []store.EventKey{k("a", "2"), k("c", "1")}, nil},
		{"some stored", []store.EventKey{k("a", "1"), k("a", "9"), k("b", "1")}, []store.EventKey{k("a", "1"), k("b", "1")}},
		{"source and id are one key", []store.EventKey{k("b", "a"), k("1", "a")}, nil},
		{"asked twice", []store.EventKey{k("a", "1"), k("a", "1")}, []store.EventKey{k("a", "1")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			write(t, st, func(ctx context.Context, tx store.Tx) error {
				got, err := tx.ExistingEvents(ctx, tt.keys)
				if err != nil {
					return err
				}
				want := map[store.EventKey]bool{}
				for _, k := range tt.want {
					want[k] = true
				}
				for k, v := range got {
					if !v {
						delete(got, k) // false entries mean "not stored" too
					}
				}
				if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
					return fmt.Errorf("ExistingEvents(%v) = %v, want %v", tt.keys, got, want)
				}
				return nil
			})
		})
	}
	// Keys appended earlier in the same transaction are stored too.
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		if err := tx.AppendEvents(ctx, []store.EventRecord{ev("c", "1", "S", 0)}); err != nil {
			return err
		}
		got, err := tx.ExistingEvents(ctx, []store.EventKey{k("c", "1")})
		if err != nil || !got[k("c", "1")] {
			return fmt.Errorf("own append not seen: %v %v", got, err)
		}
		return nil
	})
}

func testConflict(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.AppendEvents(ctx, []store.EventRecord{ev("a", "1", "S", 0)})
	})
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.PutShipments(ctx, []store.ShipmentRecord{ship("S", "released", "C", true, t0)}); err != nil {
		t.Fatal(err)
	}
	err = tx.AppendEvents(ctx, []store.EventRecord{ev("a", "2", "S", 0), ev("a", "1", "S", 0)})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("appending a stored key: %v, want ErrConflict", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Event(ctx, store.EventKey{Source: "a", ID: "2"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled-back event readable: %v", err)
	}
	if _, err := st.Shipment(ctx, "S"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled-back shipment readable: %v", err)
	}
	if c, err := st.Counts(ctx); err != nil || c.Events != 1 || c.Shipments != 0 {
		t.Fatalf("after rollback: %+v %v", c, err)
	}
	// The store is usable afterwards and the retried batch goes through.
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.AppendEvents(ctx, []store.EventRecord{ev("a", "2", "S", 0)})
	})
}

func testEmptyBatches(t *testing.T, open Opener) {
	st, _ := open(t)
	for _, tt := range []struct {
		name string
		call func(ctx context.Context, tx store.Tx) (int, error)
	}{
		{"ExistingEvents", func(ctx context.Context, tx store.Tx) (int, error) {
			m, err := tx.ExistingEvents(ctx, nil)
			return len(m), err
		}},
		{"AppendEvents", func(ctx context.Context, tx store.Tx) (int, error) { return 0, tx.AppendEvents(ctx, nil) }},
		{"LockShipments", func(ctx context.Context, tx store.Tx) (int, error) {
			m, err := tx.LockShipments(ctx, nil)
			return len(m), err
		}},
		{"PutShipments", func(ctx context.Context, tx store.Tx) (int, error) { return 0, tx.PutShipments(ctx, nil) }},
		{"LockVehicles", func(ctx context.Context, tx store.Tx) (int, error) {
			m, err := tx.LockVehicles(ctx, []string{})
			return len(m), err
		}},
		{"PutVehicles", func(ctx context.Context, tx store.Tx) (int, error) { return 0, tx.PutVehicles(ctx, nil) }},
		{"PutQuarantine", func(ctx context.Context, tx store.Tx) (int, error) { return 0, tx.PutQuarantine(ctx, nil) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			write(t, st, func(ctx context.Context, tx store.Tx) error {
				n, err := tt.call(ctx, tx)
				if err != nil || n != 0 {
					return fmt.Errorf("empty %s: %d results, %v", tt.name, n, err)
				}
				return nil
			})
		})
	}
	if c, err := st.Counts(context.Background()); err != nil || c != (store.Counts{}) {
		t.Fatalf("counts after empty batches: %+v %v", c, err)
	}
}

// testNilBytes stores nil Data, State, Errors and Payload as empty values.
// A vehicle with an empty State counts as absent (it looks like a
// placeholder); a visible shipment does not.
func testNilBytes(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	e := ev("a", "1", "S", 0)
	e.Data = nil
	s := ship("S", "released", "C", true, t0)
	s.State = nil
	q := quar("q1", "a", t0)
	q.Errors, q.Payload = nil, nil
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return errors.Join(
			tx.AppendEvents(ctx, []store.EventRecord{e}),
			tx.PutShipments(ctx, []store.ShipmentRecord{s}),
			tx.PutVehicles(ctx, []store.VehicleRecord{{ID: "V", UpdatedAt: t0}}),
			tx.PutQuarantine(ctx, []store.QuarantineRecord{q}),
		)
	})
	if got, err := st.Event(ctx, e.Key()); err != nil || len(got.Data) != 0 {
		t.Errorf("event with nil Data: %+v %v", got, err)
	}
	if got, err := st.Shipment(ctx, "S"); err != nil || len(got.State) != 0 || got.Status != "released" {
		t.Errorf("shipment with nil State: %+v %v", got, err)
	}
	if _, err := st.Vehicle(ctx, "V"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("vehicle with nil State: %v, want ErrNotFound", err)
	}
	if got, err := st.QuarantineItem(ctx, "q1"); err != nil || len(got.Payload) != 0 || (len(got.Errors) != 0 && string(got.Errors) != "[]") {
		t.Errorf("quarantine with nil Errors and Payload: %+v %v", got, err)
	}
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		m, err := tx.LockShipments(ctx, []string{"S"})
		if err != nil || !m["S"].Visible {
			return fmt.Errorf("visible shipment with empty State not returned by LockShipments: %+v %v", m, err)
		}
		return nil
	})
}

func testShipmentRoundTrip(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	s1 := ship("S1", "released", "C1", true, t0)
	s2 := ship("S2", "in_transit", "C2", true, t0.Add(time.Second+1))
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		locked, err := tx.LockShipments(ctx, []string{"S1", "S2"})
		if err != nil || len(locked) != 0 {
			return fmt.Errorf("lock before put: %v %v", locked, err)
		}
		return tx.PutShipments(ctx, []store.ShipmentRecord{s1, s2})
	})
	for _, want := range []store.ShipmentRecord{s1, s2} {
		got, err := st.Shipment(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("shipment round trip\n got %+v\nwant %+v", got, want)
		}
	}
	upd := s1
	upd.Status, upd.CustomerID, upd.UpdatedAt, upd.State = "planned", "C9", t0.Add(2*time.Second+7), []byte(`{"v":2}`)
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		// Unsorted, repeated and unknown ids are all fine.
		locked, err := tx.LockShipments(ctx, []string{"S2", "S1", "S9", "S1"})
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(locked, map[string]store.ShipmentRecord{"S1": s1, "S2": s2}) {
			return fmt.Errorf("locked %+v", locked)
		}
		return tx.PutShipments(ctx, []store.ShipmentRecord{upd})
	})
	got, err := st.Shipment(ctx, "S1")
	if err != nil || !reflect.DeepEqual(got, upd) {
		t.Fatalf("replaced shipment: %+v %v, want %+v", got, err, upd)
	}
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		locked, err := tx.LockShipments(ctx, []string{"S1"})
		if err != nil || !reflect.DeepEqual(locked["S1"], upd) {
			return fmt.Errorf("lock after replace: %+v %v", locked, err)
		}
		return nil
	})
	if _, err := st.Shipment(ctx, "S9"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown shipment: %v, want ErrNotFound", err)
	}
}

func testInvisible(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	hidden := ship("S2", "", "C1", false, t0)
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.PutShipments(ctx, []store.ShipmentRecord{ship("S1", "released", "C1", true, t0), hidden})
	})
	if _, err := st.Shipment(ctx, "S2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("invisible shipment readable: %v", err)
	}
	for _, f := range []store.ShipmentFilter{{}, {CustomerID: "C1"}, {Status: ""}, {UpdatedSince: t0}} {
		list, err := st.Shipments(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if ids := shipmentIDs(list); !slices.Equal(ids, []string{"S1"}) {
			t.Errorf("Shipments(%+v) = %v, want only the visible S1", f, ids)
		}
	}
	// The writer still sees it, and making it visible publishes it.
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		locked, err := tx.LockShipments(ctx, []string{"S2"})
		if err != nil || !reflect.DeepEqual(locked["S2"], hidden) {
			return fmt.Errorf("writer lost the invisible shipment: %+v %v", locked, err)
		}
		shown := hidden
		shown.Visible, shown.Status = true, "released"
		return tx.PutShipments(ctx, []store.ShipmentRecord{shown})
	})
	if got, err := st.Shipment(ctx, "S2"); err != nil || !got.Visible {
		t.Fatalf("shipment made visible: %+v %v", got, err)
	}
}

func testShipmentFilters(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.PutShipments(ctx, []store.ShipmentRecord{
			ship("A", "released", "C1", true, t0.Add(3*time.Second)),
			ship("B", "in_transit", "C2", true, t0.Add(1*time.Second)),
			ship("C", "released", "C2", true, t0.Add(2*time.Second)),
			ship("D", "released", "C1", true, t0.Add(2*time.Second)), // ties C on UpdatedAt
			ship("E", "released", "C1", false, t0),
		})
	})
	for _, tt := range []struct {
		name string
		f    store.ShipmentFilter
		want []string
	}{
		{"all", store.ShipmentFilter{}, []string{"B", "C", "D", "A"}},
		{"status", store.ShipmentFilter{Status: "released"}, []string{"C", "D", "A"}},
		{"customer", store.ShipmentFilter{CustomerID: "C2"}, []string{"B", "C"}},
		{"status and customer", store.ShipmentFilter{Status: "released", CustomerID: "C1"}, []string{"D", "A"}},
		{"unknown status", store.ShipmentFilter{Status: "delivered"}, []string{}},
		{"updated since is inclusive", store.ShipmentFilter{UpdatedSince: t0.Add(2 * time.Second)}, []string{"C", "D", "A"}},
		{"updated since a nanosecond later", store.ShipmentFilter{UpdatedSince: t0.Add(2*time.Second + 1)}, []string{"A"}},
		{"limit", store.ShipmentFilter{Limit: 2}, []string{"B", "C"}},
		{"after cursor", store.ShipmentFilter{After: &store.ShipmentCursor{UpdatedAt: t0.Add(2 * time.Second), ID: "C"}}, []string{"D", "A"}},
		{"after cursor between ties", store.ShipmentFilter{After: &store.ShipmentCursor{UpdatedAt: t0.Add(2 * time.Second), ID: "Cz"}}, []string{"D", "A"}},
		{"after cursor with status", store.ShipmentFilter{Status: "released", After: &store.ShipmentCursor{UpdatedAt: t0.Add(2 * time.Second), ID: "D"}}, []string{"A"}},
		{"after the last", store.ShipmentFilter{After: &store.ShipmentCursor{UpdatedAt: t0.Add(3 * time.Second), ID: "A"}}, []string{}},
		{"all filters", store.ShipmentFilter{Status: "released", CustomerID: "C1", UpdatedSince: t0.Add(time.Second), After: &store.ShipmentCursor{UpdatedAt: t0.Add(2 * time.Second), ID: "D"}, Limit: 5}, []string{"A"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			list, err := st.Shipments(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if ids := shipmentIDs(list); !slices.Equal(ids, tt.want) {
				t.Errorf("Shipments(%+v) = %v, want %v", tt.f, ids, tt.want)
			}
		})
	}
}

func testShipmentPaging(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	const n = 157
	var recs []store.ShipmentRecord
	for i := range n {
		status := []string{"released", "in_transit", "delivered"}[i%3]
		recs = append(recs, ship(fmt.Sprintf("S%03d", (i*37)%n), status, "C", true, t0.Add(time.Duration(i%7)*time.Second)))
	}
	write(t, st, func(ctx context.Context, tx store.Tx) error { return tx.PutShipments(ctx, recs) })
	for _, tt := range []struct {
		status string
		limit  int
		want   int
	}{
		{"", 10, n}, {"", 1, n}, {"", 0, n}, {"released", 7, 53}, {"delivered", 1000, 52},
	} {
		t.Run(fmt.Sprintf("status=%q/limit=%d", tt.status, tt.limit), func(t *testing.T) {
			seen := map[string]bool{}
			var after *store.ShipmentCursor
			var last *store.ShipmentCursor
			for pages := 0; ; pages++ {
				if pages > n+1 {
					t.Fatal("paging does not end")
				}
				page, err := st.Shipments(ctx, store.ShipmentFilter{Status: tt.status, Limit: tt.limit, After: after})
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > store.PageLimit(tt.limit) {
					t.Fatalf("page of %d, limit %d", len(page), tt.limit)
				}
				for _, r := range page {
					if seen[r.ID] {
						t.Fatalf("%s twice", r.ID)
					}
					if tt.status != "" && r.Status != tt.status {
						t.Fatalf("%s has status %q", r.ID, r.Status)
					}
					c := store.ShipmentCursor{UpdatedAt: r.UpdatedAt, ID: r.ID}
					if last != nil && (c.UpdatedAt.Before(last.UpdatedAt) || c.UpdatedAt.Equal(last.UpdatedAt) && c.ID <= last.ID) {
						t.Fatalf("out of (UpdatedAt, ID) order: %+v after %+v", c, *last)
					}
					seen[r.ID], last = true, &c
				}
				if len(page) < store.PageLimit(tt.limit) {
					break
				}
				after = &store.ShipmentCursor{UpdatedAt: last.UpdatedAt, ID: last.ID}
			}
			if len(seen) != tt.want {
				t.Fatalf("paged over %d, want %d", len(seen), tt.want)
			}
		})
	}
}

func testTimeline(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	noShipment := ev("a", "no-shipment", "", time.Minute)
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.AppendEvents(ctx, []store.EventRecord{
			ev("a", "late", "S1", 3*time.Minute), ev("a", "early", "S1", time.Minute),
			ev("b", "same-time", "S1", time.Minute), ev("a", "other", "S2", 0), noShipment,
		})
	})
	// Appended later but with an earlier time: ordered by Time, not Seq.
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.AppendEvents(ctx, []store.EventRecord{ev("c", "earliest", "S1", time.Second), ev("c", "tie-later-seq", "S1", time.Minute)})
	})
	for _, tt := range []struct {
		name     string
		shipment string
		after    *store.TimelineCursor
		limit    int
		want     []string
	}{
		{"all", "S1", nil, 100, []string{"earliest", "early", "same-time", "tie-later-seq", "late"}},
		{"limit", "S1", nil, 2, []string{"earliest", "early"}},
		{"other shipment", "S2", nil, 0, []string{"other"}},
		{"unknown shipment", "S9", nil, 10, []string{}},
		{"no shipment lists nothing", "", nil, 10, []string{}},
		{"after a time", "S1", &store.TimelineCursor{Time: t0.Add(time.Minute), Seq: 1 << 62}, 10, []string{"late"}},
		{"after the start", "S1", &store.TimelineCursor{Time: t0.Add(-time.Hour)}, 10, []string{"earliest", "early", "same-time", "tie-later-seq", "late"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			list, err := st.Timeline(ctx, tt.shipment, tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if ids := eventIDs(list); !slices.Equal(ids, tt.want) {
				t.Errorf("Timeline(%q, %+v, %d) = %v, want %v", tt.shipment, tt.after, tt.limit, ids, tt.want)
			}
		})
	}
	list, err := st.Timeline(ctx, "S1", nil, 1)
	if err != nil || len(list) != 1 {
		t.Fatalf("timeline: %v %v", list, err)
	}
	want, _ := st.Event(ctx, list[0].Key())
	if !reflect.DeepEqual(list[0], want) {
		t.Errorf("timeline record differs from Event\n got %+v\nwant %+v", list[0], want)
	}
}

func testTimelinePaging(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	const n = 83
	var evs []store.EventRecord
	for i := range n {
		evs = append(evs, ev("src", fmt.Sprintf("e%03d", i), "S", time.Duration((i*31)%11)*time.Millisecond))
	}
	for i := 0; i < n; i += 20 { // several transactions
		write(t, st, func(ctx context.Context, tx store.Tx) error { return tx.AppendEvents(ctx, evs[i:min(i+20, n)]) })
	}
	for _, limit := range []int{1, 4, 10, 1000} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			var got []store.EventRecord
			var after *store.TimelineCursor
			for pages := 0; ; pages++ {
				if pages > n+1 {
					t.Fatal("paging does not end")
				}
				page, err := st.Timeline(ctx, "S", after, limit)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page...)
				if len(page) < limit {
					break
				}
				l := page[len(page)-1]
				after = &store.TimelineCursor{Time: l.Time, Seq: l.Seq}
			}
			if len(got) != n {
				t.Fatalf("paged over %d events, want %d", len(got), n)
			}
			seen := map[string]bool{}
			for i, e := range got {
				if seen[e.ID] {
					t.Fatalf("%s twice", e.ID)
				}
				seen[e.ID] = true
				if i > 0 {
					p := got[i-1]
					if e.Time.Before(p.Time) || e.Time.Equal(p.Time) && e.Seq <= p.Seq {
						t.Fatalf("out of (Time, Seq) order: %s (%v, %d) after %s (%v, %d)", e.ID, e.Time, e.Seq, p.ID, p.Time, p.Seq)
					}
				}
			}
		})
	}
}

func testVehicles(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	v1 := store.VehicleRecord{ID: "TRK-1", State: []byte(`{"id":"TRK-1"}`), UpdatedAt: t0}
	v2 := store.VehicleRecord{ID: "TRK-2", State: []byte(`{"id":"TRK-2"}`), UpdatedAt: t0.Add(1)}
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		if got, err := tx.LockVehicles(ctx, []string{"TRK-2", "TRK-1"}); err != nil || len(got) != 0 {
			return fmt.Errorf("lock before put: %v %v", got, err)
		}
		return tx.PutVehicles(ctx, []store.VehicleRecord{v1, v2})
	})
	for _, want := range []store.VehicleRecord{v1, v2} {
		got, err := st.Vehicle(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("vehicle round trip\n got %+v\nwant %+v", got, want)
		}
	}
	moved := store.VehicleRecord{ID: "TRK-1", State: []byte(`{"id":"TRK-1","lat":1}`), UpdatedAt: t0.Add(time.Minute)}
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.LockVehicles(ctx, []string{"TRK-1", "TRK-404", "TRK-2"})
		if err != nil || !reflect.DeepEqual(got, map[string]store.VehicleRecord{"TRK-1": v1, "TRK-2": v2}) {
			return fmt.Errorf("lock: %+v %v", got, err)
		}
		return tx.PutVehicles(ctx, []store.VehicleRecord{moved})
	})
	if got, err := st.Vehicle(ctx, "TRK-1"); err != nil || !reflect.DeepEqual(got, moved) {
		t.Fatalf("replaced vehicle %+v %v", got, err)
	}
	if _, err := st.Vehicle(ctx, "TRK-404"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing vehicle: %v, want ErrNotFound", err)
	}
}

func testQuarantine(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	never := quar("q4", "b", t0)
	never.Errors, never.Payload, never.Truncated, never.ContentType = []byte(`[]`), []byte{}, false, ""
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.PutQuarantine(ctx, []store.QuarantineRecord{quar("q1", "a", t0), quar("q2", "b", t0.Add(1)), quar("q3", "a", t0.Add(2)), never})
	})
	for _, want := range []store.QuarantineRecord{quar("q2", "b", t0.Add(1)), never} {
		got, err := st.QuarantineItem(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameTime(t, "ReceivedAt", got.ReceivedAt, want.ReceivedAt)
		if !reflect.DeepEqual(nilEmpty(got), nilEmpty(want)) {
			t.Errorf("quarantine round trip\n got %+v\nwant %+v", got, want)
		}
	}
	// Replacing stores every field of the new record.
	replayed := quar("q2", "b", t0.Add(1))
	at := t0.Add(time.Hour + 3)
	replayed.ReplayedAt, replayed.ReplayState, replayed.Reason = &at, "accepted", "fixed"
	replayed.Errors, replayed.Truncated, replayed.Payload = []byte(`[]`), false, []byte(`{"id":"fixed"}`)
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.PutQuarantine(ctx, []store.QuarantineRecord{replayed})
	})
	got, err := st.QuarantineItem(ctx, "q2")
	if err != nil {
		t.Fatal(err)
	}
	if got.ReplayedAt == nil {
		t.Fatalf("replaced record lost ReplayedAt: %+v", got)
	}
	sameTime(t, "ReplayedAt", *got.ReplayedAt, at)
	if !reflect.DeepEqual(got, replayed) {
		t.Fatalf("replaced record\n got %+v\nwant %+v", got, replayed)
	}
	for _, tt := range []struct {
		name string
		f    store.QuarantineFilter
		want []string
	}{
		{"newest first", store.QuarantineFilter{}, []string{"q4", "q3", "q2", "q1"}},
		{"source", store.QuarantineFilter{Source: "a"}, []string{"q3", "q1"}},
		{"unknown source", store.QuarantineFilter{Source: "zz"}, []string{}},
		{"before", store.QuarantineFilter{Before: "q3"}, []string{"q2", "q1"}},
		{"before and limit", store.QuarantineFilter{Before: "q3", Limit: 1}, []string{"q2"}},
		{"source and before", store.QuarantineFilter{Source: "b", Before: "q4"}, []string{"q2"}},
		{"before the first", store.QuarantineFilter{Before: "q1"}, []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			list, err := st.Quarantine(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if ids := quarantineIDs(list); !slices.Equal(ids, tt.want) {
				t.Errorf("Quarantine(%+v) = %v, want %v", tt.f, ids, tt.want)
			}
		})
	}
	if _, err := st.QuarantineItem(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing item: %v, want ErrNotFound", err)
	}
}

func testQuarantinePaging(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	const n = 45
	var recs []store.QuarantineRecord
	for i := range n {
		recs = append(recs, quar(fmt.Sprintf("0190-%04d", i), []string{"a", "b"}[i%2], t0.Add(time.Duration(i))))
	}
	write(t, st, func(ctx context.Context, tx store.Tx) error { return tx.PutQuarantine(ctx, recs) })
	for _, tt := range []struct {
		source string
		want   int
	}{{"", n}, {"a", 23}, {"b", 22}} {
		t.Run("source="+tt.source, func(t *testing.T) {
			var ids []string
			before := ""
			for {
				page, err := st.Quarantine(ctx, store.QuarantineFilter{Source: tt.source, Before: before, Limit: 4})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, quarantineIDs(page)...)
				if len(page) < 4 {
					break
				}
				before = page[len(page)-1].ID
			}
			if len(ids) != tt.want || !slices.IsSortedFunc(ids, func(a, b string) int { return cmp.Compare(b, a) }) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
				t.Fatalf("paged %d ids %v, want %d newest first without repeats", len(ids), ids, tt.want)
			}
		})
	}
}

func testCounts(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	if c, err := st.Counts(ctx); err != nil || c != (store.Counts{}) {
		t.Fatalf("empty store counts %+v %v", c, err)
	}
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		if err := tx.AppendEvents(ctx, []store.EventRecord{ev("a", "1", "S", 0), ev("a", "2", "", 0), ev("b", "1", "S", 0)}); err != nil {
			return err
		}
		if _, err := tx.LockShipments(ctx, []string{"S", "T", "U"}); err != nil { // may leave placeholders
			return err
		}
		if err := tx.PutShipments(ctx, []store.ShipmentRecord{ship("S", "released", "C", true, t0), ship("T", "", "", false, t0)}); err != nil {
			return err
		}
		if err := tx.PutVehicles(ctx, []store.VehicleRecord{{ID: "V", State: []byte(`{}`), UpdatedAt: t0}}); err != nil {
			return err
		}
		return tx.PutQuarantine(ctx, []store.QuarantineRecord{quar("q1", "a", t0), quar("q2", "a", t0)})
	})
	want := store.Counts{Events: 3, Shipments: 1, Quarantine: 2} // visible shipments only
	if c, err := st.Counts(ctx); err != nil || c != want {
		t.Fatalf("counts %+v %v, want %+v", c, err, want)
	}
}

func testRollback(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.PutShipments(ctx, []store.ShipmentRecord{ship("KEEP", "released", "C", true, t0)})
	})
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	steps := []error{
		tx.AppendEvents(ctx, []store.EventRecord{ev("a", "1", "S", 0)}),
		tx.PutShipments(ctx, []store.ShipmentRecord{ship("S", "released", "C", true, t0), ship("KEEP", "cancelled", "C", true, t0.Add(time.Hour))}),
		tx.PutVehicles(ctx, []store.VehicleRecord{{ID: "V", State: []byte(`{}`), UpdatedAt: t0}}),
		tx.PutQuarantine(ctx, []store.QuarantineRecord{quar("q1", "a", t0)}),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatalf("second rollback: %v", err)
	}
	if c, err := st.Counts(ctx); err != nil || c != (store.Counts{Shipments: 1}) {
		t.Fatalf("after rollback: %+v %v", c, err)
	}
	if got, err := st.Shipment(ctx, "KEEP"); err != nil || got.Status != "released" {
		t.Fatalf("rolled-back update visible: %+v %v", got, err)
	}
	if _, err := st.Vehicle(ctx, "V"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled-back vehicle: %v", err)
	}
	if _, err := st.QuarantineItem(ctx, "q1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled-back quarantine item: %v", err)
	}
	// The writer is free again.
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.AppendEvents(ctx, []store.EventRecord{ev("a", "1", "S", 0)})
	})
}

func testRollbackAfterCommit(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := tx.AppendEvents(ctx, []store.EventRecord{ev("a", "1", "S", 0)}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatalf("rollback after commit: %v", err)
	}
	if err := tx.Commit(); err == nil {
		t.Fatal("second commit succeeded")
	}
	if _, err := st.Event(ctx, store.EventKey{Source: "a", ID: "1"}); err != nil {
		t.Fatalf("committed event lost by the later rollback: %v", err)
	}
}

// testReadsDuringWrite holds a write transaction open with uncommitted
// writes while several readers run every read method: each must answer
// (before the deadline) with the committed data only.
func testReadsDuringWrite(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		if err := tx.AppendEvents(ctx, []store.EventRecord{ev("a", "1", "S", 0)}); err != nil {
			return err
		}
		return tx.PutShipments(ctx, []store.ShipmentRecord{ship("S", "released", "C", true, t0)})
	})
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.LockShipments(ctx, []string{"S", "NEW"}); err != nil {
		t.Fatal(err)
	}
	steps := []error{
		tx.AppendEvents(ctx, []store.EventRecord{ev("a", "2", "S", time.Second)}),
		tx.PutShipments(ctx, []store.ShipmentRecord{ship("S", "delivered", "C", true, t0.Add(time.Hour)), ship("NEW", "released", "C", true, t0)}),
		tx.PutVehicles(ctx, []store.VehicleRecord{{ID: "V", State: []byte(`{}`), UpdatedAt: t0}}),
		tx.PutQuarantine(ctx, []store.QuarantineRecord{quar("q1", "a", t0)}),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}

	read := func(ctx context.Context) error {
		if got, err := st.Shipment(ctx, "S"); err != nil || got.Status != "released" {
			return fmt.Errorf("read shipment: %+v %v", got, err)
		}
		if _, err := st.Shipment(ctx, "NEW"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("uncommitted Shipment: %v", err)
		}
		if list, err := st.Shipments(ctx, store.ShipmentFilter{}); err != nil || !slices.Equal(shipmentIDs(list), []string{"S"}) {
			return fmt.Errorf("list shipments: %v %v", shipmentIDs(list), err)
		}
		if list, err := st.Timeline(ctx, "S", nil, 10); err != nil || !slices.Equal(eventIDs(list), []string{"1"}) {
			return fmt.Errorf("timeline: %v %v", eventIDs(list), err)
		}
		if _, err := st.Event(ctx, store.EventKey{Source: "a", ID: "2"}); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("uncommitted Event: %v", err)
		}
		if _, err := st.Vehicle(ctx, "V"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("uncommitted Vehicle: %v", err)
		}
		if list, err := st.Quarantine(ctx, store.QuarantineFilter{}); err != nil || len(list) != 0 {
			return fmt.Errorf("quarantine: %v %v", quarantineIDs(list), err)
		}
		if c, err := st.Counts(ctx); err != nil || c != (store.Counts{Events: 1, Shipments: 1}) {
			return fmt.Errorf("counts: %+v %v", c, err)
		}
		return st.Ping(ctx)
	}
	const readers = 8 // more than a default read pool
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	errs := make(chan error, readers)
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() { errs <- read(rctx) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-rctx.Done():
		t.Fatal("reads blocked by the open write transaction")
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Shipment(ctx, "NEW"); err != nil || got.Status != "released" {
		t.Fatalf("after commit: %+v %v", got, err)
	}
}

func testReopen(t *testing.T, open Opener) {
	st, reopen := open(t)
	ctx := context.Background()
	evs := []store.EventRecord{ev("a", "1", "S", 0)}
	s := ship("S", "released", "C", true, t0)
	v := store.VehicleRecord{ID: "V", State: []byte(`{"v":1}`), UpdatedAt: t0}
	q := quar("q1", "a", t0)
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return errors.Join(
			tx.AppendEvents(ctx, evs),
			tx.PutShipments(ctx, []store.ShipmentRecord{s}),
			tx.PutVehicles(ctx, []store.VehicleRecord{v}),
			tx.PutQuarantine(ctx, []store.QuarantineRecord{q}),
		)
	})
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = reopen()
	if got, err := st.Event(ctx, evs[0].Key()); err != nil || !reflect.DeepEqual(got, evs[0]) {
		t.Fatalf("event after reopen: %+v %v", got, err)
	}
	if got, err := st.Shipment(ctx, "S"); err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("shipment after reopen: %+v %v", got, err)
	}
	if got, err := st.Vehicle(ctx, "V"); err != nil || !reflect.DeepEqual(got, v) {
		t.Fatalf("vehicle after reopen: %+v %v", got, err)
	}
	if got, err := st.QuarantineItem(ctx, "q1"); err != nil || !reflect.DeepEqual(got, q) {
		t.Fatalf("quarantine after reopen: %+v %v", got, err)
	}
	more := []store.EventRecord{ev("a", "2", "S", 0)}
	write(t, st, func(ctx context.Context, tx store.Tx) error { return tx.AppendEvents(ctx, more) })
	if more[0].Seq <= evs[0].Seq {
		t.Fatalf("seq after reopen %d, not after %d", more[0].Seq, evs[0].Seq)
	}
}
