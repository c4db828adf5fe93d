package osmand

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/ingest"
)

// Unit conversions of the protocol.
const (
	knotsToKph = 1.852
	mpsToKph   = 3.6
)

// FieldError names the request field that could not be decoded.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func bad(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// DecodeQuery decodes the query (or form) variant: id or deviceid; lat and
// lon, or location=lat,lon; timestamp as epoch seconds, epoch milliseconds
// (values above 1e11), RFC 3339 or "yyyy-MM-dd HH:mm:ss" (read as UTC);
// speed in knots; bearing or heading; altitude; accuracy; batt (percent);
// valid=false rejects the position as having no fix. Without a timestamp
// the position takes now. Unknown parameters are ignored.
func DecodeQuery(q url.Values, now time.Time) (ingest.Position, error) {
	var p ingest.Position
	p.DeviceID = first(q, "id", "deviceid")
	if p.DeviceID == "" {
		return p, bad("id", "required (or deviceid)")
	}
	if v := strings.ToLower(q.Get("valid")); v == "false" || v == "0" {
		return p, bad("valid", "%s: the device reports no GPS fix", q.Get("valid"))
	}
	var err error
	if loc := q.Get("location"); loc != "" && q.Get("lat") == "" {
		lat, lon, ok := strings.Cut(loc, ",")
		if !ok {
			return p, bad("location", "must be lat,lon, got %q", clip(loc))
		}
		if p.Lat, err = number("location", lat); err != nil {
			return p, err
		}
		if p.Lon, err = number("location", lon); err != nil {
			return p, err
		}
	} else {
		if p.Lat, err = required(q, "lat"); err != nil {
			return p, err
		}
		if p.Lon, err = required(q, "lon"); err != nil {
			return p, err
		}
	}
	if p.Time, err = timestamp(q.Get("timestamp"), now); err != nil {
		return p, err
	}
	for _, f := range []struct {
		names []string
		dst   **float64
		scale float64
	}{
		{[]string{"speed"}, &p.SpeedKph, knotsToKph},
		{[]string{"bearing", "heading"}, &p.Heading, 1},
		{[]string{"altitude"}, &p.AltitudeM, 1},
		{[]string{"accuracy", "hacc"}, &p.AccuracyM, 1},
		{[]string{"batt"}, &p.BatteryPct, 1},
	} {
		for _, name := range f.names {
			if s := q.Get(name); s != "" {
				v, err := number(name, s)
				if err != nil {
					return p, err
				}
				v *= f.scale
				*f.dst = &v
				break
			}
		}
	}
	return p, nil
}

// jsonBody is the Transistorsoft background-geolocation document.
type jsonBody struct {
	DeviceID json.RawMessage `json:"device_id"`
	Location *struct {
		Timestamp string   `json:"timestamp"`
		Odometer  *float64 `json:"odometer"` // metres
		Coords    *struct {
			Latitude  *float64 `json:"latitude"`
			Longitude *float64 `json:"longitude"`
			Accuracy  *float64 `json:"accuracy"`
			Speed     *float64 `json:"speed"`   // m/s; negative: unknown
			Heading   *float64 `json:"heading"` // negative: unknown
			Altitude  *float64 `json:"altitude"`
		} `json:"coords"`
		Battery *struct {
			Level *float64 `json:"level"` // 0..1
		} `json:"battery"`
	} `json:"location"`
}

// DecodeJSON decodes the JSON variant: device_id (string or number) and
// location.{timestamp, coords.{latitude, longitude, accuracy, speed in m/s,
// heading, altitude}, odometer in metres, battery.level 0..1}. A negative
// speed or heading means unknown.
func DecodeJSON(body []byte, now time.Time) (ingest.Position, error) {
	var p ingest.Position
	var b jsonBody
	if err := json.Unmarshal(body, &b); err != nil {
		return p, bad("body", "not JSON: %v", err)
	}
	switch id := strings.TrimSpace(string(b.DeviceID)); {
	case id == "" || id == "null":
		return p, bad("device_id", "required")
	case strings.HasPrefix(id, `"`):
		if err := json.Unmarshal(b.DeviceID, &p.DeviceID); err != nil || p.DeviceID == "" {
			return p, bad("device_id", "must be a non-empty string or a number")
		}
	default:
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return p, bad("device_id", "must be a string or a whole number, got %s", clip(id))
		}
		p.DeviceID = id
	}
	l := b.Location
	if l == nil || l.Coords == nil {
		return p, bad("location.coords", "required")
	}
	if l.Coords.Latitude == nil {
		return p, bad("location.coords.latitude", "required")
	}
	if l.Coords.Longitude == nil {
		return p, bad("location.coords.longitude", "required")
	}
	p.Lat, p.Lon = *l.Coords.Latitude, *l.Coords.Longitude
	var err error
	if p.Time, err = timestamp(l.Timestamp, now); err != nil {
		return p, &FieldError{Field: "location.timestamp", Message: err.(*FieldError).Message}
	}
	if s := l.Coords.Speed; s != nil && *s >= 0 {
		v := *s * mpsToKph
		p.SpeedKph = &v
	}
	if h := l.Coords.Heading; h != nil && *h >= 0 {
		p.Heading = h
	}
	p.AltitudeM, p.AccuracyM = l.Coords.Altitude, l.Coords.Accuracy
	if o := l.Odometer; o != nil && *o > 0 {
		v := *o / 1000
		p.OdometerKm = &v
	}
	if l.Battery != nil && l.Battery.Level != nil && *l.Battery.Level >= 0 {
		v := math.Round(*l.Battery.Level * 100)
		p.BatteryPct = &v
	}
	return p, nil
}

func first(q url.Values, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(q.Get(n)); v != "" {
			return v
		}
	}
	return ""
}

func required(q url.Values, name string) (float64, error) {
	s := q.Get(name)
	if s == "" {
		return 0, bad(name, "required")
	}
	return number(name, s)
}

func number(name, s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, bad(name, "out of range: %s", clip(s))
		}
		return 0, bad(name, "not a number: %q", clip(s))
	}
	return v, nil
}

// timestamp reads the protocol's time forms; "" is now.
func timestamp(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return now.UTC(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > 1e11 {
			return time.UnixMilli(n).UTC(), nil
		}
		return time.Unix(n, 0).UTC(), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1e15 {
		if f > 1e11 {
			return time.UnixMilli(int64(f)).UTC(), nil
		}
		return time.Unix(0, int64(f*1e9)).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, bad("timestamp", "not epoch seconds, epoch milliseconds or ISO 8601: %q", clip(s))
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
