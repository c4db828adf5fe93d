package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/time/rate"

	"github.com/crossdockhq/crossdock/internal/api"
	"github.com/crossdockhq/crossdock/internal/backoff"
	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/mapping"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
)

// target is a configured connector with its retry policy, circuit
// breaker and pause switch.
type target struct {
	conn    connector.Connector
	cfg     config.Connector
	breaker *gobreaker.CircuitBreaker[connector.Receipt]
	slots   chan struct{}    // one per delivery in flight: cfg.Concurrency
	jq      *mapping.Mapping // cfg.JQ compiled; nil without
	limit   *rate.Limiter    // nil without a rate limit

	mu        sync.Mutex
	paused    bool
	checkedAt time.Time
}

// Circuit breaker: five failed deliveries in a row open the circuit;
// deliveries then wait (not counted as attempts) and one probe goes
// through after breakerOpen.
const (
	breakerTrips = 5
	breakerOpen  = 10 * time.Second
	pauseRecheck = 2 * time.Second
	// pauseDefer puts a paused connector's deliveries off; resuming
	// wakes them at once (on other nodes within pauseRecheck).
	pauseDefer = 10 * time.Second
)

// isPaused reads the connector's pause switch (PUT by the API into the
// store, so every node sees it), at most every pauseRecheck.
func (t *target) isPaused(ctx context.Context, st store.Store) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if time.Since(t.checkedAt) < pauseRecheck {
		return t.paused
	}
	t.paused, t.checkedAt = connectorPaused(ctx, st, t.cfg.Name), time.Now()
	return t.paused
}

// connectorPaused reads a connector's pause switch from the store.
func connectorPaused(ctx context.Context, st store.Store, name string) bool {
	rec, err := st.Master(ctx, api.KindConnector, name)
	if err != nil {
		return false
	}
	var sw api.PauseSwitch
	return json.Unmarshal(rec.Data, &sw) == nil && sw.Paused
}

// maxRateWait is the longest a delivery waits for its connector's rate
// limit in a worker; a longer wait defers the job instead of holding the
// worker.
const maxRateWait = time.Second

