package workflow

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/telemetry"
)

// Case codes crossdock opens itself; a POD exception opens a case with the
// exception's own code (damaged, refused, …).
const (
	CodeMissingSignature = "missing_signature"
	CodeLocationMismatch = "pod_location_mismatch"
	CodeShortage         = "shortage"
	CodeLateArrival      = "late_arrival"
	CodePODOverdue       = "pod_overdue"
)

// CodeInfo describes a case code.
type CodeInfo struct {
	// Blocking cases put billing on hold while they are open.
	Blocking    bool
	Description string
}

// Codes are the known case codes. A code not listed (a POD exception code
// a driver app invents) blocks billing: an unknown exception is treated as
// a reason to look before invoicing.
var Codes = map[string]CodeInfo{
	CodeMissingSignature:                            {true, "Proof of delivery without a signer's name"},
	CodeLocationMismatch:                            {true, "Proof of delivery taken outside the stop's geofence"},
	CodeShortage:                                    {true, "Fewer pieces delivered than ordered"},
	"damaged":                                       {true, "Goods reported damaged at delivery"},
	"refused":                                       {true, "Delivery refused by the consignee"},
	canonical.ExceptionTemperature:                  {true, "Cargo temperature outside the order's range"},
	canonical.ExceptionRouteDeviation:               {false, "Vehicle off its planned route"},
	"late_arrival":                                  {false, "Stop reached after its window"},
	"pod_overdue":                                   {false, "No proof of delivery long after arrival"},
	"no_rate_card":                                  {true, "No rate card matches the customer"},
	ReconciliationPrefix + "missing_in_erp":         {false, "Reconciliation: a posted invoice the ERP does not hold"},
	ReconciliationPrefix + "amount_mismatch":        {false, "Reconciliation: the ERP holds the invoice with another amount"},
	ReconciliationPrefix + "stuck_ready":            {false, "Reconciliation: an invoice ready but not posted for too long"},
	ReconciliationPrefix + "delivered_not_invoiced": {false, "Reconciliation: delivered, due for billing, but never invoiced"},
	ReconciliationPrefix + "distance_changed_after_invoice": {false, "Reconciliation: the measured distance moved after invoicing"},
	ReconciliationPrefix + "duplicate_pod":                  {false, "Reconciliation: a stop with more than one proof of delivery"},
	ReconciliationPrefix + "inferred_departure":             {false, "Reconciliation: a pickup delivered from without a departure"},
	"unpriced_accessorial":                                  {true, "An accessorial was requested that the rate card does not price"},
}

// ReconciliationPrefix starts the codes of the cases reconciliation
// findings open; they never hold billing.
const ReconciliationPrefix = "reconciliation_"

// Blocking reports whether an open case with code holds billing.
func Blocking(code string) bool {
	if strings.HasPrefix(code, ReconciliationPrefix) {
		return false
	}
	if c, ok := Codes[code]; ok {
		return c.Blocking
	}
	return true
}

// Case is a case the facts call for.
type Case struct {
	ID       string    // deterministic: the same facts give the same id
	Code     string    // what is wrong
	StopID   string    // the stop it concerns; "" for the whole shipment
	Detail   string    // one line for people
	Cause    string    // "source id" of the report that raised it
	OpenedAt time.Time // the cause's event time
	Blocking bool
	// Resolution is set once the case is resolved.
	Resolution *shipment.ResolutionFact
}

// Open reports whether the case is unresolved.
func (c Case) Open() bool { return c.Resolution == nil }

// Options tune the validation rules.
type Options struct {
	// DefaultRadiusM is a stop's geofence when the order gives none.
	DefaultRadiusM float64
	// PODToleranceM is how far beyond the geofence a POD may be taken
	// before it counts as a location mismatch (GPS on phones is coarse).
	PODToleranceM float64
}

// WithDefaults fills zero options: 200 m radius, 100 m tolerance.
func (o Options) WithDefaults() Options {
	if o.DefaultRadiusM <= 0 {
		o.DefaultRadiusM = 200
	}
	if o.PODToleranceM <= 0 {
		o.PODToleranceM = 100
	}
	return o
}

// caseNamespace makes case ids (UUID v5) from their identifying facts.
var caseNamespace = uuid.MustParse("6c5b1c3e-6f0e-4b7e-9a55-0d6f1b0b9c21")

func caseID(shipmentID, code, stopID, cause string) string {
	return uuid.NewSHA1(caseNamespace, []byte(shipmentID+"\x00"+code+"\x00"+stopID+"\x00"+cause)).String()
}

