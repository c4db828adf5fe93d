package obs

import (
	"context"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/crossdockhq/crossdock/internal/hubtest"
)

func TestTraceID(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, c, want string }{
		{"w3c trace id kept", "4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"uuid hashed", "0190f0b4-7c1e-7a55-9d2b-6c9c1f1e2a3b", ""},
		{"upper-case hex hashed", "4BF92F3577B34DA6A3CE929D0E0E4736", ""},
		{"all-zero hashed", strings.Repeat("0", 32), ""},
		{"free text hashed", "order SO-1001", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := TraceID(tt.c)
			if !got.IsValid() {
				t.Fatalf("invalid trace id for %q", tt.c)
			}
			if tt.want != "" && got.String() != tt.want {
				t.Fatalf("TraceID(%q) = %s, want %s", tt.c, got, tt.want)
			}
			if tt.want == "" && got.String() == strings.ToLower(tt.c) {
				t.Fatalf("TraceID(%q) not hashed", tt.c)
			}
			if TraceID(tt.c) != got {
				t.Fatal("not deterministic")
			}
		})
	}
	if TraceID("a") == TraceID("b") || EventSpanID("s", "a") == EventSpanID("s", "b") || EventSpanID("a", "b") == EventSpanID("ab", "") {
		t.Fatal("ids collide")
	}
}

// newTestTracing is a Tracing exporting to memory with crossdock's id
// rules.
func newTestTracing(t *testing.T) (*Tracing, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithIDGenerator(idGenerator{}))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &Tracing{provider: tp, tracer: tp.Tracer(TracerName)}, exp
}

// One correlation id is one trace across hops that share nothing but the
// event's identity: the commit's event span and a later delivery's span.
func TestEventSpansLinkAsyncHops(t *testing.T) {
	t.Parallel()
	tr, exp := newTestTracing(t)
	const corr = "corr-1"
	ctx, intake := tr.Tracer().Start(InTrace(context.Background(), corr), "POST /api/v1/events")
	ectx, ev := StartEventSpan(ctx, tr.Tracer(), corr, "dispatch/acme", "evt-1", "event order.released")
	_, child := tr.Tracer().Start(ectx, "workflow shipment.status_changed")
	child.End()
	ev.End()
	intake.End()
	// Later, elsewhere: a delivery of the event.
	_, del := tr.Tracer().Start(EventParent(context.Background(), corr, "dispatch/acme", "evt-1"), "deliver erp")
	del.End()
	// An event span without a parent in the context is a root of its trace.
	_, orphan := StartEventSpan(context.Background(), tr.Tracer(), corr, "crossdock/billing", "INV-1", "workflow invoice.ready")
	orphan.End()

	spans := map[string]tracetest.SpanStub{}
	for _, s := range exp.GetSpans() {
		spans[s.Name] = s
		if s.SpanContext.TraceID() != TraceID(corr) {
			t.Errorf("%s is in trace %s, want %s", s.Name, s.SpanContext.TraceID(), TraceID(corr))
		}
	}
	if len(spans) != 5 {
		t.Fatalf("spans: %v", exp.GetSpans())
	}
	parent := func(name string) trace.SpanID { return spans[name].Parent.SpanID() }
	switch {
	case spans["event order.released"].SpanContext.SpanID() != EventSpanID("dispatch/acme", "evt-1"):
		t.Error("the event span does not have its deterministic id")
	case parent("event order.released") != spans["POST /api/v1/events"].SpanContext.SpanID():
		t.Error("the event span is not the intake's child")
	case parent("workflow shipment.status_changed") != EventSpanID("dispatch/acme", "evt-1"):
		t.Error("the derived span is not the event's child")
	case spans["workflow shipment.status_changed"].SpanContext.SpanID() == EventSpanID("dispatch/acme", "evt-1"):
		t.Error("the event's id leaked to its child")
	case parent("deliver erp") != EventSpanID("dispatch/acme", "evt-1"):
		t.Error("the delivery is not the event's child")
	case spans["workflow invoice.ready"].Parent.IsValid() || spans["POST /api/v1/events"].Parent.IsValid():
		t.Error("roots have parents")
	}
}

