package bench

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Defaults of Options.
const (
	DefaultClients   = 64
	DefaultBatch     = 1
	DefaultEvents    = 100000
	DefaultShipments = 10000
	DefaultSeed      = 1
	DefaultTimeout   = 30 * time.Second
)

// ErrNotLoopback is returned (wrapped) by Run for a URL whose host is not a
// loopback address or "localhost".
var ErrNotLoopback = errors.New("load tests may only target a loopback address (127.0.0.1, ::1 or localhost), never a shared or production hub")

// Options configure a Run. Zero values take the defaults noted.
type Options struct {
	// URL is the base URL of the hub, e.g. http://127.0.0.1:8080; events go
	// to URL + "/api/v1/events". Required. Its host must be a loopback
	// address (127.0.0.0/8, ::1) or "localhost" — nothing else is ever
	// load-tested.
	URL string `json:"url"`
	// Key is the API key, sent as "Authorization: Bearer <key>"; it needs
	// the events:write scope. Empty sends no Authorization header. Never
	// printed.
	Key string `json:"-"`
	// Clients is the number of concurrent clients, each with one request in
	// flight. Default 64.
	Clients int `json:"clients"`
	// Batch is the number of events per POST. 1 (the default) sends single
	// events as application/cloudevents+json; more sends JSON arrays as
	// application/cloudevents-batch+json (the last one may be shorter).
	Batch int `json:"batch"`
	// Events is the total to send. Default 100000; -1 means no event bound
	// (Duration must then be set). The run stops at Events or Duration,
	// whichever comes first.
	Events int `json:"events"`
	// Duration bounds the run in time: after it no new request starts and
	// the ones in flight finish. 0 means no time bound.
	Duration time.Duration `json:"duration"`
	// Shipments is the working set of the stream: how many shipments (in
	// the positions mix: vehicles) it interleaves at a time. Default 10000.
	Shipments int `json:"shipments"`
	// Mix is MixRealistic (the default) or MixPositions.
	Mix string `json:"mix"`
	// Seed seeds the generator; the same seed gives the same stream. 0 means
	// the default, 1.
	Seed int64 `json:"seed"`
	// Progress receives a progress bar over Events (a spinner when Events is
	// unbounded). nil: none.
	Progress io.Writer `json:"-"`
	// RunID prefixes event, shipment, order, vehicle and driver ids so
	// repeated runs never collide. Default: "bench-" and the UTC start time
	// to the millisecond, e.g. bench-20261122T100000123.
	RunID string `json:"run_id"`
	// Source prefixes the events' sources: "<Source>/tms",
	// "<Source>/driver-app", "<Source>/fleet". Default "bench". A partner's
	// key needs "partner/<id>".
	Source string `json:"source"`
	// Timeout bounds one request, from sending to the last byte of the
	// answer; a request over it counts as an error. Default 30s.
	Timeout time.Duration `json:"timeout"`
}

// withDefaults fills zero fields with their defaults.
func (o Options) withDefaults(now time.Time) Options {
	if o.Clients == 0 {
		o.Clients = DefaultClients
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	if o.Events == 0 {
		o.Events = DefaultEvents
	}
	if o.Shipments == 0 {
		o.Shipments = DefaultShipments
	}
	if o.Mix == "" {
		o.Mix = MixRealistic
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.RunID == "" {
		o.RunID = "bench-" + strings.Replace(now.UTC().Format("20060102T150405.000"), ".", "", 1)
	}
	if o.Source == "" {
		o.Source = DefaultSource
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// validate checks options after withDefaults and returns the events
// endpoint.
func (o Options) validate() (string, error) {
	if o.URL == "" {
		return "", errors.New("bench: no hub URL (e.g. http://127.0.0.1:8080)")
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return "", fmt.Errorf("bench: hub URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("bench: hub URL %q: scheme must be http or https", o.URL)
	}
	if err := checkLoopback(u.Hostname()); err != nil {
		return "", fmt.Errorf("bench: refusing to load-test %s: %w", o.URL, err)
	}
	switch {
	case o.Clients < 1:
		return "", fmt.Errorf("bench: clients must be at least 1, got %d", o.Clients)
	case o.Batch < 1:
		return "", fmt.Errorf("bench: batch must be at least 1, got %d", o.Batch)
	case o.Events < -1:
		return "", fmt.Errorf("bench: events must be positive (or -1 for no bound), got %d", o.Events)
	case o.Events == -1 && o.Duration <= 0:
		return "", errors.New("bench: events -1 (no bound) needs a duration")
	case o.Duration < 0:
		return "", fmt.Errorf("bench: negative duration %s", o.Duration)
	case o.Shipments < 1:
		return "", fmt.Errorf("bench: shipments must be at least 1, got %d", o.Shipments)
	case o.Timeout < 0:
		return "", fmt.Errorf("bench: negative timeout %s", o.Timeout)
	}
	if err := checkMix(o.Mix); err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	return strings.TrimRight(o.URL, "/") + "/api/v1/events", nil
}

// checkLoopback accepts "localhost" and loopback IP literals only; it never
// resolves names, so no DNS answer can point a load test elsewhere.
func checkLoopback(host string) error {
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Unmap().IsLoopback() {
		return nil
	}
	if host == "" {
		return fmt.Errorf("the URL names no host; %w", ErrNotLoopback)
	}
	return fmt.Errorf("host %q is not loopback; %w", host, ErrNotLoopback)
}
