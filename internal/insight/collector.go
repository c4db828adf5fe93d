package insight

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crossdockhq/crossdock/internal/store"
)

// MaxLabelValues bounds the distinct values of one label (a case code, a
// status, a currency): the most frequent keep their own series, the rest
// are summed under OtherLabel. The sets are finite by design; this guards
// the time-series database against a bug or a hostile input.
const (
	MaxLabelValues = 50
	OtherLabel     = "other"
)

// caseAges are the age thresholds of crossdock_cases_open_over_seconds.
var caseAges = []struct {
	label string
	count func(store.CaseGroup) int64
}{
	{"3600", func(g store.CaseGroup) int64 { return g.Over1h }},
	{"14400", func(g store.CaseGroup) int64 { return g.Over4h }},
	{"86400", func(g store.CaseGroup) int64 { return g.Over24h }},
}

var (
	descUp          = prometheus.NewDesc("crossdock_insight_up", "1 when the business figures below were read from the store at the last refresh, else 0 (and they are absent).", nil, nil)
	descShipments   = prometheus.NewDesc("crossdock_shipments", "Visible shipments by status.", []string{"status"}, nil)
	descCasesOpen   = prometheus.NewDesc("crossdock_cases_open", "Open cases by code.", []string{"code"}, nil)
	descCasesOver   = prometheus.NewDesc("crossdock_cases_open_over_seconds", "Open cases opened more than age seconds ago (3600, 14400, 86400), by code.", []string{"code", "age"}, nil)
	descBlocking    = prometheus.NewDesc("crossdock_billing_blocking_cases", "Open cases that hold their shipment's billing, by code.", []string{"code"}, nil)
	descInvoices    = prometheus.NewDesc("crossdock_invoices", "Invoices by status (ready, posted, failed).", []string{"status"}, nil)
	descAmount      = prometheus.NewDesc("crossdock_invoices_amount", "Sum of invoice totals by status and currency, in currency units.", []string{"status", "currency"}, nil)
	descReadyOldest = prometheus.NewDesc("crossdock_invoice_ready_oldest_seconds", "Age of the oldest invoice ready but not yet posted; 0 when none.", nil, nil)
	descPODInvoice  = prometheus.NewDesc("crossdock_pod_to_invoice_seconds", "Time from a shipment's last POD to its invoice, quantile over the invoices of the last hour (at most the newest 1000).", []string{"quantile"}, nil)
	descPODSamples  = prometheus.NewDesc("crossdock_pod_to_invoice_samples", "Invoices behind crossdock_pod_to_invoice_seconds.", nil, nil)
	descPropagation = prometheus.NewDesc("crossdock_propagation_lag_seconds", "Time from an event's own time to its delivery, quantile over the deliveries of the last hour (at most the newest 1000).", []string{"quantile"}, nil)
	descPropSamples = prometheus.NewDesc("crossdock_propagation_lag_samples", "Deliveries behind crossdock_propagation_lag_seconds.", nil, nil)
	reportQuantiles = []float64{0.5, 0.95}
	quantileLabels  = []string{"0.5", "0.95"}
	allDescs        = []*prometheus.Desc{descUp, descShipments, descCasesOpen, descCasesOver, descBlocking, descInvoices, descAmount, descReadyOldest, descPODInvoice, descPODSamples, descPropagation, descPropSamples}
)

var _ prometheus.Collector = (*Collector)(nil)

// Options tune a Collector. Zero values take the defaults noted.
type Options struct {
	// TTL is how long one read of the store serves scrapes; default 5s.
	TTL time.Duration
	// Timeout bounds one read of the store; default 3s.
	Timeout time.Duration
	Now     func() time.Time // default time.Now
	Logger  *slog.Logger     // default discards
}

// Collector exports the business figures as Prometheus metrics. It reads
// the store at most once per TTL, whatever the number of scrapers: a
// scrape meanwhile serves the figures of the last read (a failed read too:
// crossdock_insight_up 0 and nothing else, until the TTL has passed).
type Collector struct {
	st  store.InsightStore
	opt Options

	mu   sync.Mutex
	at   time.Time // of the last read; zero before the first
	figs Figures
	err  error
}

