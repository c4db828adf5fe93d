package billing

import (
	"errors"
	"strings"
	"testing"
)

func validConfig() Config {
	return Config{Currency: "EUR", TaxRate: "0.10", RateCards: []RateCard{{
		CustomerID: "*", PerKm: "1.20", PerStop: "25.00", Minimum: "150.00", FuelSurchargePct: "8.5",
		Accessorials: map[string]string{"liftgate": "75.00", KeyDetentionPerHour: "60.00", KeyDetentionFreeMinutes: "120"},
	}}}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   []string // each a whole FieldError message, in order
	}{
		{"per_km comma", func(c *Config) {
			c.RateCards = append(c.RateCards, RateCard{CustomerID: "CUST-7", PerKm: "1,20"})
		}, []string{`rate_cards[1].per_km: "1,20" is not a decimal`}},
		{"per_stop negative", func(c *Config) { c.RateCards[0].PerStop = "-25.00" },
			[]string{`rate_cards[0].per_stop: "-25.00" must not be negative`}},
		{"minimum exponent", func(c *Config) { c.RateCards[0].Minimum = "1.5e2" },
			[]string{`rate_cards[0].minimum: "1.5e2" is not a decimal`}},
		{"fuel too many places", func(c *Config) { c.RateCards[0].FuelSurchargePct = "8.51234" },
			[]string{`rate_cards[0].fuel_surcharge_pct: "8.51234" has more than 4 decimal places`}},
		{"per_km too large", func(c *Config) { c.RateCards[0].PerKm = "1234567890123" },
			[]string{`rate_cards[0].per_km: "1234567890123" is out of range: at most 12 integer digits`}},
		{"per_km trailing dot", func(c *Config) { c.RateCards[0].PerKm = "1." },
			[]string{`rate_cards[0].per_km: "1." is not a decimal`}},
		{"per_km leading dot", func(c *Config) { c.RateCards[0].PerKm = ".5" },
			[]string{`rate_cards[0].per_km: ".5" is not a decimal`}},
		{"per_km spaces", func(c *Config) { c.RateCards[0].PerKm = " 1.20" },
			[]string{`rate_cards[0].per_km: " 1.20" is not a decimal`}},
		{"accessorial price", func(c *Config) { c.RateCards[0].Accessorials["liftgate"] = "75 EUR" },
			[]string{`rate_cards[0].accessorials.liftgate: "75 EUR" is not a decimal`}},
		{"accessorial empty price", func(c *Config) { c.RateCards[0].Accessorials["liftgate"] = "" },
			[]string{`rate_cards[0].accessorials.liftgate: is empty: give a price`}},
		{"accessorial rule code", func(c *Config) { c.RateCards[0].Accessorials["detention"] = "10.00" },
			[]string{`rate_cards[0].accessorials.detention: "detention" is the code of a rule line; an accessorial needs another code`}},
		{"accessorial bad code", func(c *Config) { c.RateCards[0].Accessorials["lift gate"] = "10.00" },
			[]string{`rate_cards[0].accessorials.lift gate: "lift gate" is not a service code: use letters, digits, '_', '-' or '.'`}},
		{"detention_per_hour", func(c *Config) { c.RateCards[0].Accessorials[KeyDetentionPerHour] = "sixty" },
			[]string{`rate_cards[0].accessorials.detention_per_hour: "sixty" is not a decimal`}},
		{"detention_per_hour empty", func(c *Config) { c.RateCards[0].Accessorials[KeyDetentionPerHour] = "" },
			[]string{`rate_cards[0].accessorials.detention_per_hour: is empty: give a price per hour`}},
		{"free minutes not whole", func(c *Config) { c.RateCards[0].Accessorials[KeyDetentionFreeMinutes] = "120.5" },
			[]string{`rate_cards[0].accessorials.detention_free_minutes: "120.5" is not a whole number of minutes from 0 to 1000000`}},
		{"free minutes signed", func(c *Config) { c.RateCards[0].Accessorials[KeyDetentionFreeMinutes] = "+120" },
			[]string{`rate_cards[0].accessorials.detention_free_minutes: "+120" is not a whole number of minutes from 0 to 1000000`}},
		{"free minutes disagree", func(c *Config) { c.RateCards[0].DetentionFreeMinutes = 90 },
			[]string{`rate_cards[0].accessorials.detention_free_minutes: "120" disagrees with detention_free_minutes 90`}},
		{"free minutes field negative", func(c *Config) {
			delete(c.RateCards[0].Accessorials, KeyDetentionFreeMinutes)
			c.RateCards[0].DetentionFreeMinutes = -1
		}, []string{`rate_cards[0].detention_free_minutes: -1 must be from 0 to 1000000`}},
		{"duplicate customer", func(c *Config) {
			c.RateCards = append(c.RateCards, RateCard{CustomerID: "CUST-7"}, RateCard{CustomerID: "CUST-7"})
		}, []string{`rate_cards[2].customer_id: "CUST-7" is also the customer of rate_cards[1]`}},
		{"duplicate star", func(c *Config) { c.RateCards = append(c.RateCards, RateCard{CustomerID: "*"}) },
			[]string{`rate_cards[1].customer_id: "*" is also the customer of rate_cards[0]`}},
		{"missing customer", func(c *Config) { c.RateCards[0].CustomerID = " " },
			[]string{`rate_cards[0].customer_id: is required (a customer id, or "*" for every other customer)`}},
		{"no cards", func(c *Config) { c.RateCards = nil },
			[]string{`rate_cards: at least one rate card is required`}},
		{"currency lowercase", func(c *Config) { c.Currency = "eur" },
			[]string{`currency: "eur" is not an ISO 4217 code such as EUR`}},
		{"tax rate missing", func(c *Config) { c.TaxRate = "" },
			[]string{`tax_rate: is required ("0.10" for 10 %; "0" for none)`}},
		{"tax rate percent", func(c *Config) { c.TaxRate = "10" },
			[]string{`tax_rate: "10" must be a fraction from 0 to 1 ("0.10" for 10 %)`}},
		{"tax rate above one", func(c *Config) { c.TaxRate = "1.5" },
			[]string{`tax_rate: "1.5" must be a fraction from 0 to 1 ("0.10" for 10 %)`}},
		{"tax rate places", func(c *Config) { c.TaxRate = "0.1234567" },
			[]string{`tax_rate: "0.1234567" has more than 6 decimal places`}},
		{"every error, in order", func(c *Config) {
			c.Currency, c.TaxRate = "", "x"
			c.RateCards = append(c.RateCards, RateCard{CustomerID: "C", PerKm: "a", PerStop: "b",
				Accessorials: map[string]string{"z": "1", "a": "-1"}})
		}, []string{
			`currency: "" is not an ISO 4217 code such as EUR`,
			`tax_rate: "x" is not a decimal`,
			`rate_cards[1].per_km: "a" is not a decimal`,
			`rate_cards[1].per_stop: "b" is not a decimal`,
			`rate_cards[1].accessorials.a: "-1" must not be negative`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(&c)
			e, err := Compile(c)
			if e != nil || err == nil {
				t.Fatalf("Compile = %v, %v; want an error", e, err)
			}
			var got []string
			for _, err := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *FieldError
				if !errors.As(err, &fe) {
					t.Fatalf("%v is not a *FieldError", err)
				}
				got = append(got, fe.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"contract card", func(*Config) {}},
		{"empty prices are zero", func(c *Config) { c.RateCards[0] = RateCard{CustomerID: "*"} }},
		{"free minutes in the field", func(c *Config) {
			delete(c.RateCards[0].Accessorials, KeyDetentionFreeMinutes)
			c.RateCards[0].DetentionFreeMinutes = 120
		}},
		{"free minutes in both, agreeing", func(c *Config) { c.RateCards[0].DetentionFreeMinutes = 120 }},
		{"trailing zeros beyond four places", func(c *Config) { c.RateCards[0].PerKm = "1.2000000" }},
		{"leading zeros", func(c *Config) { c.RateCards[0].PerKm = "000000000000001.20" }},
		{"tax rate of one", func(c *Config) { c.TaxRate = "1.000" }},
		{"customer cards only", func(c *Config) { c.RateCards[0].CustomerID = "CUST-7" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(&c)
			if _, err := Compile(c); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRateErrors(t *testing.T) {
	e, err := Compile(validConfig())
	if err != nil {
		t.Fatal(err)
	}
	neg, long := -1.0, 1e7
	stops := []Stop{{ID: "S1", Type: StopPickup}, {ID: "S2", Type: StopDelivery}}
	tests := []struct {
		name string
		s    Shipment
		want string
		is   error
	}{
		{"negative distance", Shipment{ID: "A", DistanceKm: -3, Stops: stops},
			"rate A: invalid shipment: distance_km -3 must be from 0 to 1000000", ErrInvalidShipment},
		{"huge planned", Shipment{ID: "B", PlannedKm: 2e6, Stops: stops},
			"rate B: invalid shipment: planned_km 2e+06 must be from 0 to 1000000", ErrInvalidShipment},
		{"stop type", Shipment{ID: "C", Stops: []Stop{{ID: "S1", Type: "drop"}}},
			`rate C: invalid shipment: stops[0].type "drop" is neither pickup nor delivery`, ErrInvalidShipment},
		{"negative dwell", Shipment{ID: "D", Stops: []Stop{{ID: "S1", Type: StopPickup, DwellMinutes: &neg}}},
			"rate D: invalid shipment: stops[0].dwell_minutes -1 must be from 0 to 1000000", ErrInvalidShipment},
		{"dwell too long", Shipment{ID: "E", Stops: []Stop{{ID: "S1", Type: StopPickup, DwellMinutes: &long}}},
			"rate E: invalid shipment: stops[0].dwell_minutes 1e+07 must be from 0 to 1000000", ErrInvalidShipment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Rate(tt.s)
			if err == nil || err.Error() != tt.want || !errors.Is(err, tt.is) || CaseCode(err) != "" {
				t.Errorf("Rate error %v (case %q), want %q", err, CaseCode(err), tt.want)
			}
		})
	}
}

func TestRateNotFinite(t *testing.T) {
	e, err := Compile(validConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []float64{posInf(), -posInf(), posInf() - posInf()} {
		d := f
		for _, s := range []Shipment{
			{ID: "X", DistanceKm: f},
			{ID: "X", PlannedKm: f},
			{ID: "X", Stops: []Stop{{ID: "S1", Type: StopDelivery, DwellMinutes: &d}}},
		} {
			if _, err := e.Rate(s); !errors.Is(err, ErrInvalidShipment) {
				t.Errorf("Rate(%+v) = %v, want ErrInvalidShipment", s, err)
			}
		}
	}
}

func posInf() float64 {
	var zero float64
	return 1 / zero
}

func TestRateOverflow(t *testing.T) {
	huge := "999999999999.9999"
	c := Config{Currency: "EUR", TaxRate: "1", RateCards: []RateCard{{CustomerID: "*", PerKm: huge, PerStop: huge,
		FuelSurchargePct: huge}}}
	e, err := Compile(c)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Rate(Shipment{ID: "Z", DistanceKm: 1e6, Stops: []Stop{{ID: "S1", Type: StopDelivery}}})
	if !errors.Is(err, ErrInvalidShipment) || err.Error() != "rate Z: invalid shipment: amounts beyond exact range" {
		t.Fatalf("Rate = %v, want amounts beyond exact range", err)
	}
}

func TestCaseCode(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("other"), ""},
		{ErrInvalidShipment, ""},
		{ErrNoRateCard, CaseNoRateCard},
		{&UnpricedAccessorialError{Card: "*", Codes: []string{"x"}}, CaseUnpricedAccessorial},
	}
	for _, tt := range tests {
		if got := CaseCode(tt.err); got != tt.want {
			t.Errorf("CaseCode(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	one := &UnpricedAccessorialError{Card: "CUST-7", Codes: []string{"hazmat"}}
	if got, want := one.Error(), `accessorial "hazmat" not priced on rate card "CUST-7"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
