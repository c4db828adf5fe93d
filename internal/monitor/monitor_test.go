package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakeStore serves fixed figures and keeps master data in memory.
type fakeStore struct {
	mu         sync.Mutex
	jobs       map[string]store.JobStats // by key prefix
	invoices   []store.InvoiceTotal
	cases      []store.CaseGroup
	lags, pods []time.Duration
	quarantine []store.QuarantineRecord
	master     map[string]store.MasterRecord
	failPut    int // PutMaster calls to fail
	reads      int
}

func newStore() *fakeStore {
	return &fakeStore{jobs: map[string]store.JobStats{}, master: map[string]store.MasterRecord{}}
}

func (f *fakeStore) InvoiceTotals(context.Context) ([]store.InvoiceTotal, error) {
	return f.invoices, nil
}
func (f *fakeStore) OpenCaseGroups(context.Context, time.Time) ([]store.CaseGroup, error) {
	return f.cases, nil
}
func (f *fakeStore) PODToInvoice(context.Context, time.Time, int) ([]time.Duration, error) {
	return f.pods, nil
}
func (f *fakeStore) PropagationLags(context.Context, time.Time, int) ([]time.Duration, error) {
	return f.lags, nil
}
func (f *fakeStore) JobStats(_ context.Context, kind, prefix string) (store.JobStats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if kind != pipeline.JobDeliver {
		return store.JobStats{}, errors.New("wrong kind")
	}
	return f.jobs[prefix], nil
}
func (f *fakeStore) Quarantine(context.Context, store.QuarantineFilter) ([]store.QuarantineRecord, error) {
	return f.quarantine, nil
}
func (f *fakeStore) Master(_ context.Context, kind, id string) (store.MasterRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.master[kind+"/"+id]
	if !ok {
		return store.MasterRecord{}, store.ErrNotFound
	}
	return r, nil
}
func (f *fakeStore) PutMaster(_ context.Context, r store.MasterRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failPut > 0 {
		f.failPut--
		return errors.New("disk full")
	}
	f.master[r.Kind+"/"+r.ID] = r
	return nil
}

func (f *fakeStore) setDead(prefix string, n int) {
	f.mu.Lock()
	f.jobs[prefix] = store.JobStats{Dead: n}
	f.mu.Unlock()
}

// fakeRecorder keeps alerts by id, as the event log does.
type fakeRecorder struct {
	mu     sync.Mutex
	alerts map[string]pipeline.Alert
	order  []string // fresh ones, in order
	calls  int
	fail   int // calls to fail
}

func (r *fakeRecorder) RecordAlert(_ context.Context, a pipeline.Alert) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail > 0 {
		r.fail--
		return false, pipeline.ErrOverloaded
	}
	if r.alerts == nil {
		r.alerts = map[string]pipeline.Alert{}
	}
	if _, ok := r.alerts[a.ID]; ok {
		return false, nil
	}
	r.alerts[a.ID] = a
	r.order = append(r.order, a.ID)
	return true, nil
}

func (r *fakeRecorder) fresh() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.order...)
}

func TestStep(t *testing.T) {
	t.Parallel()
	r := Rule{Name: "m", Above: 10}
	at := t0.Add(time.Minute)
	raised := State{Firing: true, Seq: 3, Since: t0, RaisedAt: t0, Value: 12, Recorded: true}
	tests := []struct {
		name    string
		s       State
		value   float64
		want    State
		changed bool
	}{
		{"rests below", State{Seq: 2, Recorded: true}, 5, State{Seq: 2, Recorded: true}, false},
		{"at the threshold is not above", State{Seq: 2, Recorded: true}, 10, State{Seq: 2, Recorded: true}, false},
		{"raises above", State{Seq: 2, RaisedAt: t0, Recorded: true}, 11, State{Firing: true, Seq: 3, Since: at, RaisedAt: at, Value: 11}, true},
		{"stays raised", raised, 50, raised, false},
		{"resolves at the threshold", raised, 10, State{Seq: 3, Since: at, RaisedAt: t0, Value: 10}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, changed := Step(tt.s, r, tt.value, at)
			if got != tt.want || changed != tt.changed {
				t.Fatalf("Step = %+v %v, want %+v %v", got, changed, tt.want, tt.changed)
			}
		})
	}
}

func newMonitors(st *fakeStore, rec *fakeRecorder, clock *fakeClock, m *obs.Metrics, rules ...Rule) *Monitors {
	return New(Options{Rules: rules, Store: st, Recorder: rec, Metrics: m, Clock: clock})
}

