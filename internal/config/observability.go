package config

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Monitor is an SLA monitor: it raises an alert.raised event when its
// metric goes above its threshold and an alert.resolved event when the
// metric is back at or below it (docs/observability.md).
type Monitor struct {
	// Name identifies the monitor and its alerts. Required, unique,
	// 1 to 64 of a-z 0-9 _ . -.
	Name string `yaml:"name"`
	// Metric is what it watches, one of MonitorMetrics.
	Metric string `yaml:"metric"`
	// Above is the threshold: a duration (60s, 1h) for the time metrics
	// (propagation_lag_p95, pod_to_invoice_p95, invoice_ready_age), a
	// whole number 0 or more for the counts. Required.
	Above string `yaml:"above"`
	// Connector limits dead_letters and connector_backlog to one
	// configured connector's deliveries; "" (the default) counts all.
	Connector string `yaml:"connector"`
	// Every is how often it is evaluated. Default 30s; 1s..24h.
	Every Duration `yaml:"every"`
}

// MonitorMetrics maps each metric a monitor watches to whether its
// threshold is a duration (else a count).
var MonitorMetrics = map[string]bool{
	"propagation_lag_p95": true,  // p95 of delivery propagation lag over the last hour
	"pod_to_invoice_p95":  true,  // p95 of POD-to-invoice time over the last hour
	"invoice_ready_age":   true,  // age of the oldest invoice ready but not posted
	"dead_letters":        false, // dead deliveries waiting for a person
	"quarantine":          false, // payloads quarantined in the last hour and not replayed
	"open_cases":          false, // open business cases
	"connector_backlog":   false, // deliveries pending or running
}

// connectorMetrics are the metrics a monitor may limit to one connector.
var connectorMetrics = []string{"connector_backlog", "dead_letters"}

// DefaultMonitors are the monitors crossdock runs when the file sets
// none: any dead letter, and an invoice waiting over an hour for the ERP.
func DefaultMonitors() []Monitor {
	return []Monitor{
		{Name: "dead-letters", Metric: "dead_letters", Above: "0", Every: Duration(30 * time.Second)},
		{Name: "invoice-ready-age", Metric: "invoice_ready_age", Above: "1h", Every: Duration(30 * time.Second)},
	}
}

// Threshold is Above as a number: seconds for a time metric, the count
// otherwise. It is 0 for a value Validate refuses.
func (m Monitor) Threshold() float64 {
	v, _ := m.threshold()
	return v
}

func (m Monitor) threshold() (float64, error) {
	s := strings.TrimSpace(m.Above)
	if MonitorMetrics[m.Metric] {
		if s == "0" {
			return 0, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("must be a duration such as 60s or 1h for %s, got %q", m.Metric, m.Above)
		}
		return d.Seconds(), nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("must be a whole number 0 or more for %s, got %q", m.Metric, m.Above)
	}
	return float64(n), nil
}

// Tracing exports OpenTelemetry traces over OTLP/HTTP. It is off unless
// OTLPEndpoint or the standard OTEL_EXPORTER_OTLP_ENDPOINT /
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT environment variables name a collector.
type Tracing struct {
	// OTLPEndpoint is the collector's OTLP/HTTP URL, e.g.
	// http://otel-collector:4318 (/v1/traces is added when the URL has no
	// path). It wins over the environment. Default "" (the environment's,
	// else off).
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	// SampleRatio is the fraction of traces exported, decided per trace
	// (correlation id). Default 1; 0..1.
	SampleRatio float64 `yaml:"sample_ratio"`
}

func (c *Config) withMonitorDefaults() {
	for i := range c.Monitors {
		if c.Monitors[i].Every == 0 {
			c.Monitors[i].Every = Duration(30 * time.Second)
		}
	}
}

func (c Config) validateObservability(bad func(key, format string, args ...any)) {
	names := map[string]int{}
	for i, m := range c.Monitors {
		p := fmt.Sprintf("monitors[%d]", i)
		switch j, dup := names[m.Name]; {
		case !connectorNameRE.MatchString(m.Name):
			bad(p+".name", "must be 1 to 64 of a-z 0-9 _ . -, got %q", m.Name)
		case dup:
			bad(p+".name", "duplicate monitor %q, also monitors[%d]", m.Name, j)
		default:
			names[m.Name] = i
		}
		if _, ok := MonitorMetrics[m.Metric]; !ok {
			bad(p+".metric", "%q is not a metric a monitor watches; valid: %s", m.Metric, strings.Join(sortedMetrics(), ", "))
		} else if strings.TrimSpace(m.Above) == "" {
			bad(p+".above", "is required: the threshold above which the alert is raised")
		} else if _, err := m.threshold(); err != nil {
			bad(p+".above", "%s", err)
		}
		switch {
		case m.Connector == "":
		case !slices.Contains(connectorMetrics, m.Metric):
			bad(p+".connector", "only %s watch one connector", strings.Join(connectorMetrics, " and "))
		case !slices.ContainsFunc(c.Connectors, func(k Connector) bool { return k.Name == m.Connector }):
			bad(p+".connector", "no connector %q is configured under connectors", m.Connector)
		}
		if m.Every.D() < time.Second || m.Every.D() > 24*time.Hour {
			bad(p+".every", "must be between 1s and 24h, got %s", short(m.Every.D()))
		}
	}
	if e := c.Tracing.OTLPEndpoint; e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("tracing.otlp_endpoint", "must be an http:// or https:// URL such as http://otel-collector:4318")
		}
	}
	if r := c.Tracing.SampleRatio; r < 0 || r > 1 {
		bad("tracing.sample_ratio", "must be between 0 and 1, got %g", r)
	}
}

func sortedMetrics() []string {
	out := make([]string, 0, len(MonitorMetrics))
	for k := range MonitorMetrics {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
