package workflow

import (
	"time"

	"github.com/crossdockhq/crossdock/internal/billing"
	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/telemetry"
)

// Readiness says whether, and from when, a shipment may be rated.
type Readiness struct {
	// Ready is false when something is missing (a POD) or in the way (a
	// blocking case, a cancellation, an invoice already made); Reason says
	// which.
	Ready  bool
	Reason string
	// Due is when rating may run: at once (the zero time) when the last
	// stop is departed, else RatingWait after the last POD, so detention
	// is measured from a departure whenever one is reported in time.
	Due time.Time
}

// RatingReadiness applies the delivery-to-cash rule: a shipment is rated
// once every delivery stop has its POD and no blocking case is open, when
// its last stop is departed or wait after the last POD.
func RatingReadiness(st *shipment.State, cases []Case, wait time.Duration) Readiness {
	switch {
	case st.Order == nil:
		return Readiness{Reason: "no order"}
	case st.Cancelled != nil:
		return Readiness{Reason: "cancelled"}
	case st.Flow.Invoice != nil:
		return Readiness{Reason: "invoiced"}
	case OnHold(cases):
		return Readiness{Reason: "on hold: a case that blocks billing is open"}
	}
	stops := st.Order.Data.Stops
	var lastPOD time.Time
	for _, s := range stops {
		if s.Type != canonical.StopDelivery {
			continue
		}
		f := st.Stops[s.ID]
		if f == nil || f.Completed == nil {
			return Readiness{Reason: "stop " + s.ID + " has no proof of delivery"}
		}
		if t := f.Completed.Stamp.Time; t.After(lastPOD) {
			lastPOD = t
		}
	}
	if last := st.Stops[stops[len(stops)-1].ID]; last != nil && last.Departed != nil {
		return Readiness{Ready: true, Reason: "last stop departed"}
	}
	return Readiness{Ready: true, Reason: "rating wait after the last proof of delivery", Due: lastPOD.Add(wait)}
}

// RatingInput is what billing needs of the shipment: the measured
// distance (or, without telemetry, the planned one: the assigned route's
// length, else the straight lines between stops times roadFactor), the
// stops with their measured dwell, and the requested accessorials.
func RatingInput(st *shipment.State, roadFactor float64) billing.Shipment {
	o := st.Order.Data
	v := st.View(time.Time{})
	in := billing.Shipment{ID: st.ID, CustomerID: o.CustomerID, Accessorials: o.Accessorials}
	if st.Track != nil {
		in.DistanceKm = st.Track.DistanceKm
	}
	for _, s := range v.Stops {
		in.Stops = append(in.Stops, billing.Stop{ID: s.ID, Type: s.Type, DwellMinutes: s.DwellMinutes})
	}
	if a := st.Assignment; a != nil && a.Data.Route != nil {
		c := a.Data.Route.Coordinates
		for i := 1; i < len(c); i++ {
			in.PlannedKm += telemetry.HaversineKm(c[i-1][1], c[i-1][0], c[i][1], c[i][0])
		}
		return in
	}
	for i := 1; i < len(o.Stops); i++ {
		a, b := o.Stops[i-1].Location, o.Stops[i].Location
		in.PlannedKm += roadFactor * telemetry.HaversineKm(a.Lat, a.Lon, b.Lat, b.Lon)
	}
	return in
}
