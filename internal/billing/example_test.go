package billing_test

import (
	"errors"
	"fmt"

	"github.com/crossdockhq/crossdock/internal/billing"
)

func Example() {
	engine, err := billing.Compile(billing.Config{
		Currency: "EUR",
		TaxRate:  "0.10",
		RateCards: []billing.RateCard{{
			CustomerID: "*", PerKm: "1.20", PerStop: "25.00", Minimum: "150.00", FuelSurchargePct: "8.5",
			Accessorials: map[string]string{"liftgate": "75.00", "detention_per_hour": "60.00", "detention_free_minutes": "120"},
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	dwell := []float64{35, 165, 90.5}
	quote, err := engine.Rate(billing.Shipment{
		ID: "SHP-1001", CustomerID: "CUST-7", DistanceKm: 312.4,
		Stops: []billing.Stop{
			{ID: "S1", Type: billing.StopPickup, DwellMinutes: &dwell[0]},
			{ID: "S2", Type: billing.StopDelivery, DwellMinutes: &dwell[1]},
			{ID: "S3", Type: billing.StopDelivery, DwellMinutes: &dwell[2]},
		},
		Accessorials: []string{"liftgate"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range quote.Lines {
		fmt.Printf("%-14s %6s × %-6s = %7s  %s\n", l.Code, l.Quantity, l.UnitPrice, l.Amount, l.Description)
	}
	fmt.Println("card", quote.Card, "subtotal", quote.Subtotal, "tax", quote.Tax, "total", quote.Total, quote.Currency)

	_, err = engine.Rate(billing.Shipment{ID: "SHP-1002", CustomerID: "CUST-7", Accessorials: []string{"hazmat"}})
	var unpriced *billing.UnpricedAccessorialError
	fmt.Println(billing.CaseCode(err), errors.As(err, &unpriced) && unpriced.Codes[0] == "hazmat")
	fmt.Println(err)
	// Output:
	// distance        312.4 × 1.20   =  374.88  312.4 km measured × 1.20 EUR/km
	// stop                3 × 25.00  =   75.00  3 stops (1 pickup, 2 deliveries) × 25.00 EUR/stop
	// fuel_surcharge    8.5 × 4.4988 =   38.24  Fuel surcharge 8.5% of linehaul 449.88 EUR
	// liftgate            1 × 75.00  =   75.00  Accessorial liftgate
	// detention        0.75 × 60.00  =   45.00  Detention S2: 45 min beyond 120 free (0.75 h) × 60.00 EUR/h
	// card * subtotal 608.12 tax 60.81 total 668.93 EUR
	// unpriced_accessorial true
	// rate SHP-1002: accessorial "hazmat" not priced on rate card "*"
}
