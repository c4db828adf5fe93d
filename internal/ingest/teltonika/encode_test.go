package teltonika

import (
	"math"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/ingest"
)

func TestEncodeRoundTrip(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	at := time.Date(2026, 11, 22, 10, 0, 0, 123e6, time.UTC)
	in := []ingest.Position{
		{Time: at, Lat: 50.1109123, Lon: 8.6821456, SpeedKph: f(61), Heading: f(271), AltitudeM: f(112),
			OdometerKm: f(123456.789), BatteryPct: f(87), TemperatureC: f(-18.4)},
		{Time: at.Add(30 * time.Second), Lat: -33.8688, Lon: 151.2093},
	}
	frame, err := AppendPacket(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	got, n, err := DecodePacket(frame, "356307042441013")
	if err != nil || n != 2 || len(got) != 2 {
		t.Fatalf("decode: %d records, %d positions, %v", n, len(got), err)
	}
	for i, p := range got {
		w := in[i]
		if !p.Time.Equal(w.Time) || math.Abs(p.Lat-w.Lat) > 1e-7 || math.Abs(p.Lon-w.Lon) > 1e-7 || p.DeviceID != "356307042441013" {
			t.Errorf("record %d: %+v, want %+v", i, p, w)
		}
	}
	p := got[0]
	if *p.SpeedKph != 61 || *p.Heading != 271 || *p.AltitudeM != 112 || *p.OdometerKm != 123456.789 || *p.BatteryPct != 87 || *p.TemperatureC != -18.4 {
		t.Errorf("readings %v %v %v %v %v %v", *p.SpeedKph, *p.Heading, *p.AltitudeM, *p.OdometerKm, *p.BatteryPct, *p.TemperatureC)
	}
	if imei, err := DecodeLogin(AppendLogin(nil, "356307042441013")); err != nil || imei != "356307042441013" {
		t.Errorf("login: %q %v", imei, err)
	}
	if _, err := AppendPacket(nil, nil); err == nil {
		t.Error("an empty packet encoded")
	}
}
