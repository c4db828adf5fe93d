package storetest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

// BenchShipments is how many distinct shipments the benchmarks spread their
// updates over, so most puts replace an existing row as in production.
const BenchShipments = 10_000

// BenchAppendBatch measures the writer's batched path: each operation is
// one transaction appending n events and putting n shipments (1 KB JSON
// states, spread over BenchShipments ids), commit (and so the fsync)
// included. It reports events/s and rows/s (events plus shipment rows). Ids are built before the timer starts so allocs/op
// counts the store's allocations only.
func BenchAppendBatch(b *testing.B, st store.Store, n int) {
	benchBatch(b, st, n, benchPut)
}

// BenchAppendEvents is BenchAppendBatch without the shipments: n events
// per transaction, commit included.
func BenchAppendEvents(b *testing.B, st store.Store, n int) {
	benchBatch(b, st, n, 0)
}

// BenchWriterBatch is BenchAppendBatch with the rest of a pipeline batch:
// ExistingEvents for the keys and LockShipments for the shipments first.
func BenchWriterBatch(b *testing.B, st store.Store, n int) {
	benchBatch(b, st, n, benchPut|benchRead)
}

const (
	benchPut  = 1 << iota // put n shipments
	benchRead             // ExistingEvents and LockShipments first
)

func benchBatch(b *testing.B, st store.Store, n int, mode int) {
	ctx := context.Background()
	data := []byte(`{"code":"arrived","stop":2,"location":{"lat":52.52,"lon":13.405},"note":"gate 4, dock 12"}`)
	state := []byte(`{"id":"S","status":"in_transit","stops":[` + strings.Repeat(`{"seq":1,"kind":"pickup","location":{"name":"DC North","lat":52.52,"lon":13.405},"window":{"from":"2026-11-22T08:00:00Z","to":"2026-11-22T10:00:00Z"},"facts":[]},`, 5) + `{}]}`)
	shipIDs := make([]string, BenchShipments)
	for i := range shipIDs {
		shipIDs[i] = "SHP-" + strconv.Itoa(100000+i)
	}
	evs := make([]store.EventRecord, n)
	recs := make([]store.ShipmentRecord, n)
	keys := make([]store.EventKey, n)
	ids := make([]string, n)
	// Event ids for every iteration, made before the timer starts.
	evIDs := make([]string, b.N*n)
	prefix := strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
	for i := range evIDs {
		evIDs[i] = prefix + strconv.Itoa(i)
	}
	t := time.Unix(1_795_000_000, 0).UTC()
	b.ReportAllocs()
	b.ResetTimer()
	for it := range b.N {
		for j := range n {
			k := it*n + j
			sid := shipIDs[k%BenchShipments]
			t = t.Add(time.Millisecond)
			evs[j] = store.EventRecord{
				Source: "bench", ID: evIDs[k], Type: "shipment.milestone", Subject: sid, ShipmentID: sid,
				Time: t, ReceivedAt: t, CorrelationID: evIDs[k], Principal: "bench", Data: data,
			}
			keys[j], ids[j] = evs[j].Key(), sid
			recs[j] = store.ShipmentRecord{ID: sid, Visible: true, Status: "in_transit", CustomerID: "C1", State: state, UpdatedAt: t}
		}
		tx, err := st.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if mode&benchRead != 0 {
			if _, err := tx.ExistingEvents(ctx, keys); err != nil {
				b.Fatal(err)
			}
			if _, err := tx.LockShipments(ctx, ids); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.AppendEvents(ctx, evs); err != nil {
			b.Fatal(err)
		}
		if mode&benchPut != 0 {
			if err := tx.PutShipments(ctx, recs); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*n)/sec, "events/s")
	rows := b.N * n
	if mode&benchPut != 0 {
		rows *= 2
	}
	b.ReportMetric(float64(rows)/sec, "rows/s")
}
