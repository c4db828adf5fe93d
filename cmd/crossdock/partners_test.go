package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/crossdockhq/crossdock/internal/hubtest"
)

const partnerKey = "e2e-acme-partner-key-0123456789"

// partnerConfig declares partner acme with an inbound status mapping, an
// order mapping, a positions mapping for brokers and a CSV drop folder.
func partnerConfig(dropDir, ediDir, extraInputs string) string {
	sum := sha256.Sum256([]byte(partnerKey))
	return `auth:
  keys:
    - {name: acme-e2e, sha256: ` + hex.EncodeToString(sum[:]) + `, partner: acme}
partners:
  - id: acme
    name: ACME Freight
    tables:
      codes: {DEP: departed, ARR: arrived}
    inbound:
      - name: status
        timeout: 2s
        jq: |
          {type: "shipment.milestone", id: .eventId, subject: .load, time: .ts,
           data: {code: (.code | code("codes")), stop_id: .stop}}
      - name: position
        timeout: 2s
        jq: '{type: "telemetry.position", id: .id, subject: .truck, time: .ts, data: {lat, lon}}'
    files:
      - name: positions
        timeout: 2s
        drop_dir: ` + dropDir + `
        jq: '{type: "telemetry.position", id: "\(.truck)@\(.time)", subject: .truck, time: .time, data: {lat, lon}}'
        columns:
          - {name: truck, header: Truck, required: true}
          - {name: time, header: Time, type: time, required: true}
          - {name: lat, header: Lat, type: number, required: true}
          - {name: lon, header: Lon, type: number, required: true}
    edi:
      drop_dir: ` + ediDir + `
` + extraInputs
}

