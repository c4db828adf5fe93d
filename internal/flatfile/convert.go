package flatfile

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// convert returns the typed value of a non-empty, trimmed, valid UTF-8
// cell, or the reason it has none.
func (c *column) convert(v string) (any, string) {
	switch c.Type {
	case TypeNumber:
		return parseNumber(v)
	case TypeInteger:
		return parseInteger(v)
	case TypeDecimal:
		return parseDecimal(v)
	case TypeTime:
		return c.parseTime(v)
	case TypeBool:
		return parseBool(v)
	}
	return v, ""
}

// parseNumber accepts decimal notation with an optional exponent: "12.5",
// "-3", "1e3", ".5". It refuses NaN, infinities, hexadecimal and "_".
func parseNumber(v string) (any, string) {
	if !isNumber(v) {
		if strings.Contains(v, ",") && isNumber(strings.Replace(v, ",", ".", 1)) {
			return nil, quote(v) + " is not a number (use . as the decimal separator)"
		}
		return nil, quote(v) + " is not a number"
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, quote(v) + " is out of range for a number"
	}
	return f, ""
}

// isNumber matches [+-]?(d+(.d*)?|.d+)([eE][+-]?d+)?.
func isNumber(v string) bool {
	v = trimSign(v)
	mant := v
	for i := 0; i < len(v); i++ {
		if v[i] == 'e' || v[i] == 'E' {
			if !isDigits(trimSign(v[i+1:])) {
				return false
			}
			mant = v[:i]
			break
		}
	}
	intPart, frac, dot := strings.Cut(mant, ".")
	if !dot {
		return isDigits(intPart)
	}
	return (intPart == "" || isDigits(intPart)) && (frac == "" || isDigits(frac)) && intPart+frac != ""
}

// parseInteger accepts [+-]?d+ within the range of int (64 bits).
func parseInteger(v string) (any, string) {
	if !isDigits(trimSign(v)) {
		return nil, quote(v) + " is not an integer"
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, quote(v) + " is out of range for an integer"
	}
	return int(n), ""
}

// parseDecimal accepts [+-]?d+(.d+)? and returns it as written, less a
// leading '+': "84.20" stays "84.20", "+5" becomes "5".
func parseDecimal(v string) (any, string) {
	if !isDecimal(v) {
		if strings.Contains(v, ",") && isDecimal(strings.Replace(v, ",", ".", 1)) {
			return nil, quote(v) + " is not a decimal (use . as the decimal separator)"
		}
		return nil, quote(v) + " is not a decimal"
	}
	return strings.TrimPrefix(v, "+"), ""
}

func isDecimal(v string) bool {
	intPart, frac, dot := strings.Cut(trimSign(v), ".")
	return isDigits(intPart) && (!dot || isDigits(frac))
}

// parseTime returns the instant as an RFC 3339 string in UTC with as many
// fractional digits as needed ("2024-03-01T07:15:00Z").
func (c *column) parseTime(v string) (any, string) {
	var t time.Time
	switch c.layout {
	case LayoutUnix, LayoutUnixMS:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || !isDigits(trimSign(v)) {
			unit := "seconds"
			if c.layout == LayoutUnixMS {
				unit = "milliseconds"
			}
			return nil, fmt.Sprintf("%s is not a Unix time in whole %s", quote(v), unit)
		}
		if c.layout == LayoutUnix {
			t = time.Unix(n, 0)
		} else {
			t = time.UnixMilli(n)
		}
	default:
		var err error
		if t, err = time.ParseInLocation(c.layout, v, c.loc); err != nil {
			if c.Layout == "" {
				return nil, quote(v) + " is not an RFC 3339 time (like 2024-03-01T08:15:00+01:00)"
			}
			return nil, fmt.Sprintf("%s is not a time in layout %q", quote(v), c.Layout)
		}
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, quote(v) + " is out of range for a time"
	}
	return t.Format(time.RFC3339Nano), ""
}

// parseBool accepts true/false, 1/0 and yes/no in any case.
func parseBool(v string) (any, string) {
	switch {
	case v == "1" || strings.EqualFold(v, "true") || strings.EqualFold(v, "yes"):
		return true, ""
	case v == "0" || strings.EqualFold(v, "false") || strings.EqualFold(v, "no"):
		return false, ""
	}
	return nil, quote(v) + " is not a bool (true/false, 1/0 or yes/no)"
}

func trimSign(v string) string {
	if v != "" && (v[0] == '+' || v[0] == '-') {
		return v[1:]
	}
	return v
}

// isDigits reports whether v is one or more ASCII digits.
func isDigits(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// maxQuoted bounds how much of a cell an error message repeats.
const maxQuoted = 64

// quote returns v in Go quotes, cut to maxQuoted bytes on a rune boundary.
func quote(v string) string {
	if len(v) <= maxQuoted {
		return strconv.Quote(v)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return strconv.Quote(v[:cut]) + "…"
}
