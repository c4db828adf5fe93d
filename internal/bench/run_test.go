package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "test-key"

// fakeHub answers POST /api/v1/events like the contract: 202 with one result
// per event in request order, (source, id) as the idempotency key, 422
// problem+json for a single invalid event, 401 without the key.
type fakeHub struct {
	// reject marks an event invalid (default: missing required attributes).
	reject func(typ string) bool
	// intercept, when set, may answer request n (1-based) itself; it
	// returns true when it did.
	intercept func(n int, w http.ResponseWriter, r *http.Request) bool

	mu           sync.Mutex
	seen         map[[2]string]bool
	requests     int
	contentTypes map[string]int
}

func newFakeHub(t *testing.T, h *fakeHub) *httptest.Server {
	h.seen = map[[2]string]bool{}
	h.contentTypes = map[string]int{}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail})
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/events" {
		problem(w, http.StatusNotFound, "no route")
		return
	}
	h.mu.Lock()
	h.requests++
	n := h.requests
	h.mu.Unlock()
	if h.intercept != nil && h.intercept(n, w, r) {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+testKey {
		problem(w, http.StatusUnauthorized, "missing or unknown API key")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		problem(w, http.StatusBadRequest, err.Error())
		return
	}
	ct := r.Header.Get("Content-Type")
	var raws []json.RawMessage
	switch ct {
	case contentTypeSingle:
		raws = []json.RawMessage{body}
	case contentTypeBatch:
		if err := json.Unmarshal(body, &raws); err != nil {
			problem(w, http.StatusBadRequest, err.Error())
			return
		}
	default:
		problem(w, http.StatusUnsupportedMediaType, ct)
		return
	}
	type result struct {
		ID     string `json:"id"`
		Source string `json:"source"`
		Status string `json:"status"`
		Errors []any  `json:"errors,omitempty"`
	}
	results := make([]result, len(raws))
	h.mu.Lock()
	h.contentTypes[ct]++
	for i, raw := range raws {
		var e envelope
		err := json.Unmarshal(raw, &e)
		results[i] = result{ID: e.ID, Source: e.Source}
		switch {
		case err != nil || e.SpecVersion != "1.0" || e.ID == "" || e.Source == "" || e.Type == "" || e.Subject == "" || e.Time == "" || len(e.Data) == 0,
			h.reject != nil && h.reject(e.Type):
			results[i].Status = "rejected"
			results[i].Errors = []any{map[string]string{"field": "type", "message": "not accepted here"}}
		case h.seen[[2]string{e.Source, e.ID}]:
			results[i].Status = "duplicate"
		default:
			h.seen[[2]string{e.Source, e.ID}] = true
			results[i].Status = "accepted"
		}
	}
	h.mu.Unlock()
	if ct == contentTypeSingle && results[0].Status == "rejected" {
		problem(w, http.StatusUnprocessableEntity, "the event is invalid")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]any{"results": results})
}

func (h *fakeHub) stats() (requests, unique int, cts map[string]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cts = map[string]int{}
	for k, v := range h.contentTypes {
		cts[k] = v
	}
	return h.requests, len(h.seen), cts
}

func checkLatencies(t *testing.T, rep Report) {
	t.Helper()
	if rep.P50 <= 0 || rep.P50 > rep.P95 || rep.P95 > rep.P99 || rep.P99 > rep.Max {
		t.Errorf("latencies not ordered: p50 %s p95 %s p99 %s max %s", rep.P50, rep.P95, rep.P99, rep.Max)
	}
	if rep.EventsPerSec <= 0 || rep.RequestsPerSec <= 0 || rep.Elapsed <= 0 {
		t.Errorf("rates %v / %v over %s", rep.EventsPerSec, rep.RequestsPerSec, rep.Elapsed)
	}
}

func TestRunCountsSingleAndBatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                string
		clients, batch, evs int
		mix                 string
		wantRequests        int64
		wantCT              string
		shipments           int
	}{
		{name: "single", clients: 8, batch: 1, evs: 400, mix: MixRealistic, wantRequests: 400, wantCT: contentTypeSingle, shipments: 100},
		{name: "batch", clients: 4, batch: 50, evs: 1234, mix: MixRealistic, wantRequests: 25, wantCT: contentTypeBatch, shipments: 100},
		{name: "batch positions", clients: 3, batch: 7, evs: 100, mix: MixPositions, wantRequests: 15, wantCT: contentTypeBatch, shipments: 20},
		{name: "more clients than shipments", clients: 6, batch: 2, evs: 300, mix: MixRealistic, wantRequests: 150, wantCT: contentTypeBatch, shipments: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hub := &fakeHub{}
			srv := newFakeHub(t, hub)
			rep, err := Run(context.Background(), Options{
				URL: srv.URL + "/", Key: testKey, Clients: tc.clients, Batch: tc.batch,
				Events: tc.evs, Shipments: tc.shipments, Mix: tc.mix, RunID: "t-" + strings.ReplaceAll(tc.name, " ", "-"),
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Events != int64(tc.evs) || rep.Requests != tc.wantRequests || rep.Accepted != int64(tc.evs) ||
				rep.Duplicates != 0 || rep.Rejected != 0 || rep.Errors != 0 {
				t.Errorf("report %+v", rep)
			}
			requests, unique, cts := hub.stats()
			if requests != int(tc.wantRequests) || unique != tc.evs {
				t.Errorf("hub saw %d requests, %d distinct events", requests, unique)
			}
			if cts[tc.wantCT] != requests {
				t.Errorf("content types %v, want all %s", cts, tc.wantCT)
			}
			if len(rep.ErrorSamples)+len(rep.RejectedSamples) != 0 {
				t.Errorf("samples %q %q", rep.ErrorSamples, rep.RejectedSamples)
			}
			checkLatencies(t, rep)
		})
	}
}

