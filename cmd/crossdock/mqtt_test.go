package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/crossdockhq/crossdock/internal/bench"
	"github.com/crossdockhq/crossdock/internal/hubtest"
)

// mqttBroker returns the test broker's URL and a run id for unique client
// ids and topics, or skips the test when no broker is configured.
func mqttBroker(t *testing.T) (url, run string) {
	url = os.Getenv("CROSSDOCK_TEST_MQTT_URL")
	if url == "" {
		t.Skip("CROSSDOCK_TEST_MQTT_URL not set: no MQTT broker (e.g. tcp://127.0.0.1:1883)")
	}
	t.Parallel()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return url, hex.EncodeToString(b)
}

// TestIntegrationMQTTKill9 runs the real binary subscribed to the real
// broker: positions published at QoS 1 are stored; a bad payload is
// quarantined; and when the hub is killed with SIGKILL while messages
// keep coming, every message the broker accepted is stored after the
// restart — the hub acknowledged only what it had committed, and the
// broker kept the rest for its persistent session.
func TestIntegrationMQTTKill9(t *testing.T) {
	url, run := mqttBroker(t)
	topic := "cde2e/" + run
	h := hubtest.Start(t, hubtest.Options{
		Env:    []string{"CROSSDOCK_MQTT_URL=" + url},
		Config: fmt.Sprintf("inputs:\n  mqtt:\n    client_id: hub-%s\n    topic: %s/+\n", run, topic),
	})
	t.Cleanup(func() {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("hub-" + run).SetCleanSession(true))
		if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
			c.Disconnect(100)
		}
	})
	// A new session receives only what is published after its
	// subscription; on a loaded machine the hub may be ready before the
	// broker acknowledged it.
	waitFor(t, 30*time.Second, "the hub's MQTT subscription", func() bool { return strings.Contains(h.Logs(), `"msg":"subscribed"`) })
	mustDo(t, h, http.MethodPut, "/api/v1/vehicles/TRK-M1", `{"device_ids":["gw-1"]}`, http.StatusOK)
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("pub-" + run))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	defer pub.Disconnect(100)
	start := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)

	// A reefer van through its pickup: arrival, dwell, departure, distance,
	// and a temperature excursion, all from MQTT messages.
	trip := start.Add(-time.Hour)
	mustDo(t, h, http.MethodPost, "/api/v1/events", tripOrder("SHP-M2", "VAN-M2", trip, `"temperature":{"min_c":2,"max_c":8},`), http.StatusAccepted)
	mustDo(t, h, http.MethodPut, "/api/v1/vehicles/VAN-M2", `{"device_ids":["gw-2"]}`, http.StatusOK)
	for _, p := range []struct {
		min       int
		dEast, tc float64
	}{{1, 3000, 5}, {10, 40, 5}, {20, 60, 9}, {32, 50, 9.5}, {40, 1500, 6}} {
		lat, lon := east(50.11, 8.68, p.dEast)
		body := fmt.Sprintf(`{"lat":%f,"lon":%f,"time":%q,"speed_kph":25,"temperature_c":%v}`, lat, lon, trip.Add(time.Duration(p.min)*time.Minute).Format(time.RFC3339), p.tc)
		if tok := pub.Publish(topic+"/gw-2", 1, false, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	var s struct {
		DistanceKm float64 `json:"distance_km"`
		Stops      []struct {
			Status       string   `json:"status"`
			DwellMinutes *float64 `json:"dwell_minutes"`
		} `json:"stops"`
	}
	waitTick := time.NewTicker(20 * time.Millisecond)
	defer waitTick.Stop()
	for deadline := time.Now().Add(20 * time.Second); ; <-waitTick.C {
		h.GetJSON("/api/v1/shipments/SHP-M2", &s)
		if len(s.Stops) > 0 && s.Stops[0].Status == "departed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stop S1 not departed from MQTT positions: %+v", s)
		}
	}
	if s.Stops[0].DwellMinutes == nil || *s.Stops[0].DwellMinutes != 30 || math.Abs(s.DistanceKm-4.47) > 0.05 {
		t.Fatalf("shipment %+v", s)
	}
	if derived := telemetryEvents(t, h, "SHP-M2"); fmt.Sprint(derived) != "[shipment.milestone shipment.exception shipment.milestone]" {
		t.Fatalf("derived events %v, want arrival, the temperature excursion and departure", derived)
	}
	send := func(i int) {
		body := fmt.Sprintf(`{"lat":50.%04d,"lon":8.6,"time":%q,"speed_kph":30}`, i, start.Add(time.Duration(i)*time.Second).Format(time.RFC3339))
		if tok := pub.Publish(topic+"/gw-1", 1, false, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d: %v", i, tok.Error())
		}
	}
	if tok := pub.Publish(topic+"/gw-1", 1, false, "garbage"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	const total = 600
	for i := range total {
		if i == 300 {
			h.Kill()
		}
		send(i)
	}
	h.Restart()
	stored := func() int { return storedPositions(t, h, "TRK-M1", nil) }
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for n := stored(); n < total; n = stored() {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d positions stored after the restart", n, total)
		}
		<-tick.C
	}
	var q struct {
		Items []struct{ Reason string } `json:"items"`
	}
	h.GetJSON("/api/v1/quarantine?source=mqtt", &q)
	if len(q.Items) != 1 {
		t.Fatalf("quarantine %+v, want the garbage payload once", q)
	}
}

// TestIntegrationBenchMQTT runs crossdock bench's MQTT publisher against
// the real binary and broker: everything published is committed.
func TestIntegrationBenchMQTT(t *testing.T) {
	url, run := mqttBroker(t)
	h := hubtest.Start(t, hubtest.Options{
		Env:    []string{"CROSSDOCK_MQTT_URL=" + url},
		Config: fmt.Sprintf("inputs:\n  mqtt:\n    client_id: hub-%s\n    topic: bench/%s/+\n", run, run),
	})
	rep, err := bench.RunMQTT(context.Background(), bench.MQTTOptions{
		URL: h.URL, Key: hubtest.AdminKey, Broker: url, Prefix: "bench/" + run, Devices: 20, Positions: 500, RunID: run,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Published != 500 || rep.Committed != 500 {
		t.Fatalf("report %+v", rep)
	}
}
