package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/crossdockhq/crossdock/internal/billing"
	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/telemetry"
	"github.com/crossdockhq/crossdock/internal/vehicle"
	"github.com/crossdockhq/crossdock/internal/workflow"
)

// Item results.
const (
	Accepted  = "accepted"
	Duplicate = "duplicate"
	Rejected  = "rejected"
)

// ErrOverloaded is returned by Submit when the writer's queue is full; the
// caller answers 503 with Retry-After. Nothing of the submission was kept.
var ErrOverloaded = errors.New("pipeline: writer queue full")

// ErrClosed is returned by Submit after Close has begun.
var ErrClosed = errors.New("pipeline: closed")

// Item is one payload of a submission: either a parsed, valid event with its
// typed data, or a payload that failed intake validation (Err set), which
// the pipeline keeps in quarantine.
type Item struct {
	Raw   []byte                     // as received; kept in quarantine if rejected
	Event canonical.Event            // valid when Err is nil
	Data  any                        // typed data from canonical.ParseEvent
	Err   *canonical.ValidationError // intake rejection
	// DeviceID, set on telemetry.position items from device inputs, names
	// the device; the writer resolves it to the vehicle (Event.Subject is
	// then ignored) or quarantines the item when the device is unknown.
	DeviceID string
	// Input names where the item came from for the metrics ("api" when
	// empty; "osmand", "teltonika", "mqtt").
	Input string
}

// Submission is what one request hands the writer; it commits atomically.
type Submission struct {
	Items     []Item
	Principal string // API key name, recorded on events and quarantine
	// Partner, when the submission comes from a partner, is shared every
	// shipment an accepted event of the submission concerns.
	Partner     string
	ContentType string
	Truncated   bool // the raw payload was cut at the body limit
	// Replay, when set, is the quarantine record being replayed: it is
	// updated with the outcome instead of a new record being created.
	Replay *store.QuarantineRecord
	// Resolve, when set, resolves a case (see ResolveCase).
	Resolve *Resolution
	// Fire, when set, runs a due workflow timer (see FireTimer).
	Fire *Fire
	// Outcome, when set, records how a delivery ended (RecordDelivery).
	Outcome *Outcome
	// Alert, when set, records an SLA monitor's alert (RecordAlert).
	Alert *Alert
	// Derived are events crossdock derives outside the writer (trip
	// costs): each is appended once by (Source, ID) and delivered to the
	// connectors subscribed to its type (RecordDerived).
	Derived []store.EventRecord
	// Register, when set, registers a vehicle's devices in the same
	// transaction (see RegisterDevices); Items may then be empty.
	Register *Registration
}

// Registration makes DeviceIDs exactly the devices of VehicleID.
type Registration struct {
	VehicleID string
	DeviceIDs []string
}

// Result is the outcome of one item, in submission order.
type Result struct {
	ID           string                 `json:"id"`
	Source       string                 `json:"source"`
	Status       string                 `json:"status"`
	Errors       []canonical.FieldError `json:"errors,omitempty"`
	QuarantineID string                 `json:"quarantine_id,omitempty"`
	// Conflict marks a rejection because of the shipment's state, not the
	// event's content (cancelling an invoiced shipment): the API answers a
	// single such event with 409.
	Conflict bool `json:"-"`
}

// Options tune the writer. Zero values take the defaults noted.
type Options struct {
	MaxBatchEvents int           // events per transaction; default 2000
	CommitDelay    time.Duration // extra wait to fill a batch; default 0
	QueueSize      int           // queued submissions before ErrOverloaded; default 4096
	Retries        int           // retries of a batch after a retryable error; default 5
	// Retryable reports store errors worth running the batch again for
	// (store.ErrConflict always is). Default: only store.ErrConflict.
	Retryable func(error) bool
	// StateCache is how many shipment (and vehicle) states the writer keeps
	// decoded between batches; 0 disables it. Only valid when this pipeline
	// is the store's single writer (SQLite), never on a shared PostgreSQL.
	StateCache int
	// Limits are the canonical validation limits for device positions;
	// zero fields take canonical.DefaultLimits().
	Limits canonical.Limits
	// Telemetry tunes the rules that turn positions into milestones.
	Telemetry telemetry.Config
	// Precedence ranks sources for stop facts (ownership.precedence).
	Precedence shipment.Precedence
	// Workflow tunes POD validation.
	Workflow workflow.Options
	// Billing rates shipments when delivery-to-cash says so; nil turns
	// rating off (no rate cards configured).
	Billing *billing.Engine
	// RatingWait is how long after the last POD a shipment without a
	// reported departure from its last stop is rated; default 2h.
	RatingWait time.Duration
	// InvoicePrefix starts invoice ids; default INV.
	InvoicePrefix string
	// PODOverdue is how long after a delivery stop's arrival a missing POD
	// opens a pod_overdue case; default 4h.
	PODOverdue time.Duration
	// OnJobs is called after a commit that enqueued jobs (timers,
	// deliveries) to wake the scheduler; nil for none.
	OnJobs func()
	// Subscribers are the connectors each event type is delivered to.
	Subscribers map[string][]string
	Now         func() time.Time // default time.Now
	Logger      *slog.Logger     // default slog.Default()
	Metrics     *obs.Metrics     // default: a private registry
	Tracing     *obs.Tracing     // spans of commits and events; nil: none
}

