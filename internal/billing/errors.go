package billing

import (
	"errors"
	"strconv"
	"strings"
)

// Case codes the workflow opens when a shipment cannot be rated.
const (
	CaseNoRateCard          = "no_rate_card"
	CaseUnpricedAccessorial = "unpriced_accessorial"
)

// ErrNoRateCard is wrapped by Rate when neither a card for the shipment's
// customer nor a "*" card exists. The workflow opens case no_rate_card.
var ErrNoRateCard = errors.New("no rate card")

// ErrInvalidShipment is wrapped by Rate when the shipment's own data cannot
// be rated: a distance or dwell that is negative, not finite or beyond the
// limits, a stop type other than pickup or delivery, or amounts too large
// for exact arithmetic. It is a bug or bad data upstream, not a case.
var ErrInvalidShipment = errors.New("invalid shipment")

// UnpricedAccessorialError is returned (wrapped) by Rate when the shipment
// requests services its rate card has no price for. The workflow opens case
// unpriced_accessorial; Rate never bills such a service as a zero line.
type UnpricedAccessorialError struct {
	Card  string   // CustomerID of the card used
	Codes []string // the unpriced codes, in requested order, each once
}

func (e *UnpricedAccessorialError) Error() string {
	quoted := make([]string, len(e.Codes))
	for i, c := range e.Codes {
		quoted[i] = strconv.Quote(c)
	}
	noun := "accessorial "
	if len(e.Codes) > 1 {
		noun = "accessorials "
	}
	return noun + strings.Join(quoted, ", ") + " not priced on rate card " + strconv.Quote(e.Card)
}

// CaseCode returns the case code the workflow opens for an error from Rate:
// CaseNoRateCard, CaseUnpricedAccessorial, or "" when err is nil or not a
// business case.
func CaseCode(err error) string {
	var unpriced *UnpricedAccessorialError
	switch {
	case errors.Is(err, ErrNoRateCard):
		return CaseNoRateCard
	case errors.As(err, &unpriced):
		return CaseUnpricedAccessorial
	}
	return ""
}
