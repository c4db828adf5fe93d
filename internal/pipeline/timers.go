package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/workflow"
)

// slaHistory is how far in the past an SLA timer's due time may lie when
// it is scheduled; older ones are not scheduled.
const slaHistory = 15 * time.Minute

// Fire is a workflow timer that came due (see FireTimer).
type Fire struct {
	Kind, Key string
	// Job and Node identify the timer's job, settled done in the same
	// transaction (no write of its own); "" when not run from a job.
	Job, Node string
}

// FireTimer runs a due workflow timer through the writer: the rating wait
// rates the shipment if it is still due; the POD-overdue and window checks
// open their case if the POD or arrival has still not come. A timer whose
// condition no longer holds changes nothing. It is idempotent, as jobs
// require.
func (p *Pipeline) FireTimer(ctx context.Context, f Fire) error {
	_, err := p.run1(ctx, Submission{Fire: &f})
	return err
}

// timerShipment is the shipment a timer key names ("SHP" or "SHP/stop").
func timerShipment(key string) (shipmentID, stopID string) {
	shipmentID, stopID, _ = strings.Cut(key, "/")
	return shipmentID, stopID
}

// fire applies a Fire submission.
func (p *Pipeline) fire(ctx context.Context, tx store.Tx, pd *pending, bs *batchState) error {
	f := pd.sub.Fire
	if f.Job != "" {
		if err := tx.FinishJob(ctx, f.Job, f.Node, store.JobDone, "", bs.now); err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
	}
	p.fireTimer(f, bs)
	return nil
}

func (p *Pipeline) fireTimer(f *Fire, bs *batchState) {
	id, stop := timerShipment(f.Key)
	st := bs.shipments[id]
	if st == nil || !st.Visible() {
		return
	}
	cause := canonical.Event{Source: SourceWorkflow, ID: f.Kind + " " + f.Key, Subject: id, Time: bs.now, CorrelationID: st.CorrelationID}
	// The timer ran: forget it, so schedule enqueues it again if it is
	// still wanted (its due time moved).
	if _, ok := st.Flow.Timers[workflow.Timer{Kind: f.Kind, Key: f.Key}.TimerKey()]; ok {
		delete(st.Flow.Timers, workflow.Timer{Kind: f.Kind, Key: f.Key}.TimerKey())
		bs.shipDirty[id] = true
	}
	switch f.Kind {
	case workflow.TimerRate:
		p.maybeRate(st, cause, bs)
	default:
		before := workflow.Cases(st, p.opt.Workflow)
		if workflow.Fire(st, f.Kind, stop, bs.now, p.opt.PODOverdue) {
			bs.shipDirty[id] = true
			p.flow(st, before, cause, bs)
		}
	}
	p.schedule(st, bs)
}

// schedule brings the shipment's timers in the jobs table in line with
// what its facts call for: new or moved timers are enqueued, timers no
// longer called for are cancelled. Only differences are written.
func (p *Pipeline) schedule(st *shipment.State, bs *batchState) {
	want := workflow.Timers(st, workflow.Cases(st, p.opt.Workflow), p.opt.RatingWait, p.opt.PODOverdue)
	keep := make(map[string]bool, len(want))
	for _, t := range want {
		if t.Kind == workflow.TimerRate && (p.opt.Billing == nil || bs.rated[st.ID]) {
			continue // rating is off, or rated in this batch (the invoice is written with it)
		}
		if t.Kind != workflow.TimerRate && t.At.Before(bs.now.Add(-slaHistory)) {
			// An SLA check long overdue when first scheduled belongs to
			// history being loaded (a backfill, a replay): its facts judge
			// it (an arrival after the window is late_arrival anyway), not
			// a timer firing at once.
			continue
		}
		k := t.TimerKey()
		keep[k] = true
		if at, ok := st.Flow.Timers[k]; ok && at.Equal(t.At) {
			continue
		}
		if st.Flow.Timers == nil {
			st.Flow.Timers = map[string]time.Time{}
		}
		st.Flow.Timers[k] = t.At
		bs.shipDirty[st.ID] = true
		payload, _ := json.Marshal(map[string]string{"shipment_id": st.ID})
		bs.jobs = append(bs.jobs, store.JobRecord{
			ID: uuid.Must(uuid.NewV7()).String(), Kind: t.Kind, Key: t.Key, Payload: payload, RunAt: t.At,
			CorrelationID: st.CorrelationID, CreatedAt: bs.now, UpdatedAt: bs.now,
		})
	}
	for k := range st.Flow.Timers {
		if keep[k] {
			continue
		}
		kind, key, _ := strings.Cut(k, " ")
		if bs.cancels == nil {
			bs.cancels = map[string][]string{}
		}
		bs.cancels[kind] = append(bs.cancels[kind], key)
		delete(st.Flow.Timers, k)
		bs.shipDirty[st.ID] = true
	}
}
