package tryton

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// invoice is the data of an invoice.ready event (pipeline.Invoice), with
// its amounts checked and parsed.
type invoice struct {
	ID         string
	ShipmentID string
	CustomerID string
	Currency   string
	Lines      []line
	Subtotal   amount
	Tax        amount
	Total      amount
}

// line is one invoice line as it goes to Tryton.
type line struct {
	Description string
	Quantity    float64 // account.invoice.line quantity is a Float
	UnitPrice   string  // a Numeric: sent as a Decimal
}

// Tryton's 6.0 digits: an invoice line's quantity keeps 2 decimals (no unit
// of measure), its unit price 4 (the product module's price_digits).
const (
	quantityDigits = 2
	priceDigits    = 4
)

type wireInvoice struct {
	ID         string     `json:"id"`
	ShipmentID string     `json:"shipment_id"`
	CustomerID string     `json:"customer_id"`
	Currency   string     `json:"currency"`
	Lines      []wireLine `json:"lines"`
	Subtotal   string     `json:"subtotal"`
	Tax        string     `json:"tax"`
	Total      string     `json:"total"`
}

type wireLine struct {
	Code        string `json:"code"`
	Description string `json:"description"`
	Quantity    string `json:"quantity"`
	UnitPrice   string `json:"unit_price"`
	Amount      string `json:"amount"`
}

// parseInvoice reads and checks an invoice.ready event's data: the lines'
// amounts add up to the subtotal, subtotal and tax to the total. Its errors
// are the payload's fault.
//
// A line goes to Tryton as its quantity and unit price when Tryton keeps
// both exactly and computes the same amount from them (it rounds half-even,
// the billing engine half-up); otherwise as quantity 1 at the line's
// amount, the quantity and price added to its description, so that the
// ERP's total is always ours.
func parseInvoice(data []byte) (invoice, error) {
	var w wireInvoice
	if err := json.Unmarshal(data, &w); err != nil {
		return invoice{}, fmt.Errorf("invoice: %w", err)
	}
	inv := invoice{ID: w.ID, ShipmentID: w.ShipmentID, CustomerID: w.CustomerID, Currency: w.Currency}
	switch {
	case w.ID == "":
		return invoice{}, errors.New("invoice: id: empty")
	case w.CustomerID == "":
		return invoice{}, errors.New("invoice: customer_id: empty")
	case w.Currency == "":
		return invoice{}, errors.New("invoice: currency: empty")
	case len(w.Lines) == 0:
		return invoice{}, errors.New("invoice: no lines")
	}
	var err error
	if inv.Subtotal, err = parseAmount("subtotal", w.Subtotal); err != nil {
		return invoice{}, err
	}
	if inv.Tax, err = parseAmount("tax", w.Tax); err != nil {
		return invoice{}, err
	}
	if inv.Total, err = parseAmount("total", w.Total); err != nil {
		return invoice{}, err
	}
	sum := new(big.Rat)
	for i, wl := range w.Lines {
		l, amt, err := toLine(wl)
		if err != nil {
			return invoice{}, fmt.Errorf("invoice: line %d: %w", i+1, err)
		}
		sum.Add(sum, amt.r)
		inv.Lines = append(inv.Lines, l)
	}
	if sum.Cmp(inv.Subtotal.r) != 0 {
		return invoice{}, fmt.Errorf("invoice: lines add up to %s, subtotal is %s", sum.FloatString(2), inv.Subtotal)
	}
	if s := new(big.Rat).Add(inv.Subtotal.r, inv.Tax.r); s.Cmp(inv.Total.r) != 0 {
		return invoice{}, fmt.Errorf("invoice: subtotal %s + tax %s is not the total %s", inv.Subtotal, inv.Tax, inv.Total)
	}
	return inv, nil
}

func toLine(wl wireLine) (line, amount, error) {
	amt, err := parseAmount("amount", wl.Amount)
	if err != nil {
		return line{}, amount{}, err
	}
	desc := wl.Description
	if desc == "" {
		desc = wl.Code
	}
	qty, qtyPlaces, err := parseDecimal(wl.Quantity)
	if err != nil {
		return line{}, amount{}, fmt.Errorf("quantity: %w", err)
	}
	price, pricePlaces, err := parseDecimal(wl.UnitPrice)
	if err != nil {
		return line{}, amount{}, fmt.Errorf("unit_price: %w", err)
	}
	f, _ := qty.Float64()
	exact := qtyPlaces <= quantityDigits && pricePlaces <= priceDigits && floatText(f) == qty.FloatString(qtyPlaces) &&
		roundHalfEven(new(big.Rat).Mul(qty, price), 2).Cmp(amt.r) == 0
	if !exact {
		return line{Description: desc + " (" + wl.Quantity + " × " + wl.UnitPrice + ")", Quantity: 1, UnitPrice: amt.s}, amt, nil
	}
	return line{Description: desc, Quantity: f, UnitPrice: wl.UnitPrice}, amt, nil
}

// floatText is f as Tryton reads a Float quantity: Decimal(str(f)), the
// shortest text that is f.
func floatText(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if s == "-0" {
		return "0"
	}
	return s
}

// amount is a money amount with two decimals: its text and its value.
type amount struct {
	s string
	r *big.Rat
}

func (a amount) String() string { return a.s }

// IsZero reports whether a is 0.
func (a amount) IsZero() bool { return a.r.Sign() == 0 }

var amountText = regexp.MustCompile(`^-?[0-9]+\.[0-9]{2}$`)

func parseAmount(field, s string) (amount, error) {
	if !amountText.MatchString(s) {
		return amount{}, fmt.Errorf("invoice: %s: want a decimal with two places, got %q", field, s)
	}
	r, _ := new(big.Rat).SetString(s)
	return amount{s: s, r: r}, nil
}

var decimalText = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// parseDecimal reads decimal text and says how many places it has.
func parseDecimal(s string) (*big.Rat, int, error) {
	if !decimalText.MatchString(s) {
		return nil, 0, fmt.Errorf("want a decimal, got %q", s)
	}
	r, _ := new(big.Rat).SetString(s)
	places := 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		places = len(strings.TrimRight(s[i+1:], "0"))
	}
	return r, places, nil
}

// roundHalfEven rounds r to places decimals, ties to even, as Tryton's
// currency.round does.
func roundHalfEven(r *big.Rat, places int) *big.Rat {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(scale))
	q, m := new(big.Int).DivMod(scaled.Num(), scaled.Denom(), new(big.Int)) // floor, 0 ≤ m < den
	twice := new(big.Int).Lsh(m, 1)
	switch twice.Cmp(scaled.Denom()) {
	case 1:
		q.Add(q, big.NewInt(1))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
	}
	return new(big.Rat).SetFrac(q, scale)
}

// formatMoney writes Tryton's decimal text d ("0.0", "650.46") with two
// places; d unchanged when it is not a decimal.
func formatMoney(d string) string {
	r, ok := new(big.Rat).SetString(d)
	if !ok {
		return d
	}
	return r.FloatString(2)
}
