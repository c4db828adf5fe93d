package mapping

import (
	"context"
	"testing"
	"time"
)

// contractSource is the mapping of the contract's example.
const contractSource = `{type: "shipment.milestone", id: .eventId, subject: .load, time: .ts,
 data: {code: ({"DEP": "departed", "ARR": "arrived"}[.code]), stop_id: .stop}}`

// contractPayload is a realistic partner status webhook (about 400 bytes).
var contractPayload = []byte(`{"eventId": "acme-77812", "load": "SHP-1001", "ts": "2026-11-22T10:00:00Z",
 "code": "DEP", "stop": "S1", "driver": {"id": "D-17", "name": "Jan Kowalski", "phone": "+48 600 100 200"},
 "truck": {"plate": "WX 12345", "trailer": "WX 9911A"}, "position": {"lat": 52.2297, "lon": 21.0122, "speed": 0},
 "references": {"po": "PO-5512", "bol": "BOL-99120"}, "remarks": "left the dock on time", "seq": 1234567890123456789}`)

func BenchmarkRun(b *testing.B) {
	// A long limit: on a loaded machine the scheduler can hold one run
	// past the default 100ms wall-clock limit.
	m, err := Compile(Spec{Partner: "acme-tms", Name: "status", Source: contractSource, Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("decoded", func(b *testing.B) {
		input, err := decodePayload(contractPayload)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Run(ctx, input); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payloads/s")
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(contractPayload)))
		for b.Loop() {
			if _, err := m.RunJSON(ctx, contractPayload); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payloads/s")
	})
}
