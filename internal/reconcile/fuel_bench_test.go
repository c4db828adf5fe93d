package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/store/sqlite"
)

// fuelBenchSize reads a positive size from the environment variable name,
// def when unset or not a positive integer.
func fuelBenchSize(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// fuelBenchVehicle is one simulated vehicle while the fixture is written.
type fuelBenchVehicle struct {
	id          string
	lat, lon    float64
	heading     float64 // radians, 0 north
	lPer100     float64
	sinceFillKm float64
	bought      bool
	rng         *rand.Rand
}

// Fixture shape: a position every 5 minutes from 06:00 for 10 hours.
const (
	fuelBenchEvery  = 5 * time.Minute
	fuelBenchPerDay = 120
	fuelBenchChunk  = 10_000
)

// fuelBenchStore writes vehicles × days of positions from day from, day
// by day with every vehicle's day in turn (as a fleet's data arrives), and
// a fuel purchase per vehicle every second day, at the vehicle but for
// every 50th, 100 km away. Every 100th vehicle burns 60 l/100 km, the
// others 28 to 34. It returns the number of positions and of vehicles
// with a purchase.
func fuelBenchStore(tb testing.TB, st store.Store, vehicles, days int, from time.Time) (positionCount, buyers int) {
	tb.Helper()
	ctx := context.Background()
	fleet := make([]fuelBenchVehicle, vehicles)
	for v := range fleet {
		rng := rand.New(rand.NewPCG(uint64(v), 7))
		rate := 28 + 6*rng.Float64()
		if v%100 == 99 {
			rate = 60
		}
		fleet[v] = fuelBenchVehicle{
			id: fmt.Sprintf("TRK-%04d", v), lat: 46 + 6*rng.Float64(), lon: 2 + 16*rng.Float64(),
			heading: 2 * math.Pi * rng.Float64(), lPer100: rate, rng: rng,
		}
	}
	var (
		positions []store.PositionRecord
		events    []store.EventRecord
		purchases int
	)
	flush := func() {
		tx, err := st.Begin(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		defer tx.Rollback()
		if err := tx.AppendPositions(ctx, positions); err != nil {
			tb.Fatal(err)
		}
		if err := tx.AppendEvents(ctx, events); err != nil {
			tb.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
		positions, events = positions[:0], events[:0]
	}
	for d := range days {
		start := from.AddDate(0, 0, d).Add(6 * time.Hour)
		for v := range fleet {
			fv := &fleet[v]
			buyAt := -1
			if (d+v)%2 == 1 {
				buyAt = 10 + fv.rng.IntN(fuelBenchPerDay-20)
			}
			for i := range fuelBenchPerDay {
				at := start.Add(time.Duration(i) * fuelBenchEvery)
				if i > 0 {
					fv.drive(5 * (0.9 + 0.3*fv.rng.Float64()))
				}
				lat := fv.lat
				if fv.rng.IntN(500) == 0 {
					lat += 0.5 // a GPS glitch, 55 km off
				}
				positions = append(positions, store.PositionRecord{
					VehicleID: fv.id, Time: at, Source: "bench", EventID: fv.id + "-" + strconv.FormatInt(at.Unix(), 10),
					ReceivedAt: at, Lat: lat, Lon: fv.lon,
				})
				if i == buyAt {
					purchases++
					events = append(events, fv.purchase(tb, at.Add(2*time.Minute+13*time.Second), purchases))
				}
			}
			positionCount += fuelBenchPerDay
			if len(positions) >= fuelBenchChunk {
				flush()
			}
		}
	}
	flush()
	for _, v := range fleet {
		if v.bought {
			buyers++
		}
	}
	return positionCount, buyers
}

// drive moves the vehicle km on, turning a little and away from the edges
// of the area it stays in.
func (v *fuelBenchVehicle) drive(km float64) {
	v.heading += (v.rng.Float64() - 0.5) * 0.3
	if v.lat < 44 || v.lat > 54 || v.lon < 0 || v.lon > 20 {
		v.heading = math.Atan2(10-v.lon, 49-v.lat) // back towards the middle
	}
	v.lat += km * math.Cos(v.heading) / fuelKmPerDeg
	v.lon += km * math.Sin(v.heading) / (fuelKmPerDeg * math.Cos(v.lat*math.Pi/180))
	v.sinceFillKm += km
}

// purchase fills the tank for the distance since the last fill.
func (v *fuelBenchVehicle) purchase(tb testing.TB, at time.Time, n int) store.EventRecord {
	tb.Helper()
	liters := math.Round(v.lPer100*v.sinceFillKm) / 100
	v.sinceFillKm, v.bought = 0, true
	lat, lon := v.lat+0.3/fuelKmPerDeg, v.lon
	if n%50 == 0 {
		lat += 100 / fuelKmPerDeg
	}
	cents := int64(math.Round(liters * 165.9))
	data, err := json.Marshal(canonical.FuelPurchased{
		Liters: liters, Amount: canonical.Decimal(fmt.Sprintf("%d.%02d", cents/100, cents%100)), Currency: "EUR",
		Lat: &lat, Lon: &lon, Station: "Station " + strconv.Itoa(n%997),
	})
	if err != nil {
		tb.Fatal(err)
	}
	id := "FUEL-" + strconv.Itoa(n)
	return store.EventRecord{
		Source: "fuelcard", ID: id, Type: canonical.TypeFuelPurchased, Subject: v.id,
		Time: at, ReceivedAt: at, CorrelationID: id, Data: data,
	}
}

// BenchmarkCheckFuelSQLite runs CheckFuel on embedded SQLite over
// CROSSDOCK_BENCH_FUEL_VEHICLES vehicles (default 50) ×
// CROSSDOCK_BENCH_FUEL_DAYS days (default 7) of positions every 5 minutes
// for 10 hours a day, with a fuel purchase per vehicle every second day.
// The target is 1,000 vehicles × 30 days (3.6 million positions) in under
// 30 s. The store is written once, before the timed sub-benchmark; it
// reports positions/s, the vehicles, the findings of a run by kind and
// the peak heap in use while CheckFuel works.
func BenchmarkCheckFuelSQLite(b *testing.B) {
	vehicles := fuelBenchSize("CROSSDOCK_BENCH_FUEL_VEHICLES", 50)
	days := fuelBenchSize("CROSSDOCK_BENCH_FUEL_DAYS", 7)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(b.TempDir(), "hub.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, days)
	built := time.Now()
	positions, buyers := fuelBenchStore(b, st, vehicles, days, from)
	b.Logf("wrote %d positions of %d vehicles over %d days in %s", positions, vehicles, days, time.Since(built).Round(time.Millisecond))

	b.Run(fmt.Sprintf("vehicles=%d/days=%d", vehicles, days), func(b *testing.B) {
		runtime.GC()
		var peak atomic.Uint64
		stop, sampled := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(sampled)
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		var far, outliers int
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			far, outliers = 0, 0
			vs, err := CheckFuel(ctx, st, from, to, FuelOptions{}, func(f Finding) error {
				if f.Code == CodeConsumptionOutlier {
					outliers++
				} else {
					far++
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			if len(vs) != buyers {
				b.Fatalf("%d vehicles checked, want %d", len(vs), buyers)
			}
		}
		b.StopTimer()
		close(stop)
		<-sampled
		b.ReportMetric(float64(positions)*float64(b.N)/b.Elapsed().Seconds(), "positions/s")
		b.ReportMetric(float64(vehicles), "vehicles")
		b.ReportMetric(float64(far), "far-findings")
		b.ReportMetric(float64(outliers), "outlier-findings")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	})
}
