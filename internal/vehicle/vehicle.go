package vehicle

import (
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
)

// State is everything known about one vehicle.
type State struct {
	ID         string          `json:"id"`
	DeviceIDs  []string        `json:"device_ids"`
	Position   *PositionFact   `json:"position,omitempty"`
	Assignment *AssignmentFact `json:"assignment,omitempty"`
}

// PositionFact is the latest position report.
type PositionFact struct {
	Stamp shipment.Stamp              `json:"stamp"`
	Data  canonical.TelemetryPosition `json:"data"`
}

// AssignmentFact is the latest route assignment naming this vehicle.
type AssignmentFact struct {
	Stamp      shipment.Stamp `json:"stamp"`
	ShipmentID string         `json:"shipment_id"`
	DriverID   string         `json:"driver_id"`
}

// Apply merges the facts of ev about vehicle st.ID and reports whether
// anything changed. route.assigned events concern the vehicle they name
// (data.vehicle_id), telemetry.position events their subject.
func Apply(st *State, ev canonical.Event, data any) bool {
	stamp := shipment.Stamp{Time: ev.Time.UTC(), Source: ev.Source, ID: ev.ID}
	switch d := data.(type) {
	case *canonical.TelemetryPosition:
		if st.Position != nil && !st.Position.Stamp.Before(stamp) {
			return false
		}
		st.Position = &PositionFact{Stamp: stamp, Data: *d}
		return true
	case *canonical.RouteAssigned:
		if st.Assignment != nil && !st.Assignment.Stamp.Before(stamp) {
			return false
		}
		st.Assignment = &AssignmentFact{Stamp: stamp, ShipmentID: ev.Subject, DriverID: d.DriverID}
		return true
	}
	return false
}

// Subject returns the vehicle an event concerns, or "" if none.
func Subject(ev canonical.Event, data any) string {
	switch d := data.(type) {
	case *canonical.TelemetryPosition:
		return ev.Subject
	case *canonical.FuelPurchased:
		return ev.Subject
	case *canonical.RouteAssigned:
		return d.VehicleID
	}
	return ""
}

// View is the vehicle as the API shows it (the contract's vehicle JSON).
type View struct {
	ID         string        `json:"id"`
	DeviceIDs  []string      `json:"device_ids"`
	Position   *PositionView `json:"position"`
	ShipmentID *string       `json:"shipment_id"`
	DriverID   *string       `json:"driver_id"`
	UpdatedAt  time.Time     `json:"updated_at"`
}

// PositionView is a vehicle's last position.
type PositionView struct {
	Lat          float64   `json:"lat"`
	Lon          float64   `json:"lon"`
	Time         time.Time `json:"time"`
	SpeedKph     *float64  `json:"speed_kph"`
	Heading      *float64  `json:"heading,omitempty"`
	OdometerKm   *float64  `json:"odometer_km,omitempty"`
	TemperatureC *float64  `json:"temperature_c,omitempty"`
}

// View renders the state; updatedAt is the stored commit time.
func (st *State) View(updatedAt time.Time) View {
	v := View{ID: st.ID, DeviceIDs: st.DeviceIDs, UpdatedAt: updatedAt.UTC()}
	if v.DeviceIDs == nil {
		v.DeviceIDs = []string{}
	}
	if p := st.Position; p != nil {
		v.Position = &PositionView{
			Lat: p.Data.Lat, Lon: p.Data.Lon, Time: p.Stamp.Time, SpeedKph: p.Data.SpeedKph,
			Heading: p.Data.Heading, OdometerKm: p.Data.OdometerKm, TemperatureC: p.Data.TemperatureC,
		}
	}
	if a := st.Assignment; a != nil {
		v.ShipmentID, v.DriverID = &a.ShipmentID, &a.DriverID
	}
	return v
}
