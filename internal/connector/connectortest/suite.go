package connectortest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/store"
)

// Destination is one connector kind with a live destination to run the
// contract against.
type Destination struct {
	// Connector returns a connector delivering to the live destination.
	Connector func(t *testing.T) connector.Connector
	// Down returns a connector configured like Connector's whose
	// destination does not answer (a closed port, a stopped server).
	Down func(t *testing.T) connector.Connector
	// Held reports how many times the destination holds delivery d: 0
	// before it arrived, 1 after, more is a duplicate.
	Held func(t *testing.T, d connector.Delivery) int
	// Event returns the i-th event of a kind this connector takes (e.g.
	// Invoice(i) for an ERP); distinct i, distinct events.
	Event func(i int) store.EventRecord
	// Refused, when set, returns an event the destination refuses for
	// good: Deliver must answer a permanent error and nothing is held.
	Refused func() store.EventRecord
	// WantRef says the destination answers a reference for what it
	// created (an ERP's invoice number).
	WantRef bool
}

// Run runs the contract against d.
func Run(t *testing.T, d Destination) {
	t.Run("DeliversOnce", func(t *testing.T) { deliversOnce(t, d) })
	t.Run("RepeatIsHarmless", func(t *testing.T) { repeatIsHarmless(t, d) })
	t.Run("ConcurrentDeliveries", func(t *testing.T) { concurrent(t, d) })
	t.Run("DownIsRetryable", func(t *testing.T) { downIsRetryable(t, d) })
	t.Run("CancelledContext", func(t *testing.T) { cancelled(t, d) })
	if d.Refused != nil {
		t.Run("RefusedIsPermanent", func(t *testing.T) { refused(t, d) })
	}
}

// runID keeps the events of one test run apart from an earlier run's
// against the same long-lived destination (a real ERP keeps its data).
var runID = time.Now().UTC().Format("150405.000000")

// Delivery wraps e as a first attempt with an ID unique to this run.
func Delivery(e store.EventRecord) connector.Delivery {
	return connector.Delivery{ID: "dlv-" + runID + "-" + e.Source + "-" + e.ID, Event: e, CorrelationID: e.CorrelationID, Attempt: 1}
}

func deliver(t *testing.T, c connector.Connector, d connector.Delivery) connector.Receipt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := c.Deliver(ctx, d)
	if err != nil {
		t.Fatalf("deliver %s: %v", d.ID, err)
	}
	return r
}

func deliversOnce(t *testing.T, d Destination) {
	c := d.Connector(t)
	dl := Delivery(d.Event(1))
	if n := d.Held(t, dl); n != 0 {
		t.Fatalf("held %d times before delivery", n)
	}
	r := deliver(t, c, dl)
	if d.WantRef && r.Ref == "" {
		t.Error("no reference answered")
	}
	if n := d.Held(t, dl); n != 1 {
		t.Fatalf("held %d times after one delivery, want 1", n)
	}
}

func repeatIsHarmless(t *testing.T, d Destination) {
	c := d.Connector(t)
	dl := Delivery(d.Event(2))
	first := deliver(t, c, dl)
	dl.Attempt = 2
	second := deliver(t, c, dl)
	// A fresh connector (a restarted hub) repeats it too.
	dl.Attempt = 3
	third := deliver(t, d.Connector(t), dl)
	if n := d.Held(t, dl); n != 1 {
		t.Fatalf("held %d times after three deliveries of one ID, want 1", n)
	}
	if d.WantRef && (second.Ref != first.Ref || third.Ref != first.Ref) {
		t.Fatalf("references %q, %q, %q: a repeat must answer the first one", first.Ref, second.Ref, third.Ref)
	}
}

