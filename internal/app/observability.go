package app

import (
	"context"
	"encoding/json"
	"os"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/insight"
	"github.com/crossdockhq/crossdock/internal/monitor"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
)

// openObservability starts the tracer (off unless an OTLP endpoint is
// configured) and registers the business metrics, read from the store on
// scrape; the monitors are built once the pipeline exists
// (openMonitors).
func (a *App) openObservability(ctx context.Context) error {
	var err error
	a.tracing, err = obs.NewTracing(ctx, obs.TracingOptions{
		Endpoint: a.cfg.Tracing.OTLPEndpoint, SampleRatio: a.cfg.Tracing.SampleRatio, Getenv: os.Getenv,
	})
	if err != nil {
		return err
	}
	if a.tracing.Enabled() {
		a.log.Info("exporting traces over OTLP/HTTP", "sample_ratio", a.cfg.Tracing.SampleRatio)
	}
	a.metrics.Registry.MustRegister(insight.NewCollector(a.store, insight.Options{Logger: a.log.With("component", "insight")}))
	return nil
}

// openMonitors builds the SLA monitors of the config; they record their
// alerts through the pipeline.
func (a *App) openMonitors() {
	rules := make([]monitor.Rule, len(a.cfg.Monitors))
	for i, m := range a.cfg.Monitors {
		rules[i] = monitor.Rule{Name: m.Name, Metric: m.Metric, Above: m.Threshold(), Duration: config.MonitorMetrics[m.Metric],
			Connector: m.Connector, Every: m.Every.D()}
	}
	a.monitors = monitor.New(monitor.Options{Rules: rules, Store: a.store, Recorder: a.pipeline, Metrics: a.metrics,
		Tracing: a.tracing, Logger: a.log.With("component", "monitor")})
}

// startMonitors runs the monitors until stop is called; stop waits for
// the evaluation in hand (whose alert commits through the writer) or for
// ctx to end.
func (a *App) startMonitors() (stop func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.monitors.Run(ctx)
	}()
	return func(wait context.Context) {
		cancel()
		select {
		case <-done:
		case <-wait.Done():
		}
	}
}

// traceTimer starts the span of a workflow timer firing, a root in its
// shipment's trace (the timer's job carries the correlation id): the
// commit it causes, and what that derives (an invoice.ready), are its
// children.
func (a *App) traceTimer(ctx context.Context, j store.JobRecord) (context.Context, func()) {
	if !a.tracing.Enabled() {
		return ctx, func() {}
	}
	ctx, span := a.tracing.Tracer().Start(obs.InTrace(ctx, j.CorrelationID), "timer "+j.Kind,
		trace.WithAttributes(attribute.String("crossdock.timer.key", j.Key), attribute.Int("crossdock.attempt", j.Attempts),
			obs.AttrCorrelationID.String(j.CorrelationID)))
	return ctx, func() { span.End() }
}

// traceDelivery starts the span of one delivery attempt as a child of the
// span of the event it delivers (obs.EventParent: derived from the
// event's identity and correlation id, so it holds on any node and after a
// restart); end records the attempt's result.
func traceDelivery(ctx context.Context, tr *obs.Tracing, j store.JobRecord) (context.Context, func(result string, err error)) {
	if !tr.Enabled() {
		return ctx, func(string, error) {}
	}
	var dp pipeline.DeliveryPayload
	_ = json.Unmarshal(j.Payload, &dp) // a bad payload fails the attempt, recorded on the span
	ctx, span := tr.Tracer().Start(obs.EventParent(ctx, j.CorrelationID, dp.Source, dp.ID), "deliver "+dp.Connector,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(obs.AttrConnector.String(dp.Connector), obs.AttrEventSource.String(dp.Source), obs.AttrEventID.String(dp.ID),
			obs.AttrCorrelationID.String(j.CorrelationID), attribute.Int("crossdock.attempt", j.Attempts)))
	return ctx, func(result string, err error) {
		span.SetAttributes(attribute.String("crossdock.delivery.result", result))
		if result == "dead" || result == "retried" {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}
