package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
)

const (
	contentTypeSingle = "application/cloudevents+json"
	contentTypeBatch  = "application/cloudevents-batch+json"
	// maxAnswer caps how much of one answer is read (a 202 for a batch of
	// a thousand events is about 100 KiB).
	maxAnswer = 16 << 20
	// maxSamples is how many error and rejection samples a Report keeps.
	maxSamples = 5
	// maxSampleLen cuts each sample.
	maxSampleLen = 512
	// progressEvery is how often the progress bar is redrawn.
	progressEvery = 100 * time.Millisecond
)

// Run drives the hub at opt.URL with generated events until opt.Events are
// sent or opt.Duration has passed, whichever comes first, and reports what
// it saw.
//
// Each of opt.Clients goroutines keeps one request in flight over a shared,
// keep-alive HTTP client and owns its own partition of the stream (when
// Shipments ≥ Clients; otherwise clients share partitions, and a shipment's
// events may then reach the hub out of order). When Duration ends no new
// request starts and those in flight finish.
//
// Run refuses (ErrNotLoopback) a URL whose host is not loopback, and returns
// an error for invalid options, for a run in which every request failed, and
// when ctx ends — then with the partial Report and an error wrapping
// ctx.Err(); requests cut off by ctx are not counted.
func Run(ctx context.Context, opt Options) (Report, error) {
	opt = opt.withDefaults(time.Now())
	endpoint, err := opt.validate()
	if err != nil {
		return Report{Options: opt}, err
	}
	r := newRunner(opt, endpoint)
	defer r.transport.CloseIdleConnections()

	stop := make(chan struct{})
	if opt.Duration > 0 {
		timer := time.AfterFunc(opt.Duration, func() { close(stop) })
		defer timer.Stop()
	}
	progressDone := r.startProgress()

	tallies := make([]*tally, opt.Clients) // apart, so clients share no cache line
	for k := range tallies {
		tallies[k] = new(tally)
	}
	var wg sync.WaitGroup
	begin := time.Now()
	for k := range opt.Clients {
		wg.Go(func() { r.work(ctx, stop, k, tallies[k]) })
	}
	wg.Wait()
	elapsed := time.Since(begin)
	r.stopProgress(progressDone)

	rep := r.report(tallies, elapsed)
	if ctx.Err() != nil {
		return rep, fmt.Errorf("bench: run interrupted after %d requests: %w", rep.Requests, ctx.Err())
	}
	if rep.Requests > 0 && rep.Errors == rep.Requests {
		first := "no answer"
		if len(rep.ErrorSamples) > 0 {
			first = rep.ErrorSamples[0]
		}
		return rep, fmt.Errorf("bench: all %d requests to %s failed; first: %s", rep.Requests, endpoint, first)
	}
	return rep, nil
}

// runner is the state the clients of one Run share.
type runner struct {
	opt       Options
	endpoint  string
	transport *http.Transport
	client    *http.Client
	gens      []*Generator
	batch     bool
	remaining atomic.Int64 // events not yet taken by a client (bounded runs)
	done      atomic.Int64 // events whose request has finished, for progress
	bar       *progressbar.ProgressBar
	finished  chan struct{} // closed when the clients are done

	mu                     sync.Mutex
	errSamples, rejSamples []string
}

// tally is one client's counts; merged once the clients are done.
type tally struct {
	events, requests, accepted, duplicates, rejected, errors int64
	latencies                                                []time.Duration
}

func newRunner(opt Options, endpoint string) *runner {
	tr := &http.Transport{
		Proxy: nil, // loopback only: never through a proxy
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:        opt.Clients + 16,
		MaxIdleConnsPerHost: opt.Clients + 16,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     64 << 10,
		ReadBufferSize:      64 << 10,
	}
	r := &runner{
		opt:       opt,
		endpoint:  endpoint,
		transport: tr,
		client: &http.Client{
			Transport: tr,
			Timeout:   opt.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a redirected POST is an error, not a retry
			},
		},
		batch:    opt.Batch > 1,
		finished: make(chan struct{}),
	}
	r.remaining.Store(int64(opt.Events))
	// One partition per client, so every client owns its shipments and
	// sends their events in causal order.
	parts := min(opt.Clients, opt.Shipments)
	anchor := time.Now()
	r.gens = make([]*Generator, parts)
	for k := range parts {
		r.gens[k] = NewGenerator(opt.Seed, opt.RunID, opt.Shipments, opt.Mix,
			WithNow(anchor), WithSource(opt.Source), WithPartition(k, parts))
	}
	return r
}

// reserve takes up to Batch events from the run's budget; 0 means none left.
func (r *runner) reserve() int64 {
	want := int64(r.opt.Batch)
	if r.opt.Events < 0 {
		return want
	}
	for {
		rem := r.remaining.Load()
		if rem <= 0 {
			return 0
		}
		n := min(rem, want)
		if r.remaining.CompareAndSwap(rem, rem-n) {
			return n
		}
	}
}

// work sends requests one after another until the budget is spent, the
// duration is over or ctx ends.
func (r *runner) work(ctx context.Context, stop <-chan struct{}, k int, t *tally) {
	g := r.gens[k%len(r.gens)]
	perClient := int64(1 << 12)
	if r.opt.Events > 0 {
		perClient = min(perClient, int64(r.opt.Events)/int64(r.opt.Batch)/int64(r.opt.Clients)+1)
	}
	t.latencies = make([]time.Duration, 0, perClient)
	body := make([]byte, 0, 1024*r.opt.Batch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		default:
		}
		n := r.reserve()
		if n == 0 {
			return
		}
		body = body[:0]
		if r.batch {
			body = append(body, '[')
			for i := range n {
				if i > 0 {
					body = append(body, ',')
				}
				body = g.AppendNext(body)
			}
			body = append(body, ']')
		} else {
			body = g.AppendNext(body)
		}
		r.post(ctx, body, n, t)
	}
}