// A dead letter raises one alert, however often it is evaluated; its
// clearing resolves it; a restart in between raises nothing again.
func TestEvaluateRaisesOnceAndResolves(t *testing.T) {
	t.Parallel()
	st, rec, clock, m := newStore(), &fakeRecorder{}, &fakeClock{now: t0}, obs.NewMetrics()
	dead := Rule{Name: "dead-letters", Metric: DeadLetters, Above: 0, Connector: "erp", Every: 30 * time.Second}
	mon := newMonitors(st, rec, clock, m, dead)
	ctx := context.Background()
	firing := func() float64 { return testutil.ToFloat64(m.MonitorFiring.WithLabelValues("dead-letters")) }

	mon.Evaluate(ctx)
	if len(rec.fresh()) != 0 || firing() != 0 {
		t.Fatalf("alerts at rest: %v", rec.fresh())
	}
	st.setDead("erp|", 2)
	clock.Add(10 * time.Second)
	mon.Evaluate(ctx) // not due yet
	if len(rec.fresh()) != 0 {
		t.Fatal("evaluated before every had passed")
	}
	clock.Add(20 * time.Second)
	mon.Evaluate(ctx)
	if got := rec.fresh(); len(got) != 1 || got[0] != "dead-letters/raised/1" || firing() != 1 {
		t.Fatalf("alerts %v, firing %g", got, firing())
	}
	raisedAt := clock.Now()
	a := rec.alerts["dead-letters/raised/1"]
	var d AlertData
	if err := json.Unmarshal(a.Data, &d); err != nil {
		t.Fatal(err)
	}
	if a.Type != pipeline.TypeAlertRaised || a.Monitor != "dead-letters" || !a.Time.Equal(raisedAt) ||
		d != (AlertData{Monitor: "dead-letters", Metric: DeadLetters, Value: 2, Threshold: 0, Unit: "count", Connector: "erp", RaisedAt: raisedAt.Format(time.RFC3339Nano)}) {
		t.Fatalf("alert %+v data %+v", a, d)
	}
	for range 3 {
		clock.Add(30 * time.Second)
		mon.Evaluate(ctx)
	}
	// A restart (new Monitors over the same store) keeps the state.
	mon = newMonitors(st, rec, clock, m, dead)
	mon.Evaluate(ctx)
	if got := rec.fresh(); len(got) != 1 {
		t.Fatalf("raised again: %v", got)
	}
	st.setDead("erp|", 0)
	clock.Add(30 * time.Second)
	mon.Evaluate(ctx)
	if got := rec.fresh(); len(got) != 2 || got[1] != "dead-letters/resolved/1" || firing() != 0 {
		t.Fatalf("alerts %v, firing %g", got, firing())
	}
	r := rec.alerts["dead-letters/resolved/1"]
	d = AlertData{}
	_ = json.Unmarshal(r.Data, &d)
	if r.Type != pipeline.TypeAlertResolved || r.CorrelationID != a.CorrelationID || d.RaisedAt != raisedAt.Format(time.RFC3339Nano) ||
		d.Resolved != clock.Now().Format(time.RFC3339Nano) || d.Value != 0 {
		t.Fatalf("resolution %+v data %+v", r, d)
	}
	// The next raise is a new alert.
	st.setDead("erp|", 1)
	clock.Add(30 * time.Second)
	mon.Evaluate(ctx)
	if got := rec.fresh(); len(got) != 3 || got[2] != "dead-letters/raised/2" {
		t.Fatalf("alerts %v", got)
	}
	if n := testutil.ToFloat64(m.MonitorEvaluations.WithLabelValues("dead-letters", "firing")); n != 6 {
		t.Fatalf("firing evaluations %g", n)
	}
}

// A failure between deciding and recording is retried with the same
// alert id at the next evaluation: nothing is lost, nothing doubled.
func TestEvaluateRetriesUnrecordedAlerts(t *testing.T) {
	t.Parallel()
	st, rec, clock, m := newStore(), &fakeRecorder{fail: 1}, &fakeClock{now: t0}, obs.NewMetrics()
	rule := Rule{Name: "dl", Metric: DeadLetters, Every: time.Second}
	mon := newMonitors(st, rec, clock, m, rule)
	ctx := context.Background()
	st.setDead("", 1)
	mon.Evaluate(ctx) // the writer is overloaded: not recorded
	if len(rec.fresh()) != 0 || testutil.ToFloat64(m.MonitorEvaluations.WithLabelValues("dl", "error")) != 1 {
		t.Fatal("want one failed evaluation")
	}
	st.failPut = 1 // recorded, but the state cannot say so (a crash right after)
	clock.Add(time.Second)
	mon.Evaluate(ctx)
	clock.Add(time.Second)
	mon.Evaluate(ctx) // records the same alert again: a duplicate
	clock.Add(time.Second)
	mon.Evaluate(ctx)
	if got := rec.fresh(); len(got) != 1 || got[0] != "dl/raised/1" || rec.calls != 3 {
		t.Fatalf("fresh %v after %d calls", got, rec.calls)
	}
}

