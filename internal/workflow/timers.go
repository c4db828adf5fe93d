package workflow

import (
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
)

// Timer kinds in the jobs table.
const (
	TimerRate        = "timer.rate"
	TimerPODOverdue  = "timer.pod_overdue"
	TimerLateArrival = "timer.late_arrival"
)

// TimerKinds lists every timer kind.
var TimerKinds = []string{TimerRate, TimerPODOverdue, TimerLateArrival}

// Timer is a timer the facts call for: Kind, Key (unique within the
// kind) and when it is due.
type Timer struct {
	Kind, Key string
	At        time.Time
}

// TimerKey is the key of a timer in the shipment's Flow.Timers.
func (t Timer) TimerKey() string { return t.Kind + " " + t.Key }

// Timers returns the timers st calls for: rating after the wait when no
// departure came, a POD-overdue check podOverdue after each delivery
// stop's arrival while it has no POD, and a window check when each stop's
// window closes while it is not reached. None for a cancelled or invoiced
// shipment.
func Timers(st *shipment.State, cases []Case, ratingWait, podOverdue time.Duration) []Timer {
	if st.Order == nil || st.Cancelled != nil || st.Flow.Invoice != nil {
		return nil
	}
	var out []Timer
	if r := RatingReadiness(st, cases, ratingWait); r.Ready && !r.Due.IsZero() {
		out = append(out, Timer{TimerRate, st.ID, r.Due})
	}
	for _, s := range st.Order.Data.Stops {
		f := st.Stops[s.ID]
		if s.Type == canonical.StopDelivery && f != nil && f.Arrived != nil && f.Completed == nil {
			if _, fired := st.Flow.Overdue[s.ID]; !fired {
				out = append(out, Timer{TimerPODOverdue, st.ID + "/" + s.ID, f.Arrived.Time.Add(podOverdue)})
			}
		}
		if s.Window != nil && (f == nil || f.Arrived == nil) {
			if _, fired := st.Flow.Missed[s.ID]; !fired {
				out = append(out, Timer{TimerLateArrival, st.ID + "/" + s.ID, s.Window.To})
			}
		}
	}
	return out
}

// Fire applies a timer that came due at now: it records what the timer
// found (a POD still missing, a stop not reached) when its condition still
// holds, and reports whether anything changed. Rating timers change
// nothing here: the caller rates.
func Fire(st *shipment.State, kind, stopID string, now time.Time, podOverdue time.Duration) bool {
	if st.Order == nil || st.Cancelled != nil || st.Flow.Invoice != nil {
		return false
	}
	f := st.Stops[stopID]
	switch kind {
	case TimerPODOverdue:
		if f == nil || f.Arrived == nil || f.Completed != nil || now.Before(f.Arrived.Time.Add(podOverdue)) {
			return false
		}
		if _, ok := st.Flow.Overdue[stopID]; ok {
			return false
		}
		if st.Flow.Overdue == nil {
			st.Flow.Overdue = map[string]time.Time{}
		}
		st.Flow.Overdue[stopID] = now
		return true
	case TimerLateArrival:
		var window *canonical.Window
		for _, s := range st.Order.Data.Stops {
			if s.ID == stopID {
				window = s.Window
			}
		}
		if window == nil || (f != nil && f.Arrived != nil) || now.Before(window.To) {
			return false
		}
		if _, ok := st.Flow.Missed[stopID]; ok {
			return false
		}
		if st.Flow.Missed == nil {
			st.Flow.Missed = map[string]time.Time{}
		}
		st.Flow.Missed[stopID] = now
		return true
	}
	return false
}
