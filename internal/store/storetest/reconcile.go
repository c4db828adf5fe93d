package storetest

import (
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

// reconRun is a running reconciliation run started at t0+start.
func reconRun(id, kind string, start time.Duration) store.ReconciliationRecord {
	return store.ReconciliationRecord{
		ID: id, Kind: kind, From: t0.Add(-24 * time.Hour), To: t0.Add(-time.Nanosecond), Status: store.ReconcileRunning,
		Trigger: "api", RequestedBy: "ops-key", StartedAt: t0.Add(start), UpdatedAt: t0.Add(start),
	}
}

// reconJob is the job that runs run.
func reconJob(run store.ReconciliationRecord) store.JobRecord {
	return store.JobRecord{ID: "job-" + run.ID, Kind: "reconcile", Key: run.ID, Payload: []byte(`{"run_id":"` + run.ID + `"}`),
		RunAt: run.StartedAt, CorrelationID: "corr-" + run.ID, CreatedAt: run.StartedAt, UpdatedAt: run.StartedAt}
}

func createRun(t *testing.T, st store.Store, run store.ReconciliationRecord) {
	t.Helper()
	created, err := st.CreateReconciliation(context.Background(), run, reconJob(run))
	if err != nil || !created {
		t.Fatalf("create %s: %v %v", run.ID, created, err)
	}
}

func runIDs(recs []store.ReconciliationRecord) []string {
	ids := []string{}
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return ids
}

func findingIDs(recs []store.FindingRecord) []string {
	ids := []string{}
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return ids
}

// Runs round-trip, are created once with their job, list newest first and
// settle once.
func testReconciliations(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	want := reconRun("0190-0001", "invoices", 0)
	want.Checked, want.Findings, want.Error = 3, 0, "" // what a new run carries
	createRun(t, st, want)
	got, err := st.Reconciliation(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range []struct {
		what      string
		got, want time.Time
	}{{"From", got.From, want.From}, {"To", got.To, want.To}, {"StartedAt", got.StartedAt, want.StartedAt}, {"UpdatedAt", got.UpdatedAt, want.UpdatedAt}} {
		sameTime(t, tm.what, tm.got, tm.want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("run round trip\n got %+v\nwant %+v", got, want)
	}
	if _, err := st.Reconciliation(ctx, "0190-9999"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent run: %v, want ErrNotFound", err)
	}

	// A second node creating the same run: left as it is, and no job.
	again := want
	again.Trigger, again.RequestedBy = "schedule", "schedule"
	other := reconJob(again)
	other.ID, other.Key = "job-other", "other"
	if created, err := st.CreateReconciliation(ctx, again, other); err != nil || created {
		t.Fatalf("created twice: %v %v", created, err)
	}
	if got, err := st.Reconciliation(ctx, want.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("run after second create: %+v %v", got, err)
	}
	if _, err := st.Job(ctx, "reconcile", "other"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second create's job: %v, want ErrNotFound", err)
	}
	if js, err := st.Jobs(ctx, store.JobFilter{Kind: "reconcile"}); err != nil || len(js) != 1 || js[0].ID != "job-"+want.ID {
		t.Fatalf("jobs after two creates: %+v %v", js, err)
	}
	j, err := st.Job(ctx, "reconcile", want.ID)
	if err != nil || j.State != store.JobPending || j.Attempts != 0 || string(j.Payload) != `{"run_id":"0190-0001"}` ||
		!j.RunAt.Equal(want.StartedAt) || j.CorrelationID != "corr-"+want.ID {
		t.Fatalf("run's job: %+v %v", j, err)
	}
	if got := fmt.Sprint(claimIDs(t, st, 0, "node-a", "reconcile")); got != "[job-0190-0001@1]" {
		t.Fatalf("claim the run's job: %s", got)
	}

	createRun(t, st, reconRun("0190-0002", "fuel", time.Second))
	createRun(t, st, reconRun("0190-0003", "invoices", 2*time.Second))
	createRun(t, st, reconRun("0190-0004", "shipments", 3*time.Second))
	createRun(t, st, reconRun("0190-0005", "invoices", 4*time.Second))

	// Settling: only a running run, once.
	at := t0.Add(time.Hour + 1)
	for _, tt := range []struct {
		name, id, status, errText string
		checked                   int64
		want                      bool
	}{
		{"done", "0190-0001", store.ReconcileDone, "", 120, true},
		{"done again", "0190-0001", store.ReconcileFailed, "late", 1, false},
		{"failed", "0190-0003", store.ReconcileFailed, "erp: 503", 7, true},
		{"absent", "0190-9999", store.ReconcileDone, "", 0, false},
	} {
		t.Run("finish "+tt.name, func(t *testing.T) {
			ok, err := st.FinishReconciliation(ctx, tt.id, tt.status, tt.errText, tt.checked, at)
			if err != nil || ok != tt.want {
				t.Fatalf("FinishReconciliation(%s, %s) = %v %v, want %v", tt.id, tt.status, ok, err, tt.want)
			}
		})
	}
	if _, err := st.FinishReconciliation(ctx, "0190-0002", store.ReconcileRunning, "", 0, at); err == nil {
		t.Fatal("settled as running")
	}
	done := want
	done.Status, done.Checked, done.FinishedAt, done.UpdatedAt = store.ReconcileDone, 120, at, at
	if got, err := st.Reconciliation(ctx, done.ID); err != nil || !reflect.DeepEqual(got, done) {
		t.Fatalf("done run\n got %+v %v\nwant %+v", got, err, done)
	}
	if got, err := st.Reconciliation(ctx, "0190-0003"); err != nil || got.Status != store.ReconcileFailed || got.Error != "erp: 503" ||
		got.Checked != 7 || !got.FinishedAt.Equal(at) {
		t.Fatalf("failed run: %+v %v", got, err)
	}
	if got, err := st.Reconciliation(ctx, "0190-0002"); err != nil || got.Status != store.ReconcileRunning || !got.FinishedAt.IsZero() {
		t.Fatalf("running run touched: %+v %v", got, err)
	}

	for _, tt := range []struct {
		name string
		f    store.ReconciliationFilter
		want []string
	}{
		{"newest first", store.ReconciliationFilter{}, []string{"0190-0005", "0190-0004", "0190-0003", "0190-0002", "0190-0001"}},
		{"kind", store.ReconciliationFilter{Kind: "invoices"}, []string{"0190-0005", "0190-0003", "0190-0001"}},
		{"status", store.ReconciliationFilter{Status: store.ReconcileRunning}, []string{"0190-0005", "0190-0004", "0190-0002"}},
		{"kind and status", store.ReconciliationFilter{Kind: "invoices", Status: store.ReconcileDone}, []string{"0190-0001"}},
		{"before", store.ReconciliationFilter{Before: "0190-0004"}, []string{"0190-0003", "0190-0002", "0190-0001"}},
		{"before and limit", store.ReconciliationFilter{Before: "0190-0004", Limit: 2}, []string{"0190-0003", "0190-0002"}},
		{"kind and before", store.ReconciliationFilter{Kind: "invoices", Before: "0190-0005", Limit: 1}, []string{"0190-0003"}},
		{"unknown kind", store.ReconciliationFilter{Kind: "pallets"}, []string{}},
		{"before the first", store.ReconciliationFilter{Before: "0190-0001"}, []string{}},
	} {
		t.Run("list "+tt.name, func(t *testing.T) {
			list, err := st.Reconciliations(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if ids := runIDs(list); !slices.Equal(ids, tt.want) {
				t.Errorf("Reconciliations(%+v) = %v, want %v", tt.f, ids, tt.want)
			}
		})
	}
}

func finding(id, code string, at time.Duration) store.FindingRecord {
	return store.FindingRecord{ID: id, Code: code, ShipmentID: "SHP-" + id, InvoiceID: "INV-" + id, Detail: code + " on " + id,
		Data: []byte(`{"hub":"412.50","erp":"400.00"}`), FoundAt: t0.Add(at)}
}

// Findings are stored once each, in Seq order, and counted on their run.
func testReconcileFindings(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	run := reconRun("0190-0001", "invoices", 0)
	createRun(t, st, run)
	createRun(t, st, reconRun("0190-0002", "fuel", 0))

	bare := finding("f3", "missing_in_erp", 3)
	bare.ShipmentID, bare.InvoiceID, bare.VehicleID, bare.Data = "", "", "TRK-1", nil
	var stored []store.FindingRecord
	for _, tt := range []struct {
		name    string
		fs      []store.FindingRecord
		checked int64
		wantNew []string
		wantRun int64 // the run's Findings afterwards
		addTo   string
	}{
		{"first", []store.FindingRecord{finding("f1", "amount_mismatch", 1), finding("f2", "missing_in_erp", 2), bare}, 10,
			[]string{"f1", "f2", "f3"}, 3, run.ID},
		{"some new", []store.FindingRecord{finding("f2", "missing_in_erp", 9), finding("f4", "amount_mismatch", 4), finding("f1", "x", 9)}, 20,
			[]string{"f4"}, 4, run.ID},
		{"none new", []store.FindingRecord{finding("f4", "amount_mismatch", 4), finding("f3", "missing_in_erp", 3)}, 30, nil, 4, run.ID},
		{"none given", nil, 35, nil, 4, run.ID},
		{"twice in one call", []store.FindingRecord{finding("f5", "amount_mismatch", 5), finding("f5", "amount_mismatch", 6)}, 40,
			[]string{"f5"}, 5, run.ID},
		{"same id in another run", []store.FindingRecord{finding("f1", "fuel_gap", 1)}, 1, []string{"f1"}, 1, "0190-0002"},
	} {
		now := t0.Add(time.Minute * time.Duration(tt.checked))
		added, err := st.AddFindings(ctx, tt.addTo, tt.fs, tt.checked, now)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if ids := findingIDs(added); !slices.Equal(ids, tt.wantNew) {
			t.Fatalf("%s: new %v, want %v", tt.name, ids, tt.wantNew)
		}
		for _, f := range added {
			if f.RunID != tt.addTo {
				t.Fatalf("%s: added %+v to run %s", tt.name, f, tt.addTo)
			}
			if tt.addTo == run.ID {
				if len(stored) > 0 && f.Seq <= stored[len(stored)-1].Seq {
					t.Fatalf("%s: seq %d after %d", tt.name, f.Seq, stored[len(stored)-1].Seq)
				}
				stored = append(stored, f)
			}
		}
		got, err := st.Reconciliation(ctx, tt.addTo)
		if err != nil || got.Findings != tt.wantRun || got.Checked != tt.checked || !got.UpdatedAt.Equal(now) || got.Status != store.ReconcileRunning {
			t.Fatalf("%s: run %+v %v, want %d findings, %d checked", tt.name, got, err, tt.wantRun, tt.checked)
		}
	}
	if _, err := st.AddFindings(ctx, "0190-9999", []store.FindingRecord{finding("f1", "x", 0)}, 1, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent run: %v, want ErrNotFound", err)
	}

	all, err := st.Findings(ctx, store.FindingFilter{RunID: run.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all, stored) {
		t.Fatalf("findings\n got %+v\nwant %+v", all, stored)
	}
	for i, f := range all {
		sameTime(t, "FoundAt of "+f.ID, f.FoundAt, stored[i].FoundAt)
	}
	for _, tt := range []struct {
		name string
		f    store.FindingFilter
		want []string
	}{
		{"code", store.FindingFilter{RunID: run.ID, Code: "missing_in_erp"}, []string{"f2", "f3"}},
		{"after", store.FindingFilter{RunID: run.ID, AfterSeq: stored[1].Seq}, []string{"f3", "f4", "f5"}},
		{"after and limit", store.FindingFilter{RunID: run.ID, AfterSeq: stored[0].Seq, Limit: 2}, []string{"f2", "f3"}},
		{"code and after", store.FindingFilter{RunID: run.ID, Code: "amount_mismatch", AfterSeq: stored[0].Seq}, []string{"f4", "f5"}},
		{"after the last", store.FindingFilter{RunID: run.ID, AfterSeq: stored[4].Seq}, []string{}},
		{"unknown code", store.FindingFilter{RunID: run.ID, Code: "nope"}, []string{}},
		{"other run", store.FindingFilter{RunID: "0190-0002"}, []string{"f1"}},
		{"absent run", store.FindingFilter{RunID: "0190-9999"}, []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			list, err := st.Findings(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if ids := findingIDs(list); !slices.Equal(ids, tt.want) {
				t.Errorf("Findings(%+v) = %v, want %v", tt.f, ids, tt.want)
			}
		})
	}
	// Paging by AfterSeq visits every finding once.
	var paged []string
	for after := int64(0); ; {
		page, err := st.Findings(ctx, store.FindingFilter{RunID: run.ID, AfterSeq: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, findingIDs(page)...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].Seq
	}
	if want := findingIDs(stored); !slices.Equal(paged, want) {
		t.Fatalf("paged %v, want %v", paged, want)
	}

	for _, tt := range []struct {
		run  string
		want map[string]int64
	}{
		{run.ID, map[string]int64{"amount_mismatch": 3, "missing_in_erp": 2}},
		{"0190-0002", map[string]int64{"fuel_gap": 1}},
		{"0190-9999", map[string]int64{}},
	} {
		got, err := st.FindingCounts(ctx, tt.run)
		if err != nil || len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("FindingCounts(%s) = %v %v, want %v", tt.run, got, err, tt.want)
		}
	}
}

// Nodes adding overlapping findings to one run at once store each once
// and count them exactly.
func testReconcileConcurrentFindings(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	run := reconRun("0190-0001", "shipments", 0)
	createRun(t, st, run)
	const workers, calls, per = 6, 8, 5
	var mu sync.Mutex
	newBy := map[string]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for c := range calls {
				// Each call overlaps the other workers' calls: ids are
				// drawn from a window that moves with c, not with w.
				var fs []store.FindingRecord
				for i := range per {
					fs = append(fs, finding(fmt.Sprintf("f%03d", c*3+(w+i)%per), "gap", time.Duration(c)))
				}
				added, err := st.AddFindings(ctx, run.ID, fs, int64(c), t0.Add(time.Duration(c)))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, f := range added {
					newBy[f.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for id, n := range newBy {
		if n != 1 {
			t.Errorf("%s reported new %d times", id, n)
		}
	}
	all, err := st.Findings(ctx, store.FindingFilter{RunID: run.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ids := findingIDs(all)
	slices.Sort(ids)
	if want := (calls-1)*3 + per; len(ids) != want || len(newBy) != want || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Fatalf("stored %d findings %v, %d reported new, want %d", len(all), ids, len(newBy), want)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("seq %d after %d", all[i].Seq, all[i-1].Seq)
		}
	}
	if got, err := st.Reconciliation(ctx, run.ID); err != nil || got.Findings != int64(len(all)) {
		t.Fatalf("run counts %+v %v, want %d findings", got, err, len(all))
	}
	if counts, err := st.FindingCounts(ctx, run.ID); err != nil || counts["gap"] != int64(len(all)) {
		t.Fatalf("counts %v %v, want %d", counts, err, len(all))
	}
}
