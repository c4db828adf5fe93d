package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

// SourceMonitor is the source of the alerts SLA monitors raise.
const SourceMonitor = "crossdock/monitor"

// Alert event types.
const (
	TypeAlertRaised   = "alert.raised"
	TypeAlertResolved = "alert.resolved"
)

// Alert is an alert.raised or alert.resolved event of an SLA monitor.
// (SourceMonitor, ID) is its idempotency key, so a monitor may record the
// same alert again (after a crash, or from another node) without raising
// it twice.
type Alert struct {
	ID            string
	Type          string // TypeAlertRaised or TypeAlertResolved
	Monitor       string // the subject
	Time          time.Time
	CorrelationID string // shared by a raise and its resolution
	Data          []byte // JSON object
}

// RecordAlert appends the alert to the event log and queues its
// deliveries to the connectors subscribed to its type, in one
// transaction. It reports false when the alert was already recorded, in
// which case nothing changed.
func (p *Pipeline) RecordAlert(ctx context.Context, a Alert) (bool, error) {
	pd, err := p.run1(ctx, Submission{Alert: &a})
	if err != nil {
		return false, err
	}
	return pd.refused == nil, nil
}

// errAlertRecorded refuses an alert recorded before.
var errAlertRecorded = errors.New("alert already recorded")

// alert applies an Alert submission.
func (p *Pipeline) alert(pd *pending, bs *batchState) {
	a := pd.sub.Alert
	key := store.EventKey{Source: SourceMonitor, ID: a.ID}
	pd.refused = nil // from an attempt of the batch that rolled back
	if bs.knownEv[key] || bs.seenEv[key] {
		pd.refused = errAlertRecorded
		return
	}
	bs.seenEv[key] = true
	bs.records = append(bs.records, store.EventRecord{
		Source: SourceMonitor, ID: a.ID, Type: a.Type, Subject: a.Monitor, Time: a.Time.UTC(), ReceivedAt: bs.now,
		CorrelationID: a.CorrelationID, Data: a.Data,
	})
}
