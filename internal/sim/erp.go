package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults of ERPOptions.
const (
	DefaultOutageFrom = 15 * time.Minute
	DefaultOutageFor  = 15 * time.Minute
	// DefaultMinRefused keeps the outage visible on a slow machine.
	DefaultMinRefused = 3
	// erpTakenFirst is how many invoices the ERP takes before its outage
	// may begin, so posted invoices show before the refused ones.
	erpTakenFirst = 2
	// erpRetryAfter is what the ERP asks callers to wait during its
	// outage, in wall-clock seconds.
	erpRetryAfter = "2"
)

// ERPOptions configure an ERP.
type ERPOptions struct {
	// Clock, Start and Speed place the outage on the same simulated
	// clock as Run's; default the system clock, Clock.Now() and 60.
	Clock Clock
	Start time.Time
	Speed float64
	// OutageFrom is when the maintenance window may begin, in simulated
	// time since the day's origin (Timeline.Origin); it begins with the
	// first invoice posted from then on, once two were taken. Default
	// 15m: about 15 s into the demo at 60×.
	OutageFrom time.Duration
	// OutageFor is the window's length in simulated time; default 15m.
	OutageFor time.Duration
	// MinRefused: when fewer posts than this were refused by the window's
	// end (the hub was slow to send invoices), the outage lasts until as
	// many have been, but no longer than once more its length; default 3.
	MinRefused int
	// Logger notes the outage's start and end; default none.
	Logger *slog.Logger
}

// ERPStats counts what the ERP was sent.
type ERPStats struct {
	Received   int // invoices created
	Duplicates int // repeats of an invoice already created, answered with its reference
	Refused    int // posts answered 503 during the outage
}

// ERP is a fake ERP taking invoices: POST /invoices with the hub's rest
// connector body (the invoice.ready CloudEvent) creates one and answers
// 201 {"erp_ref": "ERP-000001"}; a repeat with the same Idempotency-Key
// answers 200 with the same reference. During its maintenance window (see
// ERPOptions) it answers 503 with Retry-After. GET /invoices/{id} answers the invoice's reference and
// total. It is safe for concurrent use.
type ERP struct {
	o  ERPOptions
	tl Timeline

	mu       sync.Mutex
	stats    ERPStats
	byKey    map[string]string
	byID     map[string]erpInvoice
	down     bool
	begun    bool          // the outage has begun (and maybe ended)
	downFrom time.Duration // when it began, since the day's origin
}

type erpInvoice struct {
	ID     string `json:"id"`
	ERPRef string `json:"erp_ref"`
	Total  string `json:"total"`
}

// NewERP returns an ERP; serve it with net/http.
func NewERP(o ERPOptions) *ERP {
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Start.IsZero() {
		o.Start = o.Clock.Now()
	}
	if o.Speed == 0 {
		o.Speed = DefaultSpeed
	}
	if o.OutageFrom == 0 {
		o.OutageFrom = DefaultOutageFrom
	}
	if o.OutageFor == 0 {
		o.OutageFor = DefaultOutageFor
	}
	if o.MinRefused == 0 {
		o.MinRefused = DefaultMinRefused
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &ERP{o: o, tl: NewTimeline(o.Start, o.Speed), byKey: map[string]string{}, byID: map[string]erpInvoice{}}
}

// Stats returns the counters so far.
func (e *ERP) Stats() ERPStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

// outage reports whether the ERP is down at the current time; e.mu held.
func (e *ERP) outage() bool {
	at := e.tl.Elapsed(e.o.Clock.Now())
	if !e.begun {
		if at < e.o.OutageFrom || e.stats.Received < erpTakenFirst {
			return false
		}
		e.begun, e.downFrom = true, at
	}
	d, length := at-e.downFrom, e.o.OutageFor
	return d < length || (e.stats.Refused < e.o.MinRefused && d < 2*length)
}

// ServeHTTP serves POST /invoices and GET /invoices/{id}.
func (e *ERP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, byID := strings.CutPrefix(r.URL.Path, "/invoices/")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/invoices":
		e.post(w, r)
	case r.Method == http.MethodGet && byID && id != "":
		e.mu.Lock()
		inv, ok := e.byID[id]
		e.mu.Unlock()
		if !ok {
			answer(w, http.StatusNotFound, map[string]string{"title": "no such invoice"})
			return
		}
		answer(w, http.StatusOK, inv)
	default:
		answer(w, http.StatusNotFound, map[string]string{"title": "not found"})
	}
}

func (e *ERP) post(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		answer(w, http.StatusBadRequest, map[string]string{"title": "Idempotency-Key header required"})
		return
	}
	var ev struct {
		Data struct{ ID, Total string } `json:"data"`
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(b, &ev)
	}
	if err != nil || ev.Data.ID == "" {
		answer(w, http.StatusBadRequest, map[string]string{"title": "body must be an invoice.ready event with data.id"})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	down := e.outage()
	if down != e.down {
		e.down = down
		if down {
			e.o.Logger.Warn("erp: maintenance window, refusing invoices (503)")
		} else {
			e.o.Logger.Info("erp: back from maintenance, taking invoices", "refused", e.stats.Refused)
		}
	}
	if down {
		e.stats.Refused++
		w.Header().Set("Retry-After", erpRetryAfter)
		answer(w, http.StatusServiceUnavailable, map[string]string{"title": "ERP in maintenance"})
		return
	}
	if ref, ok := e.byKey[key]; ok {
		e.stats.Duplicates++
		answer(w, http.StatusOK, map[string]string{"erp_ref": ref})
		return
	}
	e.stats.Received++
	ref := fmt.Sprintf("ERP-%06d", e.stats.Received)
	e.byKey[key] = ref
	e.byID[ev.Data.ID] = erpInvoice{ID: ev.Data.ID, ERPRef: ref, Total: ev.Data.Total}
	answer(w, http.StatusCreated, map[string]string{"erp_ref": ref})
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
