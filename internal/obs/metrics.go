package obs

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the hub's Prometheus metrics on their own registry, so a
// test can build as many hubs as it likes.
type Metrics struct {
	Registry *prometheus.Registry

	// EventsTotal counts events by type and result (accepted, duplicate, rejected).
	EventsTotal *prometheus.CounterVec
	// IngestSeconds is the time from a submission entering the pipeline to its commit.
	IngestSeconds prometheus.Histogram
	// WriterBatchSize is the number of events per write transaction.
	WriterBatchSize prometheus.Histogram
	// WriterQueueDepth is the number of submissions waiting for the writer.
	WriterQueueDepth prometheus.Gauge
	// WriterCommitSeconds is the duration of one write transaction.
	WriterCommitSeconds prometheus.Histogram
	// WriterRetries counts batches run again after a retryable conflict.
	WriterRetries prometheus.Counter
	// QuarantinedTotal counts payloads put in quarantine, by reason class.
	QuarantinedTotal *prometheus.CounterVec
	// HTTPRequests counts API requests by route pattern, method and status code.
	HTTPRequests *prometheus.CounterVec
	// HTTPSeconds is the API request duration by route pattern.
	HTTPSeconds *prometheus.HistogramVec
	// AuthFailures counts rejected credentials by reason (missing, unknown, scope).
	AuthFailures *prometheus.CounterVec
	// RateLimited counts requests refused by a partner's rate limit.
	RateLimited *prometheus.CounterVec
	// SignatureFailures counts refused webhook signatures by partner and
	// reason (missing, malformed, expired, mismatch).
	SignatureFailures *prometheus.CounterVec
	// PartnerItems counts what partners sent through mappings, EDI, files
	// and brokers, by partner, channel (inbound, edi, files, nats, amqp)
	// and result (accepted, duplicate, rejected).
	PartnerItems *prometheus.CounterVec
	// PositionsTotal counts positions by input (api, osmand, teltonika,
	// mqtt) and result (accepted, duplicate, rejected, invalid: a payload
	// that could not be decoded at all).
	PositionsTotal *prometheus.CounterVec
	// TelemetryDropped counts positions applied to no shipment track, by
	// reason (glitch: an implausible jump; late: older than the track).
	TelemetryDropped *prometheus.CounterVec
	// TelemetryEvents counts events derived from telemetry, by type and code.
	TelemetryEvents *prometheus.CounterVec
	// Deliveries counts delivery attempts by connector and result:
	// delivered, retried (will run again), dead, deferred (waited for an
	// open circuit, a pause or the rate limit; not an attempt).
	Deliveries *prometheus.CounterVec
	// DeliverySeconds is how long a connector's delivery call took.
	DeliverySeconds *prometheus.HistogramVec
	// DeliveryLag is, for each successful delivery, the time from the
	// event's own time to its delivery, by connector.
	DeliveryLag *prometheus.HistogramVec
	// MonitorFiring is 1 while an SLA monitor's alert is raised.
	MonitorFiring *prometheus.GaugeVec
	// MonitorEvaluations counts SLA monitor evaluations by monitor and
	// result (ok, firing, error).
	MonitorEvaluations *prometheus.CounterVec
	// ReconcileRuns counts finished reconciliation runs by kind and status
	// (done, failed); ReconcileSeconds times them by kind.
	ReconcileRuns    *prometheus.CounterVec
	ReconcileSeconds *prometheus.HistogramVec
	// ReconcileFindings counts new findings by kind and code.
	ReconcileFindings *prometheus.CounterVec
}

// ConnectorGauges reads one connector's state for a scrape.
type ConnectorGauges struct {
	// Circuit is 0 closed, 1 half-open, 2 open (on this node).
	Circuit func() float64
	// Paused is 1 while an operator has paused the connector.
	Paused func() float64
	// Backlog reads deliveries pending or running, dead letters and the
	// age in seconds of the oldest pending one (0 when none); ok false
	// when the store could not answer (the scrape then lacks them).
	Backlog func() (pending, dead, oldestAge float64, ok bool)
}

// RegisterConnector exports a connector's circuit state, pause switch and
// backlog as crossdock_connector_*{connector}, read at each scrape.
func (m *Metrics) RegisterConnector(name string, g ConnectorGauges) {
	labels := prometheus.Labels{"connector": name}
	gauge := func(metric, help string, f func() float64) {
		m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: metric, Help: help, ConstLabels: labels}, f))
	}
	gauge("crossdock_connector_circuit_state", "Circuit breaker state on this node: 0 closed, 1 half-open, 2 open.", g.Circuit)
	gauge("crossdock_connector_paused", "1 while the connector is paused by an operator.", g.Paused)
	m.Registry.MustRegister(newBacklogCollector(name, g.Backlog))
}

// backlogCollector reads a connector's backlog once per scrape for its
// three gauges. Its descriptors carry the connector as a constant label,
// so each connector's collector registers beside the others'.
type backlogCollector struct {
	pending, dead, age *prometheus.Desc
	read               func() (pending, dead, oldestAge float64, ok bool)
}

