package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by single-record reads when nothing matches.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned by Tx.AppendEvents when an event the caller
// believed new was inserted meanwhile by another writer (PostgreSQL with
// several nodes). The caller rolls back and runs the batch again.
var ErrConflict = errors.New("concurrent write conflict")

// EventKey is an event's idempotency key.
type EventKey struct {
	Source string
	ID     string
}

// EventRecord is one appended event, inbound or derived.
type EventRecord struct {
	Seq           int64 // assigned by AppendEvents, monotonic
	Source        string
	ID            string
	Type          string
	Subject       string
	ShipmentID    string // shipment whose timeline it belongs to; "" if none
	Time          time.Time
	ReceivedAt    time.Time
	CorrelationID string
	CausationID   string // "source id" of the cause for derived events
	Principal     string // who submitted it (API key name); "" for derived
	Data          []byte // JSON, as received
}

// Key returns the event's idempotency key.
func (e EventRecord) Key() EventKey { return EventKey{Source: e.Source, ID: e.ID} }

// ShipmentRecord is a shipment projection row. State is the projection's
// JSON (owned by package shipment); the other fields are copies of it kept
// as columns for filtering.
type ShipmentRecord struct {
	ID         string
	Visible    bool // false until the order is known; readers skip invisible rows
	Status     string
	CustomerID string
	State      []byte
	UpdatedAt  time.Time
}

// VehicleRecord is a vehicle projection row; State is owned by the pipeline.
type VehicleRecord struct {
	ID        string
	State     []byte
	UpdatedAt time.Time
}

// QuarantineRecord keeps a rejected payload for inspection and replay.
type QuarantineRecord struct {
	ID          string // uuid v7
	ReceivedAt  time.Time
	Source      string // the event's source when it could be read, else the principal
	Principal   string // API key name that sent it
	Reason      string // one line: the first error
	Errors      []byte // JSON array of {field, message}
	ContentType string
	Payload     []byte // exactly as received (may be cut at the body limit)
	Truncated   bool
	ReplayedAt  *time.Time // last replay attempt
	ReplayState string     // "" (never replayed) | "accepted" | "duplicate" | "rejected"
}

// PositionKey is a raw position's idempotency key: one vehicle reports one
// position per instant, whichever device or input it came through.
type PositionKey struct {
	VehicleID string
	Time      time.Time
}

// PositionRecord is one raw position, kept in a compact table apart from
// the events log (it never reaches a connector) and pruned after the
// retention period. The optional readings are nil when not reported.
type PositionRecord struct {
	VehicleID     string
	Time          time.Time
	DeviceID      string // "" for canonical events through the API
	Source        string // the input ("osmand", "teltonika", "mqtt") or the event's source
	EventID       string // the canonical event id, or one derived from device and time
	ReceivedAt    time.Time
	CorrelationID string
	Lat, Lon      float64
	SpeedKph      *float64
	Heading       *float64
	OdometerKm    *float64
	TemperatureC  *float64
	AltitudeM     *float64
	AccuracyM     *float64
	BatteryPct    *float64
}

// Key returns the position's idempotency key.
func (p PositionRecord) Key() PositionKey { return PositionKey{VehicleID: p.VehicleID, Time: p.Time} }

// PositionFilter selects one vehicle's positions in time order.
type PositionFilter struct {
	VehicleID string
	From      time.Time // inclusive; zero: no bound
	To        time.Time // exclusive; zero: no bound
	Limit     int       // 1..1000
}

// ShipmentFilter selects visible shipments, ordered by (UpdatedAt, ID).
type ShipmentFilter struct {
	Status       string
	CustomerID   string
	PartnerID    string    // "": every shipment; else only those shared with the partner
	UpdatedSince time.Time // zero: no bound; inclusive
	After        *ShipmentCursor
	Limit        int // 1..1000
}

// ShipmentCursor is the position after which a shipment page starts.
type ShipmentCursor struct {
	UpdatedAt time.Time
	ID        string
}

// EventFilter selects stored events in Seq order (a replay's selection).
type EventFilter struct {
	Types      []string  // any of these; none: all
	ShipmentID string    // "": every shipment
	From       time.Time // event time, inclusive; zero: no bound
	To         time.Time // event time, exclusive; zero: no bound
	AfterSeq   int64     // cursor: events with a larger Seq
	Limit      int       // 1..1000
}

// QuarantineFilter selects quarantine items, newest first.
type QuarantineFilter struct {
	Source string // exact match; "" for all
	Before string // id cursor: items with ID < Before; "" for none
	Limit  int    // 1..1000
}

// Store is the read side and the writer's transaction factory. All methods
// are safe for concurrent use. Reads never block on the writer.
type Store interface {
	// Dialect is "sqlite" or "postgres".
	Dialect() string
	// Begin starts a write transaction. Only the pipeline's writer calls it;
	// on SQLite there is exactly one writer connection.
	Begin(ctx context.Context) (Tx, error)

	Shipment(ctx context.Context, id string) (ShipmentRecord, error) // ErrNotFound if absent or invisible
	Shipments(ctx context.Context, f ShipmentFilter) ([]ShipmentRecord, error)
	// Timeline lists the events of a shipment ordered by (Time, Seq), at most
	// limit, starting strictly after the cursor when it is non-nil.
	Timeline(ctx context.Context, shipmentID string, after *TimelineCursor, limit int) ([]EventRecord, error)
	Event(ctx context.Context, key EventKey) (EventRecord, error)
	// Events lists stored events matching f in Seq order.
	Events(ctx context.Context, f EventFilter) ([]EventRecord, error)
	Vehicle(ctx context.Context, id string) (VehicleRecord, error)
	Quarantine(ctx context.Context, f QuarantineFilter) ([]QuarantineRecord, error)
	QuarantineItem(ctx context.Context, id string) (QuarantineRecord, error)
	// Positions lists raw positions of one vehicle ordered by Time.
	Positions(ctx context.Context, f PositionFilter) ([]PositionRecord, error)
	// PrunePositions deletes at most limit positions older than before
	// (received or reported: the position's Time) and reports how many.
	// It is a write outside the pipeline's transactions; callers run it in
	// small chunks so the writer is never held up for long.
	PrunePositions(ctx context.Context, before time.Time, limit int) (int64, error)
	// Directory: partners, their keys, shipments shared with them and
	// master data. These are writes outside the pipeline's transactions
	// (rare, small, administrative); on SQLite they wait for the writer.
	Directory
	CaseStore
	InvoiceStore
	JobStore
	InsightStore
	ReconcileStore

	// Counts reports row counts for metrics and readiness.
	Counts(ctx context.Context) (Counts, error)

	Ping(ctx context.Context) error
	Close() error
}

