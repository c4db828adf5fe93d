package x12

// Event types produced by Translate (the hub's canonical types).
const (
	TypeOrderReleased     = "order.released"
	TypeShipmentMilestone = "shipment.milestone"
	TypeDeliveryCompleted = "delivery.completed"
	TypeShipmentCancelled = "shipment.cancelled"
	TypeTenderResponded   = "tender.responded"
)

// Milestone codes of shipment.milestone.
const (
	MilestoneDeparted  = "departed"
	MilestoneArrived   = "arrived"
	MilestoneDelayed   = "delayed"
	MilestoneInTransit = "in_transit"
)

// AT7Mapping says what one AT7 shipment status code (AT701, DE 1650)
// becomes.
type AT7Mapping struct {
	Meaning   string // the code's X12 meaning
	Type      string // TypeShipmentMilestone, TypeDeliveryCompleted or TypeShipmentCancelled
	Milestone string // the milestone code, for TypeShipmentMilestone
	Reason    string // the reason text; the AT702 reason, when not "normal", is appended
	// Estimate marks codes whose AT705/AT706 are a forecast, not the time
	// of the status: the event is timed at the group's date and time and
	// the forecast goes into the reason.
	Estimate bool
}

// AT7Codes maps the AT701 status codes crossdock translates. Only codes
// with an unambiguous arrival, departure, en-route, delay, delivery or
// cancellation meaning are listed; any other code is reported as an
// element error (AK403 7) and its status is not translated. Treat the map
// as read-only.
var AT7Codes = map[string]AT7Mapping{
	"X3": {Meaning: "Arrived at Pick-up Location", Type: TypeShipmentMilestone, Milestone: MilestoneArrived},
	"X8": {Meaning: "Arrived at Pick-up Location Loading Dock", Type: TypeShipmentMilestone, Milestone: MilestoneArrived},
	"AF": {Meaning: "Carrier Departed Pick-up Location with Shipment", Type: TypeShipmentMilestone, Milestone: MilestoneDeparted},
	"X1": {Meaning: "Arrived at Delivery Location", Type: TypeShipmentMilestone, Milestone: MilestoneArrived},
	"X5": {Meaning: "Arrived at Delivery Location Loading Dock", Type: TypeShipmentMilestone, Milestone: MilestoneArrived},
	"CD": {Meaning: "Carrier Departed Delivery Location", Type: TypeShipmentMilestone, Milestone: MilestoneDeparted},
	"D1": {Meaning: "Completed Unloading at Delivery Location", Type: TypeDeliveryCompleted},
	"X6": {Meaning: "En Route to Delivery Location", Type: TypeShipmentMilestone, Milestone: MilestoneInTransit, Reason: "en route to delivery location"},
	"X4": {Meaning: "Arrived at Terminal Location", Type: TypeShipmentMilestone, Milestone: MilestoneInTransit, Reason: "arrived at terminal location"},
	"P1": {Meaning: "Departed Terminal Location", Type: TypeShipmentMilestone, Milestone: MilestoneInTransit, Reason: "departed terminal location"},
	"I1": {Meaning: "In-Gate", Type: TypeShipmentMilestone, Milestone: MilestoneInTransit, Reason: "in-gate"},
	"OA": {Meaning: "Out-Gate", Type: TypeShipmentMilestone, Milestone: MilestoneInTransit, Reason: "out-gate"},
	"R1": {Meaning: "Received from Prior Carrier", Type: TypeShipmentMilestone, Milestone: MilestoneInTransit, Reason: "received from prior carrier"},
	"J1": {Meaning: "Delivered to Connecting Line", Type: TypeShipmentMilestone, Milestone: MilestoneInTransit, Reason: "delivered to connecting line"},
	"AR": {Meaning: "Rail Arrival at Destination Intermodal Ramp", Type: TypeShipmentMilestone, Milestone: MilestoneInTransit, Reason: "rail arrival at destination intermodal ramp"},
	"RL": {Meaning: "Rail Departure from Origin Intermodal Ramp", Type: TypeShipmentMilestone, Milestone: MilestoneInTransit, Reason: "rail departure from origin intermodal ramp"},
	"AV": {Meaning: "Available for Delivery", Type: TypeShipmentMilestone, Milestone: MilestoneInTransit, Reason: "available for delivery"},
	"AG": {Meaning: "Estimated Delivery", Type: TypeShipmentMilestone, Milestone: MilestoneInTransit, Reason: "estimated delivery", Estimate: true},
	"X2": {Meaning: "Estimated Date and/or Time of Arrival at Consignee's Location", Type: TypeShipmentMilestone, Milestone: MilestoneInTransit, Reason: "estimated arrival at consignee", Estimate: true},
	"B6": {Meaning: "Estimated to Arrive at Carrier Terminal", Type: TypeShipmentMilestone, Milestone: MilestoneInTransit, Reason: "estimated arrival at carrier terminal", Estimate: true},
	"C1": {Meaning: "Estimated to Depart Terminal Location", Type: TypeShipmentMilestone, Milestone: MilestoneInTransit, Reason: "estimated departure from terminal", Estimate: true},
	"SD": {Meaning: "Shipment Delayed", Type: TypeShipmentMilestone, Milestone: MilestoneDelayed, Reason: "shipment delayed"},
	"AH": {Meaning: "Attempted Delivery", Type: TypeShipmentMilestone, Milestone: MilestoneDelayed, Reason: "attempted delivery"},
	"AP": {Meaning: "Delivery Not Completed", Type: TypeShipmentMilestone, Milestone: MilestoneDelayed, Reason: "delivery not completed"},
	"A7": {Meaning: "Refused by Consignee", Type: TypeShipmentMilestone, Milestone: MilestoneDelayed, Reason: "refused by consignee"},
	"CA": {Meaning: "Shipment Cancelled", Type: TypeShipmentCancelled, Reason: "shipment cancelled"},
}

// AppointmentCodes are the AT703 appointment status codes (DE 1652)
// crossdock recognises. An appointment is a plan, not a milestone: a
// recognised appointment status produces no event and no error (an
// in_transit milestone would wrongly mark the shipment as moving). Any
// other AT703 code is reported as an element error (AK403 7).
var AppointmentCodes = map[string]string{
	"AA": "Pick-up Appointment Date and/or Time",
	"AB": "Delivery Appointment Date and/or Time",
}

// reasonCodes names common AT702 status reason codes (DE 1651) for the
// reason text of delays.
var reasonCodes = map[string]string{
	"A1": "missed delivery",
	"A2": "incorrect address",
	"A5": "unable to locate",
	"AD": "customer requested future delivery",
	"AG": "consignee related",
	"AH": "driver related",
	"AI": "mechanical breakdown",
	"AJ": "other carrier related",
	"AL": "previous stop",
	"AM": "shipper related",
	"AN": "holiday - closed",
	"AO": "weather or natural disaster related",
	"AQ": "recipient unavailable - delivery delayed",
	"AW": "past cut-off time",
	"AX": "insufficient pick-up time",
	"AY": "missed pick-up",
	"B1": "consignee closed",
	"BB": "held per shipper",
	"BC": "missing documents",
	"BD": "border clearance",
	"BE": "road conditions",
	"BH": "insufficient time to complete delivery",
	"BS": "refused by customer",
}

// normalReasons are AT702 codes that add nothing to a reason.
var normalReasons = map[string]bool{"NS": true, "NA": true}
