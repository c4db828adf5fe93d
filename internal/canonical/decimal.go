package canonical

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Decimal is a money amount as a decimal string ("84.20"). It accepts a
// JSON string or a JSON number and always marshals as a string, so amounts
// never pass through a float. ParseEvent accepts non-negative amounts with
// at most 15 integer digits and 4 significant decimal places, without
// exponent; the text is kept as sent ("84.2" stays "84.2").
type Decimal string

// UnmarshalJSON accepts "84.20" or 84.20 (kept as the literal text) and
// leaves d unchanged for null.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = Decimal(s)
		return nil
	case string(b) == "null":
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("amount must be a decimal string or number")
	}
	*d = Decimal(n.String())
	return nil
}

// String returns the decimal text.
func (d Decimal) String() string { return string(d) }

// Bounds of a valid Decimal.
const (
	maxDecimalPlaces = 4
	maxIntDigits     = 15
)

// validDecimal reports whether s is a non-negative decimal with 1 to 15
// integer digits and at most maxFrac decimal places once trailing zeros
// are dropped ("0", "12.5", "84.2000").
func validDecimal(s string, maxFrac int) bool {
	intPart, frac, hasDot := s, "", false
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac, hasDot = s[:i], s[i+1:], true
			break
		}
	}
	if intPart == "" || len(intPart) > maxIntDigits || (hasDot && frac == "") || !allDigits(intPart) || !allDigits(frac) {
		return false
	}
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	return len(frac) <= maxFrac
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