// NewCollector returns a collector over st; register it with a registry.
func NewCollector(st store.InsightStore, opt Options) *Collector {
	if opt.TTL <= 0 {
		opt.TTL = 5 * time.Second
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 3 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Collector{st: st, opt: opt}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	f, err := c.figures()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}

	statuses := map[string]float64{}
	for s, n := range f.Shipments {
		statuses[s] = float64(n)
	}
	for s, v := range Bound(statuses, MaxLabelValues) {
		gauge(descShipments, v, s)
	}

	open := map[string]float64{}
	for _, g := range f.Cases {
		open[g.Code] += float64(g.Count)
	}
	open = Bound(open, MaxLabelValues)
	over := map[[2]string]float64{}
	blocking := map[string]float64{}
	for _, g := range f.Cases {
		k := bounded(open, g.Code)
		for _, a := range caseAges {
			over[[2]string{k, a.label}] += float64(a.count(g))
		}
		if g.Blocking {
			blocking[k] += float64(g.Count)
		}
	}
	for c, v := range open {
		gauge(descCasesOpen, v, c)
		for _, a := range caseAges {
			gauge(descCasesOver, over[[2]string{c, a.label}], c, a.label)
		}
		gauge(descBlocking, blocking[c], c)
	}

	counts, currencies := map[string]float64{}, map[string]float64{}
	for _, t := range f.Invoices {
		counts[t.Status] += float64(t.Count)
		currencies[t.Currency] += float64(t.Count)
	}
	counts, currencies = Bound(counts, MaxLabelValues), Bound(currencies, MaxLabelValues)
	amounts := map[[2]string]float64{}
	for _, t := range f.Invoices {
		amounts[[2]string{bounded(counts, t.Status), bounded(currencies, t.Currency)}] += float64(t.TotalCents) / 100
	}
	for s, v := range counts {
		gauge(descInvoices, v, s)
	}
	for k, v := range amounts {
		gauge(descAmount, v, k[0], k[1])
	}
	gauge(descReadyOldest, OldestReady(f.Invoices, f.At).Seconds())

	for _, q := range []struct {
		desc, samples *prometheus.Desc
		ds            []time.Duration
	}{{descPODInvoice, descPODSamples, f.PODToInvoice}, {descPropagation, descPropSamples, f.PropagationLags}} {
		for i, v := range Quantiles(q.ds, reportQuantiles...) {
			gauge(q.desc, v.Seconds(), quantileLabels[i])
		}
		gauge(q.samples, float64(len(q.ds)))
	}
}

// figures returns the cached figures, reading the store when they are
// older than the TTL. Scrapes arriving during a read wait for it.
func (c *Collector) figures() (Figures, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opt.Now()
	if !c.at.IsZero() && now.Sub(c.at) < c.opt.TTL {
		return c.figs, c.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opt.Timeout)
	defer cancel()
	c.figs, c.err = Read(ctx, c.st, now)
	c.at = now
	if c.err != nil {
		c.opt.Logger.Warn("business metrics: read failed", "err", c.err)
	}
	return c.figs, c.err
}

// Bound caps the distinct keys of a label's values at max: the max-1
// largest (ties by key) keep their own, the others are summed under
// OtherLabel. A map within the cap is returned as it is.
func Bound(values map[string]float64, limit int) map[string]float64 {
	if len(values) <= limit || limit < 1 {
		return values
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(values[b], values[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	out := make(map[string]float64, limit)
	kept := 0
	for _, k := range keys {
		if kept < limit-1 && k != OtherLabel {
			out[k] = values[k]
			kept++
		} else {
			out[OtherLabel] += values[k]
		}
	}
	return out
}

// bounded is v, or OtherLabel when Bound folded it away.
func bounded(kept map[string]float64, v string) string {
	if _, ok := kept[v]; ok {
		return v
	}
	return OtherLabel
}
