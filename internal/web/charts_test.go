package web

import (
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/api"
)

func TestDrawFleet(t *testing.T) {
	speed, ship := 62.0, "SHP-1"
	m := drawFleet([]api.VehiclePin{
		{ID: "WEST", Lat: 51.0, Lon: 5.0},
		{ID: "EAST", Lat: 51.0, Lon: 9.0, SpeedKph: &speed, ShipmentID: &ship},
		{ID: "NORTH", Lat: 51.5, Lon: 7.0},
	})
	byID := map[string]pin{}
	for _, p := range m.Pins {
		if p.X < 0 || p.X > mapW || p.Y < 0 || p.Y > mapH {
			t.Errorf("%s at (%v, %v) is outside the %vx%v box", p.ID, p.X, p.Y, mapW, mapH)
		}
		byID[p.ID] = p
	}
	tests := []struct {
		id        string
		moving    bool
		labelLeft bool
		label     string
	}{
		{"WEST", false, false, "WEST"},
		{"EAST", true, true, "EAST · 62 km/h · SHP-1"},
		{"NORTH", false, false, "NORTH"},
	}
	for _, tt := range tests {
		p := byID[tt.id]
		if p.Moving != tt.moving || p.LabelLeft != tt.labelLeft || p.Label != tt.label {
			t.Errorf("%s = moving %v, label left %v, label %q; want %v, %v, %q", tt.id, p.Moving, p.LabelLeft, p.Label, tt.moving, tt.labelLeft, tt.label)
		}
	}
	if byID["NORTH"].Y >= byID["WEST"].Y {
		t.Errorf("north pin y %v is not above west pin y %v", byID["NORTH"].Y, byID["WEST"].Y)
	}
	if m.North != deg(51.5) || m.South != deg(51.0) {
		t.Errorf("caption %s–%s N, want %s–%s", m.South, m.North, deg(51.0), deg(51.5))
	}
	if drawFleet(nil) != nil {
		t.Error("no positions drew a map")
	}
}

func TestPeriod(t *testing.T) {
	d := func(day, h, m int) time.Time { return time.Date(2026, 12, day, h, m, 0, 0, time.UTC) }
	tests := []struct {
		from, to time.Time
		want     string
	}{
		{d(1, 0, 0), d(2, 0, 0), "1 Dec 2026"},
		{d(1, 0, 0), d(8, 0, 0), "1 Dec – 7 Dec 2026"},
		{d(4, 16, 41), d(4, 16, 46), "4 Dec 16:41 – 16:46"},
		{d(2, 8, 0), d(3, 12, 0), "2 Dec 08:00 – 3 Dec 12:00"},
	}
	for _, tt := range tests {
		if got := period(tt.from, tt.to); got != tt.want {
			t.Errorf("period(%s, %s) = %q, want %q", tt.from, tt.to, got, tt.want)
		}
	}
}
