package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
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
	// DefaultEditInvoice: the third invoice the ERP creates is edited by
	// hand.
	DefaultEditInvoice = 3
	// erpDiscount is the discount the ERP's clerk keys, in percent.
	erpDiscount = 10
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
	// EditInvoice is the invoice, counted in the order the ERP creates
	// them, on which a clerk in the ERP keys a 10 % discount by hand when
	// the next one is created, so that the ERP's total no longer agrees
	// with the hub's; default 3, negative for none.
	EditInvoice int
	// Logger notes the outage's start and end and the edit; default none.
	Logger *slog.Logger
}

// ERPStats counts what the ERP was sent.
type ERPStats struct {
	Received   int // invoices created
	Duplicates int // repeats of an invoice already created, answered with its reference
	Refused    int // posts answered 503 during the outage
	Edited     int // invoices whose total a clerk changed by hand
}

// ERP is a fake ERP taking invoices: POST /invoices with the hub's rest
// connector body (the invoice.ready CloudEvent) creates one and answers
// 201 {"erp_ref": "ERP-000001"}; a repeat with the same Idempotency-Key
// answers 200 with the same reference. During its maintenance window (see
// ERPOptions) it answers 503 with Retry-After. GET /invoices/{id} (the
// hub's invoice id) answers {"id", "erp_ref", "number" (the same
// reference, where the hub's rest connector reads it), "total"}, the total
// as it stands after a clerk's edit (ERPOptions.EditInvoice). It is safe
// for concurrent use.
type ERP struct {
	o  ERPOptions
	tl Timeline

	mu       sync.Mutex
	stats    ERPStats
	byKey    map[string]string
	byID     map[string]erpInvoice
	edit     string // the id of the invoice the clerk edits, once created
	down     bool
	begun    bool          // the outage has begun (and maybe ended)
	downFrom time.Duration // when it began, since the day's origin
}

type erpInvoice struct {
	ID     string `json:"id"`
	ERPRef string `json:"erp_ref"`
	Number string `json:"number"`
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
	if o.EditInvoice == 0 {
		o.EditInvoice = DefaultEditInvoice
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
	e.byID[ev.Data.ID] = erpInvoice{ID: ev.Data.ID, ERPRef: ref, Number: ref, Total: ev.Data.Total}
	switch e.stats.Received {
	case e.o.EditInvoice:
		e.edit = ev.Data.ID
	case e.o.EditInvoice + 1:
		e.discount()
	}
	answer(w, http.StatusCreated, map[string]string{"erp_ref": ref})
}

// discount is the ERP's clerk keying a discount on invoice e.edit: its
// total drops by erpDiscount percent, to the cent; e.mu held.
func (e *ERP) discount() {
	inv := e.byID[e.edit]
	total, ok := new(big.Rat).SetString(inv.Total)
	if !ok {
		e.o.Logger.Warn("erp: the clerk could not edit an invoice whose total is not a number", "invoice", inv.ID, "total", inv.Total)
		return
	}
	edited := total.Mul(total, big.NewRat(100-erpDiscount, 100)).FloatString(2)
	e.o.Logger.Info("erp: a clerk keyed a discount by hand", "invoice", inv.ID, "erp_ref", inv.ERPRef,
		"discount_pct", erpDiscount, "total_was", inv.Total, "total", edited)
	inv.Total = edited
	e.byID[e.edit] = inv
	e.stats.Edited++
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
