package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/crossdockhq/crossdock/internal/api"
	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/monitor"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/reconcile"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/store/postgres"
	"github.com/crossdockhq/crossdock/internal/store/sqlite"
	"github.com/crossdockhq/crossdock/internal/telemetry"
	"github.com/crossdockhq/crossdock/internal/web"
	"github.com/crossdockhq/crossdock/internal/workflow"
)

// AdminKeyFile is the file under the data directory that holds the admin
// key crossdock generates when none is configured.
const AdminKeyFile = "admin.key"

// App is a running hub.
type App struct {
	cfg       config.Config
	log       *slog.Logger
	metrics   *obs.Metrics
	store     store.Store
	pipeline  *pipeline.Pipeline
	targets   map[string]*target // the configured connectors
	scheduler *outbox.Scheduler  // runs workflow timers (and, later, deliveries)
	tracing   *obs.Tracing       // off unless an OTLP endpoint is configured
	monitors  *monitor.Monitors  // SLA monitors raising alert.raised
	// reconciler starts and works reconciliation runs on reconcileJobs,
	// nightly on schedule.
	reconciler    *reconcile.Runner
	reconcileJobs *outbox.Scheduler
	schedule      reconcile.Schedule
	server        *http.Server
	listener      net.Listener
	inputs        []input
	inputsWG      sync.WaitGroup
}

