package billing

import (
	"errors"
	"math"
	"testing"
)

// FuzzCompile feeds arbitrary text to every decimal field. Compile must never
// panic; when it accepts the card, Rate must not panic either and its quote
// must keep every invariant.
func FuzzCompile(f *testing.F) {
	f.Add("1.20", "25.00", "150.00", "8.5", "75.00", "60.00", "120", "0.10")
	f.Add("1,20", "-1", "1e3", "", ".", "999999999999.9999", "+5", "1.0000001")
	f.Add("0", "0", "0", "0", "0", "0", "0", "0")
	f.Fuzz(func(t *testing.T, perKm, perStop, minimum, fuel, liftgate, perHour, free, tax string) {
		c := Config{Currency: "EUR", TaxRate: tax, RateCards: []RateCard{{
			CustomerID: "*", PerKm: perKm, PerStop: perStop, Minimum: minimum, FuelSurchargePct: fuel,
			Accessorials: map[string]string{"liftgate": liftgate, KeyDetentionPerHour: perHour, KeyDetentionFreeMinutes: free},
		}}}
		e, err := Compile(c)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Compile error %v is not a *FieldError", err)
			}
			return
		}
		q, err := e.Rate(benchShipment())
		if errors.Is(err, ErrInvalidShipment) {
			return // amounts beyond the exact range
		}
		if err != nil {
			t.Fatal(err)
		}
		checkQuote(t, tax, q)
	})
}

// FuzzRate feeds arbitrary measurements to Rate: it must never panic, must
// refuse what is out of range and keep every invariant otherwise.
func FuzzRate(f *testing.F) {
	f.Add(312.4, 0.0, 165.0, 44.6, "liftgate")
	f.Add(0.0, 250.45, 120.0, -1.0, "hazmat")
	f.Add(math.Inf(1), math.NaN(), math.MaxFloat64, math.SmallestNonzeroFloat64, "")
	e, err := Compile(validConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, km, planned, dwell1, dwell2 float64, acc string) {
		s := Shipment{ID: "F", DistanceKm: km, PlannedKm: planned, Accessorials: []string{acc},
			Stops: []Stop{{ID: "S1", Type: StopPickup, DwellMinutes: &dwell1}, {ID: "S2", Type: StopDelivery, DwellMinutes: &dwell2}}}
		q, err := e.Rate(s)
		switch {
		case err == nil:
			checkQuote(t, "0.10", q)
		case acc != "liftgate" && CaseCode(err) == CaseUnpricedAccessorial, errors.Is(err, ErrInvalidShipment):
		default:
			t.Fatalf("Rate(%+v): %v", s, err)
		}
	})
}
