package erpinvoice

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"time"
)

// Invoice is the data of an invoice.ready event, as the billing engine
// writes it (pipeline.Invoice).
type Invoice struct {
	ID         string    `json:"id"`
	ShipmentID string    `json:"shipment_id"`
	CustomerID string    `json:"customer_id"`
	Currency   string    `json:"currency"`
	Lines      []Line    `json:"lines"`
	Subtotal   string    `json:"subtotal"`
	Tax        string    `json:"tax"`
	Total      string    `json:"total"`
	CreatedAt  time.Time `json:"created_at"`
}

// Line is one charge of an Invoice.
type Line struct {
	Code        string `json:"code"`
	Description string `json:"description"`
	Quantity    string `json:"quantity"`
	UnitPrice   string `json:"unit_price"`
	Amount      string `json:"amount"`
}

// decimalText is the only number form accepted: it is sent as is.
var decimalText = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// Parse decodes data and checks it adds up: the lines sum to the
// subtotal, subtotal and tax to the total, and the total is not negative
// (that is a credit note, which the ERP connectors do not send).
func Parse(data []byte) (Invoice, error) {
	var inv Invoice
	if err := json.Unmarshal(data, &inv); err != nil {
		return inv, fmt.Errorf("invoice: %w", err)
	}
	switch {
	case inv.ID == "":
		return inv, errors.New("invoice: id: required")
	case inv.CustomerID == "":
		return inv, errors.New("invoice: customer_id: required")
	case !currencyCode.MatchString(inv.Currency):
		return inv, fmt.Errorf("invoice: currency: want an ISO 4217 code, got %q", inv.Currency)
	case len(inv.Lines) == 0:
		return inv, errors.New("invoice: lines: none")
	}
	sum := new(big.Rat)
	for i, l := range inv.Lines {
		for name, v := range map[string]string{"quantity": l.Quantity, "unit_price": l.UnitPrice, "amount": l.Amount} {
			if !decimalText.MatchString(v) {
				return inv, fmt.Errorf("invoice: lines[%d]: %s: want a decimal, got %q", i, name, v)
			}
		}
		sum.Add(sum, Rat(l.Amount))
	}
	for name, v := range map[string]string{"subtotal": inv.Subtotal, "tax": inv.Tax, "total": inv.Total} {
		if !decimalText.MatchString(v) {
			return inv, fmt.Errorf("invoice: %s: want a decimal, got %q", name, v)
		}
	}
	if sum.Cmp(Rat(inv.Subtotal)) != 0 {
		return inv, fmt.Errorf("invoice: lines sum to %s, subtotal is %s", sum.FloatString(2), inv.Subtotal)
	}
	if new(big.Rat).Add(Rat(inv.Subtotal), Rat(inv.Tax)).Cmp(Rat(inv.Total)) != 0 {
		return inv, fmt.Errorf("invoice: subtotal %s + tax %s is not the total %s", inv.Subtotal, inv.Tax, inv.Total)
	}
	if Rat(inv.Total).Sign() < 0 {
		return inv, fmt.Errorf("invoice: total %s is negative: a credit note, not sent", inv.Total)
	}
	return inv, nil
}

// Rat reads a decimal Parse accepted (0 for anything else).
func Rat(s string) *big.Rat {
	r, _ := new(big.Rat).SetString(s)
	if r == nil {
		return new(big.Rat)
	}
	return r
}
