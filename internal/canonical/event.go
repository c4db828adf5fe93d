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
	TypeShipmentException     = "shipment.exception"
)

// Exception codes crossdock derives from telemetry.
const (
	ExceptionTemperature    = "temperature_excursion"
	ExceptionRouteDeviation = "route_deviation"
)

// Event is a CloudEvents 1.0 event in structured JSON mode, with the
// crossdock extension attributes correlationid and causationid.
//
// Data holds the data member exactly as it was sent; ParseEvent and
// DecodeData turn it into the typed struct of Type. The raw bytes are what
// is stored, so an event round-trips byte for byte.
type Event struct {
	SpecVersion     string          `json:"specversion"`               // always "1.0"
	ID              string          `json:"id"`                        // unique per Source: (Source, ID) is the idempotency key
	Source          string          `json:"source"`                    // who emitted it; crossdock/… for derived events
	Type            string          `json:"type"`                      // one of the Type… constants
	Subject         string          `json:"subject"`                   // shipment id, or vehicle id (see ShipmentSubject)
	Time            time.Time       `json:"time"`                      // when it happened, not when it was sent
	DataContentType string          `json:"datacontenttype,omitempty"` // application/json when set
	CorrelationID   string          `json:"correlationid,omitempty"`   // shared by everything one business flow causes
	CausationID     string          `json:"causationid,omitempty"`     // id of the event that caused this one
	Data            json.RawMessage `json:"data"`                      // the data member as sent (a JSON object)
}

// Location is a stop's place: an id, a point and the geofence radius.
type Location struct {
	ID      string  `json:"id,omitempty"`       // address id in the ordering system, optional
	Lat     float64 `json:"lat"`                // degrees, WGS 84
	Lon     float64 `json:"lon"`                // degrees, WGS 84
	RadiusM float64 `json:"radius_m,omitempty"` // geofence radius in metres, 0..50000; 0: not given
}

// Point is a bare coordinate pair.
type Point struct {
	Lat float64 `json:"lat"` // degrees, WGS 84, -90..90
	Lon float64 `json:"lon"` // degrees, WGS 84, -180..180
}

// Window is a time window for a stop.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"` // not before From
}

// Stop types.
const (
	StopPickup   = "pickup"
	StopDelivery = "delivery"
)

// Stop is one stop of an order.
type Stop struct {
	ID       string   `json:"id"`               // unique within the order
	Type     string   `json:"type"`             // StopPickup or StopDelivery
	Location Location `json:"location"`         // where, and its geofence
	Window   *Window  `json:"window,omitempty"` // agreed time window, optional
}

// OrderReleased is the data of order.released (subject: shipment id).
type OrderReleased struct {
	OrderID      string            `json:"order_id"`               // id in the ordering system
	CustomerID   string            `json:"customer_id"`            // picks the rate card
	Stops        []Stop            `json:"stops"`                  // route order; at least one delivery
	Accessorials []string          `json:"accessorials,omitempty"` // requested service codes (liftgate, …)
	WeightKg     *float64          `json:"weight_kg,omitempty"`    // gross weight in kg, nil if not given
	Pieces       *int              `json:"pieces,omitempty"`       // nil if not given
	References   map[string]string `json:"references,omitempty"`   // free reference numbers (PO, BOL, …) by name
	Temperature  *TemperatureRange `json:"temperature,omitempty"`  // cargo temperature to keep (reefer), nil if none
}

// TemperatureRange is the cargo temperature an order requires, in °C;
// MinC is not above MaxC.
type TemperatureRange struct {
	MinC float64 `json:"min_c"`
	MaxC float64 `json:"max_c"`
}

// LineString is a GeoJSON LineString: Coordinates are [lon, lat] pairs
// (GeoJSON order), at least two.
type LineString struct {
	Type        string       `json:"type"` // always "LineString"
	Coordinates [][2]float64 `json:"coordinates"`
}

// RouteAssigned is the data of route.assigned (subject: shipment id).
type RouteAssigned struct {
	VehicleID        string      `json:"vehicle_id"`
	DriverID         string      `json:"driver_id"`
	PlannedDeparture *time.Time  `json:"planned_departure,omitempty"` // nil if not given
	Route            *LineString `json:"route,omitempty"`             // planned route; nil if not given
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
	Code     string `json:"code"`               // one of the Milestone… constants
	StopID   string `json:"stop_id,omitempty"`  // the stop, if the milestone is at one
	Location *Point `json:"location,omitempty"` // where it was reported, optional
	Reason   string `json:"reason,omitempty"`   // free text, at most 1000 characters
}