func doAs(t *testing.T, h *hubtest.Hub, key, method, path, ct, body string) (int, []byte) {
	t.Helper()
	status, b, err := h.DoAs(context.Background(), key, method, path, ct, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return status, b
}

// TestPartnerOnboarding follows docs/partners.md against the real binary:
// a declared partner's key, its jq mapping, its X12 and its drop folder,
// and isolation from a partner created through the API.
func TestPartnerOnboarding(t *testing.T) {
	t.Parallel()
	drop, ediDrop := t.TempDir(), t.TempDir()
	h := hubtest.Start(t, hubtest.Options{Config: partnerConfig(drop, ediDrop, "")})
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)

	mustDo(t, h, http.MethodPost, "/api/v1/events", tripOrder("SHP-P1", "TRK-P1", at, ""), http.StatusAccepted)
	mustDo(t, h, http.MethodPut, "/api/v1/shipments/SHP-P1/partners/acme", "", http.StatusNoContent)
	status := fmt.Sprintf(`{"eventId":"acme-1","load":"SHP-P1","ts":%q,"code":"DEP","stop":"S1"}`, at.Add(10*time.Minute).Format(time.RFC3339))
	if st, b := doAs(t, h, partnerKey, http.MethodPost, "/api/v1/partners/acme/inbound/status", "application/json", status); st != http.StatusAccepted ||
		!strings.Contains(string(b), `"source":"partner/acme","status":"accepted"`) {
		t.Fatalf("inbound: %d %s", st, b)
	}
	var s struct{ Status string }
	if h.GetJSON("/api/v1/shipments/SHP-P1", &s); s.Status != "in_transit" {
		t.Fatalf("shipment after the partner's departure: %+v", s)
	}

	x214, err := os.ReadFile("../../internal/x12/testdata/samples/214_1edisource_iea_fixed.x12")
	if err != nil {
		t.Fatal(err)
	}
	st, b := doAs(t, h, partnerKey, http.MethodPost, "/api/v1/partners/acme/edi", "application/edi-x12", string(x214))
	var edi struct {
		Results []struct{ Status string }
		Ack     string
	}
	if st != http.StatusAccepted || json.Unmarshal(b, &edi) != nil || len(edi.Results) == 0 || !strings.HasPrefix(edi.Ack, "ISA") {
		t.Fatalf("edi: %d %s", st, b)
	}

	// The same interchange dropped in the EDI folder: imported (its events
	// are duplicates now), moved to done/, its 997 left in acks/.
	if err := os.WriteFile(filepath.Join(ediDrop, "in-214.x12"), x214, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the 997 of the dropped interchange", func() bool {
		ack, err := os.ReadFile(filepath.Join(ediDrop, "acks", "in-214.x12.997"))
		return err == nil && strings.HasPrefix(string(ack), "ISA") && strings.Contains(string(ack), "*997*")
	})
	waitFor(t, 10*time.Second, "the interchange moved to done/", func() bool {
		m, _ := filepath.Glob(filepath.Join(ediDrop, "done", "*in-214.x12"))
		return len(m) == 1
	})

	csv := fmt.Sprintf("Truck,Time,Lat,Lon\nTRK-D1,%s,50.1,8.6\nTRK-D1,%s,50.2,8.7\nTRK-D1,%s,north,8.7\n",
		at.Format(time.RFC3339), at.Add(time.Minute).Format(time.RFC3339), at.Add(2*time.Minute).Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(drop, "positions-1.csv"), []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the dropped file moved to done/", func() bool {
		m, _ := filepath.Glob(filepath.Join(drop, "done", "*positions-1.csv"))
		return len(m) == 1
	})
	if n := storedPositions(t, h, "TRK-D1", nil); n != 2 {
		t.Fatalf("positions from the dropped file: %d, want 2", n)
	}
	var q struct {
		Items []struct {
			ContentType string `json:"content_type"`
		}
	}
	h.GetJSON("/api/v1/quarantine?source=partner/acme", &q)
	found := false
	for _, it := range q.Items {
		found = found || it.ContentType == "text/csv; partner=acme; mapping=positions"
	}
	if !found {
		t.Fatalf("the bad row is quarantined: %+v", q)
	}

	// A partner created through the API gets a key once and sees nothing
	// of acme's.
	_, b = doAs(t, h, hubtest.AdminKey, http.MethodPost, "/api/v1/partners", "application/json", `{"id":"beta"}`)
	var beta struct{ Key string }
	if json.Unmarshal(b, &beta) != nil || beta.Key == "" {
		t.Fatalf("create partner: %s", b)
	}
	for _, path := range []string{"/api/v1/shipments/SHP-P1", "/api/v1/shipments/SHP-P1/timeline", "/api/v1/vehicles/TRK-P1"} {
		if st, _ := doAs(t, h, beta.Key, http.MethodGet, path, "", ""); st != http.StatusNotFound {
			t.Errorf("beta GET %s: %d, want 404", path, st)
		}
		if st, _ := doAs(t, h, partnerKey, http.MethodGet, path, "", ""); path != "/api/v1/vehicles/TRK-P1" && st != http.StatusOK {
			t.Errorf("acme GET %s: %d, want 200", path, st)
		}
	}
	if st, _ := doAs(t, h, beta.Key, http.MethodPost, "/api/v1/partners/acme/inbound/status", "application/json", status); st != http.StatusNotFound {
		t.Errorf("beta posting to acme's endpoint: %d", st)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(d); !ok(); <-tick.C {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestIntegrationBrokersKill9 publishes positions to a JetStream stream
// and a RabbitMQ queue feeding a partner mapping, kills the hub with
// SIGKILL halfway, and checks after the restart that every message was
// applied: the inputs acknowledge only what is committed.
func TestIntegrationBrokersKill9(t *testing.T) {
	natsURL, amqpURL := os.Getenv("CROSSDOCK_TEST_NATS_URL"), os.Getenv("CROSSDOCK_TEST_AMQP_URL")
	if natsURL == "" || amqpURL == "" {
		t.Skip("CROSSDOCK_TEST_NATS_URL and CROSSDOCK_TEST_AMQP_URL not set: no NATS JetStream / RabbitMQ (e.g. nats://127.0.0.1:4222, amqp://guest:guest@127.0.0.1:5672/)")
	}
	t.Parallel()
	rb := make([]byte, 6)
	_, _ = rand.Read(rb)
	run := hex.EncodeToString(rb)
	stream, subject, queue := "E2E_"+strings.ToUpper(run), "e2e."+run+".pos", "e2e."+run

	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), stream) })
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = ch.QueueDelete(queue, false, false, false) })
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}

	inputs := fmt.Sprintf(`inputs:
  nats:
    - {name: carrier, url: %q, stream: %s, subjects: [%q], create_stream: true, partner: acme, mapping: position}
  amqp:
    - {name: erp, url: %q, queue: %q, partner: acme, mapping: position}
`, natsURL, stream, subject, amqpURL, queue)
	h := hubtest.Start(t, hubtest.Options{Config: partnerConfig(t.TempDir(), t.TempDir(), inputs)})
	waitFor(t, 20*time.Second, "the stream", func() bool { _, err := js.Stream(context.Background(), stream); return err == nil })

	start := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	msg := func(truck string, i int) []byte {
		return fmt.Appendf(nil, `{"id":"%s-%d","truck":%q,"ts":%q,"lat":50.%04d,"lon":8.6}`, truck, i, truck, start.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i)
	}
	const total = 400
	ctx := context.Background()
	for i := range total {
		if i == total/2 {
			h.Kill()
		}
		if _, err := js.Publish(ctx, subject, msg("TRK-N", i)); err != nil {
			t.Fatalf("nats publish %d: %v", i, err)
		}
		if err := ch.PublishWithContext(ctx, "", queue, false, false, amqp.Publishing{DeliveryMode: amqp.Persistent, ContentType: "application/json", Body: msg("TRK-A", i)}); err != nil {
			t.Fatalf("amqp publish %d: %v", i, err)
		}
	}
	h.Restart()
	for _, truck := range []string{"TRK-N", "TRK-A"} {
		waitFor(t, 60*time.Second, "every "+truck+" position", func() bool { return storedPositions(t, h, truck, nil) == total })
		seen := map[time.Time]bool{}
		storedPositions(t, h, truck, func(_ int, at time.Time) {
			if seen[at] {
				t.Fatalf("%s position at %s stored twice", truck, at)
			}
			seen[at] = true
		})
	}
	waitFor(t, 20*time.Second, "the queue drained", func() bool {
		q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
		return err == nil && q.Messages == 0
	})
}
