package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/crossdockhq/crossdock/internal/store"
)

// JobDeliver is the kind of the jobs that deliver an event to a connector.
const JobDeliver = "deliver"

// DeliveryPayload is a delivery job's payload: which event, to whom.
type DeliveryPayload struct {
	Connector string `json:"connector"`
	Source    string `json:"source"`
	ID        string `json:"id"`
}

// DeliveryKey is a delivery job's key: unique per connector and event.
func DeliveryKey(connector string, ev store.EventKey) string {
	return connector + "|" + ev.Source + "|" + ev.ID
}

// deliveries enqueues, in the batch's transaction, one delivery job per
// event and subscribed connector: what is committed has its deliveries
// queued (no dual write). Jobs of one connector and shipment form a FIFO
// group, so a destination never sees a shipment's later event first.
func (p *Pipeline) deliveries(bs *batchState) {
	if len(p.opt.Subscribers) == 0 {
		return
	}
	for _, rec := range bs.records {
		for _, conn := range p.opt.Subscribers[rec.Type] {
			bs.jobs = append(bs.jobs, DeliveryJob(conn, rec, bs.now))
		}
	}
}

// DeliveryJob is the job that delivers rec to connector conn, due at now.
// Jobs of one connector and shipment share a FIFO group.
func DeliveryJob(conn string, rec store.EventRecord, now time.Time) store.JobRecord {
	payload, _ := json.Marshal(DeliveryPayload{Connector: conn, Source: rec.Source, ID: rec.ID})
	group := ""
	if rec.ShipmentID != "" {
		group = conn + "|" + rec.ShipmentID
	}
	return store.JobRecord{
		ID: uuid.Must(uuid.NewV7()).String(), Kind: JobDeliver, Key: DeliveryKey(conn, rec.Key()), Payload: payload,
		RunAt: now, Group: group, CorrelationID: rec.CorrelationID, CreatedAt: now, UpdatedAt: now,
	}
}

// SourceOutbox is the source of delivery outcomes on a shipment's timeline
// (kind "delivery").
const SourceOutbox = "crossdock/outbox"

// Delivery outcome event types.
const (
	TypeDelivered    = "delivery.delivered"
	TypeDeliveryDead = "delivery.dead"
	InvoicePosted    = "posted"
	InvoiceFailed    = "failed"
)

// Outcome is how a delivery ended.
type Outcome struct {
	Connector string
	Event     store.EventRecord // the event delivered
	Delivered bool              // false: dead
	Ref       string            // the destination's reference, when it gave one
	Error     string            // why it is dead
	Attempts  int
	// Posts: the connector posts invoices (an ERP), so an invoice.ready
	// outcome sets the invoice's status; a webhook or broker does not.
	Posts bool
	// Job and Node identify the delivery job: it is settled (done or
	// dead) in the same transaction as the outcome.
	Job, Node string
}

// RecordDelivery records how a delivery ended, in one transaction that
// also settles its job: on the shipment's timeline, and — for
// invoice.ready — on the invoice, which turns posted (with the ERP's
// reference) or failed. Concurrent outcomes share the writer's group
// commit instead of one fsync each. Recording twice (a
// handler run again after a crash) adds a second timeline entry and sets
// the same status.
func (p *Pipeline) RecordDelivery(ctx context.Context, o Outcome) error {
	_, err := p.run1(ctx, Submission{Outcome: &o})
	return err
}

// outcome applies an Outcome submission.
func (p *Pipeline) outcome(ctx context.Context, tx store.Tx, pd *pending, bs *batchState) error {
	o := pd.sub.Outcome
	typ, status, jobState := TypeDelivered, InvoicePosted, store.JobDone
	if !o.Delivered {
		typ, status, jobState = TypeDeliveryDead, InvoiceFailed, store.JobDead
	}
	if o.Job != "" {
		if err := tx.FinishJob(ctx, o.Job, o.Node, jobState, o.Error, bs.now); err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
	}
	if o.Posts && o.Event.Type == TypeInvoiceReady {
		var inv struct{ ID string }
		if err := json.Unmarshal(o.Event.Data, &inv); err == nil && inv.ID != "" {
			if err := tx.SetInvoiceStatus(ctx, inv.ID, status, o.Ref, bs.now); err != nil {
				return fmt.Errorf("pipeline: invoice %s: %w", inv.ID, err)
			}
		}
	}
	if o.Event.ShipmentID == "" {
		return nil
	}
	data, _ := json.Marshal(map[string]any{"connector": o.Connector, "event_type": o.Event.Type, "event_source": o.Event.Source,
		"event_id": o.Event.ID, "ref": o.Ref, "error": o.Error, "attempts": o.Attempts,
		"lag_ms": bs.now.Sub(o.Event.Time).Milliseconds()})
	bs.records = append(bs.records, store.EventRecord{
		Source: SourceOutbox, ID: uuid.Must(uuid.NewV7()).String(), Type: typ, Subject: o.Event.ShipmentID, ShipmentID: o.Event.ShipmentID,
		Time: bs.now, ReceivedAt: bs.now, CorrelationID: o.Event.CorrelationID, CausationID: o.Event.ID, Data: data,
	})
	return nil
}
