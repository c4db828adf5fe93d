package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/hubtest"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
)

// An alert is appended once with its deliveries queued; recording it
// again (a restart, another node) changes nothing.
func TestRecordAlert(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	p := pipeline.New(st, pipeline.Options{Subscribers: map[string][]string{pipeline.TypeAlertRaised: {"hook"}}})
	defer p.Close(context.Background())
	ctx := context.Background()
	a := pipeline.Alert{ID: "dead-letters/raised/1", Type: pipeline.TypeAlertRaised, Monitor: "dead-letters",
		Time: t0, CorrelationID: "alert-1", Data: []byte(`{"monitor":"dead-letters"}`)}
	for i, want := range []bool{true, false} {
		fresh, err := p.RecordAlert(ctx, a)
		if err != nil || fresh != want {
			t.Fatalf("record %d: fresh %v, err %v; want fresh %v", i, fresh, err, want)
		}
	}
	key := store.EventKey{Source: pipeline.SourceMonitor, ID: a.ID}
	ev, err := st.Event(ctx, key)
	if err != nil || ev.Type != pipeline.TypeAlertRaised || ev.Subject != "dead-letters" || ev.ShipmentID != "" || ev.CorrelationID != "alert-1" {
		t.Fatalf("stored %+v, %v", ev, err)
	}
	if _, err := st.Job(ctx, pipeline.JobDeliver, pipeline.DeliveryKey("hook", key)); err != nil {
		t.Fatalf("no delivery queued: %v", err)
	}
}

// With tracing on, a commit records its submission under the submitter's
// span and each event with its deterministic span id, the derived status
// change under its cause.
func TestCommitSpans(t *testing.T) {
	t.Parallel()
	rcv := hubtest.NewOTLPReceiver(t)
	tr, err := obs.NewTracing(context.Background(), obs.TracingOptions{Endpoint: rcv.URL, SampleRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline.New(openStore(t), pipeline.Options{Tracing: tr})
	defer p.Close(context.Background())
	it := item(t, "o1", canonical.TypeOrderReleased, "SHP-T", order) // correlation id c1
	ctx, intake := tr.Tracer().Start(obs.InTrace(context.Background(), "c1"), "POST /api/v1/events")
	if _, err := p.Submit(ctx, pipeline.Submission{Items: []pipeline.Item{it}, Principal: "admin"}); err != nil {
		t.Fatal(err)
	}
	intake.End()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	spans := map[string]hubtest.Span{}
	for _, s := range rcv.Spans() {
		spans[s.Name] = s
		if s.TraceID != obs.TraceID("c1").String() {
			t.Errorf("%s in trace %s", s.Name, s.TraceID)
		}
	}
	commit, ev, derived := spans["pipeline.commit"], spans["event order.released"], spans["workflow shipment.status_changed"]
	switch {
	case commit.ParentSpanID != spans["POST /api/v1/events"].SpanID:
		t.Errorf("commit %+v is not the request's child", commit)
	case ev.SpanID != obs.EventSpanID("test", "o1").String() || ev.ParentSpanID != commit.SpanID:
		t.Errorf("event span %+v", ev)
	case derived.ParentSpanID != ev.SpanID:
		t.Errorf("derived span %+v is not its cause's child", derived)
	case ev.Attributes["crossdock.shipment_id"] != "SHP-T" || ev.Attributes["cloudevents.event_source"] != "test" || ev.Attributes["crossdock.correlation_id"] != "c1":
		t.Errorf("event attributes %v", ev.Attributes)
	case commit.Attributes["crossdock.submission"] != "events":
		t.Errorf("commit attributes %v", commit.Attributes)
	}
}
