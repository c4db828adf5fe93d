package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/sony/gobreaker/v2"

	"github.com/crossdockhq/crossdock/internal/api"
	"github.com/crossdockhq/crossdock/internal/backoff"
	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/rest"
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

// openConnectors builds the configured connectors and the event types
// each receives.
func openConnectors(cfgs []config.Connector) (map[string]*target, map[string][]string, error) {
	targets := map[string]*target{}
	subs := map[string][]string{}
	for _, c := range cfgs {
		conn, err := rest.New(rest.Config{Name: c.Name, URL: c.URL, Headers: c.Headers, Bearer: c.Bearer(), Timeout: c.Timeout.D(),
			SigningSecret: c.Secret()}) // set for the webhook kind
		if err != nil {
			return nil, nil, fmt.Errorf("app: connector %s: %w", c.Name, err)
		}
		targets[c.Name] = &target{conn: conn, cfg: c, breaker: gobreaker.NewCircuitBreaker[connector.Receipt](gobreaker.Settings{
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
func deliver(st store.Store, p *pipeline.Pipeline, targets map[string]*target) outbox.Handler {
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
			return outbox.Defer(pauseRecheck, errors.New("connector paused"))
		}
		receipt, err := t.breaker.Execute(func() (connector.Receipt, error) {
			return t.conn.Deliver(ctx, connector.Delivery{
				ID: uuid.NewSHA1(deliveryNS, []byte(j.Key)).String(), Event: ev, CorrelationID: ev.CorrelationID, Attempt: j.Attempts,
			})
		})
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			return outbox.Defer(breakerOpen, fmt.Errorf("circuit open after %d failed deliveries: %w", breakerTrips, err))
		}
		if err == nil {
			if err := p.RecordDelivery(ctx, pipeline.Outcome{Connector: dp.Connector, Event: ev, Delivered: true, Ref: receipt.Ref, Attempts: j.Attempts,
				Job: j.ID, Node: j.LeasedBy}); err != nil {
				return err
			}
			return outbox.ErrSettled
		}
		if !outbox.IsPermanent(err) && j.Attempts >= t.cfg.Retry.MaxAttempts {
			err = outbox.Permanent(fmt.Errorf("gave up after %d attempts: %w", j.Attempts, err))
		}
		if outbox.IsPermanent(err) {
			if rerr := p.RecordDelivery(ctx, pipeline.Outcome{Connector: dp.Connector, Event: ev, Error: err.Error(), Attempts: j.Attempts,
				Job: j.ID, Node: j.LeasedBy}); rerr != nil {
				return rerr // not recorded: run again (the destination refuses again)
			}
			return outbox.ErrSettled // dead, with its outcome, in one transaction
		}
		if _, ok := outbox.RetryDelay(err); ok {
			return err
		}
		// The connector's policy: retry.initial doubled per attempt up to
		// retry.max, ±20 % jitter.
		return outbox.RetryAfter(backoff.Jitter(backoff.Exp(j.Attempts, t.cfg.Retry.Initial.D(), t.cfg.Retry.Max.D()), 0.2), err)
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
