package shipment

import (
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
)

// Flow is the part of the state package workflow owns: facts that are not
// milestones but decide cases and billing. Like every fact they merge in
// an order that does not depend on arrival.
type Flow struct {
	// Exceptions are the business exceptions reported for the shipment
	// (shipment.exception: temperature excursions, route deviations), by
	// "source id" of the report.
	Exceptions map[string]ExceptionFact `json:"exceptions,omitempty"`
	// Resolutions are case resolutions by case id; the earliest wins.
	Resolutions map[string]ResolutionFact `json:"resolutions,omitempty"`
	// OnHold is true while a case that blocks billing is open; package
	// workflow sets it after every change.
	OnHold bool `json:"on_hold,omitempty"`
	// RatingIssues are problems a rating attempt ran into (no rate card,
	// an accessorial without a price), by "code at time"; each opens a case.
	RatingIssues map[string]RatingIssue `json:"rating_issues,omitempty"`
	// Invoice is set once the shipment is invoiced; it never changes after.
	Invoice *InvoiceFact `json:"invoice,omitempty"`
	// Timers are the workflow timers scheduled for the shipment, by job
	// key, with their due time: what is in the jobs table, so a change
	// writes only timers that moved.
	Timers map[string]time.Time `json:"timers,omitempty"`
	// Overdue are stops whose POD had not come when the POD-overdue timer
	// fired, with when it fired.
	Overdue map[string]time.Time `json:"overdue,omitempty"`
	// Missed are stops not reached when their window closed, with when the
	// timer found it.
	Missed map[string]time.Time `json:"missed,omitempty"`
}

// RatingIssue is a reason a rating attempt could not invoice.
type RatingIssue struct {
	Code   string    `json:"code"`
	Detail string    `json:"detail"`
	At     time.Time `json:"at"` // when the attempt ran
}

// InvoiceFact records the shipment's invoice.
type InvoiceFact struct {
	ID       string    `json:"id"`
	At       time.Time `json:"at"`
	Currency string    `json:"currency"`
	Total    string    `json:"total"`
}

// ExceptionFact is one shipment.exception report.
type ExceptionFact struct {
	Stamp Stamp                       `json:"stamp"`
	Data  canonical.ShipmentException `json:"data"`
}

// ResolutionFact records who resolved a case, when and why.
type ResolutionFact struct {
	At         time.Time `json:"at"`
	By         string    `json:"by"`
	Resolution string    `json:"resolution"`
	Note       string    `json:"note,omitempty"`
}

// applyException records a shipment.exception report.
func (st *State) applyException(stamp Stamp, d *canonical.ShipmentException) bool {
	key := stamp.Source + " " + stamp.ID
	if _, ok := st.Flow.Exceptions[key]; ok {
		return false
	}
	if st.Flow.Exceptions == nil {
		st.Flow.Exceptions = make(map[string]ExceptionFact)
	}
	st.Flow.Exceptions[key] = ExceptionFact{Stamp: stamp, Data: *d}
	return true
}

// Resolve records the resolution of case id; a case already resolved keeps
// its first resolution and Resolve reports false.
func (st *State) Resolve(id string, r ResolutionFact) bool {
	if _, ok := st.Flow.Resolutions[id]; ok {
		return false
	}
	if st.Flow.Resolutions == nil {
		st.Flow.Resolutions = make(map[string]ResolutionFact)
	}
	st.Flow.Resolutions[id] = r
	return true
}
