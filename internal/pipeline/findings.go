package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/reconcile"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
)

// SourceReconcile is the source of the shipment.exception events that
// reconciliation findings raise (and of its trip.cost events).
const SourceReconcile = reconcile.SourceReconcile

// OpenFindingCases implements reconcile.CaseOpener: each finding becomes a
// shipment.exception (code reconciliation_<finding code>) on its
// shipment, which opens a non-blocking case. The event's id derives from
// the finding's, so the same discrepancy found by a later run opens no
// second case, and a resolved one stays resolved. Findings about
// shipments the hub does not know are skipped.
func (p *Pipeline) OpenFindingCases(ctx context.Context, fs []reconcile.CaseFinding) error {
	items := make([]Item, 0, len(fs))
	for _, f := range fs {
		corr, err := p.correlationOf(ctx, f.ShipmentID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		d := &canonical.ShipmentException{Code: reconcile.CaseCode(f.Code), Detail: f.Detail}
		raw, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("pipeline: encode finding %s: %w", f.ID, err)
		}
		items = append(items, Item{
			Event: canonical.Event{SpecVersion: "1.0", Source: SourceReconcile, ID: "finding/" + f.ID, Type: canonical.TypeShipmentException,
				Subject: f.ShipmentID, Time: f.At.UTC(), CorrelationID: corr, Data: raw},
			Data: d, Input: "reconcile",
		})
	}
	if len(items) == 0 {
		return nil
	}
	res, err := p.Submit(ctx, Submission{Items: items, Principal: "reconcile"})
	if err != nil {
		return fmt.Errorf("pipeline: open finding cases: %w", err)
	}
	for _, r := range res {
		if r.Status == Rejected {
			return fmt.Errorf("pipeline: finding case %s rejected: %v", r.ID, r.Errors)
		}
	}
	return nil
}

// correlationOf reads a visible shipment's correlation id.
func (p *Pipeline) correlationOf(ctx context.Context, id string) (string, error) {
	rec, err := p.st.Shipment(ctx, id)
	if err != nil {
		return "", err
	}
	var st shipment.State
	if err := json.Unmarshal(rec.State, &st); err != nil {
		return "", fmt.Errorf("pipeline: decode shipment %s: %w", id, err)
	}
	return st.CorrelationID, nil
}

// RecordDerived appends events crossdock derives outside the writer (the
// trip costs of a fuel reconciliation) and queues their deliveries, in one
// transaction. An event whose (Source, ID) is stored already is skipped,
// so recording the same ones again changes nothing; it reports how many
// were new. Each must have a Source under crossdock/.
func (p *Pipeline) RecordDerived(ctx context.Context, recs []store.EventRecord) (int, error) {
	for _, r := range recs {
		if !strings.HasPrefix(r.Source, ReservedSourcePrefix) || r.ID == "" || r.Type == "" {
			return 0, fmt.Errorf("pipeline: derived event %q %q: needs a crossdock/ source, an id and a type", r.Source, r.ID)
		}
	}
	if len(recs) == 0 {
		return 0, nil
	}
	pd, err := p.run1(ctx, Submission{Derived: recs})
	if err != nil {
		return 0, fmt.Errorf("pipeline: record derived events: %w", err)
	}
	return pd.derivedNew, nil
}

// derived applies a submission's Derived events.
func (p *Pipeline) derived(pd *pending, bs *batchState) {
	pd.derivedNew = 0 // from an attempt of the batch that rolled back
	for _, r := range pd.sub.Derived {
		key := r.Key()
		if bs.knownEv[key] || bs.seenEv[key] {
			continue
		}
		bs.seenEv[key] = true
		r.Time, r.ReceivedAt = r.Time.UTC(), bs.now
		bs.records = append(bs.records, r)
		pd.derivedNew++
	}
}
