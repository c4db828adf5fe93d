package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSinkCountsDeliveriesAndRepeats(t *testing.T) {
	s, err := StartSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, key := range []string{"a", "b", "a", "c", "a"} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr()+"/events", strings.NewReader(`{}`))
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("sink answered %d", resp.StatusCode)
		}
	}
	if req, distinct := s.Received(); req != 5 || distinct != 3 {
		t.Fatalf("received %d requests, %d distinct; want 5, 3", req, distinct)
	}
}

// The drain reads the hub's RSS and the delivery call quantiles from
// /metrics: p50 and p99 are the upper bounds of the buckets that hold
// them.
func TestDrainReadsMetrics(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `# HELP crossdock_delivery_seconds x
# TYPE crossdock_delivery_seconds histogram
crossdock_delivery_seconds_bucket{connector="sink",le="0.001"} 10
crossdock_delivery_seconds_bucket{connector="sink",le="0.002"} 60
crossdock_delivery_seconds_bucket{connector="sink",le="0.005"} 98
crossdock_delivery_seconds_bucket{connector="sink",le="0.01"} 99
crossdock_delivery_seconds_bucket{connector="sink",le="+Inf"} 100
process_resident_memory_bytes 1.048576e+08
`)
	}))
	defer srv.Close()
	m, err := hubAPI{url: srv.URL}.metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]float64{"process_resident_memory_bytes": 104857600, "delivery_p50": 0.002, "delivery_p99": 0.01} {
		if m[k] != want {
			t.Errorf("%s = %g, want %g", k, m[k], want)
		}
	}
}

func TestDrainNeedsASink(t *testing.T) {
	if _, err := RunDrain(context.Background(), DrainOptions{Connector: "sink"}); err != ErrNoSink {
		t.Fatalf("%v, want ErrNoSink", err)
	}
}
