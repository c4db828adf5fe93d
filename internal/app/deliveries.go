package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/crossdockhq/crossdock/internal/backoff"
	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/rest"
	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
)

// target is a configured connector with its retry policy.
type target struct {
	conn  connector.Connector
	retry config.Retry
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
		targets[c.Name] = &target{conn: conn, retry: c.Retry}
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
		receipt, err := t.conn.Deliver(ctx, connector.Delivery{
			ID: uuid.NewSHA1(deliveryNS, []byte(j.Key)).String(), Event: ev, CorrelationID: ev.CorrelationID, Attempt: j.Attempts,
		})
		if err == nil {
			return p.RecordDelivery(ctx, pipeline.Outcome{Connector: dp.Connector, Event: ev, Delivered: true, Ref: receipt.Ref, Attempts: j.Attempts})
		}
		if !outbox.IsPermanent(err) && j.Attempts >= t.retry.MaxAttempts {
			err = outbox.Permanent(fmt.Errorf("gave up after %d attempts: %w", j.Attempts, err))
		}
		if outbox.IsPermanent(err) {
			if rerr := p.RecordDelivery(ctx, pipeline.Outcome{Connector: dp.Connector, Event: ev, Error: err.Error(), Attempts: j.Attempts}); rerr != nil {
				return rerr // not recorded: run again (the destination refuses again)
			}
			return err
		}
		if _, ok := outbox.RetryDelay(err); ok {
			return err
		}
		// The connector's policy: retry.initial doubled per attempt up to
		// retry.max, ±20 % jitter.
		return outbox.RetryAfter(backoff.Jitter(backoff.Exp(j.Attempts, t.retry.Initial.D(), t.retry.Max.D()), 0.2), err)
	}
}
