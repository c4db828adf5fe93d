package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/vehicle"
)

// Sources of the events crossdock derives itself.
const SourceShipment = "crossdock/shipment"

// batchState is what one transaction has loaded and changed.
type batchState struct {
	now        time.Time
	shipments  map[string]*shipment.State
	shipStatus map[string]string // status as stored before the batch
	shipDirty  map[string]bool
	vehicles   map[string]*vehicle.State
	vehDirty   map[string]bool
	records    []store.EventRecord
	quarantine []store.QuarantineRecord
}

// commit runs one batch in one transaction and fills every pending's
// results. It changes nothing visible unless the commit succeeds: results
// are only handed out by finish after a nil return.
func (p *Pipeline) commit(batch []*pending) error {
	bs := &batchState{now: p.opt.Now().UTC()}
	err := p.commitBatch(batch, bs)
	if err != nil {
		p.cache.forget(bs)
		return err
	}
	p.cache.keep(bs)
	return nil
}

func (p *Pipeline) commitBatch(batch []*pending, bs *batchState) error {
	ctx := context.Background()
	tx, err := p.st.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pipeline: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit

	known, err := p.existing(ctx, tx, batch)
	if err != nil {
		return err
	}
	if err := p.load(ctx, tx, batch, known, bs); err != nil {
		return err
	}
	seen := make(map[store.EventKey]bool)
	for _, pd := range batch {
		pd.results = make([]Result, len(pd.sub.Items))
		for i := range pd.sub.Items {
			pd.results[i] = p.apply(pd, i, known, seen, bs)
		}
		if pd.sub.Replay != nil {
			bs.quarantine = append(bs.quarantine, replayOutcome(*pd.sub.Replay, pd, bs.now))
		}
	}
	if err := p.write(ctx, tx, bs); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pipeline: commit: %w", err)
	}
	return nil
}

// existing asks the store which valid items' keys are already stored.
func (p *Pipeline) existing(ctx context.Context, tx store.Tx, batch []*pending) (map[store.EventKey]bool, error) {
	var keys []store.EventKey
	for _, pd := range batch {
		for _, it := range pd.sub.Items {
			if it.Err == nil {
				keys = append(keys, store.EventKey{Source: it.Event.Source, ID: it.Event.ID})
			}
		}
	}
	if len(keys) == 0 {
		return map[store.EventKey]bool{}, nil
	}
	known, err := tx.ExistingEvents(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("pipeline: existing events: %w", err)
	}
	return known, nil
}

// load locks and decodes every shipment and vehicle the batch's new events touch.
func (p *Pipeline) load(ctx context.Context, tx store.Tx, batch []*pending, known map[store.EventKey]bool, bs *batchState) error {
	shipIDs, vehIDs := map[string]bool{}, map[string]bool{}
	for _, pd := range batch {
		for _, it := range pd.sub.Items {
			if it.Err != nil || known[store.EventKey{Source: it.Event.Source, ID: it.Event.ID}] {
				continue
			}
			if canonical.ShipmentSubject(it.Event.Type) {
				shipIDs[it.Event.Subject] = true
			}
			if v := vehicle.Subject(it.Event, it.Data); v != "" {
				vehIDs[v] = true
			}
		}
	}
	bs.shipments = make(map[string]*shipment.State, len(shipIDs))
	bs.shipStatus = make(map[string]string, len(shipIDs))
	bs.shipDirty = make(map[string]bool, len(shipIDs))
	if p.cache != nil {
		for id := range shipIDs {
			if st, ok := p.cache.shipments[id]; ok {
				bs.shipments[id], bs.shipStatus[id] = st, st.Status()
				delete(shipIDs, id)
			}
		}
	}
	if len(shipIDs) > 0 {
		recs, err := tx.LockShipments(ctx, keysOf(shipIDs))
		if err != nil {
			return fmt.Errorf("pipeline: lock shipments: %w", err)
		}
		for id := range shipIDs {
			st := &shipment.State{ID: id}
			if r, ok := recs[id]; ok && len(r.State) > 0 {
				if err := json.Unmarshal(r.State, st); err != nil {
					return fmt.Errorf("pipeline: decode shipment %s: %w", id, err)
				}
			}
			bs.shipments[id] = st
			bs.shipStatus[id] = st.Status()
		}
	}
	bs.vehicles = make(map[string]*vehicle.State, len(vehIDs))
	bs.vehDirty = make(map[string]bool, len(vehIDs))
	if p.cache != nil {
		for id := range vehIDs {
			if st, ok := p.cache.vehicles[id]; ok {
				bs.vehicles[id] = st
				delete(vehIDs, id)
			}
		}
	}
	if len(vehIDs) > 0 {
		recs, err := tx.LockVehicles(ctx, keysOf(vehIDs))
		if err != nil {
			return fmt.Errorf("pipeline: lock vehicles: %w", err)
		}
		for id := range vehIDs {
			st := &vehicle.State{ID: id}
			if r, ok := recs[id]; ok && len(r.State) > 0 {
				if err := json.Unmarshal(r.State, st); err != nil {
					return fmt.Errorf("pipeline: decode vehicle %s: %w", id, err)
				}
			}
			bs.vehicles[id] = st
		}
	}
	return nil
}