// Open opens the store, starts the writer and binds the listen address. It
// does not serve yet; call Serve.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, log: log, metrics: obs.NewMetrics()}
	adminKey, err := a.adminKey()
	if err != nil {
		return nil, err
	}
	if err := a.openStore(ctx); err != nil {
		return nil, err
	}
	if err := a.syncPartners(ctx); err != nil {
		a.closeStorage(context.Background())
		return nil, err
	}
	mappings, err := api.CompileMappings(cfg.Partners)
	if err != nil {
		a.closeStorage(context.Background())
		return nil, fmt.Errorf("app: %w", err)
	}
	keys, err := api.NewKeyRing(adminKey, cfg.Auth.Keys, cfg.Partners, a.store)
	if err != nil {
		a.closeStorage(context.Background())
		return nil, err
	}
	retryable := func(error) bool { return false }
	stateCache := cfg.Pipeline.StateCache // safe only while this process is the single writer
	if a.store.Dialect() == "postgres" {
		retryable, stateCache = postgres.IsRetryable, 0
	}
	targets, subscribers, err := openConnectors(cfg.Connectors, log)
	a.targets = targets
	if err != nil {
		a.closeStorage(context.Background())
		return nil, err
	}
	rating, err := cfg.Billing.Engine() // checked when the config loaded; nil: rating off
	if err != nil {
		a.closeStorage(context.Background())
		return nil, fmt.Errorf("app: billing: %w", err)
	}
	if err := a.openObservability(ctx); err != nil {
		a.closeStorage(context.Background())
		return nil, fmt.Errorf("app: %w", err)
	}
	limits := canonical.DefaultLimits()
	limits.MaxFuture = cfg.Pipeline.MaxFuture.D()
	t := cfg.Telemetry
	a.pipeline = pipeline.New(a.store, pipeline.Options{
		Limits: limits,
		Telemetry: telemetry.Config{
			DefaultRadiusM: t.DefaultRadiusM, HysteresisM: t.HysteresisM, MaxSpeedKph: t.MaxSpeedKph,
			FallbackSpeedKph: t.FallbackSpeedKph, RoadFactor: t.RoadFactor, DelayMargin: t.DelayMargin.D(),
			TemperatureGrace: t.TemperatureGrace.D(), RouteDeviationM: t.RouteDeviationM, RouteDeviationFor: t.RouteDeviationFor.D(),
		},
		MaxBatchEvents: cfg.Pipeline.MaxBatchEvents,
		CommitDelay:    cfg.Pipeline.CommitDelay.D(),
		QueueSize:      cfg.Pipeline.QueueSize,
		Retryable:      retryable,
		StateCache:     stateCache,
		Precedence:     shipment.Precedence(cfg.Ownership.Precedence),
		Workflow:       workflow.Options{DefaultRadiusM: t.DefaultRadiusM, PODToleranceM: cfg.Billing.PODToleranceM},
		Billing:        rating,
		RatingWait:     cfg.Billing.RatingWait.D(),
		InvoicePrefix:  cfg.Billing.InvoicePrefix,
		PODOverdue:     cfg.Billing.PODOverdue.D(),
		OnJobs:         func() { a.scheduler.Wake() },
		Subscribers:    subscribers,
		Logger:         log,
		Metrics:        a.metrics,
		Tracing:        a.tracing,
	})
	a.openMonitors()
	a.openReconcile(rating)
	a.scheduler = outbox.New(a.store, outbox.Options{Logger: log.With("component", "outbox"), Workers: 32})
	for _, kind := range workflow.TimerKinds {
		a.scheduler.Handle(kind, func(ctx context.Context, j store.JobRecord) error {
			ctx, end := a.traceTimer(ctx, j)
			defer end()
			if err := a.pipeline.FireTimer(ctx, pipeline.Fire{Kind: j.Kind, Key: j.Key, Job: j.ID, Node: j.LeasedBy}); err != nil {
				return err
			}
			return outbox.ErrSettled
		})
	}
	if len(targets) > 0 {
		a.scheduler.Handle(pipeline.JobDeliver, deliver(a.store, a.pipeline, targets, a.metrics, a.tracing))
		for _, t := range targets {
			a.metrics.RegisterConnector(t.cfg.Name, t.gauges(a.store))
		}
	}
	// The console calls the API in process; the API's handler exists only
	// once the server that mounts the console is built.
	var apiHandler http.Handler
	console := web.NewConsole(web.ConsoleOptions{
		API:  http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { apiHandler.ServeHTTP(w, r) }),
		Keys: keys, Logger: log.With("component", "console"),
	})
	pages := map[string]http.Handler{"GET /track/{shipment_id}": web.Track(a.store, log.With("component", "web"))}
	for _, p := range console.Patterns() {
		pages[p] = console
	}
	srv := api.New(api.Options{
		Store: a.store, Pipeline: a.pipeline, Keys: keys, Metrics: a.metrics, Tracing: a.tracing, Logger: log,
		Reconcile: a.reconciler, WakeReconcile: a.reconcileJobs.Wake,
		Partners: cfg.Partners, Ownership: cfg.Ownership, Mappings: mappings, Billing: rating, RoadFactor: t.RoadFactor,
		Wake:         a.scheduler.Wake,
		Connectors:   connectorStatuses(targets),
		Resumed:      resumed(a.store, targets),
		Credit:       creditSource(cfg.Connectors, targets, a.store),
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes, MaxBatchEvents: cfg.HTTP.MaxBatchEvents, Limits: limits,
		Ready: a.store.Ping,
		Pages: pages,
	})
	apiHandler = srv.Handler()
	a.server = &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.HTTP.ReadTimeout.D(),
		WriteTimeout:      cfg.HTTP.WriteTimeout.D(),
		IdleTimeout:       cfg.HTTP.IdleTimeout.D(),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	a.server.RegisterOnShutdown(console.Close)
	a.listener, err = net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		a.closeStorage(context.Background())
		return nil, fmt.Errorf("app: listen %s: %w", cfg.HTTP.Addr, err)
	}
	err = a.openInputs()
	if err == nil {
		err = a.openPartnerInputs(srv)
	}
	if err != nil {
		a.closeInputs()
		_ = a.listener.Close()
		a.closeStorage(context.Background())
		return nil, err
	}
	return a, nil
}

// syncPartners makes the partners declared in the config exist in the
// store with their declared name and scopes. Partners created through the
// API are left alone, and so are partners no longer declared (their keys
// keep working until revoked).
func (a *App) syncPartners(ctx context.Context) error {
	for _, p := range a.cfg.Partners {
		rec := store.PartnerRecord{ID: p.ID, Name: p.Name, Scopes: p.Scopes, FromConfig: true, CreatedAt: time.Now().UTC()}
		if err := a.store.PutPartner(ctx, rec); err != nil {
			return fmt.Errorf("app: partner %s: %w", p.ID, err)
		}
	}
	return nil
}

