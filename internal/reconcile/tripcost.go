package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
)

// TypeTripCost is the event that carries a shipment's share of its
// vehicle's fuel cost, for ERP posting.
const TypeTripCost = "trip.cost"

// SourceReconcile is the source of the events reconciliation derives.
const SourceReconcile = "crossdock/reconcile"

// Deriver records events reconciliation derives and queues their
// deliveries (the pipeline); recording one again changes nothing.
type Deriver interface {
	RecordDerived(ctx context.Context, recs []store.EventRecord) (int, error)
}

// assignmentLookback is how long before a period a route.assigned may be
// and still name a vehicle that drove a shipment delivered in it.
const assignmentLookback = 30 * 24 * time.Hour

// TripCost is the data of a trip.cost event.
type TripCost struct {
	ShipmentID string    `json:"shipment_id"`
	VehicleID  string    `json:"vehicle_id"`
	From       time.Time `json:"period_from" doc:"The fuel period the cost comes from"`
	To         time.Time `json:"period_to"`
	// DistanceKm is the shipment's measured distance; VehicleKm what the
	// vehicle drove in the period (or, when its shipments add up to more,
	// their sum), which the fuel bought is shared over.
	DistanceKm float64 `json:"distance_km"`
	VehicleKm  float64 `json:"vehicle_km"`
	Share      float64 `json:"share"`
	Liters     float64 `json:"liters"`
	Amount     string  `json:"amount"`
	Currency   string  `json:"currency"`
	RunID      string  `json:"run_id"`
}

// leg is a shipment one vehicle drove, with its measured distance.
type leg struct {
	shipmentID    string
	km            float64
	correlationID string
	at            time.Time // its last proof of delivery
}

// allocate shares a vehicle's fuel (amount in currency, liters) over the
// shipments it drove by their share of its distance. When the shipments'
// distances add up to more than the vehicle's, they are shared by their
// sum instead (nothing is left for empty running). Amounts are cents,
// rounded half up; a leg without distance gets nothing.
func allocate(vf VehicleFuel, legs []leg) []TripCost {
	total := vf.DistanceKm
	sum := 0.0
	for _, l := range legs {
		sum += l.km
	}
	if sum > total {
		total = sum
	}
	amount, ok := new(big.Rat).SetString(vf.Amount)
	if !ok || total <= 0 {
		return nil
	}
	var out []TripCost
	for _, l := range legs {
		if l.km <= 0 {
			continue
		}
		share := l.km / total
		cost := new(big.Rat).Mul(amount, new(big.Rat).SetFloat64(share))
		out = append(out, TripCost{
			ShipmentID: l.shipmentID, VehicleID: vf.VehicleID, DistanceKm: round1(l.km), VehicleKm: round1(total), Share: math.Round(share*10000) / 10000,
			Liters: math.Round(vf.Liters*share*100) / 100, Amount: cents(cost), Currency: vf.Currency,
		})
	}
	return out
}

// cents formats r with two places, rounded half up.
func cents(r *big.Rat) string {
	c := new(big.Rat).Mul(r, big.NewRat(100, 1))
	n := new(big.Int).Quo(c.Num(), c.Denom())
	rem := new(big.Rat).Sub(c, new(big.Rat).SetInt(n))
	if rem.Cmp(big.NewRat(1, 2)) >= 0 {
		n.Add(n, big.NewInt(1))
	}
	return new(big.Rat).SetFrac(n, big.NewInt(100)).FloatString(2)
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// tripCosts allocates each vehicle's fuel over the shipments it drove
// that were delivered in the run's period, and records one trip.cost
// event per shipment. A shipment's event id is derived from the shipment
// alone: its cost is posted once, by the first scheduled run whose period
// holds its delivery.
func (r *Runner) tripCosts(ctx context.Context, w *writer, vs []VehicleFuel) error {
	byVehicle, err := r.vehicleShipments(ctx, w.run.From, w.run.To)
	if err != nil {
		return err
	}
	var recs []store.EventRecord
	for _, vf := range vs {
		legs, err := r.legs(ctx, vf.VehicleID, byVehicle[vf.VehicleID], w.run.From, w.run.To)
		if err != nil {
			return err
		}
		byID := make(map[string]leg, len(legs))
		for _, l := range legs {
			byID[l.shipmentID] = l
		}
		for _, tc := range allocate(vf, legs) {
			tc.From, tc.To, tc.RunID = w.run.From, w.run.To, w.run.ID
			data, err := json.Marshal(tc)
			if err != nil {
				return fmt.Errorf("encode trip cost: %w", err)
			}
			l := byID[tc.ShipmentID]
			recs = append(recs, store.EventRecord{
				Source: SourceReconcile, ID: "trip-cost/" + l.shipmentID, Type: TypeTripCost, Subject: l.shipmentID, ShipmentID: l.shipmentID,
				Time: l.at, CorrelationID: l.correlationID, CausationID: w.run.ID, Data: data,
			})
		}
	}
	if len(recs) == 0 || r.opt.Derive == nil {
		return nil
	}
	n, err := r.opt.Derive.RecordDerived(ctx, recs)
	if err != nil {
		return fmt.Errorf("record trip costs: %w", err)
	}
	w.log.InfoContext(ctx, "trip costs recorded", "shipments", len(recs), "new", n)
	return nil
}

// vehicleShipments maps each vehicle to the shipments route.assigned gave
// it from assignmentLookback before from until to.
func (r *Runner) vehicleShipments(ctx context.Context, from, to time.Time) (map[string][]string, error) {
	out := map[string][]string{}
	f := store.EventFilter{Types: []string{canonical.TypeRouteAssigned}, From: from.Add(-assignmentLookback), To: to, Limit: 1000}
	for {
		page, err := r.opt.Store.Events(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("read route assignments: %w", err)
		}
		for _, e := range page {
			var d canonical.RouteAssigned
			if json.Unmarshal(e.Data, &d) != nil || d.VehicleID == "" {
				continue
			}
			if !slices.Contains(out[d.VehicleID], e.Subject) {
				out[d.VehicleID] = append(out[d.VehicleID], e.Subject)
			}
		}
		if len(page) < f.Limit {
			return out, nil
		}
		f.AfterSeq = page[len(page)-1].Seq
	}
}

// legs reads the shipments among ids that vehicle drove (its track
// follows it) and whose last proof of delivery is in [from, to).
func (r *Runner) legs(ctx context.Context, vehicle string, ids []string, from, to time.Time) ([]leg, error) {
	var out []leg
	for _, id := range ids {
		rec, err := r.opt.Store.Shipment(ctx, id)
		if err != nil {
			continue // gone or not visible: nothing to allocate to
		}
		st := &shipment.State{ID: id}
		if err := json.Unmarshal(rec.State, st); err != nil {
			return nil, fmt.Errorf("decode shipment %s: %w", id, err)
		}
		last := lastPODTime(st)
		if st.Track == nil || st.Track.VehicleID != vehicle || last.Before(from) || !last.Before(to) {
			continue
		}
		out = append(out, leg{shipmentID: id, km: st.Track.DistanceKm, correlationID: st.CorrelationID, at: last})
	}
	slices.SortFunc(out, func(a, b leg) int { return a.at.Compare(b.at) })
	return out, nil
}
