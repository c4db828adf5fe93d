package api

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/crossdockhq/crossdock/internal/obs"
)

// traced starts a server span per request in the trace of the request's
// correlation id (obs.TraceID), so everything the request causes joins
// it. A W3C traceparent in that same trace (the correlation id was taken
// from it) is the span's parent; one of another trace (X-Correlation-ID
// won) is linked. Named by route pattern, never by raw path. Without
// tracing the chain is left as it is.
func traced(t *obs.Tracing) func(http.Handler) http.Handler {
	if !t.Enabled() {
		return func(next http.Handler) http.Handler { return next }
	}
	tr := t.Tracer()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			corr := obs.Correlation(r.Context())
			ctx := obs.InTrace(r.Context(), corr)
			var opts []trace.SpanStartOption
			if up := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))); up.IsValid() {
				if up.TraceID() == obs.TraceID(corr) {
					ctx = trace.ContextWithRemoteSpanContext(ctx, up)
				} else {
					opts = append(opts, trace.WithLinks(trace.Link{SpanContext: up}))
				}
			}
			opts = append(opts, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
				attribute.String("http.request.method", r.Method), obs.AttrCorrelationID.String(corr)))
			ctx, span := tr.Start(ctx, r.Method, opts...)
			defer span.End()
			rec := &statusRecorder{ResponseWriter: w}
			req := r.WithContext(ctx)
			next.ServeHTTP(rec, req)
			if req.Pattern != "" {
				span.SetName(req.Pattern) // "POST /api/v1/events"
				span.SetAttributes(attribute.String("http.route", req.Pattern))
			}
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			span.SetAttributes(attribute.Int("http.response.status_code", rec.status))
			if rec.status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(rec.status))
			}
		})
	}
}
