package billing

import (
	"math"
	"math/bits"
	"strconv"
)

// Scales of the fixed-point integers: a value v at scale s means v / 10^s.
const (
	centScale  = 2 // money amounts: cents
	priceScale = 4 // card prices and the fuel percentage
	taxScale   = 6 // the tax rate
	kmScale    = 1 // distance quantity: tenths of a km
	hourScale  = 2 // detention quantity: hundredths of an hour
	dwellScale = 1 // measured dwell: tenths of a minute
)

// pow10 holds the powers of ten that fit in a uint64.
var pow10 = [...]uint64{
	1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// parseFixed parses s, a non-negative decimal ("1.20", "75", "0.085"), into
// an integer at scale places. It accepts at most maxInt integer digits once
// leading zeros are dropped and at most places decimal places once trailing
// zeros are dropped; signs, exponents, spaces and separators other than one
// '.' are refused. On failure it returns the reason, to follow the quoted
// text in an error ("is not a decimal").
func parseFixed(s string, places, maxInt int) (int64, string) {
	intPart, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i+1:]
			if frac == "" {
				return 0, "is not a decimal"
			}
			break
		}
	}
	if len(intPart) > 1 && intPart[0] == '-' && allDigits(intPart[1:]) && allDigits(frac) {
		return 0, "must not be negative"
	}
	if intPart == "" || !allDigits(intPart) || !allDigits(frac) {
		return 0, "is not a decimal"
	}
	for len(intPart) > 1 && intPart[0] == '0' {
		intPart = intPart[1:]
	}
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if len(intPart) > maxInt {
		return 0, "is out of range: at most " + strconv.Itoa(maxInt) + " integer digits"
	}
	if len(frac) > places {
		return 0, "has more than " + strconv.Itoa(places) + " decimal places"
	}
	var v int64
	for i := 0; i < len(intPart); i++ {
		v = v*10 + int64(intPart[i]-'0')
	}
	for i := 0; i < places; i++ {
		v *= 10
		if i < len(frac) {
			v += int64(frac[i] - '0')
		}
	}
	return v, ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// roundFloat rounds f, finite and in [0, 1e9], half-up to places decimal
// places and returns it at that scale. It rounds the shortest decimal text
// of f ("312.45"), not its binary value (312.44999…), so a measurement rounds
// the way a person reading it would.
func roundFloat(f float64, places int) int64 {
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'f', -1, 64)
	var v int64
	i := 0
	for ; i < len(s) && s[i] != '.'; i++ {
		v = v*10 + int64(s[i]-'0')
	}
	if i < len(s) {
		i++ // the '.'
	}
	for p := 0; p < places; p++ {
		v *= 10
		if i < len(s) {
			v += int64(s[i] - '0')
			i++
		}
	}
	if i < len(s) && s[i] >= '5' {
		v++
	}
	return v
}

// validMeasure reports whether f is finite and in [0, limit].
func validMeasure(f, limit float64) bool {
	return !math.IsNaN(f) && f >= 0 && f <= limit
}

// mulRound returns a × b / 10^shift rounded half-up, for non-negative a and
// b; the product is exact in 128 bits. ok is false when the result does not
// fit an int64.
func mulRound(a, b int64, shift int) (v int64, ok bool) {
	d := pow10[shift]
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= d {
		return 0, false
	}
	q, r := bits.Div64(hi, lo, d)
	if r >= d-r {
		q++
	}
	if q > math.MaxInt64 {
		return 0, false
	}
	return int64(q), true
}

// add returns a + b for non-negative a and b; ok is false on overflow.
func add(a, b int64) (v int64, ok bool) {
	if a > math.MaxInt64-b {
		return 0, false
	}
	return a + b, true
}

// format writes v at scale as decimal text with at least minPlaces decimal
// places: trailing zeros beyond minPlaces are dropped, and so is the '.'
// when nothing follows it. format(12000, 4, 2) is "1.20", format(41240, 4,
// 2) is "4.124", format(3, 0, 0) is "3".
func format(v int64, scale, minPlaces int) string {
	var buf [40]byte
	b := strconv.AppendUint(buf[:0], uint64(v)/pow10[scale], 10)
	if scale == 0 {
		return string(b)
	}
	frac := uint64(v) % pow10[scale]
	places := scale
	for places > minPlaces && frac%10 == 0 {
		frac /= 10
		places--
	}
	if places == 0 {
		return string(b)
	}
	b = append(b, '.')
	for p := places - 1; p >= 0; p-- {
		b = append(b, byte('0'+frac/pow10[p]%10))
	}
	return string(b)
}

// money writes an amount in cents with exactly two decimal places ("1234.50").
func money(cents int64) string { return format(cents, centScale, centScale) }

// FormatCents writes an amount in cents as a decimal with exactly two
// places ("1234.50"), the contract's money format.
func FormatCents(cents int64) string { return money(cents) }
