package pipeline_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/ingest"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store/sqlite"
)

// BenchmarkDevicePositions measures the writer on the telemetry hot path:
// batches of 500 device positions from 5,000 vehicles, each assigned to a
// shipment with four stops (20,000 active geofences), through SQLite with
// synchronous=FULL — validation, device lookup, dedupe, the positions
// table, vehicle and shipment state and the telemetry rules, commit
// included. It reports positions/s.
func BenchmarkDevicePositions(b *testing.B) {
	const vehicles, batch = 5000, 500
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(b.TempDir(), "b.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p := pipeline.New(st, pipeline.Options{Metrics: obs.NewMetrics(), StateCache: 2 * vehicles})
	defer p.Close(context.Background())
	ctx := context.Background()
	start := time.Now().UTC().Add(-20 * time.Hour).Truncate(time.Second)
	lat0, lon0 := 50.0, 8.0
	var items []pipeline.Item
	for v := range vehicles {
		vid, sid := fmt.Sprintf("TRK-%d", v), fmt.Sprintf("SHP-%d", v)
		la, lo := lat0+float64(v%100)*0.05, lon0+float64(v/100)*0.05
		var stops string
		for s := range 4 {
			typ := "delivery"
			if s == 0 {
				typ = "pickup"
			}
			if s > 0 {
				stops += ","
			}
			stops += fmt.Sprintf(`{"id":"S%d","type":%q,"location":{"lat":%f,"lon":%f,"radius_m":200},"window":{"from":%q,"to":%q}}`,
				s, typ, la+float64(s)*0.01, lo, start.Format(time.RFC3339), start.Add(30*time.Hour).Format(time.RFC3339))
		}
		items = append(items,
			itemAt(b, "o-"+sid, canonical.TypeOrderReleased, sid, start, fmt.Sprintf(`{"order_id":"O","customer_id":"C","stops":[%s]}`, stops)),
			itemAt(b, "a-"+sid, canonical.TypeRouteAssigned, sid, start, fmt.Sprintf(`{"vehicle_id":%q,"driver_id":"D"}`, vid)))
		if len(items) >= 1000 {
			if _, err := p.Submit(ctx, pipeline.Submission{Items: items}); err != nil {
				b.Fatal(err)
			}
			items = nil
		}
		if _, err := p.RegisterDevices(ctx, vid, []string{fmt.Sprintf("dev-%d", v)}); err != nil {
			b.Fatal(err)
		}
	}
	ps := make([]ingest.Position, batch)
	speed := 50.0
	b.ResetTimer()
	n := 0
	for i := 0; b.Loop(); i++ {
		for j := range ps {
			k := n + j
			v := k % vehicles
			step := k / vehicles
			ps[j] = ingest.Position{DeviceID: fmt.Sprintf("dev-%d", v), Time: start.Add(time.Duration(step) * 30 * time.Second),
				Lat: lat0 + float64(v%100)*0.05 + math.Mod(float64(step)*0.0004, 0.04), Lon: lon0 + float64(v/100)*0.05, SpeedKph: &speed}
		}
		n += batch
		res, err := p.Positions(ctx, "bench", ps)
		if err != nil || res[0].Status != ingest.Accepted {
			b.Fatalf("%v %+v", err, res[0])
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "positions/s")
}
