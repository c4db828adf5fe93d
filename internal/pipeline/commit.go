package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/vehicle"
	"github.com/crossdockhq/crossdock/internal/workflow"
)

// Sources of the events crossdock derives itself.
const (
	SourceShipment  = "crossdock/shipment"
	SourceTelemetry = "crossdock/telemetry"
)

// telemetryNS names the ids of telemetry-derived events (UUID v5 of vehicle,
// time and effect), so the same position always derives the same ids.
var telemetryNS = uuid.MustParse("6f0b6d3c-2f0e-4a43-9a57-2f4f3c1e8d21")

// batchState is what one transaction has loaded and changed.
type batchState struct {
	now        time.Time
	shipments  map[string]*shipment.State
	shipStatus map[string]string // status as stored before the batch
	shipDirty  map[string]bool
	vehicles   map[string]*vehicle.State
	vehDirty   map[string]bool
	records    []store.EventRecord
	positions  []store.PositionRecord
	quarantine []store.QuarantineRecord
	shares     []store.ShipmentShare
	cases      map[string]store.CaseRecord // case rows to put, by id
	rated      map[string]bool             // shipments rated in this batch
	ratings    []rating                    // to number and invoice when the batch writes
	invoices   []store.InvoiceRecord
	jobs       []store.JobRecord   // timers to enqueue or move
	cancels    map[string][]string // timers to cancel: kind → keys

	devices  map[string]string // device id → vehicle id, for the batch's device items
	knownEv  map[store.EventKey]bool
	knownPos map[store.PositionKey]bool
	seenEv   map[store.EventKey]bool
	seenPos  map[store.PositionKey]bool
	after    []func() // metric updates, run once the batch committed
}

// subject is the item's subject: the vehicle of its device for device
// items (false when the device is unknown), else the event's subject.
func (bs *batchState) subject(it Item) (string, bool) {
	if it.DeviceID == "" {
		return it.Event.Subject, true
	}
	v, ok := bs.devices[it.DeviceID]
	return v, ok
}

func isPosition(it Item) bool { return it.Event.Type == canonical.TypeTelemetryPosition }

// commit runs one batch in one transaction and fills every pending's
// results. It changes nothing visible unless the commit succeeds: results
// are only handed out by finish after a nil return.
func (p *Pipeline) commit(batch []*pending) error {
	began := time.Now()
	bs := &batchState{now: p.opt.Now().UTC()}
	err := p.commitBatch(batch, bs)
	if err != nil {
		p.cache.forget(bs)
		return err
	}
	p.cache.keep(bs)
	for _, f := range bs.after {
		f()
	}
	p.traceCommit(batch, bs, began)
	return nil
}

