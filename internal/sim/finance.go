package sim

import (
	"context"
	"time"
)

const (
	// reconcileAt is when the finance clerk reconciles, after the start
	// of each simulated day (08:00 UTC): at noon, when the morning's ERP
	// outage is long over and most trucks have filled up once.
	reconcileAt = 4 * time.Hour
	// invoiceMargin takes an invoices run this far past the clerk's wall
	// clock, so an invoice the hub stamped a moment ago (on its own
	// clock) is in it.
	invoiceMargin = time.Minute
)

// reconcileKinds are the runs the finance clerk starts, in order.
var reconcileKinds = [...]string{"invoices", "fuel"}

// period is a reconciliation run's [from, to); the next day's run of the
// kind starts at next.
type period struct{ from, to, next time.Time }

// financeClerk is what the finance clerk has reconciled so far and the
// runs it is waiting for.
type financeClerk struct {
	day     int                            // the simulated day to reconcile next; 0 is the first
	next    int                            // the next of reconcileKinds to start that day
	periods [len(reconcileKinds)]period    // that day's runs' periods, set when it begins
	starts  [len(reconcileKinds)]time.Time // where the next runs' periods start; zero: at the beginning
	waiting bool                           // the wait for the hub's deliveries is logged
	running []startedRun
}

// startedRun is a run the finance clerk started and waits for.
type startedRun struct{ id, kind string }

// reconcile is the finance clerk. At reconcileAt of every simulated day,
// once everything due is sent and no connector of the hub has deliveries
// waiting (the ERP has taken the morning's invoices), it starts two runs
// through the API:
//
//   - invoices over the wall clock since the previous run started, or
//     since Start, to invoiceMargin past now: the hub stamps an invoice
//     with its own clock when it creates it;
//   - fuel over the simulated time since the previous run, or since the
//     day's origin, up to reconcileAt: purchases and positions carry
//     simulated event times.
//
// It follows the runs until they end and logs what they found.
func (r *runner) reconcile(ctx context.Context, wall, simNow time.Time) {
	r.followRuns(ctx)
	c := &r.clerk
	due := r.tl.Origin().Add(time.Duration(c.day)*24*time.Hour + reconcileAt)
	if simNow.Before(due) {
		return
	}
	if c.next == 0 {
		if !r.allSent() {
			return
		}
		backlog, err := r.hub.backlog(ctx)
		switch {
		case err != nil && again(ctx, err):
			r.failed(ctx, err, "finance clerk")
			return
		case err != nil:
			r.failed(ctx, err, "finance clerk") // cannot tell: reconcile anyway
		case backlog > 0:
			if !c.waiting {
				c.waiting = true
				r.log.Info("finance clerk: waiting for the hub's deliveries before reconciling", "backlog", backlog)
			}
			return
		}
		c.waiting = false
		for !simNow.Before(due.Add(24 * time.Hour)) { // days missed while the hub was not answering: one run covers them
			c.day++
			due = due.Add(24 * time.Hour)
		}
		c.periods = [len(reconcileKinds)]period{
			{from: later(c.starts[0], r.o.Start), to: wall.Add(invoiceMargin), next: wall},
			{from: later(c.starts[1], r.tl.Origin()), to: due, next: due},
		}
	}
	for ; c.next < len(reconcileKinds); c.next++ {
		kind, p := reconcileKinds[c.next], c.periods[c.next]
		id, err := r.hub.startReconciliation(ctx, kind, p.from, p.to)
		if err != nil {
			r.failed(ctx, err, "finance clerk")
			if again(ctx, err) {
				return
			}
			continue // refused: that run is dropped
		}
		r.log.Info("finance clerk: reconciliation started", "kind", kind, "run", id, "from", p.from.UTC(), "to", p.to.UTC())
		c.running = append(c.running, startedRun{id: id, kind: kind})
		c.starts[c.next] = p.next
	}
	c.next = 0
	c.day++
}

// followRuns logs the finance clerk's runs that have ended.
func (r *runner) followRuns(ctx context.Context) {
	c := &r.clerk
	for i := 0; i < len(c.running); {
		run := c.running[i]
		st, err := r.hub.reconciliation(ctx, run.id)
		switch {
		case err != nil && again(ctx, err):
			r.failed(ctx, err, "finance clerk")
			return
		case err != nil:
			r.failed(ctx, err, "finance clerk") // refused: stop following it
		case st.Status == "running":
			i++
			continue
		case st.Status == "done":
			r.log.Info("finance clerk: reconciliation done", "kind", run.kind, "run", run.id, "checked", st.Checked,
				"findings", st.Findings, "counts", st.Counts)
		default:
			r.log.Warn("finance clerk: reconciliation failed", "kind", run.kind, "run", run.id, "status", st.Status, "error", st.Error)
		}
		c.running = append(c.running[:i], c.running[i+1:]...)
	}
}

// allSent reports whether every vehicle's due items went out.
func (r *runner) allSent() bool {
	for _, v := range r.sc.vehicles {
		if len(v.due) > 0 {
			return false
		}
	}
	return true
}