// apply decides one item: quarantine, duplicate, or accept and apply.
func (p *Pipeline) apply(pd *pending, i int, known, seen map[store.EventKey]bool, bs *batchState) Result {
	it := pd.sub.Items[i]
	ev := it.Event
	res := Result{ID: ev.ID, Source: ev.Source}
	if it.Err != nil {
		return p.reject(pd, it, it.Err, bs)
	}
	key := store.EventKey{Source: ev.Source, ID: ev.ID}
	if known[key] || seen[key] {
		res.Status = Duplicate
		return res
	}
	rec := store.EventRecord{
		Source: ev.Source, ID: ev.ID, Type: ev.Type, Subject: ev.Subject, Time: ev.Time.UTC(),
		ReceivedAt: bs.now, CorrelationID: ev.CorrelationID, CausationID: ev.CausationID,
		Principal: pd.sub.Principal, Data: ev.Data,
	}
	var derived []store.EventRecord
	if canonical.ShipmentSubject(ev.Type) {
		st := bs.shipments[ev.Subject]
		before := st.Status()
		changed, err := shipment.Apply(st, ev, it.Data)
		var ve *canonical.ValidationError
		if errors.As(err, &ve) {
			return p.reject(pd, it, ve, bs)
		}
		rec.ShipmentID = ev.Subject
		if changed {
			bs.shipDirty[ev.Subject] = true
		}
		if after := st.Status(); after != before {
			derived = append(derived, statusChanged(ev, before, after, bs.now))
		}
	}
	if id := vehicle.Subject(ev, it.Data); id != "" {
		if vehicle.Apply(bs.vehicles[id], ev, it.Data) {
			bs.vehDirty[id] = true
		}
	}
	seen[key] = true
	bs.records = append(bs.records, rec)
	bs.records = append(bs.records, derived...)
	res.Status = Accepted
	return res
}

// statusChanged derives the shipment.status_changed event of a transition
// caused by ev. Its time is the cause's event time: the business moment
// the status changed; data.detected_at is when crossdock saw it.
func statusChanged(cause canonical.Event, from, to string, now time.Time) store.EventRecord {
	data, _ := json.Marshal(struct {
		canonical.StatusChanged
		CauseSource string    `json:"cause_source"`
		DetectedAt  time.Time `json:"detected_at"`
	}{canonical.StatusChanged{From: from, To: to}, cause.Source, now})
	return store.EventRecord{
		Source: SourceShipment, ID: uuid.Must(uuid.NewV7()).String(),
		Type: canonical.TypeShipmentStatusChanged, Subject: cause.Subject, ShipmentID: cause.Subject,
		Time: cause.Time.UTC(), ReceivedAt: now, CorrelationID: cause.CorrelationID, CausationID: cause.ID,
		Data: data,
	}
}

