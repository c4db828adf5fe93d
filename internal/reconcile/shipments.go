package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/billing"
	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/workflow"
)

// ratingGrace is how long past its due time a shipment may wait for the
// rating timer before it counts as delivered_not_invoiced.
const ratingGrace = 10 * time.Minute

// checkShipments checks the shipments whose last proof of delivery falls
// in the run's period against their invoices (delivered_not_invoiced,
// distance_changed_after_invoice) and their milestones
// (inferred_departure), then the period's proofs of delivery for
// duplicates (duplicate_pod).
func (r *Runner) checkShipments(ctx context.Context, w *writer) error {
	for _, status := range []string{shipment.StatusDelivered, shipment.StatusInvoiced} {
		f := store.ShipmentFilter{Status: status, UpdatedSince: w.run.From, Limit: 500}
		for {
			page, err := r.opt.Store.Shipments(ctx, f)
			if err != nil {
				return fmt.Errorf("read %s shipments: %w", status, err)
			}
			for _, rec := range page {
				fs, err := r.shipmentFindings(ctx, rec, w.run.From, w.run.To)
				if err != nil {
					return err
				}
				for _, fd := range fs {
					if err := w.add(ctx, fd); err != nil {
						return err
					}
				}
			}
			if err := w.progress(ctx, len(page)); err != nil {
				return err
			}
			if len(page) < f.Limit {
				break
			}
			last := page[len(page)-1]
			f.After = &store.ShipmentCursor{UpdatedAt: last.UpdatedAt, ID: last.ID}
		}
	}
	return r.duplicatePODs(ctx, w)
}

// shipmentFindings checks one delivered or invoiced shipment whose last
// POD is in [from, to).
func (r *Runner) shipmentFindings(ctx context.Context, rec store.ShipmentRecord, from, to time.Time) ([]Finding, error) {
	st := &shipment.State{ID: rec.ID}
	if err := json.Unmarshal(rec.State, st); err != nil {
		return nil, fmt.Errorf("decode shipment %s: %w", rec.ID, err)
	}
	if st.Order == nil {
		return nil, nil
	}
	lastPOD := lastPODTime(st)
	if lastPOD.IsZero() || lastPOD.Before(from) || !lastPOD.Before(to) {
		return nil, nil
	}
	out := inferredDepartures(st)
	if r.opt.Billing == nil {
		return out, nil
	}
	if st.Flow.Invoice == nil {
		if fd, ok := r.notInvoiced(st, lastPOD); ok {
			out = append(out, fd)
		}
		return out, nil
	}
	fd, ok, err := r.distanceChanged(ctx, st)
	if err != nil {
		return nil, err
	}
	if ok {
		out = append(out, fd)
	}
	return out, nil
}

// lastPODTime is the time of the shipment's latest proof of delivery.
func lastPODTime(st *shipment.State) time.Time {
	var last time.Time
	for _, s := range st.Stops {
		if s != nil && s.Completed != nil && s.Completed.Stamp.Time.After(last) {
			last = s.Completed.Stamp.Time
		}
	}
	return last
}

// notInvoiced finds a delivered shipment nothing holds back from billing
// that was due to be rated and has no invoice: revenue leakage.
func (r *Runner) notInvoiced(st *shipment.State, lastPOD time.Time) (Finding, bool) {
	cases := workflow.Cases(st, r.opt.Workflow)
	ready := workflow.RatingReadiness(st, cases, r.opt.RatingWait)
	now := r.opt.Now().UTC()
	if !ready.Ready || (!ready.Due.IsZero() && now.Before(ready.Due.Add(ratingGrace))) {
		return Finding{}, false
	}
	due := ready.Due
	if due.IsZero() {
		due = lastPOD
	}
	return Finding{
		Code: CodeDeliveredNotInvoiced, ShipmentID: st.ID, At: due,
		Detail: fmt.Sprintf("shipment %s was delivered (last POD %s) and due for rating (%s) since %s, no case holds billing, but there is no invoice",
			st.ID, lastPOD.UTC().Format(time.RFC3339), ready.Reason, due.UTC().Format(time.RFC3339)),
		Data: map[string]any{"customer_id": st.Order.Data.CustomerID, "last_pod_at": lastPOD.UTC(), "due_at": due.UTC(), "rule": ready.Reason},
	}, true
}

