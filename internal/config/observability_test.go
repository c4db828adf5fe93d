package config

import (
	"reflect"
	"testing"
	"time"
)

func TestMonitors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want []Monitor
	}{
		{"absent keeps the defaults", "log: {level: info}\n", DefaultMonitors()},
		{"null keeps the defaults", "monitors:\n", DefaultMonitors()},
		{"empty turns them off", "monitors: []\n", []Monitor{}},
		{"a list replaces them, every defaults", "monitors:\n  - {name: cases, metric: open_cases, above: 10}\n",
			[]Monitor{{Name: "cases", Metric: "open_cases", Above: "10", Every: Duration(30 * time.Second)}}},
		{"per-connector", "connectors:\n  - {name: erp, kind: rest, url: 'http://x/', events: [invoice.ready]}\n" +
			"monitors:\n  - {name: erp-backlog, metric: connector_backlog, above: 100, connector: erp, every: 1s}\n",
			[]Monitor{{Name: "erp-backlog", Metric: "connector_backlog", Above: "100", Connector: "erp", Every: Duration(time.Second)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Load(write(t, tt.body), noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Monitors, tt.want) {
				t.Fatalf("monitors %+v, want %+v", cfg.Monitors, tt.want)
			}
		})
	}
}

func TestMonitorThreshold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		metric, above string
		want          float64
	}{
		{"propagation_lag_p95", "60s", 60},
		{"invoice_ready_age", "1h30m", 5400},
		{"pod_to_invoice_p95", "0", 0},
		{"dead_letters", "0", 0},
		{"open_cases", " 25 ", 25},
		{"quarantine", "ten", 0}, // refused by Validate
	}
	for _, tt := range tests {
		if got := (Monitor{Metric: tt.metric, Above: tt.above}).Threshold(); got != tt.want {
			t.Errorf("%s above %q: %g, want %g", tt.metric, tt.above, got, tt.want)
		}
	}
}

func TestRedactedTracing(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Tracing.OTLPEndpoint = "https://user:s3cret@collector.example.com:4318"
	if got := c.Redacted().Tracing.OTLPEndpoint; got != "https://user:***@collector.example.com:4318" {
		t.Fatalf("redacted %q", got)
	}
	r := c.Redacted()
	r.Monitors[0].Name = "changed"
	if c.Monitors[0].Name == "changed" {
		t.Fatal("the redacted copy shares the monitors")
	}
}
