package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/crossdockhq/crossdock/internal/backoff"
	"github.com/crossdockhq/crossdock/internal/store"
)

// Handler runs one job. nil: done. ErrSettled: done, and already marked
// so by the handler. Permanent(err): dead at once.
// RetryAfter(d, err): run again after d (a 429 or 503 asked for it).
// Defer(d, err): run again after d, the attempt not counted.
// Any other error: run again after an exponential backoff, dead after
// MaxAttempts. A panic counts as an error.
type Handler func(ctx context.Context, job store.JobRecord) error

type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return &permanent{err} }

type retryAfter struct {
	d   time.Duration
	err error
}

func (r *retryAfter) Error() string { return r.err.Error() }
func (r *retryAfter) Unwrap() error { return r.err }

// RetryAfter asks for the job to run again after d.
func RetryAfter(d time.Duration, err error) error { return &retryAfter{d, err} }

type deferred struct {
	d   time.Duration
	err error
}

func (r *deferred) Error() string { return r.err.Error() }
func (r *deferred) Unwrap() error { return r.err }

// Defer puts the job off for d without counting the attempt: it did not
// really run (the destination's circuit is open, its connector paused).
func Defer(d time.Duration, err error) error { return &deferred{d, err} }

// ErrSettled is what a handler returns when it settled its job itself, in
// the transaction of the work (store.Tx.FinishJob): the scheduler then
// writes nothing more for it.
var ErrSettled = errors.New("job settled by its handler")

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanent
	return errors.As(err, &p)
}

// IsDeferred reports whether err was made by Defer.
func IsDeferred(err error) bool {
	var d *deferred
	return errors.As(err, &d)
}

// RetryDelay returns the delay RetryAfter asked for, if it did.
func RetryDelay(err error) (time.Duration, bool) {
	var r *retryAfter
	if errors.As(err, &r) {
		return r.d, true
	}
	return 0, false
}

// Clock tells the time; tests inject one.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Options tune a Scheduler. Zero values take the defaults noted.
type Options struct {
	Node         string        // who holds leases; default hostname-pid
	Lease        time.Duration // how long a claim is held; default 30s
	PollInterval time.Duration // how often due jobs are looked for; default 1s
	Batch        int           // jobs of one kind claimed at once; default 100
	Workers      int           // jobs run at once; default 16
	MaxAttempts  int           // runs before a failing job is dead; default 10
	BackoffMin   time.Duration // first retry delay; default 1s
	BackoffMax   time.Duration // longest retry delay; default 5m
	Clock        Clock         // default the system clock
	Logger       *slog.Logger  // default discards
}

func (o Options) withDefaults() Options {
	if o.Node == "" {
		host, _ := os.Hostname()
		o.Node = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 5 * time.Minute
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Scheduler claims and runs jobs.
type Scheduler struct {
	st       store.Store
	opt      Options
	mu       sync.Mutex
	handlers map[string]Handler
	wake     chan struct{}
}

// New returns a Scheduler over st; register handlers, then Run.
func New(st store.Store, opt Options) *Scheduler {
	return &Scheduler{st: st, opt: opt.withDefaults(), handlers: map[string]Handler{}, wake: make(chan struct{}, 1)}
}

// Handle registers the handler of kind. Register before Run.
func (s *Scheduler) Handle(kind string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[kind] = h
}

// Wake makes Run look for due jobs now rather than at the next poll.
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run runs due jobs until ctx ends, then returns once the jobs in hand
// are settled. It keeps up to Workers jobs running: whenever a quarter of
// them are free it claims more (no batch waits for its slowest job), and
// one transaction settles the outcomes that finished together.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(s.opt.PollInterval)
	defer t.Stop()
	running := make(chan struct{}, s.opt.Workers) // one token per job in hand
	freed := make(chan struct{}, 1)
	st := newSettler(s)
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		st.close()
	}()
	threshold := max(1, s.opt.Workers/4)
	// more: jobs may be due that no claim took yet. It stays true while
	// there is no room to claim, and turns false when a claim came back
	// short.
	more := true
	for {
		claimed := false
		for _, kind := range s.kinds() {
			free := s.opt.Workers - len(running)
			if free < threshold {
				break
			}
			if !claimed {
				claimed, more = true, false
			}
			want := min(free, s.opt.Batch)
			jobs, err := s.st.ClaimJobs(context.WithoutCancel(ctx), []string{kind}, s.opt.Clock.Now(), s.opt.Lease, s.opt.Node, want)
			if err != nil {
				if ctx.Err() == nil {
					s.opt.Logger.Error("claim jobs", "kind", kind, "err", err)
				}
				continue
			}
			more = more || len(jobs) == want
			for _, j := range jobs {
				running <- struct{}{}
				wg.Go(func() {
					if o, settle := s.run(ctx, j); settle {
						st.add(o)
					}
					<-running
					select {
					case freed <- struct{}{}:
					default:
					}
				})
			}
		}
		if ctx.Err() != nil {
			return
		}
		if more && s.opt.Workers-len(running) >= threshold {
			continue // more are due and there is room
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		case <-freed:
			if !more {
				// Nothing was due at the last claim: wait for the
				// poll or a wake, not for every finished job.
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				case <-s.wake:
				}
			}
		}
	}
}

