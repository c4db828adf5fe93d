package flatfile

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// positionsCSV returns n rows of GPS positions of 50 trucks, one every 30 s.
func positionsCSV(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.WriteString("vehicle,timestamp,latitude,longitude,speed_kmh,heading,ignition\n")
	t0 := time.Date(2024, 3, 1, 6, 0, 0, 0, time.UTC)
	for i := range n {
		v := i % 50
		fmt.Fprintf(&b, "TRK-%03d,%s,%.6f,%.6f,%.1f,%d,%t\n", v,
			t0.Add(time.Duration(i/50)*30*time.Second).Format(time.RFC3339),
			47+rng.Float64()*8, 6+rng.Float64()*9, rng.Float64()*90, rng.IntN(360), rng.IntN(10) > 0)
	}
	return b.Bytes()
}

func BenchmarkRead100k(b *testing.B) {
	const rows = 100_000
	data := positionsCSV(rows)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		sum, err := Read(bytes.NewReader(data), positionsSpec, func(Row) error { return nil })
		if err != nil || sum.Good != rows {
			b.Fatalf("Read() = %+v, %v", sum, err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
