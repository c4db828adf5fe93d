package canonical

import (
	"encoding/json"
	"time"
)

// SpecVersion is the only CloudEvents version crossdock accepts.
const SpecVersion = "1.0"

// Event types of the contract (v1). Inbound types may be posted by anyone
// holding events:write; derived types are produced by crossdock itself.
const (
	TypeOrderReleased         = "order.released"
	TypeRouteAssigned         = "route.assigned"
	TypeShipmentMilestone     = "shipment.milestone"
	TypeDeliveryCompleted     = "delivery.completed"
	TypeShipmentCancelled     = "shipment.cancelled"
	TypeTelemetryPosition     = "telemetry.position"
	TypeFuelPurchased         = "fuel.purchased"
	TypeTenderResponded       = "tender.responded"
	TypeShipmentStatusChanged = "shipment.status_changed"
)

// Event is a CloudEvents 1.0 event in structured JSON mode, with the
// crossdock extension attributes correlationid and causationid.
//
// Data stays raw until Decode turns it into the typed struct of Type; the
// raw bytes are what is stored, so an event round-trips byte for byte.
type Event struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	CorrelationID   string          `json:"correlationid,omitempty"`
	CausationID     string          `json:"causationid,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// Location is a stop's place: an id, a point and the geofence radius.
type Location struct {
	ID      string  `json:"id,omitempty"`
	Lat     float64 `json:"lat"`
	Lon     float64 `json:"lon"`
	RadiusM float64 `json:"radius_m,omitempty"`
}

// Point is a bare coordinate pair.
type Point struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Window is a time window for a stop.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Stop types.
const (
	StopPickup   = "pickup"
	StopDelivery = "delivery"
)

// Stop is one stop of an order.
type Stop struct {
	ID       string   `json:"id"`
	Type     string   `json:"type"`
	Location Location `json:"location"`
	Window   *Window  `json:"window,omitempty"`
}

// OrderReleased is the data of order.released (subject: shipment id).
type OrderReleased struct {
	OrderID      string            `json:"order_id"`
	CustomerID   string            `json:"customer_id"`
	Stops        []Stop            `json:"stops"`
	Accessorials []string          `json:"accessorials,omitempty"`
	WeightKg     *float64          `json:"weight_kg,omitempty"`
	Pieces       *int              `json:"pieces,omitempty"`
	References   map[string]string `json:"references,omitempty"`
}

// RouteAssigned is the data of route.assigned (subject: shipment id).
type RouteAssigned struct {
	VehicleID        string     `json:"vehicle_id"`
	DriverID         string     `json:"driver_id"`
	PlannedDeparture *time.Time `json:"planned_departure,omitempty"`
}

// Milestone codes.
const (
	MilestoneDeparted  = "departed"
	MilestoneArrived   = "arrived"
	MilestoneDelayed   = "delayed"
	MilestoneInTransit = "in_transit"
)

// ShipmentMilestone is the data of shipment.milestone (subject: shipment id).
type ShipmentMilestone struct {
	Code     string `json:"code"`
	StopID   string `json:"stop_id,omitempty"`
	Location *Point `json:"location,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// PODException is one exception noted on a proof of delivery.
type PODException struct {
	Code string `json:"code"`
	Note string `json:"note,omitempty"`
}

// DeliveryCompleted is the data of delivery.completed (subject: shipment id):
// a proof of delivery for one stop.
type DeliveryCompleted struct {
	StopID     string         `json:"stop_id"`
	SignedBy   string         `json:"signed_by"`
	Signature  string         `json:"signature,omitempty"`
	Location   Point          `json:"location"`
	Pieces     *int           `json:"pieces,omitempty"`
	Exceptions []PODException `json:"exceptions,omitempty"`
}

// ShipmentCancelled is the data of shipment.cancelled (subject: shipment id).
type ShipmentCancelled struct {
	Reason string `json:"reason,omitempty"`
}

// TelemetryPosition is the data of telemetry.position (subject: vehicle id).
type TelemetryPosition struct {
	Lat          float64  `json:"lat"`
	Lon          float64  `json:"lon"`
	SpeedKph     *float64 `json:"speed_kph,omitempty"`
	Heading      *float64 `json:"heading,omitempty"`
	OdometerKm   *float64 `json:"odometer_km,omitempty"`
	TemperatureC *float64 `json:"temperature_c,omitempty"`
}

// FuelPurchased is the data of fuel.purchased (subject: vehicle id).
// Amount is a decimal string ("84.20"), never a float.
type FuelPurchased struct {
	Liters   float64  `json:"liters"`
	Amount   Decimal  `json:"amount"`
	Currency string   `json:"currency"`
	Lat      *float64 `json:"lat,omitempty"`
	Lon      *float64 `json:"lon,omitempty"`
	Station  string   `json:"station,omitempty"`
}

// Tender responses.
const (
	TenderAccepted    = "accepted"
	TenderDeclined    = "declined"
	TenderConditional = "conditional"
)

// TenderResponded is the data of tender.responded (subject: shipment id).
type TenderResponded struct {
	Carrier  string `json:"carrier"`
	Response string `json:"response"`
	Reason   string `json:"reason,omitempty"`
}

// StatusChanged is the data of the derived shipment.status_changed event.
type StatusChanged struct {
	From string `json:"from"`
	To   string `json:"to"`
}