func (s *Scheduler) kinds() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	kinds := make([]string, 0, len(s.handlers))
	for k := range s.handlers {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// settler gathers the outcomes of jobs that finished close together and
// settles them in one transaction: at most settleBatch, at most
// settleDelay after the first.
type settler struct {
	s    *Scheduler
	in   chan store.JobOutcome
	done chan struct{}
}

const (
	settleBatch = 128
	settleDelay = 5 * time.Millisecond
)

func newSettler(s *Scheduler) *settler {
	st := &settler{s: s, in: make(chan store.JobOutcome, settleBatch), done: make(chan struct{})}
	go st.loop()
	return st
}

func (st *settler) add(o store.JobOutcome) { st.in <- o }

// close settles what is left and stops.
func (st *settler) close() {
	close(st.in)
	<-st.done
}

func (st *settler) loop() {
	defer close(st.done)
	var batch []store.JobOutcome
	var timer <-chan time.Time
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := st.s.st.SettleJobs(context.Background(), batch, st.s.opt.Clock.Now()); err != nil {
			// Unsettled jobs run again once their lease ends.
			st.s.opt.Logger.Error("settle jobs", "jobs", len(batch), "err", err)
		}
		batch, timer = batch[:0], nil
	}
	for {
		select {
		case o, ok := <-st.in:
			if !ok {
				flush()
				return
			}
			batch = append(batch, o)
			if len(batch) >= settleBatch {
				flush()
			} else if timer == nil {
				timer = time.After(settleDelay)
			}
		case <-timer:
			flush()
		}
	}
}

// RunOnce claims one batch of due jobs of each registered kind — kind by
// kind, so a flood of one kind (timers) cannot starve another
// (deliveries) — runs them, up to Workers at once, and records each
// outcome. It returns how many it claimed.
func (s *Scheduler) RunOnce(ctx context.Context) (n int, err error) {
	kinds := s.kinds()
	var mu sync.Mutex
	var errs []error
	var outcomes []store.JobOutcome
	sem := make(chan struct{}, s.opt.Workers)
	var wg sync.WaitGroup
	for _, kind := range kinds {
		jobs, err := s.st.ClaimJobs(context.WithoutCancel(ctx), []string{kind}, s.opt.Clock.Now(), s.opt.Lease, s.opt.Node, s.opt.Batch)
		if err != nil {
			errs = append(errs, fmt.Errorf("outbox: claim %s: %w", kind, err))
			continue
		}
		n += len(jobs)
		for _, j := range jobs {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if o, settle := s.run(ctx, j); settle {
					mu.Lock()
					outcomes = append(outcomes, o)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	// One transaction settles the batch: one commit, not one per job.
	// A job whose lease was lost meanwhile is skipped: its new owner
	// settles it.
	if _, err := s.st.SettleJobs(context.WithoutCancel(ctx), outcomes, s.opt.Clock.Now()); err != nil {
		errs = append(errs, fmt.Errorf("outbox: settle %d jobs: %w", len(outcomes), err))
	}
	return n, errors.Join(errs...)
}

// run runs one claimed job and says how to settle it; settle is false
// when the handler settled it itself. Once claimed, a job is settled even
// when ctx ends meanwhile (the handler sees ctx's end).
func (s *Scheduler) run(ctx context.Context, j store.JobRecord) (o store.JobOutcome, settle bool) {
	s.mu.Lock()
	h := s.handlers[j.Kind]
	s.mu.Unlock()
	herr := s.call(ctx, h, j)
	now := s.opt.Clock.Now()
	o = store.JobOutcome{ID: j.ID, Node: s.opt.Node}
	if herr != nil {
		o.LastError = herr.Error()
	}
	var perm *permanent
	var after *retryAfter
	var put *deferred
	switch {
	case errors.Is(herr, ErrSettled):
		return o, false
	case herr == nil:
		o.State = store.JobDone
	case errors.As(herr, &put):
		o.State, o.RunAt, o.Deferred = store.JobPending, now.Add(put.d), true
	case errors.As(herr, &perm):
		s.opt.Logger.Warn("job dead", "kind", j.Kind, "key", j.Key, "err", herr)
		o.State = store.JobDead
	case errors.As(herr, &after):
		o.State, o.RunAt = store.JobPending, now.Add(after.d)
	case j.Attempts >= s.opt.MaxAttempts:
		s.opt.Logger.Warn("job dead after its attempts", "kind", j.Kind, "key", j.Key, "attempts", j.Attempts, "err", herr)
		o.State = store.JobDead
	default:
		o.State, o.RunAt = store.JobPending, now.Add(s.backoff(j.Attempts))
	}
	return o, true
}

// call runs h, turning a panic into an error.
func (s *Scheduler) call(ctx context.Context, h Handler, j store.JobRecord) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v", r)
		}
	}()
	return h(ctx, j)
}

// backoff is the delay before run attempt+1: BackoffMin doubled per
// attempt, capped at BackoffMax, with ±20 % jitter so failing jobs spread.
func (s *Scheduler) backoff(attempt int) time.Duration {
	return backoff.Jitter(backoff.Exp(attempt, s.opt.BackoffMin, s.opt.BackoffMax), 0.2)
}