// acquire takes one of t's delivery slots after its rate limit allows;
// release gives it back. A delivery that would wait longer than
// maxRateWait is deferred.
func (t *target) acquire(ctx context.Context) (release func(), err error) {
	if t.limit != nil {
		r := t.limit.Reserve()
		if d := r.Delay(); d > maxRateWait {
			r.Cancel()
			return nil, outbox.Defer(d, errors.New("connector rate limit"))
		} else if d > 0 {
			tm := time.NewTimer(d)
			select {
			case <-tm.C:
			case <-ctx.Done():
				tm.Stop()
				r.Cancel()
				return nil, ctx.Err()
			}
		}
	}
	select {
	case t.slots <- struct{}{}:
		return func() { <-t.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// reshape runs t's jq program on ev: the body to send (nil: the
// CloudEvent as it is), and whether to send at all.
func (t *target) reshape(ctx context.Context, ev store.EventRecord) (body []byte, send bool, err error) {
	if t.jq == nil {
		return nil, true, nil
	}
	ce, err := connector.Body(ev)
	if err != nil {
		return nil, false, err
	}
	out, err := t.jq.RunJSON(ctx, ce)
	if err != nil {
		return nil, false, err
	}
	if len(out) == 0 {
		return nil, false, nil
	}
	body, err = json.Marshal(out[0])
	return body, true, err
}

// openConnectors builds the configured connectors and the event types
// each receives.
func openConnectors(cfgs []config.Connector, log *slog.Logger) (map[string]*target, map[string][]string, error) {
	targets := map[string]*target{}
	subs := map[string][]string{}
	for _, c := range cfgs {
		conn, err := newConnector(c, log)
		if err != nil {
			for _, t := range targets {
				if cl, ok := t.conn.(io.Closer); ok {
					_ = cl.Close()
				}
			}
			return nil, nil, fmt.Errorf("app: connector %s: %w", c.Name, err)
		}
		var jq *mapping.Mapping
		if c.JQ != "" {
			if jq, err = mapping.Compile(mapping.Spec{Partner: "connector " + c.Name, Name: "jq", Source: c.JQ, MaxEvents: 1}); err != nil {
				if cl, ok := conn.(io.Closer); ok {
					_ = cl.Close()
				}
				for _, t := range targets {
					if cl, ok := t.conn.(io.Closer); ok {
						_ = cl.Close()
					}
				}
				return nil, nil, fmt.Errorf("app: connector %s: jq: %w", c.Name, err)
			}
		}
		var limit *rate.Limiter
		if c.RateLimit > 0 {
			limit = rate.NewLimiter(rate.Limit(c.RateLimit), max(1, int(c.RateLimit)))
		}
		targets[c.Name] = &target{conn: conn, cfg: c, slots: make(chan struct{}, c.Concurrency), limit: limit, jq: jq,
			breaker: gobreaker.NewCircuitBreaker[connector.Receipt](gobreaker.Settings{
				Name: c.Name, Timeout: breakerOpen,
				ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= breakerTrips },
				// A refusal (4xx) proves the destination up; only failures to
				// deliver at all count against it.
				IsSuccessful: func(err error) bool { return err == nil || outbox.IsPermanent(err) },
			})}
		for _, e := range c.Events {
			subs[e] = append(subs[e], c.Name)
		}
	}
	return targets, subs, nil
}

var deliveryNS = uuid.MustParse("5a1e6b2c-3d4f-4a8b-9c7d-2e1f0a9b8c7d")

// deliver is the outbox handler of delivery jobs: it loads the event,
// hands it to its connector under the connector's retry policy, and
// records how the delivery ended once it has (delivered, or dead).
func deliver(st store.Store, p *pipeline.Pipeline, targets map[string]*target, m *obs.Metrics, tr *obs.Tracing) outbox.Handler {
	attempt := attempt(st, p, targets, m)
	return func(ctx context.Context, j store.JobRecord) error {
		ctx, end := traceDelivery(ctx, tr, j)
		err := attempt(ctx, j)
		conn, _, _ := strings.Cut(j.Key, "|") // pipeline.DeliveryKey: connector first
		result := "retried"
		switch {
		case errors.Is(err, errDead), outbox.IsPermanent(err):
			result = "dead"
		case err == nil, errors.Is(err, outbox.ErrSettled):
			result = "delivered"
		case outbox.IsDeferred(err):
			result = "deferred"
		}
		m.Deliveries.WithLabelValues(conn, result).Inc()
		end(result, err)
		if errors.Is(err, errDead) {
			return outbox.ErrSettled
		}
		return err
	}
}

// errDead marks a delivery settled dead (its outcome recorded) for the
// metrics; the scheduler sees outbox.ErrSettled.
var errDead = fmt.Errorf("delivery dead: %w", outbox.ErrSettled)

// attempt runs one delivery job.
func attempt(st store.Store, p *pipeline.Pipeline, targets map[string]*target, m *obs.Metrics) outbox.Handler {
	return func(ctx context.Context, j store.JobRecord) error {
		var dp pipeline.DeliveryPayload
		if err := json.Unmarshal(j.Payload, &dp); err != nil {
			return outbox.Permanent(fmt.Errorf("delivery payload: %w", err))
		}
		t := targets[dp.Connector]
		if t == nil {
			return outbox.Permanent(fmt.Errorf("connector %s is no longer configured", dp.Connector))
		}
		ev, err := st.Event(ctx, store.EventKey{Source: dp.Source, ID: dp.ID})
		if errors.Is(err, store.ErrNotFound) {
			return outbox.Permanent(fmt.Errorf("event %s %s not found", dp.Source, dp.ID))
		}
		if err != nil {
			return err
		}
		if t.isPaused(ctx, st) {
			return outbox.Defer(pauseDefer, errors.New("connector paused"))
		}
		body, send, err := t.reshape(ctx, ev)
		if err != nil {
			return outbox.Permanent(err) // the program fails on this event: fix it, then retry
		}
		if !send {
			if err := p.RecordDelivery(ctx, pipeline.Outcome{Connector: dp.Connector, Event: ev, Delivered: true, Ref: "not sent: filtered by jq",
				Attempts: j.Attempts, Job: j.ID, Node: j.LeasedBy}); err != nil {
				return err
			}
			return outbox.ErrSettled
		}
		release, err := t.acquire(ctx)
		if err != nil {
			return err
		}
		began := time.Now()
		receipt, err := t.breaker.Execute(func() (connector.Receipt, error) {
			return t.conn.Deliver(ctx, connector.Delivery{
				ID: uuid.NewSHA1(deliveryNS, []byte(j.Key)).String(), Event: ev, CorrelationID: ev.CorrelationID, Attempt: j.Attempts,
				Body: body,
			})
		})
		release()
		m.DeliverySeconds.WithLabelValues(dp.Connector).Observe(time.Since(began).Seconds())
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			return outbox.Defer(breakerOpen, fmt.Errorf("circuit open after %d failed deliveries: %w", breakerTrips, err))
		}
		if err == nil {
			if err := p.RecordDelivery(ctx, pipeline.Outcome{Connector: dp.Connector, Event: ev, Delivered: true, Ref: receipt.Ref, Attempts: j.Attempts, Posts: postsInvoices[t.cfg.Kind],
				Job: j.ID, Node: j.LeasedBy}); err != nil {
				return err
			}
			m.DeliveryLag.WithLabelValues(dp.Connector).Observe(max(0, time.Since(ev.Time).Seconds()))
			return outbox.ErrSettled
		}
		if !outbox.IsPermanent(err) && j.Attempts >= t.cfg.Retry.MaxAttempts {
			err = outbox.Permanent(fmt.Errorf("gave up after %d attempts: %w", j.Attempts, err))
		}
		if outbox.IsPermanent(err) {
			if rerr := p.RecordDelivery(ctx, pipeline.Outcome{Connector: dp.Connector, Event: ev, Error: err.Error(), Attempts: j.Attempts, Posts: postsInvoices[t.cfg.Kind],
				Job: j.ID, Node: j.LeasedBy}); rerr != nil {
				return rerr // not recorded: run again (the destination refuses again)
			}
			return errDead // dead, with its outcome, in one transaction
		}
		if _, ok := outbox.RetryDelay(err); ok {
			return err
		}
		// The connector's policy: retry.initial doubled per attempt up to
		// retry.max, ±20 % jitter.
		return outbox.RetryAfter(backoff.Jitter(backoff.Exp(j.Attempts, t.cfg.Retry.Initial.D(), t.cfg.Retry.Max.D()), 0.2), err)
	}
}

// gauges reads t's state for the metrics.
func (t *target) gauges(st store.Store) obs.ConnectorGauges {
	return obs.ConnectorGauges{
		Circuit: func() float64 {
			switch t.breaker.State() {
			case gobreaker.StateHalfOpen:
				return 1
			case gobreaker.StateOpen:
				return 2
			}
			return 0
		},
		Paused: func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if connectorPaused(ctx, st, t.cfg.Name) {
				return 1
			}
			return 0
		},
		Backlog: func() (pending, dead, oldestAge float64, ok bool) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			js, err := st.JobStats(ctx, pipeline.JobDeliver, t.cfg.Name+"|")
			if err != nil {
				return 0, 0, 0, false
			}
			if !js.OldestPending.IsZero() {
				oldestAge = time.Since(js.OldestPending).Seconds()
			}
			return float64(js.Pending), float64(js.Dead), oldestAge, true
		},
	}
}

// resumed forgets a resumed connector's cached pause switch and wakes
// the deliveries it put off.
func resumed(st store.Store, targets map[string]*target) func(ctx context.Context, name string) error {
	return func(ctx context.Context, name string) error {
		t := targets[name]
		if t == nil {
			return nil
		}
		t.mu.Lock()
		t.checkedAt = time.Time{}
		t.mu.Unlock()
		_, err := st.WakeJobs(ctx, pipeline.JobDeliver, name+"|", time.Now())
		return err
	}
}

// connectorStatuses tells the API each connector's configuration and
// circuit state.
func connectorStatuses(targets map[string]*target) func() []api.ConnectorInfo {
	return func() []api.ConnectorInfo {
		out := make([]api.ConnectorInfo, 0, len(targets))
		for _, t := range targets {
			out = append(out, api.ConnectorInfo{Name: t.cfg.Name, Kind: t.cfg.Kind, URL: config.RedactURL(t.cfg.URL), Events: t.cfg.Events,
				Circuit: t.breaker.State().String()})
		}
		return out
	}
}
