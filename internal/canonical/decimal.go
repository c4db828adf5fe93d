package canonical

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Decimal is a money amount as a decimal string ("84.20"). It accepts a
// JSON string or a JSON number and always marshals as a string, so amounts
// never pass through a float.
type Decimal string

// UnmarshalJSON accepts "84.20" or 84.20.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = Decimal(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("amount must be a decimal string or number")
	}
	*d = Decimal(n.String())
	return nil
}

// validDecimal reports whether s is a non-negative decimal with at most
// maxFrac fraction digits ("0", "12.5", "84.2000").
func validDecimal(s string, maxFrac int) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	intPart, frac, hasDot := s, "", false
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac, hasDot = s[:i], s[i+1:], true
			break
		}
	}
	if intPart == "" || (hasDot && (frac == "" || len(frac) > maxFrac)) {
		return false
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return false
			}
		}
	}
	return true
}
