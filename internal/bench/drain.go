package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Sink is a fast HTTP destination for a hub's connector: it answers 201 at
// once and counts what it receives by Idempotency-Key, so a drain can tell
// deliveries from repeats.
type Sink struct {
	srv      *http.Server
	ln       net.Listener
	requests atomic.Int64
	mu       sync.Mutex
	keys     map[string]struct{}
}

// StartSink listens on addr (host:port, loopback).
func StartSink(addr string) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bench: sink: %w", err)
	}
	s := &Sink{ln: ln, keys: map[string]struct{}{}}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is where the sink listens.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Close stops the sink.
func (s *Sink) Close() error { return s.srv.Close() }

func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	s.requests.Add(1)
	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	s.keys[key] = struct{}{}
	s.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// Received reports requests and distinct Idempotency-Keys so far.
func (s *Sink) Received() (requests, distinct int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests.Load(), int64(len(s.keys))
}

// DrainOptions configure RunDrain.
type DrainOptions struct {
	Ingest    Options // the events that build the backlog (URL and Key too)
	Connector string  // the hub's connector that delivers to Sink
	Sink      *Sink
	// Sample is how often backlog and memory are read; default 1s (each
	// read is a scrape and a backlog query on the hub).
	Sample time.Duration
	// Timeout bounds the drain; default 30m.
	Timeout time.Duration
}

// DrainReport is what RunDrain measured.
type DrainReport struct {
	Ingest        Report
	IngestRate    float64 // events/s while the connector was paused
	Backlog       int     // deliveries pending when the connector resumed
	Delivered     int64   // distinct deliveries the sink received
	Repeats       int64   // requests beyond one per delivery
	Dead          int     // dead letters after the drain
	Drain         time.Duration
	Rate          float64 // deliveries/s over the drain
	PeakRate      float64 // best deliveries/s over one second
	RSSBefore     float64 // hub RSS (bytes) when the drain started
	RSSMax        float64 // highest hub RSS seen during the drain
	RSSAfter      float64 // hub RSS when the backlog was empty
	DeliveryP50   float64 // seconds, of crossdock_delivery_seconds
	DeliveryP99   float64
	SampleEvery   time.Duration
	ConnectorName string
}

// RunDrain pauses the connector, ingests opt.Ingest (deliveries pile up as
// they would through an ERP maintenance window), resumes it and measures
// how fast and in how much memory the hub drains the backlog into the sink.
func RunDrain(ctx context.Context, opt DrainOptions) (DrainReport, error) {
	if opt.Sample <= 0 {
		opt.Sample = time.Second
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Minute
	}
	rep := DrainReport{SampleEvery: opt.Sample, ConnectorName: opt.Connector}
	if opt.Sink == nil {
		return rep, ErrNoSink
	}
	h := hubAPI{url: strings.TrimRight(opt.Ingest.URL, "/"), key: opt.Ingest.Key}
	if err := h.post(ctx, "/api/v1/connectors/"+opt.Connector+"/pause", `{"reason":"crossdock bench -drain"}`); err != nil {
		return rep, err
	}
	resumed := false
	defer func() {
		if !resumed {
			_ = h.post(context.Background(), "/api/v1/connectors/"+opt.Connector+"/resume", "")
		}
	}()
	ing, err := Run(ctx, opt.Ingest)
	rep.Ingest = ing
	if err != nil {
		return rep, err
	}
	if ing.Elapsed > 0 {
		rep.IngestRate = float64(ing.Accepted) / ing.Elapsed.Seconds()
	}
	// Derived events (invoices, timers) keep adding deliveries for a
	// moment after the last request: wait until the backlog holds still.
	last := -1
	for stable := 0; stable < 4; {
		c, err := h.connector(ctx, opt.Connector)
		if err != nil {
			return rep, err
		}
		if c.Backlog == last {
			stable++
		} else {
			stable, last = 0, c.Backlog
		}
		if err := sleep(ctx, opt.Sample); err != nil {
			return rep, err
		}
	}
	rep.Backlog = last
	_, sent0 := opt.Sink.Received()
	m, err := h.metrics(ctx)
	if err != nil {
		return rep, err
	}
	rep.RSSBefore, rep.RSSMax = m["process_resident_memory_bytes"], m["process_resident_memory_bytes"]
	if err := h.post(ctx, "/api/v1/connectors/"+opt.Connector+"/resume", ""); err != nil {
		return rep, err
	}
	resumed = true
	begin := time.Now()
	deadline := begin.Add(opt.Timeout)
	window := []struct {
		at time.Time
		n  int64
	}{{begin, 0}}
	for {
		if err := sleep(ctx, opt.Sample); err != nil {
			return rep, err
		}
		c, err := h.connector(ctx, opt.Connector)
		if err != nil {
			return rep, err
		}
		m, err := h.metrics(ctx)
		if err != nil {
			return rep, err
		}
		rep.RSSMax = max(rep.RSSMax, m["process_resident_memory_bytes"])
		_, got := opt.Sink.Received()
		now := time.Now()
		window = append(window, struct {
			at time.Time
			n  int64
		}{now, got - sent0})
		for len(window) > 2 && now.Sub(window[1].at) >= time.Second {
			window = window[1:]
		}
		if d := now.Sub(window[0].at); d >= time.Second {
			rep.PeakRate = max(rep.PeakRate, float64(got-sent0-window[0].n)/d.Seconds())
		}
		if c.Backlog == 0 {
			rep.Drain = now.Sub(begin)
			rep.Dead = c.Dead
			rep.RSSAfter = m["process_resident_memory_bytes"]
			rep.DeliveryP50, rep.DeliveryP99 = m["delivery_p50"], m["delivery_p99"]
			break
		}
		if now.After(deadline) {
			return rep, fmt.Errorf("bench: %d deliveries still pending after %s (%s)", c.Backlog, opt.Timeout, c.LastError)
		}
	}
	req, distinct := opt.Sink.Received()
	rep.Delivered, rep.Repeats = distinct-sent0, req-distinct
	rep.Rate = float64(rep.Delivered) / rep.Drain.Seconds()
	return rep, nil
}

