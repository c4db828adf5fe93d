package bench

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100) // 1 ms … 100 ms
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		values []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value p50", ms(7), 50, 7 * time.Millisecond},
		{"one value p99", ms(7), 99, 7 * time.Millisecond},
		{"1..100 p50", hundred, 50, 50 * time.Millisecond},
		{"1..100 p95", hundred, 95, 95 * time.Millisecond},
		{"1..100 p99", hundred, 99, 99 * time.Millisecond},
		{"1..100 p100", hundred, 100, 100 * time.Millisecond},
		{"1..100 p99.9 rounds up", hundred, 99.9, 100 * time.Millisecond},
		{"four values p50", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"four values p75", ms(1, 2, 3, 4), 75, 3 * time.Millisecond},
		{"four values p76", ms(1, 2, 3, 4), 76, 4 * time.Millisecond},
		{"unsorted input sorted first", ms(9, 1, 5, 3, 7), 50, 5 * time.Millisecond},
		{"ties", ms(2, 2, 2, 2, 10), 80, 2 * time.Millisecond},
		{"tail outlier p99 of 10", ms(1, 1, 1, 1, 1, 1, 1, 1, 1, 500), 99, 500 * time.Millisecond},
		{"tail outlier p50 of 10", ms(1, 1, 1, 1, 1, 1, 1, 1, 1, 500), 50, 1 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := slices.Clone(tc.values)
			slices.Sort(v)
			if got := percentile(v, tc.p); got != tc.want {
				t.Errorf("percentile(p%v) = %s, want %s", tc.p, got, tc.want)
			}
		})
	}
}

func TestRunnerReportMergesTallies(t *testing.T) {
	t.Parallel()
	r := &runner{opt: Options{Clients: 2, Batch: 1}}
	tallies := []*tally{
		{events: 3, requests: 3, accepted: 2, duplicates: 1, latencies: []time.Duration{3 * time.Millisecond, 1 * time.Millisecond, 2 * time.Millisecond}},
		{events: 2, requests: 2, rejected: 1, errors: 1, latencies: []time.Duration{10 * time.Millisecond}},
	}
	rep := r.report(tallies, 2*time.Second)
	if rep.Events != 5 || rep.Requests != 5 || rep.Accepted != 2 || rep.Duplicates != 1 || rep.Rejected != 1 || rep.Errors != 1 {
		t.Errorf("counts %+v", rep)
	}
	if rep.P50 != 2*time.Millisecond || rep.P95 != 10*time.Millisecond || rep.P99 != 10*time.Millisecond || rep.Max != 10*time.Millisecond {
		t.Errorf("latencies p50 %s p95 %s p99 %s max %s", rep.P50, rep.P95, rep.P99, rep.Max)
	}
	if rep.EventsPerSec != 2 || rep.RequestsPerSec != 2 { // 4 answered events, 4 good requests, 2 s
		t.Errorf("rates %v events/s, %v requests/s", rep.EventsPerSec, rep.RequestsPerSec)
	}
}

func sampleReport() Report {
	return Report{
		Events: 100000, Requests: 2000, Accepted: 99990, Duplicates: 0, Rejected: 5, Errors: 1,
		Elapsed: 12345 * time.Millisecond, EventsPerSec: 8100.4, RequestsPerSec: 162.2,
		P50: 1234 * time.Microsecond, P95: 3400 * time.Microsecond, P99: 5600 * time.Microsecond, Max: 20 * time.Millisecond,
		ErrorSamples:    []string{"HTTP 503: {\"title\":\"Service Unavailable\",\n \"detail\":\"writer overloaded\"}"},
		RejectedSamples: []string{"bench/tms r-1: [{\"field\":\"data.stops\"}]", "bench/tms r-2: x"},
		Options: Options{URL: "http://127.0.0.1:8080", Key: "secret-key", Clients: 64, Batch: 50, Events: 100000,
			Shipments: 10000, Mix: MixRealistic, Seed: 1, RunID: "bench-1", Source: "bench", Timeout: DefaultTimeout},
	}
}

func TestReportWriteText(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := sampleReport().WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"http://127.0.0.1:8080", "bench-1",
		"clients 64, batch 50, events 100000, duration none, shipments 10000, mix realistic, seed 1",
		"12.345s", "100000 sent: 99990 accepted, 0 duplicate, 5 rejected", "2000 sent: 1 failed",
		"8100 events/s, 162 requests/s", "p50 1.23 ms, p95 3.40 ms, p99 5.60 ms, max 20.00 ms",
		`error samples     HTTP 503: {"title":"Service Unavailable", "detail":"writer overloaded"}`,
		"rejected samples  bench/tms r-1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret-key") {
		t.Errorf("text shows the API key:\n%s", out)
	}
}

func TestReportWriteMarkdownRow(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := sampleReport().WriteMarkdownRow(&buf); err != nil {
		t.Fatal(err)
	}
	want := "| 64 | 50 | 100000 | 8100 | 1.23 ms | 3.40 ms | 5.60 ms | 1 |\n"
	if buf.String() != want {
		t.Errorf("row %q, want %q", buf.String(), want)
	}
	header := strings.Split(MarkdownHeader, "\n")[0]
	if strings.Count(header, "|") != strings.Count(want, "|") {
		t.Errorf("header %q and row %q differ in columns", header, want)
	}
}
