package pipeline

import (
	"encoding/json"

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
			payload, _ := json.Marshal(DeliveryPayload{Connector: conn, Source: rec.Source, ID: rec.ID})
			group := ""
			if rec.ShipmentID != "" {
				group = conn + "|" + rec.ShipmentID
			}
			bs.jobs = append(bs.jobs, store.JobRecord{
				ID: uuid.Must(uuid.NewV7()).String(), Kind: JobDeliver, Key: DeliveryKey(conn, rec.Key()), Payload: payload,
				RunAt: bs.now, Group: group, CorrelationID: rec.CorrelationID, CreatedAt: bs.now, UpdatedAt: bs.now,
			})
		}
	}
}