// distanceChanged compares the distance an invoice billed with what the
// shipment's track measures now (late positions move it); beyond the
// tolerance it rates the shipment again and proposes the difference as a
// credit (negative) or debit.
func (r *Runner) distanceChanged(ctx context.Context, st *shipment.State) (Finding, bool, error) {
	if st.Track == nil {
		return Finding{}, false, nil
	}
	rec, err := r.opt.Store.Invoice(ctx, st.Flow.Invoice.ID)
	if err != nil {
		return Finding{}, false, fmt.Errorf("read invoice %s: %w", st.Flow.Invoice.ID, err)
	}
	var inv struct {
		Lines []billing.Line `json:"lines"`
		Total string         `json:"total"`
	}
	if err := json.Unmarshal(rec.Data, &inv); err != nil {
		return Finding{}, false, fmt.Errorf("decode invoice %s: %w", rec.ID, err)
	}
	i := slices.IndexFunc(inv.Lines, func(l billing.Line) bool { return l.Code == billing.CodeDistance })
	if i < 0 {
		return Finding{}, false, nil
	}
	billed, err := strconv.ParseFloat(inv.Lines[i].Quantity, 64)
	if err != nil {
		return Finding{}, false, fmt.Errorf("invoice %s: distance quantity %q: %w", rec.ID, inv.Lines[i].Quantity, err)
	}
	measured := math.Round(st.Track.DistanceKm*10) / 10
	delta := measured - billed
	if math.Abs(delta) <= r.opt.DistanceToleranceKm || (billed > 0 && math.Abs(delta)/billed*100 <= r.opt.DistanceTolerancePct) {
		return Finding{}, false, nil
	}
	data := map[string]any{
		"billed_km": billed, "measured_km": measured, "delta_km": math.Round(delta*10) / 10,
		"invoice_total": rec.Total, "currency": rec.Currency,
		"billed_line": strings.TrimSpace(inv.Lines[i].Description),
	}
	proposal := ""
	if q, err := r.opt.Billing.Rate(workflow.RatingInput(st, r.opt.RoadFactor)); err == nil && q.Currency == rec.Currency {
		adj := difference(q.Total, rec.Total)
		data["rated_total_now"], data["proposed_adjustment"] = q.Total, adj
		kind := "debit"
		if strings.HasPrefix(adj, "-") {
			kind = "credit"
		}
		proposal = fmt.Sprintf("; rated again it comes to %s %s: propose a %s of %s %s", q.Total, q.Currency, kind, strings.TrimPrefix(adj, "-"), q.Currency)
	} else if err != nil {
		data["rating_error"] = err.Error()
	}
	return Finding{
		Code: CodeDistanceChanged, ShipmentID: st.ID, InvoiceID: rec.ID, At: r.opt.Now().UTC(),
		Detail: fmt.Sprintf("invoice %s billed %.1f km but the track now measures %.1f km (%+.1f km)%s", rec.ID, billed, measured, delta, proposal),
		Data:   data,
	}, true, nil
}

// inferredDepartures finds pickups with no departure reported although
// goods were delivered after them: the status model had to infer the
// departure, so a source missed a milestone.
func inferredDepartures(st *shipment.State) []Finding {
	var delivered *shipment.PODFact
	for _, stop := range st.Order.Data.Stops {
		if s := st.Stops[stop.ID]; stop.Type == canonical.StopDelivery && s != nil && s.Completed != nil {
			if delivered == nil || s.Completed.Stamp.Time.Before(delivered.Stamp.Time) {
				delivered = s.Completed
			}
		}
	}
	if delivered == nil {
		return nil
	}
	var out []Finding
	for _, stop := range st.Order.Data.Stops {
		if stop.Type != canonical.StopPickup {
			continue
		}
		s := st.Stops[stop.ID]
		if s != nil && (s.Departed != nil || s.Completed != nil) {
			continue
		}
		arrived := "no arrival either"
		if s != nil && s.Arrived != nil {
			arrived = "arrived " + s.Arrived.Time.UTC().Format(time.RFC3339) + " (" + s.Arrived.Source + ")"
		}
		out = append(out, Finding{
			Code: CodeInferredDeparture, ShipmentID: st.ID, Key: stop.ID, At: delivered.Stamp.Time,
			Detail: fmt.Sprintf("pickup %s of shipment %s has no departure (%s), yet stop %s was delivered at %s: the departure was inferred",
				stop.ID, st.ID, arrived, delivered.Data.StopID, delivered.Stamp.Time.UTC().Format(time.RFC3339)),
			Data: map[string]any{"stop_id": stop.ID, "delivered_stop_id": delivered.Data.StopID, "pod_source": delivered.Stamp.Source},
		})
	}
	return out
}

// pod is one delivery.completed report.
type pod struct {
	Source   string    `json:"source"`
	ID       string    `json:"id"`
	SignedBy string    `json:"signed_by"`
	Time     time.Time `json:"time"`
}

// duplicatePODs finds stops with more than one proof of delivery (from
// different sources, or one source under different ids) among the
// delivery.completed events of the period.
func (r *Runner) duplicatePODs(ctx context.Context, w *writer) error {
	type stopKey struct{ shipment, stop string }
	byStop := map[stopKey][]pod{}
	f := store.EventFilter{Types: []string{canonical.TypeDeliveryCompleted}, From: w.run.From, To: w.run.To, Limit: 1000}
	for {
		page, err := r.opt.Store.Events(ctx, f)
		if err != nil {
			return fmt.Errorf("read proofs of delivery: %w", err)
		}
		for _, e := range page {
			var d canonical.DeliveryCompleted
			if err := json.Unmarshal(e.Data, &d); err != nil {
				return fmt.Errorf("decode proof of delivery %s %s: %w", e.Source, e.ID, err)
			}
			k := stopKey{e.Subject, d.StopID}
			byStop[k] = append(byStop[k], pod{Source: e.Source, ID: e.ID, SignedBy: d.SignedBy, Time: e.Time})
		}
		if len(page) < f.Limit {
			break
		}
		f.AfterSeq = page[len(page)-1].Seq
	}
	keys := make([]stopKey, 0, len(byStop))
	for k, ps := range byStop {
		if len(ps) > 1 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b stopKey) int {
		if c := strings.Compare(a.shipment, b.shipment); c != 0 {
			return c
		}
		return strings.Compare(a.stop, b.stop)
	})
	for _, k := range keys {
		ps := byStop[k]
		var who []string
		for _, p := range ps {
			who = append(who, fmt.Sprintf("%s %s at %s signed by %q", p.Source, p.ID, p.Time.UTC().Format(time.RFC3339), p.SignedBy))
		}
		fd := Finding{
			Code: CodeDuplicatePOD, ShipmentID: k.shipment, Key: k.stop, At: ps[len(ps)-1].Time,
			Detail: fmt.Sprintf("stop %s of shipment %s has %d proofs of delivery: %s", k.stop, k.shipment, len(ps), strings.Join(who, "; ")),
			Data:   map[string]any{"stop_id": k.stop, "pods": ps},
		}
		if err := w.add(ctx, fd); err != nil {
			return err
		}
	}
	return nil
}