func (o Options) withDefaults() Options {
	if o.MaxBatchEvents <= 0 {
		o.MaxBatchEvents = 2000
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 4096
	}
	if o.Retries <= 0 {
		o.Retries = 5
	}
	if o.Retryable == nil {
		o.Retryable = func(error) bool { return false }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Telemetry = o.Telemetry.WithDefaults()
	if o.RatingWait <= 0 {
		o.RatingWait = 2 * time.Hour
	}
	if o.PODOverdue <= 0 {
		o.PODOverdue = 4 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = obs.NewMetrics()
	}
	return o
}

// Pipeline is the writer. Submit may be called from any goroutine.
type Pipeline struct {
	st    store.Store
	opt   Options
	queue chan *pending
	cache *stateCache // writer goroutine only

	mu     sync.RWMutex
	closed bool
	done   chan struct{}
}

type pending struct {
	sub      Submission
	ctx      context.Context
	enqueued time.Time
	results  []Result
	err      error // the batch failed: nothing of it is durable
	refused  error // a registration or resolution was refused (the rest committed)
	// derivedNew counts the Derived events that were new.
	derivedNew int
	vehicle    *vehicle.State
	done       chan struct{}
}

// New builds a pipeline over st and starts its writer goroutine.
func New(st store.Store, opt Options) *Pipeline {
	opt = opt.withDefaults()
	p := &Pipeline{st: st, opt: opt, queue: make(chan *pending, opt.QueueSize), done: make(chan struct{}), cache: newStateCache(opt.StateCache)}
	go p.writer()
	return p
}

// Submit queues sub for the writer and waits until it is committed. It
// returns one Result per item, in order. A nil error means every accepted
// item and every quarantined payload is durable. If ctx ends first, Submit
// returns ctx's error: the submission may still commit, and a retry will
// see its events as duplicates.
func (p *Pipeline) Submit(ctx context.Context, sub Submission) ([]Result, error) {
	if len(sub.Items) == 0 && sub.Register == nil && sub.Resolve == nil && sub.Fire == nil && sub.Outcome == nil && len(sub.Derived) == 0 {
		return nil, nil
	}
	pd, err := p.run1(ctx, sub)
	if err != nil {
		return nil, err
	}
	return pd.results, nil
}

// run1 queues one submission and waits for its commit.
func (p *Pipeline) run1(ctx context.Context, sub Submission) (*pending, error) {
	pd := &pending{sub: sub, ctx: ctx, enqueued: p.opt.Now(), done: make(chan struct{})}
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return nil, ErrClosed
	}
	select {
	case p.queue <- pd:
	default:
		p.mu.RUnlock()
		return nil, ErrOverloaded
	}
	p.mu.RUnlock()
	p.opt.Metrics.WriterQueueDepth.Set(float64(len(p.queue)))
	select {
	case <-pd.done:
		return pd, pd.err
	case <-ctx.Done():
		return nil, fmt.Errorf("pipeline: waiting for commit: %w", ctx.Err())
	}
}

// DeviceTakenError refuses a registration: the device belongs to another
// vehicle, which must release it first.
type DeviceTakenError struct {
	DeviceID, VehicleID string
}

func (e *DeviceTakenError) Error() string {
	return fmt.Sprintf("device %s belongs to vehicle %s; remove it there first", e.DeviceID, e.VehicleID)
}

