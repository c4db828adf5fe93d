package shipment

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
)

// State is everything known about one shipment, as merged facts. The zero
// value (with ID set) is an empty shipment; it becomes visible once an
// order is known. Its JSON form is what the store keeps.
type State struct {
	ID         string           `json:"id"`
	Order      *OrderFact       `json:"order,omitempty"`
	Versions   []VersionFact    `json:"versions,omitempty"`
	Assignment *AssignmentFact  `json:"assignment,omitempty"`
	Moved      *Stamp           `json:"moved,omitempty"`
	Cancelled  *CancelFact      `json:"cancelled,omitempty"`
	Delay      *DelayFact       `json:"delay,omitempty"`
	Tender     *TenderFact      `json:"tender,omitempty"`
	Stops      map[string]*Stop `json:"stops,omitempty"`
	OnTime     *Stamp           `json:"on_time,omitempty"` // latest "back on time" report; clears an earlier Delay
	Track      *Track           `json:"track,omitempty"`   // what telemetry measured; owned by package telemetry
	Flow       Flow             `json:"flow,omitzero"`     // cases and billing facts; owned by package workflow
	// CorrelationID is the correlation id of the earliest order version:
	// events crossdock derives for the shipment carry it, so its timeline
	// shares one correlation id end to end whatever the cause's was.
	CorrelationID string `json:"correlation_id,omitempty"`
}

// Track is what package telemetry derived from the assigned vehicle's
// positions. It only moves forward in time: a position older than Last is
// stored by the pipeline but never applied here.
type Track struct {
	VehicleID  string      `json:"vehicle_id"`           // the vehicle this track follows
	Last       *TrackPoint `json:"last,omitempty"`       // newest position applied
	DistanceKm float64     `json:"distance_km"`          // driven, summed in time order
	SpeedKph   float64     `json:"speed_kph"`            // recent speed (smoothed)
	Glitches   int         `json:"glitches,omitempty"`   // positions dropped as implausible jumps
	Late       int         `json:"late,omitempty"`       // positions older than Last, not applied
	Inside     string      `json:"inside,omitempty"`     // stop whose geofence the vehicle is in
	Arrived    []string    `json:"arrived,omitempty"`    // stops whose arrival telemetry reported
	Departed   []string    `json:"departed,omitempty"`   // stops whose departure telemetry reported
	ETA        *time.Time  `json:"eta,omitempty"`        // at NextStop
	NextStop   string      `json:"next_stop,omitempty"`  // first stop not yet departed
	Delayed    bool        `json:"delayed,omitempty"`    // a delayed milestone is standing
	TempSince  *time.Time  `json:"temp_since,omitempty"` // first reading of the current excursion
	TempRaised bool        `json:"temp_raised,omitempty"`
	OffSince   *time.Time  `json:"off_since,omitempty"` // first position of the current deviation
	OffRaised  bool        `json:"off_raised,omitempty"`
	RouteSeg   int         `json:"route_seg,omitempty"` // nearest planned-route segment last time
}

// TrackPoint is a position on a Track.
type TrackPoint struct {
	Time time.Time `json:"time"`
	Lat  float64   `json:"lat"`
	Lon  float64   `json:"lon"`
}

// OrderFact is the latest order version (by Stamp).
type OrderFact struct {
	Stamp Stamp                   `json:"stamp"`
	Data  canonical.OrderReleased `json:"data"`
}

// VersionFact remembers which stops were delivery stops in one order
// version. A shipment is delivered when every delivery stop of some version
// has a POD — a test that only ever turns from false to true as facts are
// added, so an amendment arriving late cannot undo a delivery.
type VersionFact struct {
	Stamp         Stamp    `json:"stamp"`
	DeliveryStops []string `json:"delivery_stops"`
}

// AssignmentFact is the latest route assignment.
type AssignmentFact struct {
	Stamp Stamp                   `json:"stamp"`
	Data  canonical.RouteAssigned `json:"data"`
}

// CancelFact is the earliest cancellation.
type CancelFact struct {
	Stamp  Stamp  `json:"stamp"`
	Reason string `json:"reason,omitempty"`
}

