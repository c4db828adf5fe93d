package odata

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/crossdockhq/crossdock/internal/connector/erpinvoice"
)

// priced is a line as SAP prices it: quantity × rate must give our
// amount exactly (and the quantity fit RequestedQuantity's three
// decimals), else the line goes as 1 × amount with the quantity and unit
// price kept in its text, so SAP's net value is ours. The text fits in n
// characters, the description cut first.
func priced(l erpinvoice.Line, n int) (text, quantity, rate string) {
	desc := l.Description
	if desc == "" {
		desc = l.Code
	}
	quantity, rate = l.Quantity, l.UnitPrice
	suffix := ""
	_, frac, _ := strings.Cut(l.Quantity, ".")
	if len(frac) > 3 || new(big.Rat).Mul(erpinvoice.Rat(l.Quantity), erpinvoice.Rat(l.UnitPrice)).Cmp(erpinvoice.Rat(l.Amount)) != 0 {
		quantity, rate = "1", l.Amount
		suffix = fmt.Sprintf(" (%s × %s)", l.Quantity, l.UnitPrice)
	}
	if d, s := []rune(desc), []rune(suffix); len(d)+len(s) > n {
		keep := max(0, n-len(s)-1)
		if keep < len(d) {
			desc = string(d[:keep]) + "…"
		}
		if r := []rune(desc + suffix); len(r) > n {
			return string(r[:n]), quantity, rate
		}
	}
	return desc + suffix, quantity, rate
}