// TimelineCursor is the position after which a timeline page starts.
type TimelineCursor struct {
	Time time.Time
	Seq  int64
}

// Counts are table sizes.
type Counts struct {
	Events     int64
	Shipments  int64
	Quarantine int64
}

// Tx is one write transaction of a batch. Methods take and return whole
// slices so an implementation can do each in one round trip. A Tx is used
// by one goroutine. After Commit or Rollback it must not be used; Rollback
// after Commit is a no-op, so `defer tx.Rollback()` is safe.
type Tx interface {
	// ExistingEvents reports which of keys are already stored.
	ExistingEvents(ctx context.Context, keys []EventKey) (map[EventKey]bool, error)
	// AppendEvents inserts evs in order, assigning Seq to each (evs is
	// modified in place). The caller has removed duplicates it knows of; if a
	// key is stored meanwhile, AppendEvents returns ErrConflict.
	AppendEvents(ctx context.Context, evs []EventRecord) error
	// LockShipments returns the stored records of ids (absent ids are absent
	// from the map) and locks them against other writers until the
	// transaction ends. An implementation may create placeholder rows
	// (Visible false, empty State) to lock ids that have none.
	LockShipments(ctx context.Context, ids []string) (map[string]ShipmentRecord, error)
	// PutShipments inserts or replaces records.
	PutShipments(ctx context.Context, recs []ShipmentRecord) error
	// LockVehicles and PutVehicles are the same for vehicles.
	LockVehicles(ctx context.Context, ids []string) (map[string]VehicleRecord, error)
	PutVehicles(ctx context.Context, recs []VehicleRecord) error
	// ExistingPositions reports which of keys are already stored.
	ExistingPositions(ctx context.Context, keys []PositionKey) (map[PositionKey]bool, error)
	// AppendPositions inserts recs; a key stored meanwhile is ErrConflict.
	AppendPositions(ctx context.Context, recs []PositionRecord) error
	// DeviceVehicles maps each registered device id of ids to its vehicle;
	// unregistered ids are absent.
	DeviceVehicles(ctx context.Context, ids []string) (map[string]string, error)
	// SetDevices makes deviceIDs exactly the devices of vehicleID: others
	// of the vehicle are unregistered, new ones registered. The caller has
	// checked that none belongs to another vehicle; if one does meanwhile,
	// SetDevices returns ErrConflict.
	SetDevices(ctx context.Context, vehicleID string, deviceIDs []string) error
	// EnqueueJobs inserts jobs. A job with the same (Kind, Key) is
	// rescheduled instead: pending again with the new RunAt and Payload (a
	// running one loses its lease, so its runner cannot mark it done), and
	// attempts start over when it was done or dead.
	EnqueueJobs(ctx context.Context, jobs []JobRecord) error
	// CancelJobs marks the pending jobs of kind with keys done
	// ("cancelled") at now.
	CancelJobs(ctx context.Context, kind string, keys []string, now time.Time) error
	// FinishJob settles a running job leased by node as done or dead in
	// this transaction (a delivery's outcome commits with what it records);
	// a job no longer leased by node is left alone.
	FinishJob(ctx context.Context, id, node, state, lastError string, now time.Time) error
	// NextSequence increments the named counter and returns its new value
	// (the first is 1). The increment is part of the transaction, so a
	// rolled-back transaction leaves no gap.
	NextSequence(ctx context.Context, name string) (int64, error)
	// PutInvoices inserts or replaces invoice records by ID.
	PutInvoices(ctx context.Context, recs []InvoiceRecord) error
	// SetInvoiceStatus records what the ERP did with an invoice: status
	// posted (with its reference) or failed. ErrNotFound when absent.
	SetInvoiceStatus(ctx context.Context, id, status, erpRef string, at time.Time) error
	// PutCases inserts or replaces case records by ID; the columns people
	// annotate (assignee, comments) are kept as they are.
	PutCases(ctx context.Context, recs []CaseRecord) error
	// ShareShipments records that partners may read shipments (already
	// shared pairs are left as they are).
	ShareShipments(ctx context.Context, shares []ShipmentShare) error
	// PutQuarantine inserts or replaces quarantine records by ID.
	PutQuarantine(ctx context.Context, recs []QuarantineRecord) error

	Commit() error
	Rollback() error
}

// UnixNanos converts a time for a BIGINT column (zero time → 0); every
// dialect stores times this way so they round-trip exactly (ADR 0004).
func UnixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// FromUnixNanos is the inverse of UnixNanos, in UTC.
func FromUnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// PageLimit clamps a requested page size to 1..1000, 100 when unset.
func PageLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}