// reject keeps the item in quarantine (or, for a replay, records the
// outcome on the replayed record) and returns its result.
func (p *Pipeline) reject(pd *pending, it Item, ve *canonical.ValidationError, bs *batchState) Result {
	res := Result{ID: it.Event.ID, Source: it.Event.Source, Status: Rejected, Errors: ve.Errors}
	if pd.sub.Replay != nil {
		res.QuarantineID = pd.sub.Replay.ID
		return res
	}
	source := it.Event.Source
	if !cleanText(source) {
		source = pd.sub.Principal // never let a bad source keep the payload out of quarantine
	}
	errs, _ := json.Marshal(ve.Errors)
	q := store.QuarantineRecord{
		ID: uuid.Must(uuid.NewV7()).String(), ReceivedAt: bs.now, Source: source, Principal: pd.sub.Principal,
		Reason: reason(ve), Errors: errs, ContentType: pd.sub.ContentType, Payload: it.Raw, Truncated: pd.sub.Truncated,
	}
	bs.quarantine = append(bs.quarantine, q)
	res.QuarantineID = q.ID
	return res
}

// replayOutcome updates a replayed quarantine record with what happened.
func replayOutcome(rec store.QuarantineRecord, pd *pending, now time.Time) store.QuarantineRecord {
	at := now
	rec.ReplayedAt = &at
	rec.ReplayState = Accepted
	for _, r := range pd.results {
		switch r.Status {
		case Rejected:
			rec.ReplayState = Rejected
			rec.Reason = reason(&canonical.ValidationError{Errors: r.Errors})
			rec.Errors, _ = json.Marshal(r.Errors)
			return rec
		case Duplicate:
			rec.ReplayState = Duplicate
		}
	}
	return rec
}

func reason(ve *canonical.ValidationError) string {
	if len(ve.Errors) == 0 {
		return "invalid"
	}
	e := ve.Errors[0]
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// write stores everything the batch produced.
func (p *Pipeline) write(ctx context.Context, tx store.Tx, bs *batchState) error {
	if len(bs.records) > 0 {
		if err := tx.AppendEvents(ctx, bs.records); err != nil {
			return fmt.Errorf("pipeline: append events: %w", err)
		}
	}
	if len(bs.shipDirty) > 0 {
		recs := make([]store.ShipmentRecord, 0, len(bs.shipDirty))
		for id := range bs.shipDirty {
			st := bs.shipments[id]
			b, err := json.Marshal(st)
			if err != nil {
				return fmt.Errorf("pipeline: encode shipment %s: %w", id, err)
			}
			var customer string
			if st.Order != nil {
				customer = st.Order.Data.CustomerID
			}
			recs = append(recs, store.ShipmentRecord{
				ID: id, Visible: st.Visible(), Status: st.Status(), CustomerID: customer, State: b, UpdatedAt: bs.now,
			})
		}
		if err := tx.PutShipments(ctx, recs); err != nil {
			return fmt.Errorf("pipeline: put shipments: %w", err)
		}
	}
	if len(bs.vehDirty) > 0 {
		recs := make([]store.VehicleRecord, 0, len(bs.vehDirty))
		for id := range bs.vehDirty {
			b, err := json.Marshal(bs.vehicles[id])
			if err != nil {
				return fmt.Errorf("pipeline: encode vehicle %s: %w", id, err)
			}
			recs = append(recs, store.VehicleRecord{ID: id, State: b, UpdatedAt: bs.now})
		}
		if err := tx.PutVehicles(ctx, recs); err != nil {
			return fmt.Errorf("pipeline: put vehicles: %w", err)
		}
	}
	if len(bs.quarantine) > 0 {
		if err := tx.PutQuarantine(ctx, bs.quarantine); err != nil {
			return fmt.Errorf("pipeline: put quarantine: %w", err)
		}
	}
	return nil
}

// cleanText reports whether s is non-empty, bounded, valid UTF-8 without
// control characters — safe for any store column and for display.
func cleanText(s string) bool {
	if s == "" || len(s) > 256 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
