package odoo

import (
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/crossdockhq/crossdock/internal/connector/erpinvoice"
)

// priced is a line as the ERP computes it: quantity × unit price must
// give our amount exactly, else the line goes as 1 × amount with the
// quantity and unit price kept in its label, so the ERP's total is ours.
func priced(l erpinvoice.Line) (label string, quantity, unitPrice json.Number) {
	if l.Description == "" {
		l.Description = l.Code
	}
	if new(big.Rat).Mul(erpinvoice.Rat(l.Quantity), erpinvoice.Rat(l.UnitPrice)).Cmp(erpinvoice.Rat(l.Amount)) == 0 {
		return l.Description, json.Number(l.Quantity), json.Number(l.UnitPrice)
	}
	return fmt.Sprintf("%s (%s × %s)", l.Description, l.Quantity, l.UnitPrice), "1", json.Number(l.Amount)
}
