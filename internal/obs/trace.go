package obs

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// TracingOptions configure NewTracing.
type TracingOptions struct {
	// Endpoint is the OTLP/HTTP traces URL (http or https); one without a
	// path gets /v1/traces. "" leaves it to the standard environment
	// variables OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and
	// OTEL_EXPORTER_OTLP_ENDPOINT; with neither set tracing is off.
	Endpoint string
	// SampleRatio is the fraction of traces kept, 0..1. The decision is a
	// function of the trace id alone, so every node and every hop of one
	// trace decides alike.
	SampleRatio float64
	// Version is the service.version resource attribute.
	Version string
	// Getenv reads the environment (os.Getenv); nil reads none.
	Getenv func(string) string
}

// Tracing is the hub's OpenTelemetry tracer provider. When off — no
// exporter configured — it is a no-op tracer and Enabled is false, so
// callers skip building spans at all. A nil *Tracing is off.
type Tracing struct {
	provider *sdktrace.TracerProvider // nil when off
	tracer   trace.Tracer
}

// TracerName is the instrumentation scope of crossdock's spans.
const TracerName = "github.com/crossdockhq/crossdock"

// NewTracing builds the tracer provider: an OTLP/HTTP (protobuf) exporter
// behind a batch span processor when an endpoint is configured, else off.
// The standard OTEL_EXPORTER_OTLP_* variables (headers, timeout,
// compression, certificates) and OTEL_BSP_* tune the exporter and the
// batching; OTEL_SDK_DISABLED=true turns tracing off; OTEL_SERVICE_NAME
// and OTEL_RESOURCE_ATTRIBUTES override the resource.
func NewTracing(ctx context.Context, o TracingOptions) (*Tracing, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	off := &Tracing{tracer: noop.NewTracerProvider().Tracer(TracerName)}
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return off, nil
	}
	var opts []otlptracehttp.Option
	switch {
	case o.Endpoint != "":
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("obs: tracing endpoint %q: want an http(s) URL", o.Endpoint)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/v1/traces"
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(u.String()))
	case getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "":
		return off, nil
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("obs: otlp exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "crossdock"), attribute.String("service.version", o.Version)),
		resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("obs: trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.TraceIDRatioBased(min(max(o.SampleRatio, 0), 1))),
		sdktrace.WithIDGenerator(idGenerator{}),
	)
	return &Tracing{provider: tp, tracer: tp.Tracer(TracerName)}, nil
}

// Enabled reports whether spans are exported at all.
func (t *Tracing) Enabled() bool { return t != nil && t.provider != nil }

// Tracer is the tracer to start spans with (a no-op one when off).
func (t *Tracing) Tracer() trace.Tracer {
	if t == nil {
		return noop.NewTracerProvider().Tracer(TracerName)
	}
	return t.tracer
}

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("obs: tracing shutdown: %w", err)
	}
	return nil
}

// TraceID is the trace of correlation id c, so everything one business
// flow causes — on any node, after any restart — lands in one trace: c
// itself when it is a W3C trace id (32 lowercase hex, as taken from a
// traceparent header), else the first 16 bytes of SHA-256(c).
func TraceID(c string) trace.TraceID {
	var id trace.TraceID
	if len(c) == 32 && isHex(c) {
		if _, err := hex.Decode(id[:], []byte(c)); err == nil && id.IsValid() {
			return id
		}
	}
	sum := sha256.Sum256([]byte(c))
	copy(id[:], sum[:16])
	return id
}

// EventSpanID is the span id of the span recording event (source, id)
// being committed: the first 8 bytes of SHA-256(source NUL id). Later
// hops (a delivery, on whichever node) parent their spans on it without
// having stored anything.
func EventSpanID(source, id string) trace.SpanID {
	sum := sha256.Sum256([]byte(source + "\x00" + id))
	var sid trace.SpanID
	copy(sid[:], sum[:8])
	if !sid.IsValid() {
		sid[7] = 1
	}
	return sid
}

// InTrace returns ctx without a parent span, whose next span starts a
// root in correlation id c's trace (TraceID(c)); in a trace of its own
// when c is "".
func InTrace(ctx context.Context, c string) context.Context {
	ctx = trace.ContextWithSpanContext(ctx, trace.SpanContext{})
	if c == "" {
		return ctx
	}
	return context.WithValue(ctx, traceIDKey{}, TraceID(c))
}

// EventParent returns ctx whose next span is a child of the span of event
// (source, id) in correlation id c's trace (see EventSpanID): the remote
// parent of work done on the event later, elsewhere.
func EventParent(ctx context.Context, c, source, id string) context.Context {
	return trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: TraceID(c), SpanID: EventSpanID(source, id), TraceFlags: trace.FlagsSampled, Remote: true,
	}))
}

// StartEventSpan starts the span of event (source, id) with its
// deterministic id (EventSpanID) as a child of ctx's span, or as a root in
// correlation id c's trace when ctx has none. The returned context carries
// the span; the id does not leak to the spans started from it.
func StartEventSpan(ctx context.Context, tr trace.Tracer, c, source, id, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := ctx
	if !trace.SpanContextFromContext(ctx).IsValid() {
		parent = InTrace(ctx, c)
	}
	_, span := tr.Start(context.WithValue(parent, spanIDKey{}, EventSpanID(source, id)), name, opts...)
	return trace.ContextWithSpan(ctx, span), span
}

type (
	traceIDKey struct{}
	spanIDKey  struct{}
)

// idGenerator gives spans the ids the context asks for (InTrace,
// StartEventSpan) and random ones otherwise.
type idGenerator struct{}

func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	tid, ok := ctx.Value(traceIDKey{}).(trace.TraceID)
	for !ok || !tid.IsValid() {
		binary.NativeEndian.PutUint64(tid[:8], rand.Uint64())
		binary.NativeEndian.PutUint64(tid[8:], rand.Uint64())
		ok = true
	}
	return tid, idGenerator{}.NewSpanID(ctx, tid)
}

func (idGenerator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if sid, ok := ctx.Value(spanIDKey{}).(trace.SpanID); ok && sid.IsValid() {
		return sid
	}
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.NativeEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}

// Span attribute keys crossdock sets (CloudEvents semantic conventions
// where they exist). Never a payload, a key or a secret.
const (
	AttrCorrelationID = attribute.Key("crossdock.correlation_id")
	AttrShipmentID    = attribute.Key("crossdock.shipment_id")
	AttrConnector     = attribute.Key("crossdock.connector")
	AttrEventID       = attribute.Key("cloudevents.event_id")
	AttrEventSource   = attribute.Key("cloudevents.event_source")
	AttrEventType     = attribute.Key("cloudevents.event_type")
	AttrEventSubject  = attribute.Key("cloudevents.event_subject")
)

// EventAttributes are the span attributes naming one event.
func EventAttributes(correlationID, source, id, typ, subject, shipmentID string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{AttrEventSource.String(source), AttrEventID.String(id), AttrEventType.String(typ)}
	if correlationID != "" {
		attrs = append(attrs, AttrCorrelationID.String(correlationID))
	}
	if subject != "" {
		attrs = append(attrs, AttrEventSubject.String(subject))
	}
	if shipmentID != "" {
		attrs = append(attrs, AttrShipmentID.String(shipmentID))
	}
	return attrs
}