func (a *App) openStore(ctx context.Context) error {
	var err error
	if u := a.cfg.Store.DatabaseURL; u != "" {
		a.store, err = postgres.Open(ctx, postgres.Options{URL: u, MaxConns: int32(a.cfg.Store.MaxConns)})
		if err != nil {
			return fmt.Errorf("app: open postgres: %w", err)
		}
		return nil
	}
	path := filepath.Join(a.cfg.Store.DataDir, "crossdock.db")
	a.store, err = sqlite.Open(ctx, sqlite.Options{Path: path, ReadConns: a.cfg.Store.ReadConns, BusyTimeout: a.cfg.Store.BusyTimeout.D()})
	if err != nil {
		return fmt.Errorf("app: open sqlite %s: %w", path, err)
	}
	return nil
}

// adminKey returns the configured admin key; with none configured and no
// other keys, it reads or creates a random one in the data directory
// (mode 0600) so a fresh install is never open and never unusable.
func (a *App) adminKey() (string, error) {
	if a.cfg.Auth.AdminKey != "" || len(a.cfg.Auth.Keys) > 0 {
		return a.cfg.Auth.AdminKey, nil
	}
	path := filepath.Join(a.cfg.Store.DataDir, AdminKeyFile)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("app: read %s: %w", path, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("app: generate admin key: %w", err)
	}
	key := "cdk_" + base64.RawURLEncoding.EncodeToString(raw)
	if err := os.MkdirAll(a.cfg.Store.DataDir, 0o750); err != nil {
		return "", fmt.Errorf("app: create data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("app: write %s: %w", path, err)
	}
	a.log.Warn("no API key configured: generated an admin key; read it from the file (it is not logged)", "file", path)
	return key, nil
}

// Addr is the address the hub listens on (useful with port 0).
func (a *App) Addr() string { return a.listener.Addr().String() }

// Metrics exposes the hub's metrics (for tests).
func (a *App) Metrics() *obs.Metrics { return a.metrics }

// Serve serves HTTP until ctx ends, then shuts down gracefully: stop
// accepting, let in-flight requests finish (their submissions commit),
// flush the writer and close the store. It returns nil after a clean stop.
func (a *App) Serve(ctx context.Context) error {
	a.log.Info("crossdock listening", "addr", a.Addr(), "store", a.store.Dialect(), "data_dir", a.cfg.Store.DataDir)
	errc := make(chan error, 1+len(a.inputs))
	go func() { errc <- a.server.Serve(a.listener) }()
	a.serveInputs(errc)
	pctx, stopPrune := context.WithCancel(context.Background())
	pruned := make(chan struct{})
	go func() {
		defer close(pruned)
		a.prunePositions(pctx, time.Now, pruneEvery)
	}()
	defer func() {
		stopPrune()
		<-pruned
	}()
	sctx0, stopJobs := context.WithCancel(context.Background())
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		a.scheduler.Run(sctx0)
	}()
	reconcileDone := a.startReconcile(sctx0)
	stopMonitors := a.startMonitors()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	a.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.HTTP.ShutdownTimeout.D())
	defer cancel()
	// Inputs first: a device waiting for its acknowledgement gets it, then
	// the API's in-flight requests finish, then the jobs in hand settle;
	// all commit before the writer stops.
	a.stopInputs(sctx)
	if err := a.server.Shutdown(sctx); err != nil {
		a.log.Error("http shutdown", "err", err)
	}
	stopMonitors(sctx) // before the writer stops: an alert in hand commits
	stopJobs()
	for _, done := range []<-chan struct{}{jobsDone, reconcileDone} {
		select {
		case <-done:
		case <-sctx.Done():
		}
	}
	a.closeStorage(sctx)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("app: serve: %w", serveErr)
	}
	a.log.Info("stopped")
	return nil
}

func (a *App) closeStorage(ctx context.Context) {
	for name, t := range a.targets {
		if c, ok := t.conn.(io.Closer); ok {
			if err := c.Close(); err != nil {
				a.log.Warn("connector close", "connector", name, "err", err)
			}
		}
	}
	if a.pipeline != nil {
		if err := a.pipeline.Close(ctx); err != nil {
			a.log.Error("pipeline close", "err", err)
		}
	}
	if err := a.store.Close(); err != nil {
		a.log.Error("store close", "err", err)
	}
	// Export the last spans, but an unreachable collector must not hold
	// the exit up for long.
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.tracing.Shutdown(tctx); err != nil {
		a.log.Warn("tracing shutdown", "err", err)
	}
}
