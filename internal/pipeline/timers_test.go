package pipeline_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/workflow"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// The SLA timers over the jobs table: a POD overdue opens a case that the
// POD then supersedes; a stop not reached in its window opens
// late_arrival; without a departure the shipment is rated after the
// rating wait.
func TestTimers(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	base := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)
	clock := &fakeClock{now: base}
	p := pipeline.New(st, pipeline.Options{Now: clock.Now, Billing: engine(t, "*"), RatingWait: time.Hour, PODOverdue: 2 * time.Hour})
	defer p.Close(context.Background())
	sched := outbox.New(st, outbox.Options{Node: "test", Clock: clock})
	for _, k := range workflow.TimerKinds {
		sched.Handle(k, func(ctx context.Context, j store.JobRecord) error {
			return p.FireTimer(ctx, pipeline.Fire{Kind: j.Kind, Key: j.Key, Job: j.ID, Node: j.LeasedBy})
		})
	}
	ctx := context.Background()
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	submit := func(items ...pipeline.Item) {
		t.Helper()
		if res, err := p.Submit(ctx, pipeline.Submission{Items: items}); err != nil || res[0].Status != pipeline.Accepted {
			t.Fatalf("%v %+v", err, res)
		}
	}
	openCodes := func() map[string]bool {
		t.Helper()
		cs, err := st.Cases(ctx, store.CaseFilter{ShipmentID: "SHP-T", Status: store.CaseOpen})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, c := range cs {
			out[c.Code+"@"+c.StopID] = true
		}
		return out
	}
	order := fmt.Sprintf(`{"order_id":"SO-T","customer_id":"C","stops":[`+
		`{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68},"window":{"from":%q,"to":%q}},`+
		`{"id":"S2","type":"delivery","location":{"lat":48.14,"lon":11.58}}]}`, at(0).Format(time.RFC3339), at(60).Format(time.RFC3339))
	submit(itemAt(t, "o", "order.released", "SHP-T", at(0), order))
	if j, err := st.Job(ctx, workflow.TimerLateArrival, "SHP-T/S1"); err != nil || !j.RunAt.Equal(at(60)) {
		t.Fatalf("window timer: %+v %v", j, err)
	}
	clock.set(at(61))
	if _, err := sched.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if !openCodes()["late_arrival@S1"] {
		t.Fatalf("stop not reached by the window's end: %v", openCodes())
	}

	clock.set(at(120))
	submit(itemAt(t, "a1", "shipment.milestone", "SHP-T", at(90), `{"code":"arrived","stop_id":"S1"}`),
		itemAt(t, "d1", "shipment.milestone", "SHP-T", at(100), `{"code":"departed","stop_id":"S1"}`),
		itemAt(t, "a2", "shipment.milestone", "SHP-T", at(110), `{"code":"arrived","stop_id":"S2"}`))
	if j, err := st.Job(ctx, workflow.TimerPODOverdue, "SHP-T/S2"); err != nil || !j.RunAt.Equal(at(230)) || j.State != store.JobPending {
		t.Fatalf("POD-overdue timer: %+v %v", j, err)
	}
	clock.set(at(200))
	if n, _ := sched.RunOnce(ctx); n != 0 {
		t.Fatal("nothing due yet")
	}
	clock.set(at(240))
	if _, err := sched.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if codes := openCodes(); !codes["pod_overdue@S2"] || !codes["late_arrival@S1"] {
		t.Fatalf("after the POD-overdue timer: %v", codes)
	}
	// The late arrival at S1 replaced the "not reached" case by one that
	// says how late it came.
	if sup, _ := st.Cases(ctx, store.CaseFilter{ShipmentID: "SHP-T", Status: store.CaseSuperseded}); len(sup) != 1 || sup[0].Code != "late_arrival" {
		t.Fatalf("superseded: %+v", sup)
	}

	// The POD comes: pod_overdue is superseded; no departure from S2, so
	// rating waits an hour after the POD.
	submit(itemAt(t, "p2", "delivery.completed", "SHP-T", at(250), `{"stop_id":"S2","signed_by":"A. Meyer","location":{"lat":48.14,"lon":11.58}}`))
	if codes := openCodes(); codes["pod_overdue@S2"] {
		t.Fatalf("the POD supersedes pod_overdue: %v", codes)
	}
	if j, err := st.Job(ctx, workflow.TimerRate, "SHP-T"); err != nil || !j.RunAt.Equal(at(310)) {
		t.Fatalf("rating timer: %+v %v", j, err)
	}
	if invs, _ := st.Invoices(ctx, store.InvoiceFilter{ShipmentID: "SHP-T"}); len(invs) != 0 {
		t.Fatal("rated before the wait")
	}
	clock.set(at(311))
	if _, err := sched.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	invs, _ := st.Invoices(ctx, store.InvoiceFilter{ShipmentID: "SHP-T"})
	if len(invs) != 1 {
		t.Fatalf("rated after the wait: %+v", invs)
	}
	if j, _ := st.Job(ctx, workflow.TimerRate, "SHP-T"); j.State != store.JobDone {
		t.Fatalf("rating timer settled: %+v", j)
	}
}
