package bench

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a Run saw.
//
// Events and Requests count everything sent that finished — answered or
// failed, but not requests cut off by the caller's ctx. Accepted, Duplicates
// and Rejected count the hub's per-event results (a 422 to a single event is
// a rejection). Errors counts failed requests: transport errors, timeouts,
// non-2xx answers (but that 422), and 2xx answers whose results do not match
// the events sent.
type Report struct {
	Events     int64 `json:"events"`
	Requests   int64 `json:"requests"`
	Accepted   int64 `json:"accepted"`
	Duplicates int64 `json:"duplicates"`
	Rejected   int64 `json:"rejected"`
	Errors     int64 `json:"errors"`

	// Elapsed is the wall time from the first request to the last answer.
	Elapsed time.Duration `json:"elapsed_ns"`
	// EventsPerSec counts answered events (accepted, duplicate or rejected)
	// per second of Elapsed; RequestsPerSec counts requests that did not fail.
	EventsPerSec   float64 `json:"events_per_sec"`
	RequestsPerSec float64 `json:"requests_per_sec"`

	// Latency of the requests that did not fail, from sending the request to
	// reading the whole answer; exact nearest-rank percentiles.
	P50 time.Duration `json:"p50_ns"`
	P95 time.Duration `json:"p95_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`

	// ErrorSamples are the first few failures ("HTTP 503: {…problem…}",
	// "request failed: …"); RejectedSamples the first few rejections with
	// their field errors.
	ErrorSamples    []string `json:"error_samples,omitempty"`
	RejectedSamples []string `json:"rejected_samples,omitempty"`

	// Options are the settings of the run, defaults filled in.
	Options Options `json:"options"`
}

// MarkdownHeader is the table header that WriteMarkdownRow's rows belong
// under (docs/benchmarks.md).
const MarkdownHeader = "| clients | batch | events | events/s | p50 | p95 | p99 | errors |\n" +
	"|--:|--:|--:|--:|--:|--:|--:|--:|\n"

// WriteText writes the report as a human-readable table, settings first,
// then any error and rejection samples.
func (r Report) WriteText(w io.Writer) error {
	o := r.Options
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	events, duration := strconv.Itoa(o.Events), "none"
	if o.Events < 0 {
		events = "unbounded"
	}
	if o.Duration > 0 {
		duration = o.Duration.String()
	}
	rows := [][2]string{
		{"target", o.URL},
		{"run id", o.RunID},
		{"settings", fmt.Sprintf("clients %d, batch %d, events %s, duration %s, shipments %d, mix %s, seed %d",
			o.Clients, o.Batch, events, duration, o.Shipments, o.Mix, o.Seed)},
		{"elapsed", r.Elapsed.Round(time.Millisecond).String()},
		{"events", fmt.Sprintf("%d sent: %d accepted, %d duplicate, %d rejected", r.Events, r.Accepted, r.Duplicates, r.Rejected)},
		{"requests", fmt.Sprintf("%d sent: %d failed", r.Requests, r.Errors)},
		{"throughput", fmt.Sprintf("%.0f events/s, %.0f requests/s", r.EventsPerSec, r.RequestsPerSec)},
		{"latency", fmt.Sprintf("p50 %s, p95 %s, p99 %s, max %s", ms(r.P50), ms(r.P95), ms(r.P99), ms(r.Max))},
	}
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	for i, s := range r.ErrorSamples {
		fmt.Fprintf(tw, "%s\t%s\n", label(i, "error samples"), oneLine(s))
	}
	for i, s := range r.RejectedSamples {
		fmt.Fprintf(tw, "%s\t%s\n", label(i, "rejected samples"), oneLine(s))
	}
	return tw.Flush()
}

// WriteMarkdownRow writes one row for the table under MarkdownHeader:
// | clients | batch | events | events/s | p50 | p95 | p99 | errors |.
func (r Report) WriteMarkdownRow(w io.Writer) error {
	_, err := fmt.Fprintf(w, "| %d | %d | %d | %.0f | %s | %s | %s | %d |\n",
		r.Options.Clients, r.Options.Batch, r.Events, r.EventsPerSec, ms(r.P50), ms(r.P95), ms(r.P99), r.Errors)
	return err
}

func label(i int, s string) string {
	if i == 0 {
		return s
	}
	return ""
}

// oneLine keeps a sample on its table row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// ms formats a latency in milliseconds with two decimals: "1.25 ms".
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of an
// ascending slice: the smallest value with at least p % of the values at or
// below it. An empty slice gives 0.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(n) / 100))
	rank = max(1, min(n, rank))
	return sorted[rank-1]
}
