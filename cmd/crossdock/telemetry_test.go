package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/bench"
	"github.com/crossdockhq/crossdock/internal/hubtest"
	"github.com/crossdockhq/crossdock/internal/ingest"
	"github.com/crossdockhq/crossdock/internal/ingest/teltonika"
	"github.com/crossdockhq/crossdock/internal/store/postgres/pgtest"
)

// tracker is a Teltonika device talking to the hub over TCP.
type tracker struct {
	t    *testing.T
	conn net.Conn
}

func dialTracker(t *testing.T, addr, imei string) *tracker {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tr := &tracker{t: t, conn: c}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write(teltonika.AppendLogin(nil, imei)); err != nil {
		t.Fatal(err)
	}
	var ok [1]byte
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, ok[:]); err != nil || ok[0] != 1 {
		t.Fatalf("login: %v %v", ok, err)
	}
	return tr
}

// send sends one packet and returns the acknowledged record count, or an
// error when the hub answered nothing (it closed the connection or died).
func (tr *tracker) send(ps ...ingest.Position) (uint32, error) {
	frame, err := teltonika.AppendPacket(nil, ps)
	if err != nil {
		tr.t.Fatal(err)
	}
	if _, err := tr.conn.Write(frame); err != nil {
		return 0, err
	}
	var ack [4]byte
	_ = tr.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadFull(tr.conn, ack[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(ack[:]), nil
}

// east returns the point dEast metres east of (lat, lon).
func east(lat, lon, dEast float64) (float64, float64) {
	return lat, lon + dEast/(111195*math.Cos(lat*math.Pi/180))
}

// telemetryEvents lists the types of the events crossdock/telemetry
// derived on a shipment's timeline, in timeline order.
func telemetryEvents(t *testing.T, h *hubtest.Hub, shipmentID string) []string {
	t.Helper()
	var tl struct {
		Items []struct{ Source, Type string } `json:"items"`
	}
	h.GetJSON("/api/v1/shipments/"+shipmentID+"/timeline", &tl)
	var derived []string
	for _, it := range tl.Items {
		if it.Source == "crossdock/telemetry" {
			derived = append(derived, it.Type)
		}
	}
	return derived
}

// storedPositions counts a vehicle's stored positions, paging through them;
// check, when set, sees each one in time order.
func storedPositions(t *testing.T, h *hubtest.Hub, vehicleID string, check func(i int, at time.Time)) int {
	t.Helper()
	n := 0
	for from := ""; ; {
		var page struct {
			Items    []struct{ Time time.Time } `json:"items"`
			NextFrom *string                    `json:"next_from"`
		}
		h.GetJSON("/api/v1/vehicles/"+vehicleID+"/positions?limit=1000"+from, &page)
		for _, p := range page.Items {
			if check != nil {
				check(n, p.Time)
			}
			n++
		}
		if page.NextFrom == nil {
			return n
		}
		from = "&from=" + *page.NextFrom
	}
}

// tripOrder is an order.released (stops S1 at 50.11,8.68 and S2 ~30 km
// east) and a route.assigned of the shipment to vehicle, as one batch;
// extra is spliced into the order's data (e.g. a temperature range).
func tripOrder(shipmentID, vehicleID string, at time.Time, extra string) string {
	return fmt.Sprintf(`[{"specversion":"1.0","id":"o-%[1]s","source":"tms","type":"order.released","subject":%[1]q,"time":%[3]q,
		"data":{"order_id":"SO-%[1]s","customer_id":"C1",%[4]s"stops":[
		{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68,"radius_m":200}},
		{"id":"S2","type":"delivery","location":{"lat":50.13,"lon":9.10,"radius_m":250}}]}},
		{"specversion":"1.0","id":"a-%[1]s","source":"tms","type":"route.assigned","subject":%[1]q,"time":%[3]q,
		"data":{"vehicle_id":%[2]q,"driver_id":"D1"}}]`, shipmentID, vehicleID, at.Format(time.RFC3339), extra)
}

func mustDo(t *testing.T, h *hubtest.Hub, method, path, body string, want int) []byte {
	t.Helper()
	status, b, err := h.Do(context.Background(), method, path, "application/json", []byte(body))
	if err != nil || status != want {
		t.Fatalf("%s %s: %d %v %s, want %d", method, path, status, err, b, want)
	}
	return b
}

// TestTeltonikaDrivesAShipment runs the real binary with the Teltonika
// input on: a registered tracker's packets move a shipment through
// arrival, departure, dwell and distance; an unknown tracker's positions
// are quarantined with its IMEI.
func TestTeltonikaDrivesAShipment(t *testing.T) {
	t.Parallel()
	teltonikaDrives(t, hubtest.Options{Inputs: true})
}

// TestIntegrationTeltonikaDrivesAShipmentPostgres is the same on PostgreSQL.
func TestIntegrationTeltonikaDrivesAShipmentPostgres(t *testing.T) {
	u := pgtest.FreshSchema(t, "PostgreSQL telemetry test")
	t.Parallel()
	teltonikaDrives(t, hubtest.Options{Inputs: true, DatabaseURL: u})
}

func teltonikaDrives(t *testing.T, o hubtest.Options) {
	h := hubtest.Start(t, o)
	start := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	mustDo(t, h, http.MethodPost, "/api/v1/events", tripOrder("SHP-T1", "TRK-T1", start, ""), http.StatusAccepted)
	mustDo(t, h, http.MethodPut, "/api/v1/vehicles/TRK-T1", `{"device_ids":["356307042441013"]}`, http.StatusOK)

	tr := dialTracker(t, h.TeltonikaAddr, "356307042441013")
	speed := 40.0
	at := func(min int, dEast float64) ingest.Position {
		lat, lon := east(50.11, 8.68, dEast)
		return ingest.Position{Time: start.Add(time.Duration(min) * time.Minute), Lat: lat, Lon: lon, SpeedKph: &speed}
	}
	for _, packet := range [][]ingest.Position{
		{at(10, 3000), at(14, 1500)},
		{at(18, 60), at(30, 40), at(45, 80)}, // arrived S1, 35 minutes at the dock
		{at(48, 1200), at(52, 4000)},         // departed S1
	} {
		if n, err := tr.send(packet...); err != nil || n != uint32(len(packet)) {
			t.Fatalf("ack %d, %v; want %d", n, err, len(packet))
		}
	}
	var s struct {
		Status     string  `json:"status"`
		DistanceKm float64 `json:"distance_km"`
		Stops      []struct {
			Status       string   `json:"status"`
			DwellMinutes *float64 `json:"dwell_minutes"`
		} `json:"stops"`
	}
	h.GetJSON("/api/v1/shipments/SHP-T1", &s)
	if s.Status != "in_transit" || s.Stops[0].Status != "departed" || s.Stops[0].DwellMinutes == nil || *s.Stops[0].DwellMinutes != 30 {
		t.Fatalf("shipment %+v", s)
	}
	if math.Abs(s.DistanceKm-(1.5+1.44+0.02+0.04+1.12+2.8)) > 0.05 {
		t.Errorf("distance_km %v", s.DistanceKm)
	}
	if derived := telemetryEvents(t, h, "SHP-T1"); len(derived) != 2 {
		t.Errorf("telemetry events on the timeline: %v", derived)
	}

	// An unregistered tracker: acknowledged (kept), rejected, quarantined.
	stranger := dialTracker(t, h.TeltonikaAddr, "490154203237518")
	if n, err := stranger.send(at(60, 10)); err != nil || n != 1 {
		t.Fatalf("stranger ack %d %v", n, err)
	}
	var q struct {
		Items []struct {
			Source, Reason string
			Payload        any
		} `json:"items"`
	}
	h.GetJSON("/api/v1/quarantine?source=teltonika", &q)
	if len(q.Items) != 1 || !strings.Contains(q.Items[0].Reason, "unknown device 490154203237518") {
		t.Fatalf("quarantine %+v", q)
	}
}

// TestTeltonikaKill9LosesNothingAcknowledged streams packets from a
// tracker, kills the hub with SIGKILL mid-stream, restarts it, and checks
// that every position whose packet was acknowledged is stored.
func TestTeltonikaKill9LosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	teltonikaKill9(t, hubtest.Options{Inputs: true})
}

// TestIntegrationTeltonikaKill9Postgres is the same on PostgreSQL, where
// positions, devices and vehicles take the multi-node code paths.
func TestIntegrationTeltonikaKill9Postgres(t *testing.T) {
	u := pgtest.FreshSchema(t, "PostgreSQL Teltonika kill -9 test")
	t.Parallel()
	teltonikaKill9(t, hubtest.Options{Inputs: true, DatabaseURL: u})
}

func teltonikaKill9(t *testing.T, o hubtest.Options) {
	h := hubtest.Start(t, o)
	mustDo(t, h, http.MethodPut, "/api/v1/vehicles/TRK-K9", `{"device_ids":["356307042441099"]}`, http.StatusOK)
	tr := dialTracker(t, h.TeltonikaAddr, "356307042441099")
	start := time.Now().UTC().Add(-5 * time.Hour).Truncate(time.Second)
	acked := 0
	killed := make(chan struct{})
	for i := 0; ; i++ {
		if i == 40 {
			go func() { h.Kill(); close(killed) }()
		}
		var ps []ingest.Position
		for j := range 5 {
			lat, lon := east(50.0, 8.0, float64(i*5+j)*10)
			ps = append(ps, ingest.Position{Time: start.Add(time.Duration(i*5+j) * time.Second), Lat: lat, Lon: lon})
		}
		n, err := tr.send(ps...)
		if err != nil {
			break
		}
		if n != 5 {
			t.Fatalf("ack %d, want 5", n)
		}
		acked += 5
		if i > 10000 {
			t.Fatal("the hub never died")
		}
	}
	<-killed
	if acked < 200 {
		t.Fatalf("only %d positions acknowledged before the kill", acked)
	}
	h.Restart()
	stored := storedPositions(t, h, "TRK-K9", func(i int, at time.Time) {
		if at.Sub(start) != time.Duration(i)*time.Second {
			t.Fatalf("position %d at %v: a gap, want %v", i, at, start.Add(time.Duration(i)*time.Second))
		}
	})
	// Everything acknowledged is there; at most the one unanswered packet more.
	if stored < acked || stored > acked+5 {
		t.Fatalf("%d positions stored, %d acknowledged", stored, acked)
	}
	t.Logf("%d positions acknowledged before SIGKILL, %d stored", acked, stored)
}

// TestBenchTeltonika runs the tracker simulator of crossdock bench against
// the real binary: every packet acknowledged, none lost.
func TestBenchTeltonika(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{Inputs: true})
	rep, err := bench.RunTeltonika(context.Background(), bench.DeviceOptions{
		URL: h.URL, Key: hubtest.AdminKey, Addr: h.TeltonikaAddr, Devices: 30, Records: 3,
		Interval: 50 * time.Millisecond, Duration: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Devices != 30 || rep.LostAcks != 0 || rep.Packets < 30 || rep.Positions != 3*rep.Packets {
		t.Fatalf("report %+v", rep)
	}
}

// TestOsmAndDrivesAShipment: the phone-app protocol against the real
// binary — a registered device's reports move a shipment; an unknown
// device answers 400 and is quarantined; registering it and replaying the
// quarantined report applies it.
func TestOsmAndDrivesAShipment(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{Inputs: true})
	start := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	mustDo(t, h, http.MethodPost, "/api/v1/events", tripOrder("SHP-O1", "VAN-1", start, ""), http.StatusAccepted)
	mustDo(t, h, http.MethodPut, "/api/v1/vehicles/VAN-1", `{"device_ids":["phone-7"]}`, http.StatusOK)
	report := func(id string, min int, dEast float64) (int, string) {
		lat, lon := east(50.11, 8.68, dEast)
		q := fmt.Sprintf("http://%s/?id=%s&lat=%f&lon=%f&timestamp=%d&speed=20", h.OsmAndAddr, id, lat, lon, start.Add(time.Duration(min)*time.Minute).Unix())
		resp, err := http.Post(q, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i, p := range []struct {
		min   int
		dEast float64
	}{{5, 2000}, {10, 50}, {25, 30}, {30, 2500}} {
		if code, body := report("phone-7", p.min, p.dEast); code != http.StatusOK {
			t.Fatalf("report %d: %d %s", i, code, body)
		}
	}
	var s struct {
		Stops []struct {
			Status       string   `json:"status"`
			DwellMinutes *float64 `json:"dwell_minutes"`
		} `json:"stops"`
	}
	h.GetJSON("/api/v1/shipments/SHP-O1", &s)
	if s.Stops[0].Status != "departed" || s.Stops[0].DwellMinutes == nil || *s.Stops[0].DwellMinutes != 20 {
		t.Fatalf("stops %+v", s.Stops)
	}

	code, body := report("phone-8", 40, 0)
	if code != http.StatusBadRequest || !strings.Contains(body, "unknown device phone-8") {
		t.Fatalf("unknown device: %d %s", code, body)
	}
	var q struct {
		Items []struct{ ID, Reason string } `json:"items"`
	}
	h.GetJSON("/api/v1/quarantine?source=osmand", &q)
	if len(q.Items) != 1 {
		t.Fatalf("quarantine %+v", q)
	}
	mustDo(t, h, http.MethodPut, "/api/v1/vehicles/VAN-2", `{"device_ids":["phone-8"]}`, http.StatusOK)
	replay := mustDo(t, h, http.MethodPost, "/api/v1/quarantine/"+q.Items[0].ID+"/replay", "", http.StatusOK)
	if !strings.Contains(string(replay), `"state":"accepted"`) {
		t.Fatalf("replay %s", replay)
	}
	var v struct {
		Position *struct{ Lat float64 } `json:"position"`
	}
	h.GetJSON("/api/v1/vehicles/VAN-2", &v)
	if v.Position == nil || math.Abs(v.Position.Lat-50.11) > 1e-6 {
		t.Fatalf("replayed position not applied: %+v", v)
	}
}

// TestBenchDemoScenario: crossdock bench -scenario demo drives a hub with
// the demo's simulators and reports what the hub accepted.
func TestBenchDemoScenario(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{})
	var out, errOut bytes.Buffer
	code := run([]string{"bench", "-url", h.URL, "-key", hubtest.AdminKey, "-scenario", "demo", "-vehicles", "6", "-speed", "1800",
		"-duration", "4s", "-q"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	m := regexp.MustCompile(`accepted\s+(\d+) events \(\d+/s\), (\d+) positions among them`).FindStringSubmatch(out.String())
	if m == nil || m[1] == "0" || m[2] == "0" || !strings.Contains(out.String(), "demo scenario: 6 vehicles") {
		t.Fatalf("report:\n%s", out.String())
	}
	var l struct{ Items []json.RawMessage }
	h.GetJSON("/api/v1/shipments?limit=5", &l)
	if len(l.Items) == 0 {
		t.Fatal("the scenario released no shipment")
	}
}
