package pipeline_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/pipeline"
)

// FuzzParseDevicePosition feeds quarantined device-position documents (as
// replay reads them) to the parser: it must never panic, must reject with
// at least one error or accept a valid telemetry.position, and an accepted
// one must name its device.
func FuzzParseDevicePosition(f *testing.F) {
	for _, s := range []string{
		`{"input":"teltonika","device_id":"356307042441013","time":"2026-11-22T10:00:00Z","lat":50.1,"lon":8.6,"speed_kph":40,"raw":"AAAA"}`,
		`{"input":"osmand","device_id":"x","time":"1970-01-01T00:00:00Z","lat":0,"lon":0}`,
		`{"input":"mqtt","device_id":"","time":"2026-11-22T10:00:00Z","lat":91,"lon":8.6}`,
		`{"device_id":"d","time":"2026-11-22T10:00:00Z","lat":1e400}`,
		`[]`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte) {
		it := pipeline.ParseDevicePosition(raw, now, canonical.DefaultLimits())
		if it.Err != nil {
			if len(it.Err.Errors) == 0 {
				t.Fatal("rejected without an error")
			}
			return
		}
		if it.DeviceID == "" || it.Event.Type != canonical.TypeTelemetryPosition || it.Data == nil {
			t.Fatalf("accepted item %+v", it)
		}
		if _, ok := it.Data.(*canonical.TelemetryPosition); !ok || !json.Valid(it.Raw) {
			t.Fatalf("accepted item data %T raw %q", it.Data, it.Raw)
		}
	})
}
