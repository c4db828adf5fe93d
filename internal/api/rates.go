package api

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Rates are measured over rateSpan from snapshots of the process's
// counters taken at most every rateEvery, when the platform insight is
// asked (the console asks every few seconds while it is open).
const (
	rateSpan  = time.Minute
	rateEvery = 2 * time.Second
)

// rateWindow keeps recent snapshots of the intake counters.
type rateWindow struct {
	mu      sync.Mutex
	samples []snapshot // oldest first
}

// snapshot is the counters at one instant: series name → value, and the
// ingest latency histogram's cumulative buckets.
type snapshot struct {
	at      time.Time
	series  map[string]float64
	buckets []bucket
}

type bucket struct {
	le    float64
	count float64
}

// rates is what a window answers.
type rates struct {
	ingest     []IngestRate
	queue      float64
	duplicates float64
	writerLag  Percentiles
}

// window takes a snapshot of reg and answers the rates since the
// snapshot closest to rateSpan ago (the oldest one while the window
// fills; zero rates on the first call).
func (w *rateWindow) window(reg prometheus.Gatherer, now time.Time) (rates, error) {
	fams, err := reg.Gather()
	if err != nil {
		return rates{}, fmt.Errorf("gather metrics: %w", err)
	}
	cur, queue := snap(fams, now)
	w.mu.Lock()
	if n := len(w.samples); n == 0 || now.Sub(w.samples[n-1].at) >= rateEvery {
		w.samples = append(w.samples, cur)
	}
	base := w.samples[0]
	cut := 0
	for i, s := range w.samples {
		if now.Sub(s.at) >= rateSpan {
			base, cut = s, i
		}
	}
	w.samples = w.samples[cut:]
	w.mu.Unlock()

	out := rates{queue: queue}
	dt := now.Sub(base.at).Seconds()
	per := func(name string) float64 {
		if dt <= 0 {
			return 0
		}
		return math.Max(0, cur.series[name]-base.series[name]) / dt
	}
	for name, total := range cur.series {
		if input, ok := strings.CutPrefix(name, "in:"); ok {
			out.ingest = append(out.ingest, IngestRate{Input: input, PerSecond: round2(per(name)), Total: total})
		}
	}
	slices.SortFunc(out.ingest, func(a, b IngestRate) int { return strings.Compare(a.Input, b.Input) })
	out.duplicates = round2(per("duplicates"))
	out.writerLag = histogramPercentiles(base.buckets, cur.buckets)
	return out, nil
}

// snap reads the intake counters: events accepted over every input,
// positions by device input, partner items by channel, duplicates, the
// ingest histogram and the writer's queue.
func snap(fams []*dto.MetricFamily, now time.Time) (snapshot, float64) {
	s := snapshot{at: now, series: map[string]float64{}}
	var queue float64
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			l := labels(m)
			switch f.GetName() {
			case "crossdock_events_total":
				switch l["result"] {
				case "accepted":
					s.series["in:events"] += m.GetCounter().GetValue()
				case "duplicate":
					s.series["duplicates"] += m.GetCounter().GetValue()
				}
			case "crossdock_positions_total":
				if l["result"] == "accepted" {
					s.series["in:positions/"+l["input"]] += m.GetCounter().GetValue()
				}
			case "crossdock_partner_items_total":
				if l["result"] == "accepted" {
					s.series["in:partner/"+l["channel"]] += m.GetCounter().GetValue()
				}
			case "crossdock_writer_queue_depth":
				queue = m.GetGauge().GetValue()
			case "crossdock_ingest_seconds":
				for _, b := range m.GetHistogram().GetBucket() {
					s.buckets = append(s.buckets, bucket{le: b.GetUpperBound(), count: float64(b.GetCumulativeCount())})
				}
				s.buckets = append(s.buckets, bucket{le: math.Inf(1), count: float64(m.GetHistogram().GetSampleCount())})
			}
		}
	}
	return s, queue
}

func labels(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// histogramPercentiles estimates p50 and p95 of the observations made
// between two snapshots of a cumulative histogram, interpolating inside
// a bucket as Prometheus' histogram_quantile does.
func histogramPercentiles(base, cur []bucket) Percentiles {
	if len(cur) == 0 {
		return Percentiles{}
	}
	diff := make([]bucket, len(cur))
	for i, b := range cur {
		diff[i] = b
		if i < len(base) && base[i].le == b.le {
			diff[i].count -= base[i].count
		}
	}
	total := diff[len(diff)-1].count
	if total <= 0 {
		return Percentiles{}
	}
	q := func(p float64) float64 {
		rank := p * total
		i := sort.Search(len(diff), func(i int) bool { return diff[i].count >= rank })
		if i >= len(diff) {
			i = len(diff) - 1
		}
		if math.IsInf(diff[i].le, 1) {
			if i == 0 {
				return 0
			}
			return diff[i-1].le
		}
		lo, below := 0.0, 0.0
		if i > 0 {
			lo, below = diff[i-1].le, diff[i-1].count
		}
		in := diff[i].count - below
		if in <= 0 {
			return diff[i].le
		}
		return lo + (diff[i].le-lo)*(rank-below)/in
	}
	return Percentiles{Count: int(total), P50: q(0.5), P95: q(0.95)}
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