// answer is the 202 body of POST /api/v1/events.
type answer struct {
	Results []struct {
		ID     string          `json:"id"`
		Source string          `json:"source"`
		Status string          `json:"status"`
		Errors json.RawMessage `json:"errors"`
	} `json:"results"`
}

// post sends one body of n events and counts the outcome.
func (r *runner) post(ctx context.Context, body []byte, n int64, t *tally) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.endpoint, bytes.NewReader(body))
	if err != nil {
		// The endpoint was validated; only a broken ctx gets here.
		return
	}
	if r.batch {
		req.Header.Set("Content-Type", contentTypeBatch)
	} else {
		req.Header.Set("Content-Type", contentTypeSingle)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "crossdock-bench")
	if r.opt.Key != "" {
		req.Header.Set("Authorization", "Bearer "+r.opt.Key)
	}

	begin := time.Now()
	resp, err := r.client.Do(req)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		_ = resp.Body.Close()
	}
	took := time.Since(begin)
	if err != nil && ctx.Err() != nil {
		return // cut off by the caller: not a result
	}
	t.requests++
	t.events += n
	r.done.Add(n)
	if err != nil {
		t.errors++
		r.sample(&r.errSamples, "request failed: "+err.Error())
		return
	}

	switch {
	case resp.StatusCode/100 == 2:
		var a answer
		if err := json.Unmarshal(data, &a); err != nil {
			t.errors++
			r.sample(&r.errSamples, fmt.Sprintf("HTTP %d with an unreadable answer (%v): %s", resp.StatusCode, err, data))
			return
		}
		ok := int64(len(a.Results)) == n
		for _, res := range a.Results {
			switch res.Status {
			case "accepted":
				t.accepted++
			case "duplicate":
				t.duplicates++
			case "rejected":
				t.rejected++
				r.sample(&r.rejSamples, fmt.Sprintf("%s %s: %s", res.Source, res.ID, res.Errors))
			default:
				ok = false
			}
		}
		if !ok {
			t.errors++
			r.sample(&r.errSamples, fmt.Sprintf("HTTP %d answered %d results for %d events: %s", resp.StatusCode, len(a.Results), n, data))
			return
		}
		t.latencies = append(t.latencies, took)
	case resp.StatusCode == http.StatusUnprocessableEntity && !r.batch:
		// A single invalid event is answered 422 (and quarantined): a
		// rejection, not a failed request.
		t.rejected++
		t.latencies = append(t.latencies, took)
		r.sample(&r.rejSamples, fmt.Sprintf("HTTP 422: %s", data))
	default:
		t.errors++
		r.sample(&r.errSamples, fmt.Sprintf("HTTP %d: %s", resp.StatusCode, data))
	}
}

// sample keeps the first few messages of a kind, cut to maxSampleLen.
func (r *runner) sample(dst *[]string, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(*dst) >= maxSamples {
		return
	}
	msg = string(bytes.TrimSpace([]byte(msg)))
	if len(msg) > maxSampleLen {
		msg = msg[:maxSampleLen] + "…"
	}
	*dst = append(*dst, msg)
}

// startProgress draws the bar from a ticker, away from the clients' hot
// path; the returned channel closes when the bar is finished.
func (r *runner) startProgress() chan struct{} {
	out := make(chan struct{})
	w := r.opt.Progress
	if w == nil {
		close(out)
		return out
	}
	total := int64(r.opt.Events) // -1: unbounded, a spinner
	r.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("bench"),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionShowIts(),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(progressEvery),
		// No spinner goroutine of the library's own (it races with Set64);
		// the ticker below redraws the spinner too.
		progressbar.OptionSetSpinnerChangeInterval(0),
	)
	go func() {
		defer close(out)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				_ = r.bar.Set64(r.done.Load())
			case <-r.finished:
				n := r.done.Load()
				_ = r.bar.Set64(n)
				if n == total || total < 0 {
					_ = r.bar.Finish()
				} else {
					_ = r.bar.Exit() // stopped early: keep the bar where it is
				}
				_, _ = io.WriteString(w, "\n")
				return
			}
		}
	}()
	return out
}

func (r *runner) stopProgress(done chan struct{}) {
	close(r.finished)
	<-done
}

// report merges the clients' tallies.
func (r *runner) report(tallies []*tally, elapsed time.Duration) Report {
	rep := Report{Options: r.opt, Elapsed: elapsed}
	var lat []time.Duration
	for _, t := range tallies {
		rep.Events += t.events
		rep.Requests += t.requests
		rep.Accepted += t.accepted
		rep.Duplicates += t.duplicates
		rep.Rejected += t.rejected
		rep.Errors += t.errors
		lat = append(lat, t.latencies...)
	}
	slices.Sort(lat)
	rep.P50 = percentile(lat, 50)
	rep.P95 = percentile(lat, 95)
	rep.P99 = percentile(lat, 99)
	if len(lat) > 0 {
		rep.Max = lat[len(lat)-1]
	}
	if s := elapsed.Seconds(); s > 0 {
		rep.EventsPerSec = float64(rep.Accepted+rep.Duplicates+rep.Rejected) / s
		rep.RequestsPerSec = float64(rep.Requests-rep.Errors) / s
	}
	r.mu.Lock()
	rep.ErrorSamples = slices.Clone(r.errSamples)
	rep.RejectedSamples = slices.Clone(r.rejSamples)
	r.mu.Unlock()
	return rep
}
