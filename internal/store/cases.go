package store

import (
	"context"
	"time"
)

// CaseRecord is a case as the cases projection keeps it: what the
// workflow opened (Code, StopID, Detail, Cause, OpenedAt, Blocking),
// copies of the shipment's filter fields, and what people did with it.
type CaseRecord struct {
	ID         string
	ShipmentID string
	Code       string
	StopID     string
	Detail     string
	Cause      string // "source id" of the report that raised it
	Blocking   bool
	Status     string // "open", "resolved", "superseded" or "cancelled"
	OpenedAt   time.Time
	ClosedAt   time.Time // resolved or superseded; zero while open
	ResolvedBy string
	Resolution string
	Note       string
	Assignee   string
	CustomerID string
	Carrier    string // the assigned vehicle's carrier or the tender's, "" if unknown
	Region     string // from the stop's location (a country or area code), "" if unknown
	Comments   []byte // JSON array of {at, by, text}
	UpdatedAt  time.Time
}

// Case statuses.
const (
	CaseOpen       = "open"
	CaseResolved   = "resolved"
	CaseSuperseded = "superseded"
	CaseCancelled  = "cancelled" // the shipment was cancelled while the case was open
)

// CaseFilter selects cases, oldest opened first.
type CaseFilter struct {
	ShipmentID   string
	Code         string
	Status       string
	CustomerID   string
	Carrier      string
	Region       string
	OpenedBefore time.Time // zero: no bound (age filter: opened before now − age)
	After        *CaseCursor
	Limit        int // 1..1000
}

// CaseCursor is the position after which a case page starts.
type CaseCursor struct {
	OpenedAt time.Time
	ID       string
}

// CaseStore reads and annotates cases; the writer puts them (Tx.PutCases).
type CaseStore interface {
	Case(ctx context.Context, id string) (CaseRecord, error) // ErrNotFound
	Cases(ctx context.Context, f CaseFilter) ([]CaseRecord, error)
	// AnnotateCase sets the assignee (when assignee is not nil) and appends
	// a comment (when comment is not nil) outside the writer's
	// transactions: neither changes what the workflow decides.
	AnnotateCase(ctx context.Context, id string, assignee *string, comment []byte, at time.Time) (CaseRecord, error)
}
