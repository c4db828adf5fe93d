package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/ingest"
)

// DevicePositionContentType marks a quarantined device position: a JSON
// devicePosition, which replay turns into a device item again — so a
// position from a device registered after the fact can be replayed.
const DevicePositionContentType = "application/vnd.crossdock.device-position+json"

var _ ingest.Sink = (*Pipeline)(nil)

// minDeviceTime is the earliest position time a device may report: trackers
// without a fix or a set clock send 1970 (Unix 0) or their firmware's epoch.
var minDeviceTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// devicePosition is how a device position is kept in quarantine: what the
// input decoded, in canonical units, and the payload it came from.
type devicePosition struct {
	Input    string    `json:"input"`
	DeviceID string    `json:"device_id"`
	Time     time.Time `json:"time"`
	canonical.TelemetryPosition
	Raw []byte `json:"raw,omitempty"` // base64 in JSON
}

// DeviceItem turns one decoded device position into a submission item:
// a telemetry.position event from source input, with an id derived from
// device and time, to be resolved to its vehicle by the writer. Invalid
// values (NaN, coordinates out of range, a time far off) give an item with
// Err set, kept in quarantine like any rejected event.
func DeviceItem(input string, p ingest.Position, now time.Time, lim canonical.Limits) Item {
	dp := devicePosition{Input: input, DeviceID: p.DeviceID, Time: p.Time.UTC(), Raw: p.Raw, TelemetryPosition: canonical.TelemetryPosition{
		Lat: p.Lat, Lon: p.Lon, SpeedKph: p.SpeedKph, Heading: p.Heading, OdometerKm: p.OdometerKm,
		TemperatureC: p.TemperatureC, AltitudeM: p.AltitudeM, AccuracyM: p.AccuracyM, BatteryPct: p.BatteryPct,
	}}
	return dp.item(now, lim)
}

func (dp devicePosition) item(now time.Time, lim canonical.Limits) Item {
	it := Item{DeviceID: dp.DeviceID, Input: dp.Input}
	it.Event.Source = dp.Input
	var fe []canonical.FieldError
	switch {
	case dp.DeviceID == "":
		fe = append(fe, canonical.FieldError{Field: "device_id", Message: "is required"})
	case !cleanText(dp.DeviceID) || len(dp.DeviceID) > 200:
		fe = append(fe, canonical.FieldError{Field: "device_id", Message: "must be printable text of at most 200 bytes"})
	}
	if dp.Time.Before(minDeviceTime) {
		fe = append(fe, canonical.FieldError{Field: "time", Message: fmt.Sprintf(
			"%s is before %d: the device has no valid clock or GPS fix", dp.Time.Format(time.RFC3339), minDeviceTime.Year())})
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{
		{"lat", &dp.Lat}, {"lon", &dp.Lon}, {"speed_kph", dp.SpeedKph}, {"heading", dp.Heading},
		{"odometer_km", dp.OdometerKm}, {"temperature_c", dp.TemperatureC}, {"altitude_m", dp.AltitudeM},
		{"accuracy_m", dp.AccuracyM}, {"battery_pct", dp.BatteryPct},
	} {
		if f.v != nil && (math.IsNaN(*f.v) || math.IsInf(*f.v, 0)) {
			fe = append(fe, canonical.FieldError{Field: "data." + f.name, Message: "must be a finite number"})
			*f.v = 0 // so the record can be encoded for quarantine
		}
	}
	raw, err := json.Marshal(dp)
	if err != nil {
		fe = append(fe, canonical.FieldError{Message: "cannot encode position: " + err.Error()})
	}
	it.Raw = raw
	if len(fe) > 0 {
		it.Err = &canonical.ValidationError{Errors: fe}
		return it
	}
	data, _ := json.Marshal(dp.TelemetryPosition)
	ev := canonical.Event{
		SpecVersion: canonical.SpecVersion, ID: dp.DeviceID + "@" + dp.Time.Format(time.RFC3339Nano), Source: dp.Input,
		Type: canonical.TypeTelemetryPosition, Subject: dp.DeviceID, Time: dp.Time, Data: data,
	}
	typed, err := canonical.Validate(ev, now, lim)
	if err != nil {
		it.Err = asValidation(err)
		return it
	}
	it.Event, it.Data = ev, typed
	return it
}

// ParseDevicePosition rebuilds the item of a quarantined device position
// (content type DevicePositionContentType) for replay.
func ParseDevicePosition(payload []byte, now time.Time, lim canonical.Limits) Item {
	var dp devicePosition
	if err := json.Unmarshal(payload, &dp); err != nil {
		return Item{Raw: payload, Err: &canonical.ValidationError{Errors: []canonical.FieldError{{Message: "not a device position: " + err.Error()}}}}
	}
	return dp.item(now, lim)
}

// Positions implements ingest.Sink: one submission, one transaction.
func (p *Pipeline) Positions(ctx context.Context, input string, ps []ingest.Position) ([]ingest.Result, error) {
	ctx, end := p.startIntake(ctx, input, len(ps))
	defer end()
	now := p.opt.Now()
	items := make([]Item, len(ps))
	for i, pos := range ps {
		items[i] = DeviceItem(input, pos, now, p.opt.Limits)
	}
	res, err := p.Submit(ctx, Submission{Items: items, Principal: input, ContentType: DevicePositionContentType})
	if err != nil {
		return nil, err
	}
	out := make([]ingest.Result, len(res))
	for i, r := range res {
		out[i] = ingest.Result{Status: r.Status, QuarantineID: r.QuarantineID}
		if len(r.Errors) > 0 {
			out[i].Reason = reason(&canonical.ValidationError{Errors: r.Errors})
		}
	}
	return out, nil
}

// Quarantine implements ingest.Sink for payloads an input could not decode.
func (p *Pipeline) Quarantine(ctx context.Context, input, contentType string, raw []byte, why string) (string, error) {
	it := Item{Raw: raw, Input: input, Event: canonical.Event{Source: input},
		Err: &canonical.ValidationError{Errors: []canonical.FieldError{{Message: why}}}}
	res, err := p.Submit(ctx, Submission{Items: []Item{it}, Principal: input, ContentType: contentType})
	if err != nil {
		return "", err
	}
	if len(res) != 1 || res[0].QuarantineID == "" {
		return "", errors.New("pipeline: quarantine: no record")
	}
	p.opt.Metrics.PositionsTotal.WithLabelValues(input, "invalid").Inc()
	return res[0].QuarantineID, nil
}

// unknownDevice is the rejection of a position from an unregistered device.
func unknownDevice(id string) *canonical.ValidationError {
	return &canonical.ValidationError{Errors: []canonical.FieldError{{
		Field:   "device_id",
		Message: fmt.Sprintf("unknown device %s; register it with PUT /api/v1/vehicles/{id} and replay", id),
	}}}
}
