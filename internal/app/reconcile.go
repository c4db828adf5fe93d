package app

import (
	"context"
	"slices"
	"time"

	"github.com/crossdockhq/crossdock/internal/billing"
	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/reconcile"
	"github.com/crossdockhq/crossdock/internal/workflow"
)

// reconcileLease is how long a reconciliation run's claim lasts without
// renewal: a working run renews it, so a node that dies loses its run
// within a minute, and a run taken over is worked again from the start.
const reconcileLease = time.Minute

// openReconcile builds the reconciliation runner and its scheduler: its
// own, so a long run's lease is long and deliveries never wait behind it.
func (a *App) openReconcile(rating *billing.Engine) {
	cfg := a.cfg.Reconciliation
	lookups := map[string]connector.InvoiceLooker{}
	for name, t := range a.targets {
		if l, ok := t.conn.(connector.InvoiceLooker); ok && slices.Contains(t.cfg.Events, pipeline.TypeInvoiceReady) {
			lookups[name] = l
		}
	}
	a.reconciler = reconcile.New(reconcile.Options{
		Store: a.store, Lookups: lookups, Cases: a.pipeline, Derive: a.pipeline, Billing: rating, RoadFactor: a.cfg.Telemetry.RoadFactor,
		Workflow:            workflow.Options{DefaultRadiusM: a.cfg.Telemetry.DefaultRadiusM, PODToleranceM: a.cfg.Billing.PODToleranceM},
		RatingWait:          a.cfg.Billing.RatingWait.D(),
		InvoicePrefix:       a.cfg.Billing.InvoicePrefix,
		StuckAfter:          cfg.StuckReadyAfter.D(),
		DistanceToleranceKm: cfg.DistanceToleranceKm, DistanceTolerancePct: cfg.DistanceTolerancePct,
		Fuel: reconcile.FuelOptions{
			MaxStationKm: cfg.FuelMaxStationKm, OutlierZ: cfg.FuelOutlierZ, MinDistanceKm: cfg.FuelMinDistanceKm,
			MaxSpeedKph: a.cfg.Telemetry.MaxSpeedKph,
		},
		Lease:   reconcileLease,
		Metrics: a.metrics,
		Logger:  a.log.With("component", "reconcile"),
	})
	a.schedule = reconcile.Schedule{Next: cfg.Next, Kinds: cfg.Kinds, Lookback: cfg.Lookback.D()}
	a.reconcileJobs = outbox.New(a.store, outbox.Options{
		Logger: a.log.With("component", "reconcile"), Lease: reconcileLease, Workers: 2, MaxAttempts: 3, PollInterval: 5 * time.Second,
	})
	a.reconcileJobs.Handle(reconcile.JobRun, a.reconciler.Handle)
	a.reconcileJobs.Handle(reconcile.JobSchedule, a.reconciler.HandleSchedule(a.schedule))
}

// startReconcile plans the next scheduled runs and works the queued ones
// until ctx ends; the returned channel closes when it has stopped.
func (a *App) startReconcile(ctx context.Context) <-chan struct{} {
	if err := a.reconciler.Plan(ctx, a.schedule); err != nil {
		a.log.Error("reconciliation schedule", "err", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.reconcileJobs.Run(ctx)
	}()
	return done
}
