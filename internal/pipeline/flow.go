package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/workflow"
)

// SourceWorkflow is the source of the steps the workflow records: cases
// opened, superseded and resolved, billing held and released.
const SourceWorkflow = "crossdock/workflow"

// Workflow event types (timeline kind "case" for case.*, "workflow" else).
const (
	TypeCaseOpened     = "case.opened"
	TypeCaseSuperseded = "case.superseded"
	TypeCaseResolved   = "case.resolved"
	TypeCaseCancelled  = "case.cancelled"
	TypeBillingHeld    = "workflow.billing_held"
	TypeBillingRelease = "workflow.billing_released"
)

// affectsCases reports whether an event of type typ can change a
// shipment's cases.
func affectsCases(typ string) bool {
	switch typ {
	case canonical.TypeOrderReleased, canonical.TypeDeliveryCompleted, canonical.TypeShipmentException, canonical.TypeShipmentCancelled,
		canonical.TypeShipmentMilestone:
		return true
	}
	return false
}

// Resolution resolves a case (POST /api/v1/cases/{id}/resolve).
type Resolution struct {
	CaseID, ShipmentID string
	By                 string // who (the key's name)
	Resolution, Note   string
}

// Case resolution refusals.
var (
	ErrCaseNotFound = errors.New("no such case")
	ErrCaseClosed   = errors.New("the case is already resolved or superseded")
)

// ResolveCase records a case's resolution and commits what follows from it
// (billing released when it was the last blocking case).
func (p *Pipeline) ResolveCase(ctx context.Context, r Resolution) error {
	pd, err := p.run1(ctx, Submission{Resolve: &r})
	if err != nil {
		return err
	}
	return pd.refused
}

// resolve applies a Resolution submission.
func (p *Pipeline) resolve(pd *pending, bs *batchState) {
	r := pd.sub.Resolve
	st := bs.shipments[r.ShipmentID]
	if st == nil || !st.Visible() {
		pd.refused = ErrCaseNotFound
		return
	}
	before := workflow.Cases(st, p.opt.Workflow)
	var found *workflow.Case
	for i := range before {
		if before[i].ID == r.CaseID {
			found = &before[i]
		}
	}
	switch {
	case found == nil:
		pd.refused = ErrCaseClosed // superseded: no longer one of the shipment's cases
		return
	case !found.Open():
		pd.refused = ErrCaseClosed
		return
	}
	st.Resolve(r.CaseID, shipment.ResolutionFact{At: bs.now, By: r.By, Resolution: r.Resolution, Note: r.Note})
	bs.shipDirty[r.ShipmentID] = true
	cause := canonical.Event{Source: SourceWorkflow, ID: "resolve/" + r.CaseID, Subject: r.ShipmentID, Time: bs.now, CorrelationID: st.CorrelationID}
	p.flow(st, before, cause, bs)
	p.maybeRate(st, cause, bs) // the last blocking case resolved: billing resumes
	p.schedule(st, bs)
}

// flow commits the difference between the cases st had (before) and the
// cases its facts call for now: the cases projection, a timeline event for
// each opened, superseded or resolved case, and on_hold with its own
// event when it changes. cause is the event that changed the facts.
func (p *Pipeline) flow(st *shipment.State, before []workflow.Case, cause canonical.Event, bs *batchState) {
	after := workflow.Cases(st, p.opt.Workflow)
	old := make(map[string]workflow.Case, len(before))
	for _, c := range before {
		old[c.ID] = c
	}
	now := make(map[string]bool, len(after))
	for _, c := range after {
		now[c.ID] = true
		prev, existed := old[c.ID]
		switch {
		case !existed:
			p.putCase(st, c, store.CaseOpen, time.Time{}, bs)
			p.flowEvent(st, cause, TypeCaseOpened, caseData(c), bs)
		case prev.Open() && !c.Open():
			p.putCase(st, c, store.CaseResolved, c.Resolution.At, bs)
			p.flowEvent(st, cause, TypeCaseResolved, caseData(c), bs)
		}
	}
	for _, c := range before {
		if now[c.ID] || !c.Open() {
			continue // a resolved case stays resolved
		}
		status, typ := store.CaseSuperseded, TypeCaseSuperseded
		if st.Cancelled != nil {
			status, typ = store.CaseCancelled, TypeCaseCancelled
		}
		p.putCase(st, c, status, cause.Time, bs)
		p.flowEvent(st, cause, typ, caseData(c), bs)
	}
	if hold := workflow.OnHold(after); hold != st.Flow.OnHold {
		st.Flow.OnHold = hold
		bs.shipDirty[st.ID] = true
		typ, rule := TypeBillingRelease, "no open case blocks billing"
		if hold {
			typ, rule = TypeBillingHeld, "a case that blocks billing is open"
		}
		var open []string
		for _, c := range after {
			if c.Open() && c.Blocking {
				open = append(open, c.Code)
			}
		}
		p.flowEvent(st, cause, typ, map[string]any{"rule": rule, "blocking_cases": open}, bs)
	}
}

func caseData(c workflow.Case) map[string]any {
	d := map[string]any{"case_id": c.ID, "code": c.Code, "detail": c.Detail, "blocking": c.Blocking, "cause": c.Cause}
	if c.StopID != "" {
		d["stop_id"] = c.StopID
	}
	if r := c.Resolution; r != nil {
		d["resolved_by"], d["resolution"] = r.By, r.Resolution
		if r.Note != "" {
			d["note"] = r.Note
		}
	}
	return d
}

// putCase records a case row for the projection.
func (p *Pipeline) putCase(st *shipment.State, c workflow.Case, status string, closed time.Time, bs *batchState) {
	rec := store.CaseRecord{
		ID: c.ID, ShipmentID: st.ID, Code: c.Code, StopID: c.StopID, Detail: c.Detail, Cause: c.Cause, Blocking: c.Blocking,
		Status: status, OpenedAt: c.OpenedAt, ClosedAt: closed, UpdatedAt: bs.now, Comments: []byte(`[]`),
	}
	if r := c.Resolution; r != nil {
		rec.ResolvedBy, rec.Resolution, rec.Note = r.By, r.Resolution, r.Note
	}
	if st.Order != nil {
		o := st.Order.Data
		rec.CustomerID = o.CustomerID
		for _, s := range o.Stops {
			if s.ID == c.StopID || (c.StopID == "" && s.Type == canonical.StopDelivery) {
				rec.Region = workflow.Region(s.Location.Lat, s.Location.Lon)
				break
			}
		}
	}
	if st.Tender != nil {
		rec.Carrier = st.Tender.Data.Carrier
	}
	if bs.cases == nil {
		bs.cases = map[string]store.CaseRecord{}
	}
	bs.cases[c.ID] = rec
}

// flowEvent appends a workflow step to the shipment's timeline.
func (p *Pipeline) flowEvent(st *shipment.State, cause canonical.Event, typ string, data any, bs *batchState) {
	b, err := json.Marshal(data)
	if err != nil {
		p.opt.Logger.Error("encode workflow event", "err", err, "shipment", st.ID)
		return
	}
	corr := st.CorrelationID
	if corr == "" {
		corr = cause.CorrelationID
	}
	bs.records = append(bs.records, store.EventRecord{
		Source: SourceWorkflow, ID: uuid.Must(uuid.NewV7()).String(), Type: typ, Subject: st.ID, ShipmentID: st.ID,
		Time: cause.Time.UTC(), ReceivedAt: bs.now, CorrelationID: corr, CausationID: cause.ID, Data: b,
	})
}
