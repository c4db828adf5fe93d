package x12

import (
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // the US zones must resolve without system tzdata
)

// clock is a time of day.
type clock struct{ h, m, s, ns int }

// parseDate reads CCYYMMDD.
func parseDate(s string) (time.Time, bool) {
	if !isDigits(s, 8, 8) {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102", s)
	return t, err == nil
}

// parseClock reads HHMM, HHMMSS, HHMMSSD or HHMMSSDD.
func parseClock(s string) (clock, bool) {
	if !isDigits(s, 4, 8) || len(s) == 5 {
		return clock{}, false
	}
	num := func(i int) int { return int(s[i]-'0')*10 + int(s[i+1]-'0') }
	c := clock{h: num(0), m: num(2)}
	if len(s) >= 6 {
		c.s = num(4)
	}
	switch len(s) {
	case 7:
		c.ns = int(s[6]-'0') * 1e8
	case 8:
		c.ns = num(6) * 1e7
	}
	if c.h > 23 || c.m > 59 || c.s > 59 {
		return clock{}, false
	}
	return c, true
}

// zoneNames maps the X12 time codes (DE 623) of zones that observe
// daylight saving time to IANA zones. Only codes the X12 code list defines
// are listed, plus "AK", a common non-standard spelling of Alaska time.
var zoneNames = map[string]string{
	"ET": "America/New_York",    // Eastern Time
	"CT": "America/Chicago",     // Central Time
	"MT": "America/Denver",      // Mountain Time
	"PT": "America/Los_Angeles", // Pacific Time
	"AT": "America/Anchorage",   // Alaska Time
	"AK": "America/Anchorage",   // Alaska Time (non-standard)
	"HT": "Pacific/Honolulu",    // Hawaii-Aleutian Time
	"TT": "America/Halifax",     // Atlantic Time
	"NT": "America/St_Johns",    // Newfoundland Time
}

// fixedZones maps the standard- and daylight-time codes to fixed offsets
// in seconds east of UTC. The three-letter spellings are non-standard but
// common.
var fixedZones = map[string]int{
	"ES": -5 * 3600, "EST": -5 * 3600, "ED": -4 * 3600, "EDT": -4 * 3600,
	"CS": -6 * 3600, "CST": -6 * 3600, "CD": -5 * 3600, "CDT": -5 * 3600,
	"MS": -7 * 3600, "MST": -7 * 3600, "MD": -6 * 3600, "MDT": -6 * 3600,
	"PS": -8 * 3600, "PST": -8 * 3600, "PD": -7 * 3600, "PDT": -7 * 3600,
	"AS": -9 * 3600, "AD": -8 * 3600,
	"HS": -10 * 3600, "HD": -9 * 3600,
	"TS": -4 * 3600, "TD": -3 * 3600,
	"NS": -(3*3600 + 1800), "ND": -(2*3600 + 1800),
}

var loadZones = sync.OnceValue(func() map[string]*time.Location {
	m := make(map[string]*time.Location, len(zoneNames)+len(fixedZones)+24)
	for code, name := range zoneNames {
		if loc, err := time.LoadLocation(name); err == nil {
			m[code] = loc
		}
	}
	for code, off := range fixedZones {
		m[code] = time.FixedZone(code, off)
	}
	// 01..12 are UTC+1..+12, 13..24 are UTC-12..-1.
	for i := 1; i <= 24; i++ {
		off := i
		if i > 12 {
			off = i - 25
		}
		m[fmt.Sprintf("%02d", i)] = time.FixedZone(fmt.Sprintf("UTC%+03d", off), off*3600)
	}
	for _, code := range []string{"UT", "GM", "UTC", "GMT"} {
		m[code] = time.UTC
	}
	return m
})

// zoneFor resolves an X12 time code. "" and LT (local time) resolve to
// local, which is the caller's default location or UTC.
func zoneFor(code string, local *time.Location) (*time.Location, bool) {
	if code == "" || code == "LT" {
		if local == nil {
			return time.UTC, true
		}
		return local, true
	}
	loc, ok := loadZones()[code]
	return loc, ok
}

// timeErr says which element of a date/time triple is wrong.
type timeErr struct {
	elem int // 0 date, 1 time, 2 time code
	code string
	msg  string
}

// stamp combines a CCYYMMDD date, an optional HHMM[SS[dd]] time and an
// optional time code. A missing time is the start of the day.
func stamp(date, tm, code string, local *time.Location) (time.Time, *timeErr) {
	d, ok := parseDate(date)
	if !ok {
		if date == "" {
			return time.Time{}, &timeErr{0, ElementMandatoryMissing, "date missing"}
		}
		return time.Time{}, &timeErr{0, ElementInvalidDate, fmt.Sprintf("invalid date %q", date)}
	}
	var c clock
	if tm != "" {
		if c, ok = parseClock(tm); !ok {
			return time.Time{}, &timeErr{1, ElementInvalidTime, fmt.Sprintf("invalid time %q", tm)}
		}
	}
	loc, ok := zoneFor(code, local)
	if !ok {
		return time.Time{}, &timeErr{2, ElementInvalidCode, fmt.Sprintf("unknown time code %q", code)}
	}
	return time.Date(d.Year(), d.Month(), d.Day(), c.h, c.m, c.s, c.ns, loc), nil
}
