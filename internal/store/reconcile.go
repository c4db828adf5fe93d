package store

import (
	"context"
	"time"
)

// ReconciliationRecord is one reconciliation run: a check of the hub's
// records of one kind against the ERP or the fleet's data over a period.
type ReconciliationRecord struct {
	ID   string // uuid v7
	Kind string // "invoices", "shipments" or "fuel"
	// From and To bound the period checked: [From, To).
	From, To time.Time
	Status   string // ReconcileRunning, ReconcileDone or ReconcileFailed
	// Trigger says what started it: "api", "cli" or "schedule".
	Trigger string
	// RequestedBy is the API key's name, or "schedule".
	RequestedBy string
	Checked     int64 // records checked so far
	Findings    int64 // findings stored for the run
	Error       string
	StartedAt   time.Time
	FinishedAt  time.Time // zero while running
	UpdatedAt   time.Time
}

// Reconciliation run statuses.
const (
	ReconcileRunning = "running"
	ReconcileDone    = "done"
	ReconcileFailed  = "failed"
)

// FindingRecord is one discrepancy a run found.
type FindingRecord struct {
	RunID string
	// ID identifies the finding within its run and is derived from what
	// it is about (code and subjects), so a run restarted after a crash
	// finds the same ids and stores nothing twice.
	ID         string
	Seq        int64 // assigned on insert, increasing within the store
	Code       string
	ShipmentID string
	InvoiceID  string
	VehicleID  string
	Detail     string // one line for people
	Data       []byte // JSON object with the figures (amounts, km, liters); nil for none
	FoundAt    time.Time
}

// ReconciliationFilter selects runs, newest first (by ID).
type ReconciliationFilter struct {
	Kind   string // "" for every kind
	Status string // "" for every status
	Before string // id cursor: runs with a smaller id
	Limit  int    // 1..1000
}

// FindingFilter selects the findings of one run in Seq order.
type FindingFilter struct {
	RunID    string // required
	Code     string // "" for every code
	AfterSeq int64  // cursor
	Limit    int    // 1..1000
}

// ReconcileStore keeps reconciliation runs and their findings. These are
// writes outside the pipeline's transactions, like the directory's.
type ReconcileStore interface {
	// CreateReconciliation inserts run and enqueues job — the run's work,
	// claimed by one node's scheduler — in one transaction, so a run is
	// never stored without the job that finishes it. A run whose ID
	// exists already is left as it is, and so is its job (a scheduled run
	// created by two nodes at once is created once); the call reports
	// whether it inserted.
	CreateReconciliation(ctx context.Context, run ReconciliationRecord, job JobRecord) (bool, error)
	// Reconciliation reads one run; ErrNotFound when absent.
	Reconciliation(ctx context.Context, id string) (ReconciliationRecord, error)
	// Reconciliations lists runs newest first.
	Reconciliations(ctx context.Context, f ReconciliationFilter) ([]ReconciliationRecord, error)
	// AddFindings stores the findings of run runID, skipping those whose
	// (RunID, ID) is stored already, sets the run's Checked to checked and
	// its Findings to the number stored, in one transaction. It reports
	// which of fs were new (in the order given). ErrNotFound when the run
	// is absent.
	AddFindings(ctx context.Context, runID string, fs []FindingRecord, checked int64, now time.Time) ([]FindingRecord, error)
	// FinishReconciliation settles a running run as done or failed (with
	// errText) and its final Checked. A run that is not running is left
	// alone and the call reports false.
	FinishReconciliation(ctx context.Context, id, status, errText string, checked int64, now time.Time) (bool, error)
	// Findings lists a run's findings in Seq order.
	Findings(ctx context.Context, f FindingFilter) ([]FindingRecord, error)
	// FindingCounts counts a run's findings by code.
	FindingCounts(ctx context.Context, runID string) (map[string]int64, error)
}