// Cases returns the cases the facts of st call for, ordered by (OpenedAt,
// ID). A POD is validated once the order is known: against its stop's
// location and radius, the order's pieces and its own signer and
// exceptions. Only the POD the status model kept for a stop counts, so a
// better POD supersedes the cases of the one it replaced.
//
// A cancelled shipment calls for no cases: its open ones are cancelled.
func Cases(st *shipment.State, o Options) []Case {
	if st.Cancelled != nil {
		return nil
	}
	o = o.WithDefaults()
	var out []Case
	add := func(code, stopID, detail string, cause shipment.Stamp) {
		c := Case{
			ID: caseID(st.ID, code, stopID, cause.Source+" "+cause.ID), Code: code, StopID: stopID, Detail: detail,
			Cause: cause.Source + " " + cause.ID, OpenedAt: cause.Time, Blocking: Blocking(code),
		}
		if r, ok := st.Flow.Resolutions[c.ID]; ok {
			c.Resolution = &r
		}
		out = append(out, c)
	}
	if st.Order != nil {
		podCases(st, o, add)
		lateArrivals(st, add)
		timerCases(st, add)
	}
	for _, key := range sortedKeys(st.Flow.Exceptions) {
		e := st.Flow.Exceptions[key]
		add(e.Data.Code, e.Data.StopID, e.Data.Detail, e.Stamp)
	}
	for _, key := range sortedKeys(st.Flow.RatingIssues) {
		r := st.Flow.RatingIssues[key]
		add(r.Code, "", r.Detail, shipment.Stamp{Time: r.At, Source: "crossdock/workflow", ID: "rating " + key})
	}
	slices.SortFunc(out, func(a, b Case) int {
		if c := a.OpenedAt.Compare(b.OpenedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func podCases(st *shipment.State, o Options, add func(code, stopID, detail string, cause shipment.Stamp)) {
	order := st.Order.Data
	delivered, podsWithPieces, allPODs := 0, 0, true
	var last shipment.Stamp
	for _, stop := range order.Stops {
		s := st.Stops[stop.ID]
		if s == nil || s.Completed == nil {
			if stop.Type == canonical.StopDelivery {
				allPODs = false
			}
			continue
		}
		pod := s.Completed
		if last.Before(pod.Stamp) {
			last = pod.Stamp
		}
		d := pod.Data
		if strings.TrimSpace(d.SignedBy) == "" {
			add(CodeMissingSignature, stop.ID, "POD for stop "+stop.ID+" has no signer's name", pod.Stamp)
		}
		radius := stop.Location.RadiusM
		if radius <= 0 {
			radius = o.DefaultRadiusM
		}
		if m := 1000 * telemetry.HaversineKm(d.Location.Lat, d.Location.Lon, stop.Location.Lat, stop.Location.Lon); m > radius+o.PODToleranceM {
			add(CodeLocationMismatch, stop.ID, fmt.Sprintf("POD for stop %s taken %.0f m from the stop (geofence %.0f m + %.0f m tolerance)",
				stop.ID, m, radius, o.PODToleranceM), pod.Stamp)
		}
		for _, x := range d.Exceptions {
			detail := "POD for stop " + stop.ID + " reports " + x.Code
			if x.Note != "" {
				detail += ": " + x.Note
			}
			add(x.Code, stop.ID, detail, pod.Stamp)
		}
		if d.Pieces != nil {
			delivered += *d.Pieces
			podsWithPieces++
		}
	}
	// Pieces are counted once every delivery stop has its POD: before that
	// a partial delivery is not a shortage yet.
	if order.Pieces != nil && allPODs && podsWithPieces > 0 && delivered < *order.Pieces {
		add(CodeShortage, "", fmt.Sprintf("%d of %d pieces delivered", delivered, *order.Pieces), last)
	}
}

// lateArrivals opens a late_arrival case for each stop reached after its
// window closed (operational: it does not block billing).
func lateArrivals(st *shipment.State, add func(code, stopID, detail string, cause shipment.Stamp)) {
	for _, stop := range st.Order.Data.Stops {
		f := st.Stops[stop.ID]
		if stop.Window == nil || f == nil || f.Arrived == nil || !f.Arrived.Time.After(stop.Window.To) {
			continue
		}
		late := f.Arrived.Time.Sub(stop.Window.To).Round(time.Minute)
		add(CodeLateArrival, stop.ID, fmt.Sprintf("arrived at stop %s %s after its window closed at %s", stop.ID, late,
			stop.Window.To.UTC().Format("15:04 MST")), *f.Arrived)
	}
}

// timerCases are what the SLA timers found: a stop still without its POD
// long after the arrival (pod_overdue) and a stop not reached when its
// window closed (late_arrival). Each lasts only while its condition does:
// the POD, or the arrival, supersedes it.
func timerCases(st *shipment.State, add func(code, stopID, detail string, cause shipment.Stamp)) {
	for _, stop := range sortedKeys(st.Flow.Overdue) {
		if f := st.Stops[stop]; f != nil && f.Completed != nil {
			continue
		}
		at := st.Flow.Overdue[stop]
		add(CodePODOverdue, stop, "no proof of delivery for stop "+stop+" since its arrival",
			shipment.Stamp{Time: at, Source: "crossdock/workflow", ID: "pod_overdue " + stop})
	}
	for _, stop := range sortedKeys(st.Flow.Missed) {
		if f := st.Stops[stop]; f != nil && f.Arrived != nil {
			continue
		}
		at := st.Flow.Missed[stop]
		add(CodeLateArrival, stop, "stop "+stop+" not reached when its window closed",
			shipment.Stamp{Time: at, Source: "crossdock/workflow", ID: "missed " + stop})
	}
}

// OnHold reports whether any open case in cases blocks billing.
func OnHold(cases []Case) bool {
	for _, c := range cases {
		if c.Open() && c.Blocking {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Region names the area of a point coarsely enough to group cases for a
// dashboard: a one-degree cell, e.g. "N50E008" (Frankfurt) or "S34W059".
func Region(lat, lon float64) string {
	ns, ew := 'N', 'E'
	if lat < 0 {
		ns, lat = 'S', -lat
	}
	if lon < 0 {
		ew, lon = 'W', -lon
	}
	return fmt.Sprintf("%c%02d%c%03d", ns, int(lat), ew, int(lon))
}
