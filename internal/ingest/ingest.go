package ingest

import (
	"context"
	"time"
)

// Position is one position report decoded from a device protocol. The
// optional readings are nil when the device did not send them.
type Position struct {
	DeviceID string    // as the device names itself (IMEI, OsmAnd id)
	Time     time.Time // when the device fixed the position (device clock)
	Lat, Lon float64   // degrees, WGS 84; decoders pass on what they read, unchecked

	SpeedKph     *float64 // km/h; decoders convert knots and m/s
	Heading      *float64 // degrees clockwise from north
	AltitudeM    *float64 // metres above sea level
	AccuracyM    *float64 // horizontal accuracy, metres
	BatteryPct   *float64 // device battery, percent
	OdometerKm   *float64 // vehicle odometer, km
	TemperatureC *float64 // cargo (reefer) temperature, °C

	// Raw is the payload this position came from (the request, frame or
	// message), kept in quarantine if the position is rejected. Positions
	// decoded from one payload may share it.
	Raw []byte
}

// Result statuses, the same words the events API answers with.
const (
	Accepted  = "accepted"  // durable and applied
	Duplicate = "duplicate" // this device already reported this time; nothing changed
	Rejected  = "rejected"  // invalid or unknown device; kept in quarantine
)

// Result is the outcome of one position.
type Result struct {
	Status       string
	Reason       string // why it was rejected: "device_id: unknown device", "lat: out of range"
	QuarantineID string // set when rejected
}

// Sink makes positions durable. Implementations are safe for concurrent use.
type Sink interface {
	// Positions validates ps, resolves each device to its vehicle, and
	// commits them (accepted ones applied, rejected ones quarantined) in one
	// transaction. It returns one Result per position, in order. A nil error
	// means every result is durable, so the input may acknowledge the device.
	// An error means nothing may be acknowledged: the device must send again
	// (ErrOverloaded: the writer is busy; anything else: storage failed).
	// input names the input ("osmand", "teltonika", "mqtt") for the metrics
	// and the stored source.
	Positions(ctx context.Context, input string, ps []Position) ([]Result, error)

	// Quarantine keeps a payload the input could not decode at all (a frame
	// with a bad CRC, a request without an id, a message that is not JSON),
	// counts it, and returns the quarantine id. A nil error means it is
	// durable. contentType describes raw ("application/octet-stream" for
	// binary frames); reason says what was wrong, naming the field.
	Quarantine(ctx context.Context, input, contentType string, raw []byte, reason string) (string, error)
}
