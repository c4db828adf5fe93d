package bench

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// The generator writes JSON by appending to a byte slice: the shapes are
// few and fixed, and at hundreds of thousands of events a second the bench
// must not spend the CPU the hub under test needs on reflection.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// appendKey appends "key": — keys are fixed ASCII literals.
func appendKey(b []byte, key string) []byte {
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendStringField(b []byte, key, v string) []byte {
	return appendString(appendKey(b, key), v)
}

func appendFloatField(b []byte, key string, v float64, prec int) []byte {
	return strconv.AppendFloat(appendKey(b, key), v, 'f', prec, 64)
}

func appendIntField(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(appendKey(b, key), v, 10)
}

func appendTimeField(b []byte, key string, t time.Time) []byte {
	b = append(appendKey(b, key), '"')
	b = t.UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

// appendPoint appends {"lat":…,"lon":…} with 6 decimals (about 0.1 m).
func appendPoint(b []byte, lat, lon float64) []byte {
	b = append(b, '{')
	b = appendFloatField(b, "lat", lat, 6)
	b = append(b, ',')
	b = appendFloatField(b, "lon", lon, 6)
	return append(b, '}')
}
