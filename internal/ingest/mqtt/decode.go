package mqtt

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/ingest"
)

// payload is a message body: the canonical telemetry.position data fields
// plus time.
type payload struct {
	Time         *time.Time `json:"time"`
	Lat          *float64   `json:"lat"`
	Lon          *float64   `json:"lon"`
	SpeedKph     *float64   `json:"speed_kph"`
	Heading      *float64   `json:"heading"`
	OdometerKm   *float64   `json:"odometer_km"`
	TemperatureC *float64   `json:"temperature_c"`
	AltitudeM    *float64   `json:"altitude_m"`
	AccuracyM    *float64   `json:"accuracy_m"`
	BatteryPct   *float64   `json:"battery_pct"`
}

// DeviceID returns the device a topic names: its last level.
func DeviceID(topic string) string {
	i := strings.LastIndexByte(topic, '/')
	return strings.TrimSpace(topic[i+1:])
}

// Decode reads one message: the device from the topic's last level, the
// position from the JSON body ({"lat", "lon", "time" (RFC 3339) required;
// speed_kph, heading, odometer_km, temperature_c, altitude_m, accuracy_m,
// battery_pct optional}). The error names the field.
func Decode(topic string, body []byte) (ingest.Position, error) {
	p := ingest.Position{DeviceID: DeviceID(topic)}
	if p.DeviceID == "" {
		return p, fmt.Errorf("topic: %q names no device (want …/{device_id})", topic)
	}
	var b payload
	if err := json.Unmarshal(body, &b); err != nil {
		return p, fmt.Errorf("body: not a JSON position: %w", err)
	}
	switch {
	case b.Time == nil:
		return p, fmt.Errorf("time: required (RFC 3339)")
	case b.Lat == nil:
		return p, fmt.Errorf("lat: required")
	case b.Lon == nil:
		return p, fmt.Errorf("lon: required")
	}
	p.Time, p.Lat, p.Lon = b.Time.UTC(), *b.Lat, *b.Lon
	p.SpeedKph, p.Heading, p.OdometerKm, p.TemperatureC = b.SpeedKph, b.Heading, b.OdometerKm, b.TemperatureC
	p.AltitudeM, p.AccuracyM, p.BatteryPct = b.AltitudeM, b.AccuracyM, b.BatteryPct
	p.Raw = body
	return p, nil
}
