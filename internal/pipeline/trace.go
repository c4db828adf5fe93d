package pipeline

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/crossdockhq/crossdock/internal/obs"
)

// traceCommit records the spans of a committed batch, when tracing is on:
// per submission a "pipeline.commit" span from its queueing to the commit,
// child of the submitter's span (the HTTP request, a delivery, a timer)
// or a root in the trace of its correlation id; and per appended event a
// span with the event's deterministic id (obs.EventSpanID), child of the
// span of the event that caused it in this batch, else of a submission
// span of its trace, else a root of its trace. A derived event (source
// crossdock/…) is a "workflow" step, an inbound one an "event".
func (p *Pipeline) traceCommit(batch []*pending, bs *batchState, began time.Time) {
	if !p.opt.Tracing.Enabled() {
		return
	}
	tr := p.opt.Tracing.Tracer()
	end := time.Now()
	events := 0
	for _, pd := range batch {
		events += len(pd.sub.Items)
	}
	batchAttrs := []attribute.KeyValue{attribute.Int("crossdock.batch.submissions", len(batch)), attribute.Int("crossdock.batch.events", events)}
	parents := map[trace.TraceID]context.Context{}
	for _, pd := range batch {
		ctx := pd.ctx
		if !trace.SpanContextFromContext(ctx).IsValid() {
			ctx = obs.InTrace(ctx, submissionCorrelation(pd))
		}
		_, span := tr.Start(ctx, "pipeline.commit", trace.WithTimestamp(pd.enqueued))
		if span.IsRecording() { // not when its trace is sampled out
			span.SetAttributes(batchAttrs...)
			span.SetAttributes(attribute.String("crossdock.submission", submissionKind(pd.sub)), attribute.Int("crossdock.submission.items", len(pd.sub.Items)),
				attribute.String("crossdock.principal", pd.sub.Principal))
			if pd.refused != nil {
				span.SetStatus(codes.Error, pd.refused.Error())
			}
			span.AddEvent("commit", trace.WithTimestamp(began))
		}
		span.End(trace.WithTimestamp(end))
		if _, ok := parents[span.SpanContext().TraceID()]; !ok {
			parents[span.SpanContext().TraceID()] = trace.ContextWithSpan(context.Background(), span)
		}
	}
	byID := map[string]context.Context{}
	for _, rec := range bs.records {
		if rec.CorrelationID == "" {
			continue
		}
		tid := obs.TraceID(rec.CorrelationID)
		parent, ok := byID[rec.CausationID]
		if !ok || trace.SpanContextFromContext(parent).TraceID() != tid {
			parent = parents[tid]
		}
		if parent == nil {
			parent = context.Background()
		}
		kind := "event "
		if strings.HasPrefix(rec.Source, ReservedSourcePrefix) {
			kind = "workflow "
		}
		ctx, span := obs.StartEventSpan(parent, tr, rec.CorrelationID, rec.Source, rec.ID, kind+rec.Type, trace.WithTimestamp(began))
		if span.IsRecording() {
			span.SetAttributes(obs.EventAttributes(rec.CorrelationID, rec.Source, rec.ID, rec.Type, rec.Subject, rec.ShipmentID)...)
		}
		span.End(trace.WithTimestamp(end))
		byID[rec.ID] = ctx
	}
}

// startIntake starts the span of a device input handing positions over
// (a trace of its own: devices send no correlation id); end ends it.
func (p *Pipeline) startIntake(ctx context.Context, input string, n int) (_ context.Context, end func()) {
	if !p.opt.Tracing.Enabled() {
		return ctx, func() {}
	}
	ctx, span := p.opt.Tracing.Tracer().Start(obs.InTrace(ctx, ""), "intake "+input, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("crossdock.input", input), attribute.Int("crossdock.positions", n)))
	return ctx, func() { span.End() }
}

// submissionCorrelation is the correlation id of a submission whose
// submitter has no span: the request's, else its first item's.
func submissionCorrelation(pd *pending) string {
	if c := obs.Correlation(pd.ctx); c != "" {
		return c
	}
	switch s := pd.sub; {
	case s.Alert != nil:
		return s.Alert.CorrelationID
	case s.Outcome != nil:
		return s.Outcome.Event.CorrelationID
	}
	for _, it := range pd.sub.Items {
		if it.Event.CorrelationID != "" {
			return it.Event.CorrelationID
		}
	}
	return ""
}

// submissionKind names what a submission carries, for its span.
func submissionKind(s Submission) string {
	switch {
	case s.Outcome != nil:
		return "outcome"
	case s.Fire != nil:
		return "timer"
	case s.Resolve != nil:
		return "resolution"
	case s.Alert != nil:
		return "alert"
	case s.Register != nil:
		return "registration"
	case s.Replay != nil:
		return "replay"
	}
	return "events"
}
