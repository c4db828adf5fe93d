package billing

import "testing"

// benchShipment is a realistic shipment: four stops, two of them with
// detention, a liftgate.
func benchShipment() Shipment {
	d := []float64{95.5, 164.6, 131.2, 210}
	return Shipment{
		ID: "SHP-1001", CustomerID: "CUST-7", DistanceKm: 412.37, PlannedKm: 405,
		Stops: []Stop{
			{ID: "S1", Type: StopPickup, DwellMinutes: &d[0]},
			{ID: "S2", Type: StopDelivery, DwellMinutes: &d[1]},
			{ID: "S3", Type: StopDelivery, DwellMinutes: &d[2]},
			{ID: "S4", Type: StopDelivery, DwellMinutes: &d[3]},
		},
		Accessorials: []string{"liftgate"},
	}
}

func BenchmarkRate(b *testing.B) {
	e, err := Compile(validConfig())
	if err != nil {
		b.Fatal(err)
	}
	s := benchShipment()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Rate(s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "shipments/s")
}
