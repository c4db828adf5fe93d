package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/store/sqlite"
)

// gatedStore wraps a real store so a test can hold the writer at Begin.
type gatedStore struct {
	store.Store
	gate    chan struct{} // Begin waits until it is closed
	entered chan struct{}
	failAll error // when set, AppendEvents fails for batches with more than one event
}

func (g *gatedStore) Begin(ctx context.Context) (store.Tx, error) {
	if g.entered != nil {
		select {
		case g.entered <- struct{}{}:
		default:
		}
	}
	if g.gate != nil {
		<-g.gate
	}
	tx, err := g.Store.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &poisonTx{Tx: tx, g: g}, nil
}

type poisonTx struct {
	store.Tx
	g *gatedStore
}

func (p *poisonTx) AppendEvents(ctx context.Context, evs []store.EventRecord) error {
	for _, e := range evs {
		if e.ID == "poison" && p.g.failAll != nil {
			return p.g.failAll
		}
	}
	return p.Tx.AppendEvents(ctx, evs)
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "p.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

var t0 = time.Now().UTC().Add(-time.Hour).Truncate(time.Second)

func item(t *testing.T, id, typ, subject, data string) pipeline.Item {
	t.Helper()
	raw := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"test","type":%q,"subject":%q,"time":%q,"data":%s}`,
		id, typ, subject, t0.Format(time.RFC3339), data)
	it := pipeline.ParseItem([]byte(raw), pipeline.IntakeOptions{Limits: canonical.DefaultLimits(), Now: time.Now(), CorrelationID: "c1"})
	if it.Err != nil {
		t.Fatalf("test event invalid: %v", it.Err)
	}
	return it
}

const order = `{"order_id":"O","customer_id":"C","stops":[{"id":"D","type":"delivery","location":{"lat":1,"lon":2}}]}`

func TestGroupCommitBatchesConcurrentSubmissions(t *testing.T) {
	t.Parallel()
	g := &gatedStore{Store: openStore(t), gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	m := obs.NewMetrics()
	p := pipeline.New(g, pipeline.Options{Metrics: m})
	defer p.Close(context.Background())

	// The first submission holds the writer at Begin; 20 more queue behind it.
	var wg sync.WaitGroup
	submit := func(i int) {
		defer wg.Done()
		res, err := p.Submit(context.Background(), pipeline.Submission{Items: []pipeline.Item{
			item(t, fmt.Sprint("e", i), canonical.TypeOrderReleased, fmt.Sprint("S", i), order),
		}})
		if err != nil || res[0].Status != pipeline.Accepted {
			t.Errorf("submit %d: %v %v", i, res, err)
		}
	}
	wg.Add(1)
	go submit(0)
	<-g.entered
	for i := 1; i <= 20; i++ {
		wg.Add(1)
		go submit(i)
	}
	waitFor(t, func() bool { return testutil.ToFloat64(m.WriterQueueDepth) >= 20 })
	close(g.gate)
	wg.Wait()
	// 21 submissions, 2 transactions: the first alone, the other 20 together.
	if got := histogramCount(t, m); got != 2 {
		t.Fatalf("%d write transactions for 21 queued submissions, want 2", got)
	}
}

func TestOverloadAnswersWithoutKeeping(t *testing.T) {
	t.Parallel()
	g := &gatedStore{Store: openStore(t), gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	m := obs.NewMetrics()
	p := pipeline.New(g, pipeline.Options{QueueSize: 1, Metrics: m})
	defer p.Close(context.Background())
	done := make(chan error, 2)
	go func() {
		_, err := p.Submit(context.Background(), pipeline.Submission{Items: []pipeline.Item{item(t, "a", canonical.TypeOrderReleased, "S", order)}})
		done <- err
	}()
	<-g.entered // the writer holds "a"; the queue (size 1) is empty
	go func() {
		_, err := p.Submit(context.Background(), pipeline.Submission{Items: []pipeline.Item{item(t, "b", canonical.TypeOrderReleased, "S", order)}})
		done <- err
	}()
	waitFor(t, func() bool { return testutil.ToFloat64(m.WriterQueueDepth) == 1 }) // "b" fills the queue
	_, err := p.Submit(context.Background(), pipeline.Submission{Items: []pipeline.Item{item(t, "c", canonical.TypeOrderReleased, "S", order)}})
	if !errors.Is(err, pipeline.ErrOverloaded) {
		t.Fatalf("full queue answered %v", err)
	}
	close(g.gate)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.Store.Event(context.Background(), store.EventKey{Source: "test", ID: "c"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an overloaded submission was kept: %v", err)
	}
}

func TestCloseCommitsQueuedWorkThenRefuses(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	p := pipeline.New(st, pipeline.Options{})
	res, err := p.Submit(context.Background(), pipeline.Submission{Items: []pipeline.Item{item(t, "x", canonical.TypeOrderReleased, "S", order)}})
	if err != nil || res[0].Status != pipeline.Accepted {
		t.Fatal(res, err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Submit(context.Background(), pipeline.Submission{Items: []pipeline.Item{item(t, "y", canonical.TypeOrderReleased, "S", order)}}); !errors.Is(err, pipeline.ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
	if _, err := st.Event(context.Background(), store.EventKey{Source: "test", ID: "x"}); err != nil {
		t.Fatalf("acknowledged event missing after close: %v", err)
	}
}

// A submission whose write fails must not take its batch neighbours down.
func TestPoisonSubmissionIsIsolated(t *testing.T) {
	t.Parallel()
	g := &gatedStore{Store: openStore(t), gate: make(chan struct{}), entered: make(chan struct{}, 1), failAll: errors.New("disk on fire")}
	m := obs.NewMetrics()
	p := pipeline.New(g, pipeline.Options{Metrics: m})
	defer p.Close(context.Background())
	type out struct {
		id  string
		err error
	}
	outs := make(chan out, 4)
	go func() {
		_, err := p.Submit(context.Background(), pipeline.Submission{Items: []pipeline.Item{item(t, "first", canonical.TypeOrderReleased, "S0", order)}})
		outs <- out{"first", err}
	}()
	<-g.entered
	for _, id := range []string{"ok1", "poison", "ok2"} {
		go func() {
			_, err := p.Submit(context.Background(), pipeline.Submission{Items: []pipeline.Item{item(t, id, canonical.TypeOrderReleased, "S-"+id, order)}})
			outs <- out{id, err}
		}()
	}
	waitFor(t, func() bool { return testutil.ToFloat64(m.WriterQueueDepth) >= 3 })
	close(g.gate)
	for range 4 {
		o := <-outs
		if (o.id == "poison") != (o.err != nil) {
			t.Fatalf("%s: err %v", o.id, o.err)
		}
	}
}

func TestDuplicateWithinOneSubmission(t *testing.T) {
	t.Parallel()
	p := pipeline.New(openStore(t), pipeline.Options{})
	defer p.Close(context.Background())
	a := item(t, "same", canonical.TypeOrderReleased, "S", order)
	res, err := p.Submit(context.Background(), pipeline.Submission{Items: []pipeline.Item{a, a}})
	if err != nil || res[0].Status != pipeline.Accepted || res[1].Status != pipeline.Duplicate {
		t.Fatalf("%v %v", res, err)
	}
}

// A payload whose source is unusable as text is still kept, under the
// submitting principal, on every store.
func TestQuarantineKeepsPayloadWithUnusableSource(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	p := pipeline.New(st, pipeline.Options{})
	defer p.Close(context.Background())
	raw := []byte("{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"bad\\u0000source\",\"type\":\"shipment.cancelled\",\"subject\":\"S\",\"time\":\"2026-11-22T10:00:00Z\",\"data\":{}}")
	it := pipeline.ParseItem(raw, pipeline.IntakeOptions{Limits: canonical.DefaultLimits(), Now: time.Now()})
	if it.Err == nil {
		t.Fatal("a source with a NUL was accepted")
	}
	res, err := p.Submit(context.Background(), pipeline.Submission{Items: []pipeline.Item{it}, Principal: "partner-x"})
	if err != nil || res[0].Status != pipeline.Rejected {
		t.Fatalf("%v %v", res, err)
	}
	q, err := st.QuarantineItem(context.Background(), res[0].QuarantineID)
	if err != nil || q.Source != "partner-x" || string(q.Payload) != string(raw) {
		t.Fatalf("kept %+v %v", q, err)
	}
}

// With the state cache on, a batch that fails after mutating a cached
// shipment must not leak that mutation into later batches.
func TestStateCacheForgetsFailedBatches(t *testing.T) {
	t.Parallel()
	g := &gatedStore{Store: openStore(t), failAll: errors.New("disk on fire")}
	p := pipeline.New(g, pipeline.Options{StateCache: 100})
	defer p.Close(context.Background())
	ctx := context.Background()
	const twoStops = `{"order_id":"O","customer_id":"C","stops":[{"id":"P","type":"pickup","location":{"lat":1,"lon":2}},{"id":"D","type":"delivery","location":{"lat":1,"lon":2}}]}`
	if _, err := p.Submit(ctx, pipeline.Submission{Items: []pipeline.Item{item(t, "o", canonical.TypeOrderReleased, "S", twoStops)}}); err != nil {
		t.Fatal(err)
	}
	_, err := p.Submit(ctx, pipeline.Submission{Items: []pipeline.Item{
		item(t, "m", canonical.TypeShipmentMilestone, "S", `{"code":"departed","stop_id":"P"}`),
		item(t, "poison", canonical.TypeShipmentCancelled, "S", `{}`),
	}})
	if err == nil {
		t.Fatal("the poisoned submission committed")
	}
	if _, err := p.Submit(ctx, pipeline.Submission{Items: []pipeline.Item{
		item(t, "a", canonical.TypeRouteAssigned, "S", `{"vehicle_id":"V","driver_id":"D"}`),
	}}); err != nil {
		t.Fatal(err)
	}
	rec, err := g.Shipment(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != "planned" || strings.Contains(string(rec.State), `"departed"`) {
		t.Fatalf("a failed batch leaked into the cached state: %s %s", rec.Status, rec.State)
	}
}