func TestNewTracingOff(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		o       TracingOptions
		enabled bool
		err     bool
	}{
		{"nothing configured", TracingOptions{}, false, false},
		{"env endpoint", TracingOptions{Getenv: env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"})}, true, false},
		{"env traces endpoint", TracingOptions{Getenv: env(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces"})}, true, false},
		{"config endpoint", TracingOptions{Endpoint: "http://127.0.0.1:1"}, true, false},
		{"sdk disabled", TracingOptions{Endpoint: "http://127.0.0.1:1", Getenv: env(map[string]string{"OTEL_SDK_DISABLED": "true"})}, false, false},
		{"bad endpoint", TracingOptions{Endpoint: "collector:4318"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr, err := NewTracing(context.Background(), tt.o)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			defer func() { _ = tr.Shutdown(context.Background()) }()
			if tr.Enabled() != tt.enabled {
				t.Fatalf("enabled = %v, want %v", tr.Enabled(), tt.enabled)
			}
			_, span := tr.Tracer().Start(context.Background(), "x")
			if span.SpanContext().IsValid() != tt.enabled {
				t.Fatalf("span recorded = %v with tracing enabled = %v", span.SpanContext().IsValid(), tt.enabled)
			}
			span.End()
		})
	}
	var none *Tracing
	if none.Enabled() || none.Shutdown(context.Background()) != nil {
		t.Fatal("a nil Tracing is off")
	}
	_, span := none.Tracer().Start(context.Background(), "x")
	span.End()
}

// The configured endpoint gets OTLP/HTTP protobuf exports with crossdock's
// resource; shutting down flushes what is buffered.
func TestTracingExportsOTLP(t *testing.T) {
	t.Parallel()
	rcv := hubtest.NewOTLPReceiver(t)
	tr, err := NewTracing(context.Background(), TracingOptions{Endpoint: rcv.URL, SampleRatio: 1, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Tracer().Start(InTrace(context.Background(), "corr-x"), "pipeline.commit")
	span.SetAttributes(EventAttributes("corr-x", "dispatch/acme", "evt-1", "order.released", "SHP-1", "SHP-1")...)
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	spans := rcv.Spans()
	if len(spans) != 1 {
		t.Fatalf("received %d spans", len(spans))
	}
	s := spans[0]
	if s.Service != "crossdock" || s.TraceID != TraceID("corr-x").String() || s.Name != "pipeline.commit" ||
		s.Attributes["cloudevents.event_type"] != "order.released" || s.Attributes["crossdock.shipment_id"] != "SHP-1" {
		t.Fatalf("span %+v", s)
	}
}

// A sample ratio keeps or drops whole traces: every span of a trace gets
// the same decision, whatever node or hop starts it.
func TestSamplingIsPerTrace(t *testing.T) {
	t.Parallel()
	tr, err := NewTracing(context.Background(), TracingOptions{Endpoint: "http://127.0.0.1:1", SampleRatio: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Shutdown(context.Background()) }()
	kept := 0
	for i := range 200 {
		c := "corr-" + strings.Repeat("x", i)
		_, a := tr.Tracer().Start(InTrace(context.Background(), c), "intake")
		_, b := tr.Tracer().Start(EventParent(context.Background(), c, "s", "id"), "deliver")
		if a.SpanContext().IsSampled() != b.SpanContext().IsSampled() {
			t.Fatalf("%s: hops decided differently", c)
		}
		if a.SpanContext().IsSampled() {
			kept++
		}
		a.End()
		b.End()
	}
	if kept < 60 || kept > 140 {
		t.Fatalf("kept %d of 200 at ratio 0.5", kept)
	}
}