// Two nodes sharing one store raise one alert.
func TestTwoNodesRaiseOnce(t *testing.T) {
	t.Parallel()
	st, rec, clock := newStore(), &fakeRecorder{}, &fakeClock{now: t0}
	rule := Rule{Name: "dl", Metric: DeadLetters, Every: time.Second}
	a, b := newMonitors(st, rec, clock, obs.NewMetrics(), rule), newMonitors(st, rec, clock, obs.NewMetrics(), rule)
	st.setDead("", 1)
	var wg sync.WaitGroup
	for _, mon := range []*Monitors{a, b} {
		wg.Go(func() { mon.Evaluate(context.Background()) })
	}
	wg.Wait()
	clock.Add(time.Second)
	a.Evaluate(context.Background())
	b.Evaluate(context.Background())
	if got := rec.fresh(); len(got) != 1 {
		t.Fatalf("alerts %v", got)
	}
}

func TestReadFigures(t *testing.T) {
	t.Parallel()
	st := newStore()
	st.jobs[""] = store.JobStats{Dead: 4, Pending: 40}
	st.jobs["erp|"] = store.JobStats{Dead: 1, Pending: 7}
	st.invoices = []store.InvoiceTotal{{Status: "ready", Currency: "EUR", Count: 2, Oldest: t0.Add(-2 * time.Hour)}, {Status: "posted", Count: 9, Oldest: t0.Add(-48 * time.Hour)}}
	st.cases = []store.CaseGroup{{Code: "a", Count: 2}, {Code: "b", Count: 3}}
	for i := range 100 {
		st.lags = append(st.lags, time.Duration(i+1)*time.Second)
		st.pods = append(st.pods, time.Duration(i+1)*time.Minute)
	}
	st.quarantine = []store.QuarantineRecord{
		{ReceivedAt: t0.Add(-time.Minute)},
		{ReceivedAt: t0.Add(-2 * time.Minute), ReplayState: pipeline.Accepted},
		{ReceivedAt: t0.Add(-3 * time.Minute), ReplayState: pipeline.Rejected},
		{ReceivedAt: t0.Add(-2 * time.Hour)},
	}
	mon := newMonitors(st, &fakeRecorder{}, &fakeClock{now: t0}, obs.NewMetrics())
	tests := []struct {
		rule Rule
		want float64
	}{
		{Rule{Metric: PropagationLagP95}, 95},
		{Rule{Metric: PODToInvoiceP95}, 95 * 60},
		{Rule{Metric: InvoiceReadyAge}, 7200},
		{Rule{Metric: OpenCases}, 5},
		{Rule{Metric: DeadLetters}, 4},
		{Rule{Metric: DeadLetters, Connector: "erp"}, 1},
		{Rule{Metric: ConnectorBacklog}, 40},
		{Rule{Metric: ConnectorBacklog, Connector: "erp"}, 7},
		{Rule{Metric: Quarantine}, 2},
	}
	for _, tt := range tests {
		got, err := mon.read(context.Background(), tt.rule, t0)
		if err != nil || got != tt.want {
			t.Errorf("%s %s: %g %v, want %g", tt.rule.Metric, tt.rule.Connector, got, err, tt.want)
		}
	}
	if _, err := mon.read(context.Background(), Rule{Metric: "nope"}, t0); err == nil {
		t.Error("an unknown metric was read")
	}
}

// Rules sharing a figure read it once per pass.
func TestEvaluateReadsEachFigureOnce(t *testing.T) {
	t.Parallel()
	st := newStore()
	mon := newMonitors(st, &fakeRecorder{}, &fakeClock{now: t0}, obs.NewMetrics(),
		Rule{Name: "a", Metric: DeadLetters, Every: time.Second}, Rule{Name: "b", Metric: DeadLetters, Above: 5, Every: time.Second},
		Rule{Name: "c", Metric: DeadLetters, Connector: "erp", Every: time.Second})
	mon.Evaluate(context.Background())
	if st.reads != 2 {
		t.Fatalf("%d reads for two distinct figures", st.reads)
	}
}