// RegisterDevices makes deviceIDs exactly the devices of vehicle id,
// creating the vehicle if needed, and returns its state once committed.
// A device held by another vehicle refuses the whole registration with a
// *DeviceTakenError and changes nothing.
func (p *Pipeline) RegisterDevices(ctx context.Context, id string, deviceIDs []string) (*vehicle.State, error) {
	devs := slices.Clone(deviceIDs)
	slices.Sort(devs)
	devs = slices.Compact(devs)
	pd, err := p.run1(ctx, Submission{Register: &Registration{VehicleID: id, DeviceIDs: devs}})
	if err != nil {
		return nil, err
	}
	if pd.refused != nil {
		return nil, pd.refused
	}
	return pd.vehicle, nil
}

// Close stops accepting submissions, commits everything already queued and
// stops the writer. It returns when the writer has finished or ctx ends.
func (p *Pipeline) Close(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.queue)
	}
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pipeline: close: %w", ctx.Err())
	}
}

func (p *Pipeline) writer() {
	defer close(p.done)
	for first := range p.queue {
		batch := []*pending{first}
		n := len(first.sub.Items)
		var timer <-chan time.Time
		if p.opt.CommitDelay > 0 {
			timer = time.After(p.opt.CommitDelay)
		}
	collect:
		for n < p.opt.MaxBatchEvents {
			select {
			case pd, ok := <-p.queue:
				if !ok {
					break collect
				}
				batch = append(batch, pd)
				n += len(pd.sub.Items)
			default:
				if timer == nil {
					break collect
				}
				select {
				case pd, ok := <-p.queue:
					if !ok {
						break collect
					}
					batch = append(batch, pd)
					n += len(pd.sub.Items)
				case <-timer:
					break collect
				}
			}
		}
		p.opt.Metrics.WriterQueueDepth.Set(float64(len(p.queue)))
		p.run(batch, n)
	}
}

// run commits a batch, retrying retryable conflicts; when a multi-submission
// batch fails otherwise, each submission is retried alone so one poison
// submission cannot fail its neighbours.
func (p *Pipeline) run(batch []*pending, n int) {
	err := p.commitWithRetry(batch, n)
	if err != nil && len(batch) > 1 {
		for _, pd := range batch {
			p.finish([]*pending{pd}, p.commitWithRetry([]*pending{pd}, len(pd.sub.Items)))
		}
		return
	}
	p.finish(batch, err)
}

func (p *Pipeline) commitWithRetry(batch []*pending, n int) error {
	var err error
	for attempt := 0; attempt <= p.opt.Retries; attempt++ {
		start := time.Now()
		err = p.commit(batch)
		p.opt.Metrics.WriterCommitSeconds.Observe(time.Since(start).Seconds())
		if err == nil {
			p.opt.Metrics.WriterBatchSize.Observe(float64(n))
			return nil
		}
		if !errors.Is(err, store.ErrConflict) && !p.opt.Retryable(err) {
			break
		}
		p.opt.Metrics.WriterRetries.Inc()
	}
	p.opt.Logger.Error("write batch failed", "err", err, "submissions", len(batch), "events", n)
	return err
}

func (p *Pipeline) finish(batch []*pending, err error) {
	now := p.opt.Now()
	for _, pd := range batch {
		if err != nil {
			pd.results, pd.err = nil, err
		} else {
			p.count(pd)
			p.opt.Metrics.IngestSeconds.Observe(now.Sub(pd.enqueued).Seconds())
		}
		close(pd.done)
	}
}

func (p *Pipeline) count(pd *pending) {
	for i, r := range pd.results {
		it := pd.sub.Items[i]
		typ := it.Event.Type
		if !canonical.IsInbound(typ) {
			typ = "invalid"
		}
		p.opt.Metrics.EventsTotal.WithLabelValues(typ, r.Status).Inc()
		if typ == canonical.TypeTelemetryPosition || it.DeviceID != "" {
			input := it.Input
			if input == "" {
				input = "api"
			}
			p.opt.Metrics.PositionsTotal.WithLabelValues(input, r.Status).Inc()
		}
		if r.Status == Rejected {
			p.opt.Metrics.QuarantinedTotal.WithLabelValues(reasonClass(pd.sub.Items[i])).Inc()
		}
	}
}

// reasonClass keeps the quarantine metric's label set small.
func reasonClass(it Item) string {
	if it.Err == nil {
		return "state"
	}
	if len(it.Err.Errors) > 0 && it.Err.Errors[0].Field == "" {
		return "body"
	}
	return "validation"
}
