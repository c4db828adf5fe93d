package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/crossdockhq/crossdock/internal/sim"
)

// ScenarioOptions configure RunScenario: the demo's simulators (package
// sim) driving a running hub as fast as they can, as a load test.
type ScenarioOptions struct {
	URL, Key string // the hub and a key with events:write, read and ops
	// Vehicles is the fleet; default 100, at most sim.MaxVehicles.
	Vehicles int
	// Speed is the simulated clock's speed; default sim.MaxSpeed.
	Speed float64
	Seed  int64
	// Duration is how long the simulators run (wall clock); default 60s.
	Duration time.Duration
	Progress io.Writer // a progress bar here; nil for none
}

// ScenarioReport is what a scenario run measured.
type ScenarioReport struct {
	Options  ScenarioOptions
	Elapsed  time.Duration
	Requests int // requests the simulators made
	Failed   int // of them: no answer, 5xx or 429 (the simulators send those again)
	// Events and Positions are what the hub accepted meanwhile, from its
	// /metrics: canonical events (positions sent as events among them),
	// and positions of every input.
	Events, Positions int64
	// P50, P99 and Max are the simulators' request latencies, exact.
	P50, P99, Max time.Duration
}

// RunScenario runs the demo's dispatch, fleet, drivers' app and clerks
// against the hub at o.URL for o.Duration and reports the requests'
// latencies and what the hub accepted. Like Run it refuses a hub that is
// not on loopback (ErrNotLoopback). The hub's data ends up as the demo's
// would: run it against a hub kept for the purpose.
func RunScenario(ctx context.Context, o ScenarioOptions) (ScenarioReport, error) {
	if o.Vehicles <= 0 {
		o.Vehicles = 100
	}
	if o.Speed <= 0 {
		o.Speed = sim.MaxSpeed
	}
	if o.Duration <= 0 {
		o.Duration = time.Minute
	}
	o.URL = strings.TrimRight(o.URL, "/")
	rep := ScenarioReport{Options: o}
	u, err := url.Parse(o.URL)
	if err != nil {
		return rep, fmt.Errorf("bench: %q: %w", o.URL, err)
	}
	if err := checkLoopback(u.Hostname()); err != nil {
		return rep, fmt.Errorf("bench: refusing to load-test %s: %w", o.URL, err)
	}
	ev0, pos0, err := accepted(ctx, o.URL)
	if err != nil {
		return rep, err
	}
	rt := &timing{next: http.DefaultTransport}
	var bar *progressbar.ProgressBar
	if o.Progress != nil {
		bar = progressbar.NewOptions64(int64(o.Duration/time.Second), progressbar.OptionSetWriter(o.Progress),
			progressbar.OptionSetDescription("demo scenario"), progressbar.OptionSetItsString("s"), progressbar.OptionShowCount(),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish(), progressbar.OptionSetSpinnerChangeInterval(0))
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		done <- sim.Run(ctx, sim.Options{BaseURL: o.URL, Key: o.Key, Speed: o.Speed, Vehicles: o.Vehicles, Seed: o.Seed,
			Duration: o.Duration, HTTPClient: &http.Client{Transport: rt, Timeout: 30 * time.Second}})
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var runErr error
wait:
	for {
		select {
		case runErr = <-done:
			break wait
		case <-tick.C:
			if bar != nil {
				_ = bar.Set64(int64(time.Since(start) / time.Second))
			}
		}
	}
	if runErr != nil {
		return rep, fmt.Errorf("bench: scenario: %w", runErr)
	}
	if bar != nil {
		_ = bar.Finish()
	}
	rep.Elapsed = time.Since(start)
	ev1, pos1, err := accepted(context.WithoutCancel(ctx), o.URL)
	if err != nil {
		return rep, err
	}
	rep.Events, rep.Positions = ev1-ev0, pos1-pos0
	lat, failed := rt.result()
	rep.Requests, rep.Failed = len(lat), failed
	if len(lat) > 0 {
		rep.P50, rep.P99, rep.Max = percentile(lat, 50), percentile(lat, 99), lat[len(lat)-1]
	}
	if ctx.Err() != nil {
		return rep, fmt.Errorf("bench: interrupted: %w", ctx.Err())
	}
	return rep, nil
}

// timing is a RoundTripper that records each request's latency (to the
// answer's headers) and counts the failures the simulators retry.
type timing struct {
	next   http.RoundTripper
	mu     sync.Mutex
	lat    []time.Duration
	failed int
}

func (t *timing) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	d := time.Since(start)
	t.mu.Lock()
	t.lat = append(t.lat, d)
	if err != nil || resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		t.failed++
	}
	t.mu.Unlock()
	return resp, err
}

// result returns the latencies sorted and the failures.
func (t *timing) result() ([]time.Duration, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	lat := slices.Clone(t.lat)
	slices.Sort(lat)
	return lat, t.failed
}

// accepted sums what the hub's /metrics says it accepted: canonical events
// and positions of every input.
func accepted(ctx context.Context, hub string) (events, positions int64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, hub+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("bench: metrics: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.Contains(name, `result="accepted"`) {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(name, "crossdock_events_total{"):
			events += int64(v)
		case strings.HasPrefix(name, "crossdock_positions_total{"):
			positions += int64(v)
		}
	}
	return events, positions, sc.Err()
}

// WriteText writes the report as a table.
func (r ScenarioReport) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	o := r.Options
	secs := r.Elapsed.Seconds()
	fmt.Fprintf(tw, "target\t%s\n", o.URL)
	fmt.Fprintf(tw, "settings\tdemo scenario: %d vehicles, seed %d, %g× for %s (%.1f simulated hours)\n",
		o.Vehicles, o.Seed, o.Speed, o.Duration, secs*o.Speed/3600)
	fmt.Fprintf(tw, "requests\t%d (%d failed and sent again)\n", r.Requests, r.Failed)
	fmt.Fprintf(tw, "accepted\t%d events (%.0f/s), %d positions among them (%.0f/s)\n", r.Events, float64(r.Events)/secs, r.Positions, float64(r.Positions)/secs)
	fmt.Fprintf(tw, "latency\tp50 %s, p99 %s, max %s\n", ms(r.P50), ms(r.P99), ms(r.Max))
	return tw.Flush()
}