func concurrent(t *testing.T, d Destination) {
	c := d.Connector(t)
	const n = 16
	dls := make([]connector.Delivery, n)
	for i := range dls {
		dls[i] = Delivery(d.Event(100 + i))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range dls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			_, errs[i] = c.Deliver(ctx, dls[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("delivery %d: %v", i, err)
		}
	}
	for i, dl := range dls {
		if got := d.Held(t, dl); got != 1 {
			t.Errorf("delivery %d held %d times, want 1", i, got)
		}
	}
}

func downIsRetryable(t *testing.T, d Destination) {
	c := d.Down(t)
	dl := Delivery(d.Event(3))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.Deliver(ctx, dl)
	if err == nil {
		t.Fatal("delivered to a destination that does not answer")
	}
	if outbox.IsPermanent(err) {
		t.Fatalf("an unreachable destination must be retried, got a permanent error: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("Deliver ran into the test's 30 s deadline: it must give up on its own timeout: %v", err)
	}
}

func cancelled(t *testing.T, d Destination) {
	c := d.Connector(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dl := Delivery(d.Event(4))
	if _, err := c.Deliver(ctx, dl); err == nil {
		// A connector may finish work it needs no I/O for; it must not
		// claim a delivery it never made.
		if n := d.Held(t, dl); n != 1 {
			t.Fatalf("a nil error with a cancelled context, but held %d times", n)
		}
		return
	} else if outbox.IsPermanent(err) {
		t.Fatalf("a cancelled delivery must be retried, got a permanent error: %v", err)
	}
	// It can still be delivered later, once.
	deliver(t, c, dl)
	if n := d.Held(t, dl); n != 1 {
		t.Fatalf("held %d times after a cancelled and a successful delivery", n)
	}
}

func refused(t *testing.T, d Destination) {
	c := d.Connector(t)
	dl := Delivery(d.Refused())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.Deliver(ctx, dl)
	if err == nil || !outbox.IsPermanent(err) {
		t.Fatalf("a refused payload must be a permanent error, got %v", err)
	}
	if err.Error() == "" {
		t.Fatal("the error must say why")
	}
	if n := d.Held(t, dl); n != 0 {
		t.Fatalf("refused, but held %d times", n)
	}
}

// base is the time of the suite's events.
var base = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

// Invoice is the i-th invoice.ready event, as the billing engine emits it:
// three lines summing to the subtotal, tax at 10 %, customer CUST-<i%5>.
func Invoice(i int) store.EventRecord {
	shp := fmt.Sprintf("SHP-CT-%s-%d", runID, i)
	inv := map[string]any{
		"id": fmt.Sprintf("INV-CT-%s-%06d", runID, i), "shipment_id": shp, "customer_id": fmt.Sprintf("CUST-%d", i%5),
		"currency": "EUR", "status": "ready", "erp_ref": nil, "rate_card": "*", "rule": "departed",
		"created_at": base.Add(time.Duration(i) * time.Minute),
		"lines": []map[string]string{
			{"code": "distance", "description": "Distance 412.5 km", "quantity": "412.5", "unit_price": "1.20", "amount": "495.00"},
			{"code": "stop", "description": "Stops", "quantity": "2", "unit_price": "25.00", "amount": "50.00"},
			{"code": "fuel_surcharge", "description": "Fuel surcharge 8.5%", "quantity": "1", "unit_price": "46.33", "amount": "46.33"},
		},
		"subtotal": "591.33", "tax": "59.13", "total": "650.46",
	}
	data, _ := json.Marshal(inv)
	return store.EventRecord{
		Source: "crossdock/billing", ID: "inv-" + shp, Type: "invoice.ready", Subject: shp, ShipmentID: shp,
		Time: base.Add(time.Duration(i) * time.Minute), ReceivedAt: base.Add(time.Duration(i) * time.Minute),
		CorrelationID: "corr-" + shp, CausationID: "crossdock/workflow rate-" + shp, Data: data,
	}
}

// Milestone is the i-th shipment.milestone event (arrived at stop S2 with
// a position), as a carrier or the telemetry engine reports it.
func Milestone(i int) store.EventRecord {
	shp := fmt.Sprintf("SHP-CT-%s-%d", runID, i)
	data, _ := json.Marshal(map[string]any{"code": "arrived", "stop_id": "S2", "location": map[string]float64{"lat": 41.8781, "lon": -87.6298}})
	return store.EventRecord{
		Source: "crossdock/telemetry", ID: "arr-" + shp, Type: "shipment.milestone", Subject: shp, ShipmentID: shp,
		Time: base.Add(time.Duration(i) * time.Minute), ReceivedAt: base.Add(time.Duration(i) * time.Minute),
		CorrelationID: "corr-" + shp, Data: data,
	}
}
