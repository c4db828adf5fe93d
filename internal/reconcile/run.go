package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/crossdockhq/crossdock/internal/billing"
	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/workflow"
)

// JobRun is the kind of the job that works one run; its key is the run id.
const JobRun = "reconcile.run"

// Triggers of a run.
const (
	TriggerAPI      = "api"
	TriggerSchedule = "schedule"
)

// ErrInvalid refuses a run request; the message says what is wrong.
var ErrInvalid = errors.New("invalid reconciliation")

// CaseOpener opens a non-blocking case on each finding's shipment (the
// pipeline, through a shipment.exception it derives). Opening the same
// finding again must change nothing.
type CaseOpener interface {
	OpenFindingCases(ctx context.Context, fs []CaseFinding) error
}

// CaseFinding is a finding about a shipment, for its case.
type CaseFinding struct {
	// ID identifies the discrepancy across runs: the same one found again
	// tomorrow opens no second case.
	ID         string
	ShipmentID string
	Code       string // the finding's code; the case's is CaseCode(Code)
	Detail     string
	At         time.Time
}

// CaseCode is the code of the case a finding opens.
func CaseCode(code string) string { return workflow.ReconciliationPrefix + code }

// Options configure a Runner. Zero values take the defaults noted.
type Options struct {
	Store store.Store
	// Lookups are the ERP connectors that receive invoice.ready and can
	// say what they hold, by connector name; none: the invoices check
	// only finds stuck_ready.
	Lookups map[string]connector.InvoiceLooker
	// Cases opens the cases of findings about shipments; nil for none.
	Cases CaseOpener
	// Derive records the trip.cost events of scheduled fuel runs; nil for
	// none.
	Derive Deriver
	// Billing rates shipments again to propose a credit or debit; nil:
	// the hub does not invoice, and the shipments check skips what needs
	// it.
	Billing    *billing.Engine
	RoadFactor float64
	// Workflow are the pipeline's case rules, to tell whether a case
	// holds a shipment's billing.
	Workflow workflow.Options
	// RatingWait is the delivery-to-cash wait after the last POD (the
	// pipeline's); default 2h.
	RatingWait time.Duration
	// InvoicePrefix starts the hub's invoice ids; default INV.
	InvoicePrefix string
	// StuckAfter: an invoice ready longer than this is stuck_ready;
	// default 1h.
	StuckAfter time.Duration
	// DistanceToleranceKm and DistanceTolerancePct: a measured distance
	// that moved by more than both since the invoice is
	// distance_changed_after_invoice; defaults 1 km and 2 %.
	DistanceToleranceKm  float64
	DistanceTolerancePct float64
	Fuel                 FuelOptions
	// Lease is the lease the scheduler claims runs for; a working run
	// renews it every third of it, so a node that dies loses its run
	// within one lease. Default 1m.
	Lease  time.Duration
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics counts runs and findings; nil for none.
	Metrics *obs.Metrics
}

