package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/ingest"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
)

// Depot S1 and customer S2, about 30 km apart.
const orderData = `{"order_id":"SO-1","customer_id":"C1","temperature":{"min_c":2,"max_c":8},"stops":[
	{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68,"radius_m":200}},
	{"id":"S2","type":"delivery","location":{"lat":50.13,"lon":9.10,"radius_m":250}}]}`

func itemAt(t testing.TB, id, typ, subject string, at time.Time, data string) pipeline.Item {
	t.Helper()
	raw := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"tms","type":%q,"subject":%q,"time":%q,"correlationid":"order-flow","data":%s}`,
		id, typ, subject, at.Format(time.RFC3339Nano), data)
	it := pipeline.ParseItem([]byte(raw), pipeline.IntakeOptions{Limits: canonical.DefaultLimits(), Now: time.Now()})
	if it.Err != nil {
		t.Fatalf("test event invalid: %v", it.Err)
	}
	return it
}

func newTelemetryPipeline(t *testing.T, cache int) (*pipeline.Pipeline, store.Store, *obs.Metrics) {
	t.Helper()
	st := openStore(t)
	m := obs.NewMetrics()
	p := pipeline.New(st, pipeline.Options{Metrics: m, StateCache: cache})
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p, st, m
}

func submit(t *testing.T, p *pipeline.Pipeline, items ...pipeline.Item) []pipeline.Result {
	t.Helper()
	res, err := p.Submit(context.Background(), pipeline.Submission{Items: items, Principal: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func f64(v float64) *float64 { return &v }

// devicePos is a device position dEast metres east of S1.
func devicePos(device string, at time.Time, dEast float64, temp float64) ingest.Position {
	return ingest.Position{DeviceID: device, Time: at, Lat: 50.11, Lon: 8.68 + dEast/(111195*math.Cos(50.11*math.Pi/180)),
		SpeedKph: f64(60), TemperatureC: f64(temp), Raw: []byte("frame")}
}

func TestDevicePositionsDriveTheShipment(t *testing.T) {
	for _, cache := range []int{0, 100} {
		t.Run(fmt.Sprintf("cache=%d", cache), func(t *testing.T) {
			p, st, m := newTelemetryPipeline(t, cache)
			ctx := context.Background()
			start := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
			submit(t, p,
				itemAt(t, "o1", canonical.TypeOrderReleased, "SHP-1", start, orderData),
				itemAt(t, "a1", canonical.TypeRouteAssigned, "SHP-1", start, `{"vehicle_id":"TRK-1","driver_id":"D1"}`))
			if _, err := p.RegisterDevices(ctx, "TRK-1", []string{"356307042441013"}); err != nil {
				t.Fatal(err)
			}
			dev := "356307042441013"
			trip := []ingest.Position{
				devicePos(dev, start.Add(time.Minute), 5000, 5),
				devicePos(dev, start.Add(10*time.Minute), 50, 5),     // arrived S1
				devicePos(dev, start.Add(40*time.Minute), 60, 9),     // temperature out…
				devicePos(dev, start.Add(51*time.Minute), 1000, 9.5), // …for 11 minutes; departed S1
			}
			for _, pos := range trip {
				res, err := p.Positions(ctx, "teltonika", []ingest.Position{pos})
				if err != nil || res[0].Status != ingest.Accepted {
					t.Fatalf("position: %+v %v", res, err)
				}
			}
			// The same position again, through another input: a duplicate.
			res, err := p.Positions(ctx, "osmand", trip[1:2])
			if err != nil || res[0].Status != ingest.Duplicate {
				t.Fatalf("repeat: %+v %v", res, err)
			}

			rec, err := st.Shipment(ctx, "SHP-1")
			if err != nil {
				t.Fatal(err)
			}
			var s shipment.State
			if err := json.Unmarshal(rec.State, &s); err != nil {
				t.Fatal(err)
			}
			v := s.View(rec.UpdatedAt)
			if v.Status != shipment.StatusInTransit || v.Stops[0].Status != shipment.StopDeparted || v.Stops[0].DwellMinutes == nil || *v.Stops[0].DwellMinutes != 41 {
				t.Fatalf("shipment %+v stop %+v", v.Status, v.Stops[0])
			}
			if math.Abs(v.DistanceKm-5.89) > 0.05 {
				t.Errorf("distance_km %v, want ≈5.89", v.DistanceKm)
			}
			tl, err := st.Timeline(ctx, "SHP-1", nil, 100)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range tl {
				if e.Source == pipeline.SourceTelemetry {
					if e.CorrelationID != "order-flow" || e.CausationID == "" {
						t.Errorf("derived %s: correlation %q causation %q", e.Type, e.CorrelationID, e.CausationID)
					}
					var d struct {
						Code   string `json:"code"`
						StopID string `json:"stop_id"`
					}
					_ = json.Unmarshal(e.Data, &d)
					got = append(got, d.Code+" "+d.StopID)
				}
				if e.Type == canonical.TypeTelemetryPosition {
					t.Errorf("raw position in the events log: %+v", e)
				}
			}
			want := []string{"arrived S1", "departed S1", "temperature_excursion "}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("telemetry events %q, want %q", got, want)
			}
			pos, err := st.Positions(ctx, store.PositionFilter{VehicleID: "TRK-1"})
			if err != nil || len(pos) != 4 || pos[0].DeviceID != dev || pos[0].Source != "teltonika" {
				t.Fatalf("positions %+v %v", pos, err)
			}
			if n := testutil.ToFloat64(m.PositionsTotal.WithLabelValues("teltonika", "accepted")); n != 4 {
				t.Errorf("positions_total{teltonika,accepted} = %v", n)
			}
			if n := testutil.ToFloat64(m.TelemetryEvents.WithLabelValues(canonical.TypeShipmentMilestone, "arrived")); n != 1 {
				t.Errorf("telemetry_events_total{arrived} = %v", n)
			}
		})
	}
}

func TestUnknownDeviceQuarantinedAndReplayable(t *testing.T) {
	p, st, m := newTelemetryPipeline(t, 0)
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Minute)
	res, err := p.Positions(ctx, "osmand", []ingest.Position{devicePos("dev-9", at, 0, 5)})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != ingest.Rejected || res[0].QuarantineID == "" || res[0].Reason == "" {
		t.Fatalf("unknown device: %+v", res[0])
	}
	q, err := st.QuarantineItem(ctx, res[0].QuarantineID)
	if err != nil {
		t.Fatal(err)
	}
	if q.ContentType != pipeline.DevicePositionContentType || q.Source != "osmand" {
		t.Fatalf("quarantine %+v", q)
	}
	if n := testutil.ToFloat64(m.PositionsTotal.WithLabelValues("osmand", "rejected")); n != 1 {
		t.Errorf("positions_total{osmand,rejected} = %v", n)
	}
	// Register the device, then replay: the position is applied.
	if _, err := p.RegisterDevices(ctx, "TRK-9", []string{"dev-9"}); err != nil {
		t.Fatal(err)
	}
	it := pipeline.ParseDevicePosition(q.Payload, time.Now(), canonical.DefaultLimits())
	out, err := p.Submit(ctx, pipeline.Submission{Items: []pipeline.Item{it}, Principal: "ops", Replay: &q})
	if err != nil || out[0].Status != pipeline.Accepted {
		t.Fatalf("replay: %+v %v", out, err)
	}
	if pos, err := st.Positions(ctx, store.PositionFilter{VehicleID: "TRK-9"}); err != nil || len(pos) != 1 || string(q.Payload) == "" {
		t.Fatalf("replayed position: %+v %v", pos, err)
	}
}

func TestBadDevicePositions(t *testing.T) {
	p, _, _ := newTelemetryPipeline(t, 0)
	ctx := context.Background()
	if _, err := p.RegisterDevices(ctx, "TRK-1", []string{"d1"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	good := devicePos("d1", now.Add(-time.Minute), 0, 5)
	tests := []struct {
		name  string
		mod   func(p *ingest.Position)
		field string
	}{
		{"no device id", func(p *ingest.Position) { p.DeviceID = "" }, "device_id"},
		{"device id with a newline", func(p *ingest.Position) { p.DeviceID = "d1\n" }, "device_id"},
		{"NaN latitude", func(p *ingest.Position) { p.Lat = math.NaN() }, "data.lat"},
		{"infinite speed", func(p *ingest.Position) { p.SpeedKph = f64(math.Inf(1)) }, "data.speed_kph"},
		{"latitude out of range", func(p *ingest.Position) { p.Lat = 91 }, "data.lat"},
		{"negative speed", func(p *ingest.Position) { p.SpeedKph = f64(-3) }, "data.speed_kph"},
		{"1970", func(p *ingest.Position) { p.Time = time.Unix(0, 0) }, "time"},
		{"a GPS week rollover", func(p *ingest.Position) { p.Time = time.Date(1999, 4, 7, 0, 0, 0, 0, time.UTC) }, "time"},
		{"far future", func(p *ingest.Position) { p.Time = now.Add(72 * time.Hour) }, "time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pos := good
			tt.mod(&pos)
			res, err := p.Positions(ctx, "mqtt", []ingest.Position{pos})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Status != ingest.Rejected || res[0].QuarantineID == "" {
				t.Fatalf("%+v, want rejected and quarantined", res[0])
			}
			if want := tt.field + ":"; len(res[0].Reason) < len(want) || res[0].Reason[:len(want)] != want {
				t.Errorf("reason %q, want it to name %s", res[0].Reason, tt.field)
			}
		})
	}
}

func TestRegisterDevices(t *testing.T) {
	p, _, _ := newTelemetryPipeline(t, 0)
	ctx := context.Background()
	v, err := p.RegisterDevices(ctx, "TRK-1", []string{"b", "a", "b"})
	if err != nil || fmt.Sprint(v.DeviceIDs) != "[a b]" {
		t.Fatalf("register: %+v %v", v, err)
	}
	_, err = p.RegisterDevices(ctx, "TRK-2", []string{"c", "a"})
	var taken *pipeline.DeviceTakenError
	if !errors.As(err, &taken) || taken.DeviceID != "a" || taken.VehicleID != "TRK-1" {
		t.Fatalf("taking another vehicle's device: %v", err)
	}
	// Releasing it on TRK-1 lets TRK-2 take it.
	if _, err := p.RegisterDevices(ctx, "TRK-1", []string{"b"}); err != nil {
		t.Fatal(err)
	}
	if v, err := p.RegisterDevices(ctx, "TRK-2", []string{"c", "a"}); err != nil || fmt.Sprint(v.DeviceIDs) != "[a c]" {
		t.Fatalf("after release: %+v %v", v, err)
	}
}

func TestPositionsFromTheEventsAPI(t *testing.T) {
	p, st, m := newTelemetryPipeline(t, 0)
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	pos := itemAt(t, "p1", canonical.TypeTelemetryPosition, "TRK-7", at, `{"lat":50.1,"lon":8.6,"speed_kph":12}`)
	again := itemAt(t, "p1", canonical.TypeTelemetryPosition, "TRK-7", at, `{"lat":50.1,"lon":8.6,"speed_kph":12}`)
	res := submit(t, p, pos, again)
	if res[0].Status != pipeline.Accepted || res[1].Status != pipeline.Duplicate {
		t.Fatalf("results %+v", res)
	}
	if _, err := st.Vehicle(ctx, "TRK-7"); err != nil {
		t.Fatalf("an unknown vehicle id creates the vehicle: %v", err)
	}
	if n := testutil.ToFloat64(m.PositionsTotal.WithLabelValues("api", "accepted")); n != 1 {
		t.Errorf("positions_total{api,accepted} = %v", n)
	}
	if c, err := st.Counts(ctx); err != nil || c.Events != 0 {
		t.Errorf("events log holds %d events, want none: raw positions stay out of it (%v)", c.Events, err)
	}
}