// WriteText prints the report.
func (r DrainReport) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	mb := func(b float64) string { return strconv.FormatFloat(b/(1<<20), 'f', 0, 64) + " MB" }
	fmt.Fprintf(tw, "ingest (connector %s paused)\t%d events accepted in %s, %.0f/s\n", r.ConnectorName, r.Ingest.Accepted,
		r.Ingest.Elapsed.Round(time.Millisecond), r.IngestRate)
	fmt.Fprintf(tw, "backlog\t%d deliveries\n", r.Backlog)
	fmt.Fprintf(tw, "drain\t%d delivered in %s: %.0f/s (best second %.0f/s)\n", r.Delivered, r.Drain.Round(time.Millisecond), r.Rate, r.PeakRate)
	fmt.Fprintf(tw, "repeats at the sink\t%d\n", r.Repeats)
	fmt.Fprintf(tw, "dead letters\t%d\n", r.Dead)
	fmt.Fprintf(tw, "delivery call p50 / p99\t%.1f ms / %.1f ms\n", r.DeliveryP50*1000, r.DeliveryP99*1000)
	fmt.Fprintf(tw, "hub RSS before / max / after\t%s / %s / %s\n", mb(r.RSSBefore), mb(r.RSSMax), mb(r.RSSAfter))
	return tw.Flush()
}

// hubAPI is the part of a hub's API a drain uses.
type hubAPI struct{ url, key string }

func (h hubAPI) do(ctx context.Context, method, path, body string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, h.url+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+h.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("bench: %s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	return b, nil
}

func (h hubAPI) post(ctx context.Context, path, body string) error {
	_, err := h.do(ctx, http.MethodPost, path, body)
	return err
}

type connectorBacklog struct {
	Name      string
	Backlog   int
	Dead      int
	LastError string `json:"last_error"`
}

func (h hubAPI) connector(ctx context.Context, name string) (connectorBacklog, error) {
	b, err := h.do(ctx, http.MethodGet, "/api/v1/connectors", "")
	if err != nil {
		return connectorBacklog{}, err
	}
	var list struct{ Items []connectorBacklog }
	if err := json.Unmarshal(b, &list); err != nil {
		return connectorBacklog{}, fmt.Errorf("bench: connectors: %w", err)
	}
	for _, c := range list.Items {
		if c.Name == name {
			return c, nil
		}
	}
	return connectorBacklog{}, fmt.Errorf("bench: the hub has no connector %q", name)
}

// metrics reads the hub's RSS and the p50/p99 of its delivery calls
// (from the histogram's buckets, the upper bound of the bucket holding
// the quantile).
func (h hubAPI) metrics(ctx context.Context) (map[string]float64, error) {
	b, err := h.do(ctx, http.MethodGet, "/metrics", "")
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	var bounds, counts []float64
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch {
		case name == "process_resident_memory_bytes":
			out[name] = v
		case strings.HasPrefix(name, "crossdock_delivery_seconds_bucket{"):
			_, le, _ := strings.Cut(name, `le="`)
			le = strings.TrimSuffix(le, `"}`)
			if f, err := strconv.ParseFloat(le, 64); err == nil {
				bounds, counts = append(bounds, f), append(counts, v)
			}
		}
	}
	if n := len(counts); n > 0 && counts[n-1] > 0 {
		for _, q := range []struct {
			key string
			q   float64
		}{{"delivery_p50", .5}, {"delivery_p99", .99}} {
			for i, c := range counts {
				if c >= q.q*counts[n-1] {
					out[q.key] = bounds[i]
					break
				}
			}
		}
	}
	return out, sc.Err()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ErrNoSink is returned when a drain has no sink to count deliveries.
var ErrNoSink = errors.New("bench: a drain needs a sink")