func (o Options) withDefaults() Options {
	if o.RatingWait <= 0 {
		o.RatingWait = 2 * time.Hour
	}
	if o.InvoicePrefix == "" {
		o.InvoicePrefix = "INV"
	}
	if o.StuckAfter <= 0 {
		o.StuckAfter = time.Hour
	}
	if o.DistanceToleranceKm <= 0 {
		o.DistanceToleranceKm = 1
	}
	if o.DistanceTolerancePct <= 0 {
		o.DistanceTolerancePct = 2
	}
	if o.RoadFactor <= 0 {
		o.RoadFactor = 1.3
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Runner starts runs and works them as scheduler jobs.
type Runner struct {
	opt Options
}

// New builds a Runner.
func New(o Options) *Runner { return &Runner{opt: o.withDefaults()} }

// Request asks for a run.
type Request struct {
	Kind        string
	From, To    time.Time
	Trigger     string // TriggerAPI or TriggerSchedule
	RequestedBy string
	// ID, when set, is the run's id (a scheduled run's is derived from its
	// time, so two nodes create it once); default a new UUID v7.
	ID string
}

// MaxPeriod is the longest period one run checks.
const MaxPeriod = 366 * 24 * time.Hour

// Check validates a request: ErrInvalid naming the field.
func Check(kind string, from, to time.Time) error {
	switch {
	case !slices.Contains(Kinds, kind):
		return fmt.Errorf("%w: kind %q is not one of invoices, shipments, fuel", ErrInvalid, kind)
	case from.IsZero() || to.IsZero():
		return fmt.Errorf("%w: from and to are required", ErrInvalid)
	case !from.Before(to):
		return fmt.Errorf("%w: to must be after from", ErrInvalid)
	case to.Sub(from) > MaxPeriod:
		return fmt.Errorf("%w: the period is longer than %d days", ErrInvalid, int(MaxPeriod.Hours()/24))
	}
	return nil
}

// Start stores a run and queues the job that works it. It reports the run
// and whether it was created (false: a run with the request's ID exists).
func (r *Runner) Start(ctx context.Context, q Request) (store.ReconciliationRecord, bool, error) {
	if err := Check(q.Kind, q.From, q.To); err != nil {
		return store.ReconciliationRecord{}, false, err
	}
	now := r.opt.Now().UTC()
	id := q.ID
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	run := store.ReconciliationRecord{
		ID: id, Kind: q.Kind, From: q.From.UTC(), To: q.To.UTC(), Status: store.ReconcileRunning,
		Trigger: q.Trigger, RequestedBy: q.RequestedBy, StartedAt: now, UpdatedAt: now,
	}
	job := store.JobRecord{
		ID: uuid.Must(uuid.NewV7()).String(), Kind: JobRun, Key: id, RunAt: now, State: store.JobPending,
		CorrelationID: id, CreatedAt: now, UpdatedAt: now,
	}
	created, err := r.opt.Store.CreateReconciliation(ctx, run, job)
	if err != nil {
		return run, false, fmt.Errorf("reconcile: create run: %w", err)
	}
	if !created {
		run, err = r.opt.Store.Reconciliation(ctx, id)
		if err != nil {
			return run, false, fmt.Errorf("reconcile: read run: %w", err)
		}
	}
	return run, created, nil
}

// Handle is the scheduler's handler of JobRun jobs: it works the run named
// by the job's key to its end and records done or failed. A run taken
// over from a node that died is worked again from the start; findings it
// had stored are not stored twice.
func (r *Runner) Handle(ctx context.Context, job store.JobRecord) error {
	run, err := r.opt.Store.Reconciliation(ctx, job.Key)
	if errors.Is(err, store.ErrNotFound) {
		return nil // nothing to do: the run is gone
	}
	if err != nil {
		return fmt.Errorf("reconcile: read run %s: %w", job.Key, err)
	}
	if run.Status != store.ReconcileRunning {
		return nil
	}
	log := r.opt.Logger.With("run", run.ID, "kind", run.Kind)
	log.InfoContext(ctx, "reconciliation started", "from", run.From, "to", run.To, "trigger", run.Trigger, "attempt", job.Attempts)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer r.keepLease(ctx, job, cancel, log)()
	w := &writer{r: r, run: run, log: log}
	began := time.Now()
	var checkErr error
	switch run.Kind {
	case KindInvoices:
		checkErr = r.checkInvoices(ctx, w)
	case KindShipments:
		checkErr = r.checkShipments(ctx, w)
	case KindFuel:
		checkErr = r.checkFuel(ctx, w)
	default:
		checkErr = fmt.Errorf("unknown kind %q", run.Kind)
	}
	if checkErr == nil {
		checkErr = w.flush(ctx)
	}
	if ctx.Err() != nil {
		// Shutting down, or another node took the run over: leave it
		// running; its job is worked again.
		return fmt.Errorf("reconcile: run %s: %w", run.ID, context.Cause(ctx))
	}
	status, msg := store.ReconcileDone, ""
	if checkErr != nil {
		status, msg = store.ReconcileFailed, checkErr.Error()
	}
	if _, err := r.opt.Store.FinishReconciliation(ctx, run.ID, status, msg, w.checked, r.opt.Now().UTC()); err != nil {
		return fmt.Errorf("reconcile: finish run %s: %w", run.ID, err)
	}
	if m := r.opt.Metrics; m != nil {
		m.ReconcileRuns.WithLabelValues(run.Kind, status).Inc()
		m.ReconcileSeconds.WithLabelValues(run.Kind).Observe(time.Since(began).Seconds())
	}
	log.InfoContext(ctx, "reconciliation finished", "status", status, "checked", w.checked, "findings", w.found,
		"looked_up", w.lookedUp, "listed", w.listed, "err", msg)
	return nil
}

// errLeaseLost stops a run whose job another node took over.
var errLeaseLost = errors.New("another node took the run over")

// keepLease renews the lease on job until the returned stop is called; it
// cancels ctx with errLeaseLost when the lease is lost. A job without a
// lease (run directly, not by a scheduler) needs none.
func (r *Runner) keepLease(ctx context.Context, job store.JobRecord, cancel context.CancelCauseFunc, log *slog.Logger) (stop func()) {
	if job.ID == "" || job.LeasedBy == "" {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(r.opt.Lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now := r.opt.Now().UTC()
			err := r.opt.Store.RenewJob(ctx, job.ID, job.LeasedBy, now.Add(r.opt.Lease), now)
			switch {
			case errors.Is(err, store.ErrConflict):
				cancel(errLeaseLost)
				return
			case err != nil && ctx.Err() == nil:
				log.WarnContext(ctx, "renew reconciliation lease", "err", err)
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// writer batches a run's findings into the store and opens their cases.
type writer struct {
	r       *Runner
	run     store.ReconciliationRecord
	log     *slog.Logger
	pending []Finding
	checked int64
	found   int64
	// lookedUp and listed count the invoices looked up in the ERPs and
	// the ERP documents listed, for the log.
	lookedUp, listed int64
}

// flushEvery is how many findings are stored at once.
const flushEvery = 200

// add records f, storing a batch when enough are pending.
func (w *writer) add(ctx context.Context, f Finding) error {
	w.pending = append(w.pending, f)
	if len(w.pending) >= flushEvery {
		return w.flush(ctx)
	}
	return nil
}

// progress counts checked records and stores the count now and then, so
// a caller polling the run sees it move.
func (w *writer) progress(ctx context.Context, n int) error {
	before := w.checked
	w.checked += int64(n)
	if before/1000 != w.checked/1000 {
		return w.flush(ctx)
	}
	return nil
}

// flush stores the pending findings (and the checked count) and opens
// the cases of the new ones about shipments.
func (w *writer) flush(ctx context.Context) error {
	now := w.r.opt.Now().UTC()
	recs := make([]store.FindingRecord, len(w.pending))
	for i, f := range w.pending {
		recs[i] = w.record(f, now)
	}
	added, err := w.r.opt.Store.AddFindings(ctx, w.run.ID, recs, w.checked, now)
	if err != nil {
		return fmt.Errorf("store findings: %w", err)
	}
	w.found += int64(len(added))
	if m := w.r.opt.Metrics; m != nil {
		for _, a := range added {
			m.ReconcileFindings.WithLabelValues(w.run.Kind, a.Code).Inc()
		}
	}
	byID := make(map[string]Finding, len(w.pending))
	for _, f := range w.pending {
		byID[findingID(f)] = f
	}
	w.pending = w.pending[:0]
	if w.r.opt.Cases == nil {
		return nil
	}
	var cases []CaseFinding
	for _, a := range added {
		f := byID[a.ID]
		if f.ShipmentID == "" {
			continue
		}
		cases = append(cases, CaseFinding{ID: a.ID, ShipmentID: f.ShipmentID, Code: f.Code, Detail: f.Detail, At: cmpTime(f.At, now)})
	}
	if len(cases) == 0 {
		return nil
	}
	if err := w.r.opt.Cases.OpenFindingCases(ctx, cases); err != nil {
		return fmt.Errorf("open cases: %w", err)
	}
	return nil
}

func (w *writer) record(f Finding, now time.Time) store.FindingRecord {
	var data []byte
	if len(f.Data) > 0 {
		data, _ = json.Marshal(f.Data)
	}
	return store.FindingRecord{
		RunID: w.run.ID, ID: findingID(f), Code: f.Code, ShipmentID: f.ShipmentID, InvoiceID: f.InvoiceID,
		VehicleID: f.VehicleID, Detail: f.Detail, Data: data, FoundAt: cmpTime(f.At, now),
	}
}

func cmpTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t.UTC()
}

// findingID derives a finding's id from what it is about, so the same
// discrepancy has the same id in every run.
func findingID(f Finding) string {
	h := sha256.Sum256([]byte(f.Code + "\x00" + f.ShipmentID + "\x00" + f.InvoiceID + "\x00" + f.VehicleID + "\x00" + f.Key))
	return hex.EncodeToString(h[:12])
}
