package reconcile

import (
	"time"
)

// Kinds of run.
const (
	KindInvoices  = "invoices"
	KindShipments = "shipments"
	KindFuel      = "fuel"
)

// Kinds lists the kinds of run in the order a nightly schedule runs them.
var Kinds = []string{KindInvoices, KindShipments, KindFuel}

// Finding codes.
const (
	// invoices
	CodeMissingInERP   = "missing_in_erp"
	CodeAmountMismatch = "amount_mismatch"
	CodeUnknownInHub   = "unknown_in_hub"
	CodeStuckReady     = "stuck_ready"
	// shipments
	CodeDeliveredNotInvoiced = "delivered_not_invoiced"
	CodeDistanceChanged      = "distance_changed_after_invoice"
	CodeDuplicatePOD         = "duplicate_pod"
	CodeInferredDeparture    = "inferred_departure"
	// fuel
	CodeFuelFarFromVehicle = "fuel_far_from_vehicle"
	CodeConsumptionOutlier = "consumption_outlier"
)

// Finding is one discrepancy. At least one of ShipmentID, InvoiceID and
// VehicleID names what it is about.
type Finding struct {
	Code       string
	ShipmentID string
	InvoiceID  string
	VehicleID  string
	// Key tells apart findings of one code about the same subjects (the
	// fuel purchase's event id); "" when there is one at most.
	Key    string
	Detail string         // one line for people
	Data   map[string]any // the figures behind it, shown as JSON
	// At is when the discrepancy arose (the purchase, the invoice); zero
	// for the run's time.
	At time.Time
}