func (p *Pipeline) commitBatch(batch []*pending, bs *batchState) error {
	ctx := context.Background()
	tx, err := p.st.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pipeline: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit

	if err := p.resolveDevices(ctx, tx, batch, bs); err != nil {
		return err
	}
	if err := p.existingEvents(ctx, tx, batch, bs); err != nil {
		return err
	}
	if err := p.load(ctx, tx, batch, bs); err != nil {
		return err
	}
	bs.seenEv, bs.seenPos = make(map[store.EventKey]bool), make(map[store.PositionKey]bool)
	for _, pd := range batch {
		if pd.sub.Register != nil {
			if err := p.register(ctx, tx, pd, bs); err != nil {
				return err
			}
		}
		if pd.sub.Resolve != nil {
			p.resolve(pd, bs)
		}
		if pd.sub.Fire != nil {
			if err := p.fire(ctx, tx, pd, bs); err != nil {
				return err
			}
		}
		if pd.sub.Outcome != nil {
			if err := p.outcome(ctx, tx, pd, bs); err != nil {
				return err
			}
		}
		pd.results = make([]Result, len(pd.sub.Items))
		for i := range pd.sub.Items {
			pd.results[i] = p.apply(pd, i, bs)
		}
		if pd.sub.Alert != nil {
			p.alert(pd, bs)
		}
		p.derived(pd, bs)
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

// resolveDevices maps the devices of the batch's device items to vehicles,
// from the device cache where this pipeline is the single writer.
func (p *Pipeline) resolveDevices(ctx context.Context, tx store.Tx, batch []*pending, bs *batchState) error {
	bs.devices = map[string]string{}
	ids := map[string]bool{}
	for _, pd := range batch {
		for _, it := range pd.sub.Items {
			if it.Err != nil || it.DeviceID == "" {
				continue
			}
			if v, ok := p.cache.device(it.DeviceID); ok {
				bs.devices[it.DeviceID] = v
			} else {
				ids[it.DeviceID] = true
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	m, err := tx.DeviceVehicles(ctx, keysOf(ids))
	if err != nil {
		return fmt.Errorf("pipeline: devices: %w", err)
	}
	for d, v := range m {
		bs.devices[d] = v
		p.cache.setDevice(d, v) // committed data: valid whatever this batch does
	}
	return nil
}

// existingEvents asks the store which valid non-position items are
// already stored, by (source, id).
func (p *Pipeline) existingEvents(ctx context.Context, tx store.Tx, batch []*pending, bs *batchState) error {
	var keys []store.EventKey
	for _, pd := range batch {
		if a := pd.sub.Alert; a != nil {
			keys = append(keys, store.EventKey{Source: SourceMonitor, ID: a.ID})
		}
		for _, d := range pd.sub.Derived {
			keys = append(keys, d.Key())
		}
		for _, it := range pd.sub.Items {
			if it.Err == nil && !isPosition(it) {
				keys = append(keys, store.EventKey{Source: it.Event.Source, ID: it.Event.ID})
			}
		}
	}
	bs.knownEv = map[store.EventKey]bool{}
	if len(keys) == 0 {
		return nil
	}
	var err error
	if bs.knownEv, err = tx.ExistingEvents(ctx, keys); err != nil {
		return fmt.Errorf("pipeline: existing events: %w", err)
	}
	return nil
}

// existingPositions asks the store which positions are already stored, by
// (vehicle, time) — only those not newer than their vehicle's last
// position: every stored position was applied to its (locked) vehicle in
// the same transaction, so a newer one cannot be stored yet. In a moving
// fleet that leaves almost nothing to look up.
func (p *Pipeline) existingPositions(ctx context.Context, tx store.Tx, batch []*pending, bs *batchState) error {
	var keys []store.PositionKey
	for _, pd := range batch {
		for _, it := range pd.sub.Items {
			if it.Err != nil || !isPosition(it) {
				continue
			}
			v, ok := bs.subject(it)
			if !ok {
				continue
			}
			at := it.Event.Time.UTC()
			if last := bs.vehicles[v].Position; last == nil || last.Stamp.Time.Before(at) {
				continue
			}
			keys = append(keys, store.PositionKey{VehicleID: v, Time: at})
		}
	}
	bs.knownPos = map[store.PositionKey]bool{}
	if len(keys) == 0 {
		return nil
	}
	var err error
	if bs.knownPos, err = tx.ExistingPositions(ctx, keys); err != nil {
		return fmt.Errorf("pipeline: existing positions: %w", err)
	}
	return nil
}

// load locks and decodes every vehicle and shipment the batch's new items
// touch: vehicles first (their assignments name the shipments that
// positions drive, and their last positions spare most position lookups),
// then shipments. Every writer locks in this order.
func (p *Pipeline) load(ctx context.Context, tx store.Tx, batch []*pending, bs *batchState) error {
	vehIDs := map[string]bool{}
	for _, pd := range batch {
		if r := pd.sub.Register; r != nil {
			vehIDs[r.VehicleID] = true
		}
		for _, it := range pd.sub.Items {
			switch {
			case it.Err != nil:
			case isPosition(it):
				if v, ok := bs.subject(it); ok {
					vehIDs[v] = true
				}
			case !bs.knownEv[store.EventKey{Source: it.Event.Source, ID: it.Event.ID}]:
				if v := vehicle.Subject(it.Event, it.Data); v != "" {
					vehIDs[v] = true
				}
			}
		}
	}
	if err := p.loadVehicles(ctx, tx, vehIDs, bs); err != nil {
		return err
	}
	if err := p.existingPositions(ctx, tx, batch, bs); err != nil {
		return err
	}
	shipIDs := map[string]bool{}
	for _, pd := range batch {
		if r := pd.sub.Resolve; r != nil {
			shipIDs[r.ShipmentID] = true
		}
		if f := pd.sub.Fire; f != nil {
			id, _ := timerShipment(f.Key)
			shipIDs[id] = true
		}
		for _, it := range pd.sub.Items {
			if !bs.isNew(it) {
				continue
			}
			if canonical.ShipmentSubject(it.Event.Type) {
				shipIDs[it.Event.Subject] = true
			}
			if isPosition(it) {
				v, _ := bs.subject(it)
				if a := bs.vehicles[v].Assignment; a != nil {
					shipIDs[a.ShipmentID] = true
				}
			}
		}
	}
	return p.loadShipments(ctx, tx, shipIDs, bs)
}

// isNew reports whether a valid item is not yet stored (a repeat within the
// batch still counts as new here; apply finds it).
func (bs *batchState) isNew(it Item) bool {
	if it.Err != nil {
		return false
	}
	if isPosition(it) {
		v, ok := bs.subject(it)
		return ok && !bs.knownPos[store.PositionKey{VehicleID: v, Time: it.Event.Time.UTC()}]
	}
	return !bs.knownEv[store.EventKey{Source: it.Event.Source, ID: it.Event.ID}]
}

func (p *Pipeline) loadShipments(ctx context.Context, tx store.Tx, shipIDs map[string]bool, bs *batchState) error {
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
	return nil
}

func (p *Pipeline) loadVehicles(ctx context.Context, tx store.Tx, vehIDs map[string]bool, bs *batchState) error {
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

// register applies a device registration: refused with a
// *DeviceTakenError (pd.refused) when another vehicle holds a device.
func (p *Pipeline) register(ctx context.Context, tx store.Tx, pd *pending, bs *batchState) error {
	r := pd.sub.Register
	owners, err := tx.DeviceVehicles(ctx, r.DeviceIDs)
	if err != nil {
		return fmt.Errorf("pipeline: devices: %w", err)
	}
	for _, d := range r.DeviceIDs {
		if v, ok := owners[d]; ok && v != r.VehicleID {
			pd.refused = &DeviceTakenError{DeviceID: d, VehicleID: v}
			return nil
		}
	}
	if err := tx.SetDevices(ctx, r.VehicleID, r.DeviceIDs); err != nil {
		return fmt.Errorf("pipeline: set devices: %w", err)
	}
	st := bs.vehicles[r.VehicleID]
	old := st.DeviceIDs
	bs.after = append(bs.after, func() {
		for _, d := range old {
			p.cache.forgetDevice(d)
		}
		for _, d := range r.DeviceIDs {
			p.cache.setDevice(d, r.VehicleID)
		}
	})
	st.DeviceIDs = r.DeviceIDs
	if st.DeviceIDs == nil {
		st.DeviceIDs = []string{}
	}
	bs.vehDirty[r.VehicleID] = true
	pd.vehicle = st
	return nil
}

// apply decides one item: quarantine, duplicate, or accept and apply.
func (p *Pipeline) apply(pd *pending, i int, bs *batchState) Result {
	it := pd.sub.Items[i]
	ev := it.Event
	res := Result{ID: ev.ID, Source: ev.Source}
	if it.Err != nil {
		return p.reject(pd, it, it.Err, bs)
	}
	if isPosition(it) {
		return p.applyPosition(pd, it, bs)
	}
	key := store.EventKey{Source: ev.Source, ID: ev.ID}
	if bs.knownEv[key] || bs.seenEv[key] {
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
		if inv := st.Flow.Invoice; inv != nil && ev.Type == canonical.TypeShipmentCancelled {
			res := p.reject(pd, it, &canonical.ValidationError{Errors: []canonical.FieldError{{Field: "subject",
				Message: "shipment " + ev.Subject + " is invoiced (" + inv.ID + ") and cannot be cancelled; credit the invoice instead"}}}, bs)
			res.Conflict = true
			return res
		}
		before := st.Status()
		var cases []workflow.Case
		if affectsCases(ev.Type) {
			cases = workflow.Cases(st, p.opt.Workflow)
		}
		changed, err := shipment.ApplyRanked(st, ev, it.Data, p.opt.Precedence.Rank(ev.Source))
		var ve *canonical.ValidationError
		if errors.As(err, &ve) {
			return p.reject(pd, it, ve, bs)
		}
		if changed {
			defer func() {
				// After the event's own record, so the timeline reads
				// cause → case → rating.
				if affectsCases(ev.Type) {
					p.flow(st, cases, ev, bs)
				}
				p.maybeRate(st, ev, bs)
				p.schedule(st, bs)
			}()
		}
		rec.ShipmentID = ev.Subject
		if pd.sub.Partner != "" {
			bs.shares = append(bs.shares, store.ShipmentShare{ShipmentID: ev.Subject, PartnerID: pd.sub.Partner, At: bs.now})
		}
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
	bs.seenEv[key] = true
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
	switch {
	case cleanText(source):
	case pd.sub.Partner != "":
		source = PartnerSource(pd.sub.Partner) // a partner's payload is listed under the partner
	default:
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
	if err := p.invoice(ctx, tx, bs); err != nil {
		return err
	}
	p.deliveries(bs)
	if len(bs.invoices) > 0 {
		if err := tx.PutInvoices(ctx, bs.invoices); err != nil {
			return fmt.Errorf("pipeline: put invoices: %w", err)
		}
	}
	if len(bs.jobs) > 0 {
		if err := tx.EnqueueJobs(ctx, bs.jobs); err != nil {
			return fmt.Errorf("pipeline: enqueue timers: %w", err)
		}
		if p.opt.OnJobs != nil {
			bs.after = append(bs.after, p.opt.OnJobs)
		}
	}
	for _, kind := range sortedKeys(bs.cancels) {
		if err := tx.CancelJobs(ctx, kind, bs.cancels[kind], bs.now); err != nil {
			return fmt.Errorf("pipeline: cancel timers: %w", err)
		}
	}
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
	if len(bs.positions) > 0 {
		if err := tx.AppendPositions(ctx, bs.positions); err != nil {
			return fmt.Errorf("pipeline: append positions: %w", err)
		}
	}
	if len(bs.cases) > 0 {
		recs := make([]store.CaseRecord, 0, len(bs.cases))
		for _, c := range bs.cases {
			recs = append(recs, c)
		}
		if err := tx.PutCases(ctx, recs); err != nil {
			return fmt.Errorf("pipeline: put cases: %w", err)
		}
	}
	if len(bs.shares) > 0 {
		if err := tx.ShareShipments(ctx, bs.shares); err != nil {
			return fmt.Errorf("pipeline: share shipments: %w", err)
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