func newBacklogCollector(name string, read func() (pending, dead, oldestAge float64, ok bool)) backlogCollector {
	labels := prometheus.Labels{"connector": name}
	return backlogCollector{
		pending: prometheus.NewDesc("crossdock_connector_backlog", "Deliveries pending or running.", nil, labels),
		dead:    prometheus.NewDesc("crossdock_connector_dead_letters", "Dead deliveries waiting for a person.", nil, labels),
		age:     prometheus.NewDesc("crossdock_connector_oldest_pending_seconds", "Age of the oldest pending delivery; 0 when none.", nil, labels),
		read:    read,
	}
}

func (c backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.dead
	ch <- c.age
}

func (c backlogCollector) Collect(ch chan<- prometheus.Metric) {
	pending, dead, age, ok := c.read()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, pending)
	ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, dead)
	ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age)
}

// RegisterConnections exports the open device connections of an input as
// crossdock_input_connections{input}, read from open at each scrape.
func (m *Metrics) RegisterConnections(input string, open func() int) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "crossdock_input_connections", Help: "Open device connections, by input.",
		ConstLabels: prometheus.Labels{"input": input},
	}, func() float64 { return float64(open()) }))
}

// NewMetrics registers every metric, plus the Go and process collectors.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	lat := []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5}
	m := &Metrics{
		Registry: r,
		EventsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_events_total", Help: "Events taken in, by type and result (accepted, duplicate, rejected).",
		}, []string{"type", "result"}),
		IngestSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "crossdock_ingest_seconds", Help: "Time from a submission entering the pipeline to its durable commit.", Buckets: lat,
		}),
		WriterBatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "crossdock_writer_batch_size", Help: "Events per write transaction (group commit).",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000},
		}),
		WriterQueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crossdock_writer_queue_depth", Help: "Submissions waiting for the writer.",
		}),
		WriterCommitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "crossdock_writer_commit_seconds", Help: "Duration of one write transaction, commit included.", Buckets: lat,
		}),
		WriterRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crossdock_writer_retries_total", Help: "Write batches run again after a retryable conflict.",
		}),
		QuarantinedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_quarantined_total", Help: "Payloads kept in quarantine, by reason class.",
		}, []string{"reason"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_http_requests_total", Help: "API requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		HTTPSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "crossdock_http_request_seconds", Help: "API request duration by route.", Buckets: lat,
		}, []string{"route"}),
		AuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_auth_failures_total", Help: "Rejected credentials by reason.",
		}, []string{"reason"}),
		RateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_rate_limited_total", Help: "Requests refused by a partner's rate limit.",
		}, []string{"partner"}),
		SignatureFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_signature_failures_total", Help: "Refused webhook signatures by partner and reason.",
		}, []string{"partner", "reason"}),
		PartnerItems: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_partner_items_total", Help: "Items partners sent through mappings, EDI, files and brokers, by channel and result.",
		}, []string{"partner", "channel", "result"}),
		PositionsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_positions_total", Help: "Positions taken in, by input and result (accepted, duplicate, rejected, invalid).",
		}, []string{"input", "result"}),
		TelemetryDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_telemetry_dropped_total", Help: "Positions stored but not applied to a shipment track, by reason (glitch, late).",
		}, []string{"reason"}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_deliveries_total", Help: "Delivery attempts by connector and result (delivered, retried, dead, deferred).",
		}, []string{"connector", "result"}),
		DeliverySeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "crossdock_delivery_seconds", Help: "Duration of one delivery call to a connector's destination.", Buckets: lat,
		}, []string{"connector"}),
		DeliveryLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "crossdock_delivery_lag_seconds", Help: "Time from an event's own time to its successful delivery, by connector.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400},
		}, []string{"connector"}),
		MonitorFiring: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "crossdock_monitor_firing", Help: "1 while an SLA monitor's alert is raised, else 0.",
		}, []string{"monitor"}),
		MonitorEvaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_monitor_evaluations_total", Help: "SLA monitor evaluations by monitor and result (ok, firing, error).",
		}, []string{"monitor", "result"}),
		ReconcileRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_reconciliation_runs_total", Help: "Reconciliation runs finished, by kind and status (done, failed).",
		}, []string{"kind", "status"}),
		ReconcileSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "crossdock_reconciliation_seconds", Help: "Time a reconciliation run took to work, by kind.",
			Buckets: []float64{.1, .5, 1, 5, 10, 30, 60, 300, 1800},
		}, []string{"kind"}),
		ReconcileFindings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_reconciliation_findings_total", Help: "Reconciliation findings stored, by kind and code (a run worked again counts none twice).",
		}, []string{"kind", "code"}),
		TelemetryEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_telemetry_events_total", Help: "Events derived from telemetry, by type and code.",
		}, []string{"type", "code"}),
	}
	f(m.EventsTotal)
	f(m.ReconcileRuns)
	f(m.ReconcileSeconds)
	f(m.ReconcileFindings)
	f(m.IngestSeconds)
	f(m.WriterBatchSize)
	f(m.WriterQueueDepth)
	f(m.WriterCommitSeconds)
	f(m.WriterRetries)
	f(m.QuarantinedTotal)
	f(m.HTTPRequests)
	f(m.HTTPSeconds)
	f(m.AuthFailures)
	f(m.RateLimited)
	f(m.SignatureFailures)
	f(m.PartnerItems)
	f(m.PositionsTotal)
	f(m.TelemetryDropped)
	f(m.TelemetryEvents)
	f(m.Deliveries)
	f(m.DeliverySeconds)
	f(m.DeliveryLag)
	f(m.MonitorFiring)
	f(m.MonitorEvaluations)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