// DelayFact is the latest delay report.
type DelayFact struct {
	Stamp  Stamp  `json:"stamp"`
	StopID string `json:"stop_id,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// TenderFact is the latest tender response.
type TenderFact struct {
	Stamp Stamp                     `json:"stamp"`
	Data  canonical.TenderResponded `json:"data"`
}

// Stop holds the facts of one stop, keyed by stop id. Facts may exist for a
// stop before the order that declares it arrives.
type Stop struct {
	Arrived   *Stamp   `json:"arrived,omitempty"`
	Departed  *Stamp   `json:"departed,omitempty"`
	Completed *PODFact `json:"completed,omitempty"`
}

// PODFact is the earliest proof of delivery for a stop.
type PODFact struct {
	Stamp Stamp                       `json:"stamp"`
	Data  canonical.DeliveryCompleted `json:"data"`
}

// Status returns the stop's status: the highest-ranked fact present.
func (s *Stop) Status() string {
	switch {
	case s == nil:
		return StopPending
	case s.Completed != nil:
		return StopCompleted
	case s.Departed != nil:
		return StopDeparted
	case s.Arrived != nil:
		return StopArrived
	}
	return StopPending
}

// Visible reports whether the shipment has an order and so exists for readers.
func (st *State) Visible() bool { return st.Order != nil }

// Status derives the shipment status from the facts: the highest-ranked
// status whose condition holds. Every condition only turns true as facts
// are added, so the status never regresses.
func (st *State) Status() string {
	if st.Order == nil {
		return ""
	}
	status := StatusReleased
	if st.Assignment != nil {
		status = StatusPlanned
	}
	if st.Moved != nil {
		status = StatusInTransit
	}
	if st.Cancelled != nil {
		status = StatusCancelled
	}
	if st.deliveredVersion() {
		status = StatusDelivered
	}
	if st.Flow.Invoice != nil {
		status = StatusInvoiced
	}
	return status
}

func (st *State) deliveredVersion() bool {
	for _, v := range st.Versions {
		if len(v.DeliveryStops) == 0 {
			continue
		}
		all := true
		for _, id := range v.DeliveryStops {
			if s := st.Stops[id]; s == nil || s.Completed == nil {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// hasStop reports whether the current order declares stop id.
func (st *State) hasStop(id string) bool {
	return slices.ContainsFunc(st.Order.Data.Stops, func(s canonical.Stop) bool { return s.ID == id })
}

// Apply merges the facts of ev (whose typed data is data, as returned by
// canonical.ParseEvent) into st and reports whether anything changed. An
// event that names a stop the known order does not have is rejected with a
// *canonical.ValidationError and changes nothing. Events of types that
// carry no shipment facts are ignored.
func Apply(st *State, ev canonical.Event, data any) (bool, error) {
	return ApplyRanked(st, ev, data, 0)
}

// ApplyRanked is Apply for an event whose source has the given precedence
// rank (Precedence.Rank): stop arrivals, departures and proofs of delivery
// from a higher-ranked source win over lower-ranked ones whatever the
// times.
func ApplyRanked(st *State, ev canonical.Event, data any, rank int) (bool, error) {
	stamp := Stamp{Time: ev.Time.UTC(), Source: ev.Source, ID: ev.ID, Rank: rank}
	switch d := data.(type) {
	case *canonical.OrderReleased:
		changed := st.applyOrder(stamp, d)
		if first := st.Versions[0].Stamp; changed && first.Source == stamp.Source && first.ID == stamp.ID {
			st.CorrelationID = ev.CorrelationID
		}
		return changed, nil
	case *canonical.RouteAssigned:
		if st.Assignment != nil && !st.Assignment.Stamp.Before(stamp) {
			return false, nil
		}
		st.Assignment = &AssignmentFact{Stamp: stamp, Data: *d}
		return true, nil
	case *canonical.ShipmentMilestone:
		if err := st.checkStop(d.StopID); err != nil {
			return false, err
		}
		return st.applyMilestone(stamp, d), nil
	case *canonical.DeliveryCompleted:
		if err := st.checkStop(d.StopID); err != nil {
			return false, err
		}
		stop := st.stop(d.StopID)
		if stop.Completed != nil && !stamp.outranks(stop.Completed.Stamp) {
			return st.markMoved(stamp), nil
		}
		stop.Completed = &PODFact{Stamp: stamp, Data: *d}
		st.markMoved(stamp)
		return true, nil
	case *canonical.ShipmentCancelled:
		if st.Cancelled != nil && !stamp.Before(st.Cancelled.Stamp) {
			return false, nil
		}
		st.Cancelled = &CancelFact{Stamp: stamp, Reason: d.Reason}
		return true, nil
	case *canonical.ShipmentException:
		return st.applyException(stamp, d), nil
	case *canonical.TenderResponded:
		if st.Tender != nil && !st.Tender.Stamp.Before(stamp) {
			return false, nil
		}
		st.Tender = &TenderFact{Stamp: stamp, Data: *d}
		return true, nil
	}
	return false, nil
}

func (st *State) applyOrder(stamp Stamp, d *canonical.OrderReleased) bool {
	i, found := slices.BinarySearchFunc(st.Versions, stamp, func(v VersionFact, s Stamp) int {
		switch {
		case v.Stamp.Before(s):
			return -1
		case s.Before(v.Stamp):
			return 1
		}
		return 0
	})
	if found {
		return false
	}
	var delivery []string
	for _, s := range d.Stops {
		if s.Type == canonical.StopDelivery {
			delivery = append(delivery, s.ID)
		}
	}
	st.Versions = slices.Insert(st.Versions, i, VersionFact{Stamp: stamp, DeliveryStops: delivery})
	if st.Order == nil || st.Order.Stamp.Before(stamp) {
		st.Order = &OrderFact{Stamp: stamp, Data: *d}
	}
	return true
}

func (st *State) applyMilestone(stamp Stamp, d *canonical.ShipmentMilestone) bool {
	if d.Code == canonical.MilestoneDelayed {
		if st.Delay != nil && !st.Delay.Stamp.Before(stamp) {
			return false
		}
		st.Delay = &DelayFact{Stamp: stamp, StopID: d.StopID, Reason: d.Reason}
		return true
	}
	if d.Code == canonical.MilestoneInTransit && d.Reason == ReasonOnTime {
		changed := st.markMoved(stamp)
		if st.OnTime == nil || st.OnTime.Before(stamp) {
			st.OnTime, changed = &stamp, true
		}
		return changed
	}
	changed := st.markMoved(stamp)
	if d.StopID == "" {
		return changed
	}
	stop := st.stop(d.StopID)
	var c bool
	switch d.Code {
	case canonical.MilestoneArrived:
		stop.Arrived, c = best(stop.Arrived, stamp)
	case canonical.MilestoneDeparted:
		stop.Departed, c = best(stop.Departed, stamp)
	}
	return changed || c
}

func (st *State) markMoved(stamp Stamp) bool {
	var c bool
	st.Moved, c = earliest(st.Moved, stamp)
	return c
}

func (st *State) stop(id string) *Stop {
	if st.Stops == nil {
		st.Stops = make(map[string]*Stop)
	}
	s := st.Stops[id]
	if s == nil {
		s = &Stop{}
		st.Stops[id] = s
	}
	return s
}

// checkStop rejects a stop id the known order does not declare. Before the
// order is known any stop id is kept: the order may come later.
func (st *State) checkStop(id string) error {
	if id == "" || st.Order == nil || st.hasStop(id) {
		return nil
	}
	ids := make([]string, len(st.Order.Data.Stops))
	for i, s := range st.Order.Data.Stops {
		ids[i] = s.ID
	}
	return &canonical.ValidationError{Errors: []canonical.FieldError{{
		Field:   "data.stop_id",
		Message: fmt.Sprintf("shipment %s has no stop %q (its stops: %s)", st.ID, id, strings.Join(ids, ", ")),
	}}}
}
