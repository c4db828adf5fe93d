package shipment

import (
	"math"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
)

// View is the shipment as the API shows it (the contract's shipment JSON).
type View struct {
	ID           string            `json:"id"`
	Status       string            `json:"status"`
	OnHold       bool              `json:"on_hold"`
	OrderID      string            `json:"order_id"`
	CustomerID   string            `json:"customer_id"`
	VehicleID    *string           `json:"vehicle_id"`
	DriverID     *string           `json:"driver_id"`
	Stops        []StopView        `json:"stops"`
	Accessorials []string          `json:"accessorials,omitempty"`
	WeightKg     *float64          `json:"weight_kg,omitempty"`
	Pieces       *int              `json:"pieces,omitempty"`
	References   map[string]string `json:"references,omitempty"`
	InvoiceID    *string           `json:"invoice_id"`
	CancelledAt  *time.Time        `json:"cancelled_at,omitempty"`
	CancelReason string            `json:"cancel_reason,omitempty"`
	Delay        *DelayView        `json:"delay,omitempty"` // a standing delay; nil once back on time
	DistanceKm   float64           `json:"distance_km"`     // driven by the assigned vehicle, from telemetry
	ETA          *time.Time        `json:"eta"`             // at the next stop, from telemetry; nil if unknown
	NextStopID   *string           `json:"next_stop_id"`    // the stop the ETA is for
	Tender       *TenderView       `json:"tender,omitempty"`
	ReleasedAt   time.Time         `json:"released_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
}

// StopView is one stop of the shipment view.
type StopView struct {
	ID           string             `json:"id"`
	Type         string             `json:"type"`
	Status       string             `json:"status"`
	Location     canonical.Location `json:"location"`
	Window       *canonical.Window  `json:"window,omitempty"`
	ArrivedAt    *time.Time         `json:"arrived_at"`
	DepartedAt   *time.Time         `json:"departed_at"`
	DwellMinutes *float64           `json:"dwell_minutes"` // departed_at − arrived_at; nil until both are known
	CompletedAt  *time.Time         `json:"completed_at"`
	POD          *PODView           `json:"pod,omitempty"`
}

// PODView summarizes the proof of delivery of a stop.
type PODView struct {
	SignedBy     string                   `json:"signed_by"`
	HasSignature bool                     `json:"has_signature"`
	Location     canonical.Point          `json:"location"`
	Pieces       *int                     `json:"pieces,omitempty"`
	Exceptions   []canonical.PODException `json:"exceptions,omitempty"`
	Source       string                   `json:"source"`
}

// DelayView is the latest reported delay.
type DelayView struct {
	At     time.Time `json:"at"`
	StopID string    `json:"stop_id,omitempty"`
	Reason string    `json:"reason,omitempty"`
}

// TenderView is the latest tender response.
type TenderView struct {
	Carrier  string    `json:"carrier"`
	Response string    `json:"response"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}

// View renders a visible State; updatedAt is the stored commit time.
func (st *State) View(updatedAt time.Time) View {
	v := View{ID: st.ID, Status: st.Status(), OnHold: st.Flow.OnHold, UpdatedAt: updatedAt.UTC(), Stops: []StopView{}}
	if inv := st.Flow.Invoice; inv != nil {
		v.InvoiceID = &inv.ID
	}
	if st.Order != nil {
		o := st.Order.Data
		v.OrderID, v.CustomerID = o.OrderID, o.CustomerID
		v.Accessorials, v.WeightKg, v.Pieces, v.References = o.Accessorials, o.WeightKg, o.Pieces, o.References
		v.ReleasedAt = st.Versions[0].Stamp.Time
		for _, s := range o.Stops {
			v.Stops = append(v.Stops, st.stopView(s))
		}
	}
	if a := st.Assignment; a != nil {
		v.VehicleID, v.DriverID = &a.Data.VehicleID, &a.Data.DriverID
	}
	if c := st.Cancelled; c != nil {
		t := c.Stamp.Time
		v.CancelledAt, v.CancelReason = &t, c.Reason
	}
	if d := st.Delay; d != nil && (st.OnTime == nil || st.OnTime.Before(d.Stamp)) {
		v.Delay = &DelayView{At: d.Stamp.Time, StopID: d.StopID, Reason: d.Reason}
	}
	if t := st.Tender; t != nil {
		v.Tender = &TenderView{Carrier: t.Data.Carrier, Response: t.Data.Response, Reason: t.Data.Reason, At: t.Stamp.Time}
	}
	if t := st.Track; t != nil {
		v.DistanceKm = math.Round(t.DistanceKm*1000) / 1000
		if t.ETA != nil && t.NextStop != "" {
			eta, next := *t.ETA, t.NextStop
			v.ETA, v.NextStopID = &eta, &next
		}
	}
	return v
}

func (st *State) stopView(s canonical.Stop) StopView {
	sv := StopView{ID: s.ID, Type: s.Type, Location: s.Location, Window: s.Window, Status: StopPending}
	f := st.Stops[s.ID]
	if f == nil {
		return sv
	}
	sv.Status = f.Status()
	sv.ArrivedAt = stampTime(f.Arrived)
	sv.DepartedAt = stampTime(f.Departed)
	if sv.ArrivedAt != nil && sv.DepartedAt != nil && !sv.DepartedAt.Before(*sv.ArrivedAt) {
		m := math.Round(sv.DepartedAt.Sub(*sv.ArrivedAt).Minutes()*10) / 10
		sv.DwellMinutes = &m
	}
	if p := f.Completed; p != nil {
		sv.CompletedAt = stampTime(&p.Stamp)
		sv.POD = &PODView{
			SignedBy: p.Data.SignedBy, HasSignature: p.Data.Signature != "", Location: p.Data.Location,
			Pieces: p.Data.Pieces, Exceptions: p.Data.Exceptions, Source: p.Stamp.Source,
		}
	}
	return sv
}

func stampTime(s *Stamp) *time.Time {
	if s == nil {
		return nil
	}
	t := s.Time
	return &t
}
