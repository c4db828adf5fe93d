package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/hubtest"
	"github.com/crossdockhq/crossdock/internal/store/postgres/pgtest"
)

// crashEvent makes the n-th event of writer w: an order for its own
// shipment, then milestones on it, so after a crash both the event log and
// the projection can be checked.
func crashEvent(run string, w, n int) (id, shipmentID string, body []byte) {
	shp := fmt.Sprintf("%s-W%d-S%d", run, w, n/3)
	id = fmt.Sprintf("%s-w%d-e%d", run, w, n)
	at := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute).Format(time.RFC3339)
	var typ, data string
	switch n % 3 {
	case 0:
		typ, data = "order.released", `{"order_id":"SO-1","customer_id":"C1","stops":[{"id":"P","type":"pickup","location":{"lat":50.1,"lon":8.6}},{"id":"D","type":"delivery","location":{"lat":48.1,"lon":11.5}}]}`
	case 1:
		typ, data = "shipment.milestone", `{"code":"departed","stop_id":"P"}`
	default:
		typ, data = "delivery.completed", `{"stop_id":"D","signed_by":"Jane","location":{"lat":48.1,"lon":11.5}}`
	}
	body = fmt.Appendf(nil, `{"specversion":"1.0","id":%q,"source":"crash/test","type":%q,"subject":%q,"time":%q,"data":%s}`, id, typ, shp, at, data)
	return id, shp, body
}

type eventsAnswer struct {
	Results []struct {
		ID, Status string
	} `json:"results"`
}

// TestKill9LosesNothingAcknowledged streams events from concurrent writers
// at the real binary, kills it with SIGKILL mid-stream, restarts it on the
// same data and proves every acknowledged event is there exactly once:
// re-sending each answers "duplicate", each shipment's timeline holds each
// of its acknowledged events once, and the shipment reached the status its
// acknowledged events imply.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	runKill9(t, hubtest.Options{})
}

func TestIntegrationKill9Postgres(t *testing.T) {
	u := pgtest.FreshSchema(t, "PostgreSQL kill -9 test")
	t.Parallel()
	runKill9(t, hubtest.Options{DatabaseURL: u})
}

func runKill9(t *testing.T, o hubtest.Options) {
	hub := hubtest.Start(t, o)
	const writers = 12
	run := fmt.Sprintf("k%d", time.Now().UnixNano())
	var (
		mu        sync.Mutex
		acked     = map[string][]string{} // shipment → acknowledged event ids
		attempted = map[string]int{}      // shipment → events sent, answered or not
		sent      = map[string][]byte{}   // acknowledged event id → body
		total     atomic.Int64
	)
	const target = 3000
	reached := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				id, shp, body := crashEvent(run, w, n)
				ct, payload := "application/cloudevents+json", body
				if w%3 == 0 { // some writers send one-event batches
					ct, payload = "application/cloudevents-batch+json", append(append([]byte("["), body...), ']')
				}
				mu.Lock()
				attempted[shp]++
				mu.Unlock()
				status, resp, err := hub.Do(ctx, http.MethodPost, "/api/v1/events", ct, payload)
				if err != nil || status != http.StatusAccepted {
					return // the hub died under us: nothing more is acknowledged by this writer
				}
				var a eventsAnswer
				if json.Unmarshal(resp, &a) != nil || len(a.Results) != 1 || a.Results[0].Status != "accepted" {
					t.Errorf("unexpected answer %s", resp)
					return
				}
				mu.Lock()
				acked[shp] = append(acked[shp], id)
				sent[id] = body
				mu.Unlock()
				if total.Add(1) == target {
					close(reached)
				}
			}
		}()
	}
	select { // kill once enough is acknowledged, or after 30 s on a slow machine
	case <-reached:
	case <-time.After(30 * time.Second):
	}
	hub.Kill() // SIGKILL with requests in flight
	cancel()
	wg.Wait()
	if total.Load() < 100 {
		t.Fatalf("only %d events acknowledged before the kill; logs:\n%s", total.Load(), hub.Logs())
	}
	hub.Restart()

	for id, body := range sent {
		status, resp, err := hub.Do(context.Background(), http.MethodPost, "/api/v1/events", "application/cloudevents+json", body)
		if err != nil || status != http.StatusAccepted || !strings.Contains(string(resp), `"duplicate"`) {
			t.Fatalf("acknowledged event %s re-sent after the crash: status %d %s %v", id, status, resp, err)
		}
	}
	for shp, ids := range acked {
		var tl struct {
			Items []struct{ ID, Source string } `json:"items"`
		}
		if status := hub.GetJSON("/api/v1/shipments/"+shp+"/timeline?limit=1000", &tl); status != http.StatusOK {
			t.Fatalf("timeline of %s: status %d", shp, status)
		}
		count := map[string]int{}
		for _, it := range tl.Items {
			if it.Source == "crash/test" {
				count[it.ID]++
			}
		}
		for _, id := range ids {
			if count[id] != 1 {
				t.Fatalf("shipment %s: acknowledged event %s is in the timeline %d times", shp, id, count[id])
			}
		}
		for id, n := range count {
			if n > 1 {
				t.Fatalf("shipment %s: event %s applied %d times", shp, id, n)
			}
		}
		// An event committed just before the kill may be there without its
		// answer: the status lies between what the acknowledged events imply
		// and what every attempted event would.
		var sv struct{ Status string }
		hub.GetJSON("/api/v1/shipments/"+shp, &sv)
		rank := map[string]int{"released": 1, "in_transit": 2, "delivered": 3}
		if r := rank[sv.Status]; r < len(ids) || r > attempted[shp] {
			t.Fatalf("shipment %s: status %q with %d acknowledged and %d attempted events", shp, sv.Status, len(ids), attempted[shp])
		}
	}
	t.Logf("%d acknowledged events over %d shipments survived SIGKILL", total.Load(), len(acked))
}

// TestGracefulShutdown: SIGTERM finishes in-flight work and exits 0, and
// what was acknowledged is there after a restart.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	hub := hubtest.Start(t, hubtest.Options{})
	_, shp, body := crashEvent("g", 0, 0)
	if status, resp, err := hub.Do(context.Background(), http.MethodPost, "/api/v1/events", "", body); err != nil || status != http.StatusAccepted {
		t.Fatalf("post: %d %s %v", status, resp, err)
	}
	if code := hub.Stop(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM; logs:\n%s", code, hub.Logs())
	}
	hub.Restart()
	if status := hub.GetJSON("/api/v1/shipments/"+shp, nil); status != http.StatusOK {
		t.Fatalf("shipment after restart: status %d", status)
	}
}