// PODException is one exception noted on a proof of delivery.
type PODException struct {
	Code string `json:"code"`           // e.g. damaged, short; opens a case with this code
	Note string `json:"note,omitempty"` // free text
}

// DeliveryCompleted is the data of delivery.completed (subject: shipment id):
// a proof of delivery for one stop.
type DeliveryCompleted struct {
	StopID     string         `json:"stop_id"`
	SignedBy   string         `json:"signed_by"`            // may be empty: opens a missing_signature case, not an error
	Signature  string         `json:"signature,omitempty"`  // signature image or a reference to it
	Location   Point          `json:"location"`             // where the POD was taken
	Pieces     *int           `json:"pieces,omitempty"`     // pieces delivered, nil if not given
	Exceptions []PODException `json:"exceptions,omitempty"` // each opens a case
}

// ShipmentCancelled is the data of shipment.cancelled (subject: shipment id).
type ShipmentCancelled struct {
	Reason string `json:"reason,omitempty"` // free text
}

// TelemetryPosition is the data of telemetry.position (subject: vehicle id).
type TelemetryPosition struct {
	Lat          float64  `json:"lat"`                     // degrees, WGS 84
	Lon          float64  `json:"lon"`                     // degrees, WGS 84
	SpeedKph     *float64 `json:"speed_kph,omitempty"`     // km/h; nil when absent, as for the others
	Heading      *float64 `json:"heading,omitempty"`       // degrees clockwise from north, 0..360
	OdometerKm   *float64 `json:"odometer_km,omitempty"`   // km
	TemperatureC *float64 `json:"temperature_c,omitempty"` // cargo (reefer) temperature, °C, -100..100
	AltitudeM    *float64 `json:"altitude_m,omitempty"`    // metres above sea level, -1000..20000
	AccuracyM    *float64 `json:"accuracy_m,omitempty"`    // horizontal accuracy, metres
	BatteryPct   *float64 `json:"battery_pct,omitempty"`   // tracker battery, 0..100
}

// FuelPurchased is the data of fuel.purchased (subject: vehicle id).
// Amount is a decimal string ("84.20"), never a float.
type FuelPurchased struct {
	Liters   float64  `json:"liters"`            // more than 0
	Amount   Decimal  `json:"amount"`            // amount paid
	Currency string   `json:"currency"`          // ISO 4217, e.g. EUR
	Lat      *float64 `json:"lat,omitempty"`     // station position; both or neither
	Lon      *float64 `json:"lon,omitempty"`     // station position; both or neither
	Station  string   `json:"station,omitempty"` // station name
}

// Tender responses.
const (
	TenderAccepted    = "accepted"
	TenderDeclined    = "declined"
	TenderConditional = "conditional"
)

// TenderResponded is the data of tender.responded (subject: shipment id).
type TenderResponded struct {
	Carrier  string `json:"carrier"`          // the carrier's id (SCAC or partner id)
	Response string `json:"response"`         // one of the Tender… constants
	Reason   string `json:"reason,omitempty"` // free text or conditions
}

// StatusChanged is the data of the derived shipment.status_changed event.
type StatusChanged struct {
	From string `json:"from"` // previous status; "" for the first
	To   string `json:"to"`   // new status
}

// ShipmentException is the data of the derived shipment.exception event: a
// business exception found by crossdock (package workflow turns it into a
// case). The optional members depend on the code.
type ShipmentException struct {
	Code      string     `json:"code"`                 // ExceptionTemperature, ExceptionRouteDeviation, …
	Detail    string     `json:"detail"`               // one human-readable line
	VehicleID string     `json:"vehicle_id,omitempty"` // the vehicle whose readings showed it
	StopID    string     `json:"stop_id,omitempty"`
	Since     *time.Time `json:"since,omitempty"`     // when the condition began
	ReadingC  *float64   `json:"reading_c,omitempty"` // temperature_excursion: the reading that raised it
	MinC      *float64   `json:"min_c,omitempty"`     // temperature_excursion: the order's range
	MaxC      *float64   `json:"max_c,omitempty"`
	DistanceM *float64   `json:"distance_m,omitempty"` // route_deviation: distance from the planned route
	Location  *Point     `json:"location,omitempty"`   // where the vehicle was
}