func TestRunRepeatedRunIDIsDuplicate(t *testing.T) {
	t.Parallel()
	hub := &fakeHub{}
	srv := newFakeHub(t, hub)
	opt := Options{URL: srv.URL, Key: testKey, Clients: 1, Batch: 10, Events: 300, Shipments: 30, RunID: "again"}
	first, err := Run(context.Background(), opt)
	if err != nil || first.Accepted != 300 {
		t.Fatalf("first run: %+v, %v", first, err)
	}
	second, err := Run(context.Background(), opt)
	if err != nil || second.Duplicates != 300 || second.Accepted != 0 {
		t.Fatalf("second run: %+v, %v", second, err)
	}
	opt.RunID = "other"
	third, err := Run(context.Background(), opt)
	if err != nil || third.Accepted != 300 {
		t.Fatalf("run with another id: %+v, %v", third, err)
	}
}

func TestRunRejections(t *testing.T) {
	t.Parallel()
	for _, batch := range []int{1, 10} {
		t.Run(fmt.Sprintf("batch %d", batch), func(t *testing.T) {
			t.Parallel()
			hub := &fakeHub{reject: func(typ string) bool { return typ == "telemetry.position" }}
			srv := newFakeHub(t, hub)
			rep, err := Run(context.Background(), Options{URL: srv.URL, Key: testKey, Clients: 4, Batch: batch, Events: 500, Shipments: 40})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Rejected == 0 || rep.Accepted == 0 || rep.Errors != 0 || rep.Accepted+rep.Rejected != 500 {
				t.Errorf("report %+v", rep)
			}
			if len(rep.RejectedSamples) == 0 || len(rep.RejectedSamples) > maxSamples {
				t.Errorf("rejected samples %q", rep.RejectedSamples)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	hub := &fakeHub{intercept: func(n int, w http.ResponseWriter, _ *http.Request) bool {
		switch n % 4 {
		case 1:
			w.Header().Set("Retry-After", "1")
			problem(w, http.StatusServiceUnavailable, "writer overloaded")
			return true
		case 2:
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"results":[]}`) // wrong number of results
			return true
		}
		return false
	}}
	srv := newFakeHub(t, hub)
	rep, err := Run(context.Background(), Options{URL: srv.URL, Key: testKey, Clients: 4, Batch: 5, Events: 400, Shipments: 40})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 80 || rep.Errors != 40 || rep.Accepted != 200 || rep.Events != 400 {
		t.Errorf("report %+v", rep)
	}
	if len(rep.ErrorSamples) != maxSamples {
		t.Fatalf("error samples %q", rep.ErrorSamples)
	}
	var overloaded, mismatch bool
	for _, s := range rep.ErrorSamples {
		overloaded = overloaded || strings.HasPrefix(s, "HTTP 503: ") && strings.Contains(s, "writer overloaded")
		mismatch = mismatch || strings.Contains(s, "answered 0 results for 5 events")
	}
	if !overloaded || !mismatch {
		t.Errorf("error samples %q", rep.ErrorSamples)
	}
	if got := rep.RequestsPerSec * rep.Elapsed.Seconds(); got < 39.5 || got > 40.5 {
		t.Errorf("requests/s counts %v requests, want the 40 that did not fail", got)
	}
}

func TestRunFailsWhenEveryRequestFails(t *testing.T) {
	t.Parallel()
	hub := &fakeHub{}
	srv := newFakeHub(t, hub)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	for _, tc := range []struct {
		name, url, key, want string
	}{
		{"wrong key", srv.URL, "nope", "HTTP 401"},
		{"nothing listening", downURL, testKey, "request failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Run(context.Background(), Options{URL: tc.url, Key: tc.key, Clients: 2, Events: 10, Shipments: 5})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one naming %q", err, tc.want)
			}
			if rep.Requests != 10 || rep.Errors != 10 || rep.Events != 10 {
				t.Errorf("report %+v", rep)
			}
		})
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"http://example.com",
		"http://10.0.0.1:8080",
		"http://192.168.1.5",
		"https://[2001:db8::1]:8443",
		"http://localhost.example.com",
		"http://127.0.0.1.nip.io",
		"http://0.0.0.0:8080",
		"http:///api",
	} {
		t.Run(u, func(t *testing.T) {
			t.Parallel()
			_, err := Run(context.Background(), Options{URL: u, Events: 1})
			if !errors.Is(err, ErrNotLoopback) {
				t.Fatalf("err %v, want ErrNotLoopback", err)
			}
			if !strings.Contains(err.Error(), "refusing to load-test") || !strings.Contains(err.Error(), "loopback") {
				t.Errorf("message %q is not clear", err)
			}
		})
	}
	for _, host := range []string{"localhost", "LocalHost", "127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"} {
		if err := checkLoopback(host); err != nil {
			t.Errorf("checkLoopback(%q) = %v", host, err)
		}
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opt  Options
		want string
	}{
		{"no url", Options{}, "no hub URL"},
		{"bad scheme", Options{URL: "ftp://127.0.0.1"}, "scheme"},
		{"negative clients", Options{URL: "http://127.0.0.1", Clients: -1}, "clients"},
		{"negative batch", Options{URL: "http://127.0.0.1", Batch: -2}, "batch"},
		{"unbounded without duration", Options{URL: "http://127.0.0.1", Events: -1}, "needs a duration"},
		{"events below -1", Options{URL: "http://127.0.0.1", Events: -5}, "events"},
		{"negative shipments", Options{URL: "http://127.0.0.1", Shipments: -1}, "shipments"},
		{"unknown mix", Options{URL: "http://127.0.0.1", Mix: "chaos"}, "unknown mix"},
		{"negative duration", Options{URL: "http://127.0.0.1", Duration: -time.Second}, "duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Run(context.Background(), tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestRunDefaults(t *testing.T) {
	t.Parallel()
	hub := &fakeHub{}
	srv := newFakeHub(t, hub)
	rep, err := Run(context.Background(), Options{URL: srv.URL, Key: testKey, Events: 20})
	if err != nil {
		t.Fatal(err)
	}
	o := rep.Options
	if o.Clients != DefaultClients || o.Batch != 1 || o.Shipments != DefaultShipments || o.Mix != MixRealistic ||
		o.Seed != 1 || o.Source != "bench" || o.Timeout != DefaultTimeout || !strings.HasPrefix(o.RunID, "bench-") {
		t.Errorf("options %+v", o)
	}
	if rep.Accepted != 20 {
		t.Errorf("report %+v", rep)
	}
}

func TestRunStopsWhenCtxEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	defer close(release)
	hub := &fakeHub{intercept: func(n int, _ http.ResponseWriter, r *http.Request) bool {
		if n <= 20 {
			return false
		}
		cancel()
		select { // hold the request until the client gives up on it
		case <-r.Context().Done():
		case <-release:
		}
		return true
	}}
	srv := newFakeHub(t, hub)
	rep, err := Run(ctx, Options{URL: srv.URL, Key: testKey, Clients: 4, Events: 100000, Shipments: 50})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	// Requests 1–20 are answered, but up to three of them may still be in
	// flight when ctx ends; those are cut off and not counted.
	if rep.Requests < 17 || rep.Requests > 20 || rep.Accepted != rep.Requests || rep.Errors != 0 {
		t.Errorf("report %+v: want 17–20 answered requests and no errors", rep)
	}
}

func TestRunStopsAfterDuration(t *testing.T) {
	t.Parallel()
	hub := &fakeHub{}
	srv := newFakeHub(t, hub)
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Options{
		URL: srv.URL, Key: testKey, Clients: 4, Events: -1, Duration: 100 * time.Millisecond, Shipments: 50, Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests == 0 || rep.Accepted != rep.Events || rep.Errors != 0 {
		t.Errorf("report %+v", rep)
	}
	if progress.Len() == 0 {
		t.Error("no progress output")
	}
}

func TestRunDrawsProgress(t *testing.T) {
	t.Parallel()
	hub := &fakeHub{}
	srv := newFakeHub(t, hub)
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Options{URL: srv.URL, Key: testKey, Clients: 2, Batch: 10, Events: 200, Shipments: 20, Progress: &progress})
	if err != nil || rep.Accepted != 200 {
		t.Fatalf("%+v, %v", rep, err)
	}
	out := progress.String()
	if !strings.Contains(out, "bench") || !strings.Contains(out, "200/200") || !strings.HasSuffix(out, "\n") {
		t.Errorf("progress output %q", out)
	}
}

func TestScenarioRefusesRemoteHubs(t *testing.T) {
	_, err := RunScenario(context.Background(), ScenarioOptions{URL: "http://hub.example.com:8080", Key: "k", Duration: time.Second})
	if !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("RunScenario against a remote hub: %v", err)
	}
}
