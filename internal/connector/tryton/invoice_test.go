package tryton

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
)

func TestToLine(t *testing.T) {
	tests := []struct {
		name string
		in   wireLine
		want line
	}{
		{"exact", wireLine{Description: "Distance 412.5 km", Quantity: "412.5", UnitPrice: "1.20", Amount: "495.00"},
			line{Description: "Distance 412.5 km", Quantity: 412.5, UnitPrice: "1.20"}},
		{"price with four places", wireLine{Description: "Fuel", Quantity: "2", UnitPrice: "5.4500", Amount: "10.90"},
			line{Description: "Fuel", Quantity: 2, UnitPrice: "5.4500"}},
		{"trailing zeros do not count", wireLine{Description: "Fuel", Quantity: "8.500", UnitPrice: "5.40", Amount: "45.90"},
			line{Description: "Fuel", Quantity: 8.5, UnitPrice: "5.40"}},
		{"quantity with three places", wireLine{Description: "Fuel", Quantity: "8.125", UnitPrice: "5.45", Amount: "44.28"},
			line{Description: "Fuel (8.125 × 5.45)", Quantity: 1, UnitPrice: "44.28"}},
		{"price with five places", wireLine{Description: "Distance", Quantity: "100", UnitPrice: "1.23456", Amount: "123.46"},
			line{Description: "Distance (100 × 1.23456)", Quantity: 1, UnitPrice: "123.46"}},
		{"half-up tie Tryton rounds to even", wireLine{Description: "Detention", Quantity: "0.5", UnitPrice: "0.05", Amount: "0.03"},
			line{Description: "Detention (0.5 × 0.05)", Quantity: 1, UnitPrice: "0.03"}},
		{"half-up tie that is even", wireLine{Description: "Detention", Quantity: "0.5", UnitPrice: "0.07", Amount: "0.04"},
			line{Description: "Detention", Quantity: 0.5, UnitPrice: "0.07"}},
		{"code when no description", wireLine{Code: "stop", Quantity: "2", UnitPrice: "25.00", Amount: "50.00"},
			line{Description: "stop", Quantity: 2, UnitPrice: "25.00"}},
		{"quantity beyond a float's precision", wireLine{Description: "Bulk", Quantity: "12345678901234567.5", UnitPrice: "1.00", Amount: "12345678901234567.50"},
			line{Description: "Bulk (12345678901234567.5 × 1.00)", Quantity: 1, UnitPrice: "12345678901234567.50"}},
		{"credit", wireLine{Description: "Credit", Quantity: "-1", UnitPrice: "10.00", Amount: "-10.00"},
			line{Description: "Credit", Quantity: -1, UnitPrice: "10.00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := toLine(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestToLineRefuses(t *testing.T) {
	for _, in := range []wireLine{
		{Quantity: "1", UnitPrice: "1.00", Amount: "1"},
		{Quantity: "1,5", UnitPrice: "1.00", Amount: "1.50"},
		{Quantity: "1", UnitPrice: "1e2", Amount: "100.00"},
		{Quantity: "", UnitPrice: "1.00", Amount: "1.00"},
	} {
		if _, _, err := toLine(in); err == nil {
			t.Errorf("%+v: accepted", in)
		}
	}
}

func TestRoundHalfEven(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0.025", "0.02"}, {"0.035", "0.04"}, {"0.0251", "0.03"}, {"-0.025", "-0.02"}, {"-0.035", "-0.04"},
		{"495", "495.00"}, {"46.3325", "46.33"}, {"1.005", "1.00"}, {"1.015", "1.02"},
	}
	for _, tt := range tests {
		r, _ := new(big.Rat).SetString(tt.in)
		if got := roundHalfEven(r, 2).FloatString(2); got != tt.want {
			t.Errorf("roundHalfEven(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	for in, want := range map[string]string{"0.0": "0.00", "650.46": "650.46", "5000": "5000.00", "-12.5": "-12.50", "": ""} {
		if got := formatMoney(in); got != want {
			t.Errorf("formatMoney(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseInvoiceSuiteEvent(t *testing.T) {
	inv, err := parseInvoice(connectortest.Invoice(7).Data)
	if err != nil {
		t.Fatal(err)
	}
	if inv.CustomerID != "CUST-2" || inv.Currency != "EUR" || len(inv.Lines) != 3 || inv.Total.String() != "650.46" ||
		!strings.HasPrefix(inv.ID, "INV-CT-") || !strings.HasPrefix(inv.ShipmentID, "SHP-CT-") {
		t.Errorf("parsed %+v", inv)
	}
}

// FuzzParseInvoice: any input is parsed or refused, never a panic; what is
// accepted adds up, and goes to Tryton as values it keeps exactly.
func FuzzParseInvoice(f *testing.F) {
	f.Add(connectortest.Invoice(1).Data)
	f.Add([]byte(`{"id":"I","customer_id":"C","currency":"EUR","lines":[{"quantity":"0.5","unit_price":"0.05","amount":"0.03"}],"subtotal":"0.03","tax":"0.00","total":"0.03"}`))
	f.Add([]byte(`{"lines":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := parseInvoice(data)
		if err != nil {
			return
		}
		sum := new(big.Rat)
		for _, l := range inv.Lines {
			p, places, err := parseDecimal(l.UnitPrice)
			if err != nil || places > priceDigits {
				t.Fatalf("unit price %q goes to Tryton: %v", l.UnitPrice, err)
			}
			q, _ := new(big.Rat).SetString(floatText(l.Quantity))
			sum.Add(sum, roundHalfEven(q.Mul(q, p), 2))
		}
		if sum.Cmp(inv.Subtotal.r) != 0 {
			var w wireInvoice
			_ = json.Unmarshal(data, &w)
			t.Fatalf("Tryton would total %s, subtotal %s: %+v", sum.FloatString(2), inv.Subtotal, w)
		}
	})
}
