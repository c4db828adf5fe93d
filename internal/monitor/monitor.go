package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/crossdockhq/crossdock/internal/insight"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
)

// Metrics a monitor watches (config.MonitorMetrics).
const (
	PropagationLagP95 = "propagation_lag_p95"
	PODToInvoiceP95   = "pod_to_invoice_p95"
	InvoiceReadyAge   = "invoice_ready_age"
	DeadLetters       = "dead_letters"
	Quarantine        = "quarantine"
	OpenCases         = "open_cases"
	ConnectorBacklog  = "connector_backlog"
)

// KindMonitor is the master-data kind holding the monitors' states.
const KindMonitor = "monitor"

// Rule is one configured monitor.
type Rule struct {
	Name      string
	Metric    string
	Above     float64 // the threshold: seconds for a time metric, else a count
	Duration  bool    // the metric is a time, in seconds
	Connector string  // dead_letters, connector_backlog: one connector; "" all
	Every     time.Duration
}

// Store is what the monitors read and where they keep their states.
type Store interface {
	InvoiceTotals(ctx context.Context) ([]store.InvoiceTotal, error)
	OpenCaseGroups(ctx context.Context, now time.Time) ([]store.CaseGroup, error)
	PODToInvoice(ctx context.Context, since time.Time, limit int) ([]time.Duration, error)
	PropagationLags(ctx context.Context, since time.Time, limit int) ([]time.Duration, error)
	JobStats(ctx context.Context, kind, keyPrefix string) (store.JobStats, error)
	Quarantine(ctx context.Context, f store.QuarantineFilter) ([]store.QuarantineRecord, error)
	Master(ctx context.Context, kind, id string) (store.MasterRecord, error)
	PutMaster(ctx context.Context, r store.MasterRecord) error
}

// Recorder records alerts: the pipeline (pipeline.Pipeline.RecordAlert).
type Recorder interface {
	RecordAlert(ctx context.Context, a pipeline.Alert) (bool, error)
}

// Clock tells the time; tests inject one.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Options configure Monitors. Store, Recorder and Metrics are required.
type Options struct {
	Rules    []Rule
	Store    Store
	Recorder Recorder
	Metrics  *obs.Metrics
	Tracing  *obs.Tracing // nil: no spans
	Clock    Clock        // default the system clock
	Logger   *slog.Logger // default discards
	// Timeout bounds one evaluation of one monitor; default 10s.
	Timeout time.Duration
}

// State is a monitor's state as kept in the store.
type State struct {
	Firing bool `json:"firing"`
	// Seq counts the monitor's raises; the alerts of the latest are
	// <name>/raised/<seq> and <name>/resolved/<seq>.
	Seq      int       `json:"seq"`
	Since    time.Time `json:"since"`     // when it last changed
	RaisedAt time.Time `json:"raised_at"` // of the latest raise
	Value    float64   `json:"value"`     // the figure when it last changed
	// Recorded is true once the alert of the last change is in the event
	// log; until then every evaluation records it again (idempotently).
	Recorded bool `json:"recorded"`
}

// Step is the pure rule of a monitor: the state after seeing value at now,
// and whether it changed. Above the threshold a resting monitor raises (a
// new Seq); at or below it a firing one resolves. Otherwise the state is
// kept.
func Step(s State, r Rule, value float64, now time.Time) (State, bool) {
	firing := value > r.Above
	if firing == s.Firing {
		return s, false
	}
	next := State{Firing: firing, Seq: s.Seq, Since: now, RaisedAt: s.RaisedAt, Value: value}
	if firing {
		next.Seq++
		next.RaisedAt = now
	}
	return next, true
}

// Monitors evaluates rules and records their alerts.
type Monitors struct {
	opt  Options
	next map[string]time.Time // when each rule is due; Run's goroutine only
}

// New returns the monitors of opt.Rules; Run evaluates them.
func New(opt Options) *Monitors {
	if opt.Clock == nil {
		opt.Clock = systemClock{}
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	for _, r := range opt.Rules {
		opt.Metrics.MonitorFiring.WithLabelValues(r.Name).Set(0)
	}
	return &Monitors{opt: opt, next: map[string]time.Time{}}
}

// Run evaluates each rule at once and then every rule.Every until ctx
// ends; it returns after the evaluation in hand has finished.
func (m *Monitors) Run(ctx context.Context) {
	if len(m.opt.Rules) == 0 {
		return
	}
	tick := m.opt.Rules[0].Every
	for _, r := range m.opt.Rules {
		tick = min(tick, r.Every)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		m.Evaluate(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Evaluate evaluates the rules that are due at the clock's now (each is
// due at first, then Every after its last evaluation).
func (m *Monitors) Evaluate(ctx context.Context) {
	now := m.opt.Clock.Now()
	figures := map[string]float64{} // read once per pass: metric + connector
	for _, r := range m.opt.Rules {
		if ctx.Err() != nil {
			return
		}
		if due, ok := m.next[r.Name]; ok && now.Before(due) {
			continue
		}
		m.next[r.Name] = now.Add(r.Every)
		result := "ok"
		firing, err := m.evaluate(ctx, r, now, figures)
		switch {
		case err != nil:
			result = "error"
			m.opt.Logger.Warn("monitor evaluation failed", "monitor", r.Name, "metric", r.Metric, "err", err)
		case firing:
			result = "firing"
		}
		m.opt.Metrics.MonitorEvaluations.WithLabelValues(r.Name, result).Inc()
	}
}

// evaluate runs one rule: read its figure, step its stored state, record
// the alert of a change. It reports whether the monitor fires.
func (m *Monitors) evaluate(ctx context.Context, r Rule, now time.Time, figures map[string]float64) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opt.Timeout)
	defer cancel()
	s, err := m.load(ctx, r.Name)
	if err != nil {
		return false, err
	}
	key := r.Metric + "|" + r.Connector
	v, ok := figures[key]
	if !ok {
		if v, err = m.read(ctx, r, now); err != nil {
			return s.Firing, err
		}
		figures[key] = v
	}
	if next, changed := Step(s, r, v, now); changed {
		s = next
		if err := m.save(ctx, r.Name, s, now); err != nil {
			return s.Firing, err
		}
	}
	if !s.Recorded {
		if err := m.record(ctx, r, s, v); err != nil {
			return s.Firing, err
		}
		s.Recorded = true
		if err := m.save(ctx, r.Name, s, now); err != nil {
			return s.Firing, err
		}
	}
	firing := 0.0
	if s.Firing {
		firing = 1
	}
	m.opt.Metrics.MonitorFiring.WithLabelValues(r.Name).Set(firing)
	return s.Firing, nil
}

// record submits the alert of s's last change.
func (m *Monitors) record(ctx context.Context, r Rule, s State, value float64) error {
	a := Alert(r, s, value)
	if m.opt.Tracing.Enabled() {
		var span trace.Span
		ctx, span = m.opt.Tracing.Tracer().Start(obs.InTrace(ctx, a.CorrelationID), "monitor "+r.Name,
			trace.WithAttributes(attribute.String("crossdock.monitor", r.Name), attribute.String("crossdock.monitor.metric", r.Metric),
				attribute.Float64("crossdock.monitor.value", value), attribute.String("crossdock.alert", a.Type)))
		defer span.End()
	}
	fresh, err := m.opt.Recorder.RecordAlert(ctx, a)
	if err != nil {
		return fmt.Errorf("monitor %s: record %s: %w", r.Name, a.Type, err)
	}
	if fresh {
		m.opt.Logger.Warn("monitor "+a.Type, "monitor", r.Name, "metric", r.Metric, "value", value, "threshold", r.Above, "alert", a.ID)
	}
	return nil
}

// AlertData is the data of alert.raised and alert.resolved.
type AlertData struct {
	Monitor   string  `json:"monitor"`
	Metric    string  `json:"metric"`
	Value     float64 `json:"value"`     // the figure: seconds for a time metric, else a count
	Threshold float64 `json:"threshold"` // in the same unit
	Unit      string  `json:"unit"`      // "seconds" or "count"
	Connector string  `json:"connector,omitempty"`
	RaisedAt  string  `json:"raised_at"`             // RFC 3339, UTC
	Resolved  string  `json:"resolved_at,omitempty"` // alert.resolved only
}

// Alert is the alert of s's last change: alert.raised when s fires, else
// alert.resolved. Its id — <monitor>/raised/<seq> or
// <monitor>/resolved/<seq> — makes recording it again harmless; a raise
// and its resolution share a correlation id (and so a trace).
func Alert(r Rule, s State, value float64) pipeline.Alert {
	typ, verb := pipeline.TypeAlertResolved, "resolved"
	if s.Firing {
		typ, verb = pipeline.TypeAlertRaised, "raised"
	}
	unit := "count"
	if r.Duration {
		unit = "seconds"
	}
	d := AlertData{Monitor: r.Name, Metric: r.Metric, Value: value, Threshold: r.Above, Unit: unit, Connector: r.Connector,
		RaisedAt: s.RaisedAt.UTC().Format(time.RFC3339Nano)}
	if !s.Firing {
		d.Resolved = s.Since.UTC().Format(time.RFC3339Nano)
	}
	data, _ := json.Marshal(d)
	return pipeline.Alert{
		ID: fmt.Sprintf("%s/%s/%d", r.Name, verb, s.Seq), Type: typ, Monitor: r.Name, Time: s.Since,
		CorrelationID: fmt.Sprintf("alert/%s/%d", r.Name, s.Seq), Data: data,
	}
}

func (m *Monitors) load(ctx context.Context, name string) (State, error) {
	rec, err := m.opt.Store.Master(ctx, KindMonitor, name)
	if errors.Is(err, store.ErrNotFound) {
		return State{Recorded: true}, nil // never raised: nothing to record
	}
	if err != nil {
		return State{}, fmt.Errorf("monitor %s: load state: %w", name, err)
	}
	var s State
	if err := json.Unmarshal(rec.Data, &s); err != nil {
		return State{}, fmt.Errorf("monitor %s: decode state: %w", name, err)
	}
	return s, nil
}

func (m *Monitors) save(ctx context.Context, name string, s State, now time.Time) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("monitor %s: encode state: %w", name, err)
	}
	if err := m.opt.Store.PutMaster(ctx, store.MasterRecord{Kind: KindMonitor, ID: name, Source: pipeline.SourceMonitor, Data: data, UpdatedAt: now}); err != nil {
		return fmt.Errorf("monitor %s: save state: %w", name, err)
	}
	return nil
}

// read reads a rule's figure at now.
func (m *Monitors) read(ctx context.Context, r Rule, now time.Time) (float64, error) {
	st := m.opt.Store
	var err error
	switch r.Metric {
	case PropagationLagP95, PODToInvoiceP95:
		var ds []time.Duration
		if r.Metric == PropagationLagP95 {
			ds, err = st.PropagationLags(ctx, now.Add(-insight.Window), insight.MaxSamples)
		} else {
			ds, err = st.PODToInvoice(ctx, now.Add(-insight.Window), insight.MaxSamples)
		}
		if err != nil {
			return 0, fmt.Errorf("monitor %s: %w", r.Name, err)
		}
		return insight.Quantiles(ds, 0.95)[0].Seconds(), nil
	case InvoiceReadyAge:
		ts, err := st.InvoiceTotals(ctx)
		if err != nil {
			return 0, fmt.Errorf("monitor %s: %w", r.Name, err)
		}
		return insight.OldestReady(ts, now).Seconds(), nil
	case OpenCases:
		gs, err := st.OpenCaseGroups(ctx, now)
		if err != nil {
			return 0, fmt.Errorf("monitor %s: %w", r.Name, err)
		}
		return float64(insight.OpenCases(gs)), nil
	case DeadLetters, ConnectorBacklog:
		prefix := ""
		if r.Connector != "" {
			prefix = r.Connector + "|" // pipeline.DeliveryKey: connector first
		}
		js, err := st.JobStats(ctx, pipeline.JobDeliver, prefix)
		if err != nil {
			return 0, fmt.Errorf("monitor %s: %w", r.Name, err)
		}
		if r.Metric == DeadLetters {
			return float64(js.Dead), nil
		}
		return float64(js.Pending), nil
	case Quarantine:
		return m.quarantined(ctx, r, now)
	}
	return 0, fmt.Errorf("monitor %s: unknown metric %q", r.Name, r.Metric)
}

// quarantined counts the payloads quarantined within the last
// insight.Window that no replay has taken in yet (at most 1000).
func (m *Monitors) quarantined(ctx context.Context, r Rule, now time.Time) (float64, error) {
	items, err := m.opt.Store.Quarantine(ctx, store.QuarantineFilter{Limit: 1000})
	if err != nil {
		return 0, fmt.Errorf("monitor %s: %w", r.Name, err)
	}
	n := 0
	for _, q := range items { // newest first
		if q.ReceivedAt.Before(now.Add(-insight.Window)) {
			break
		}
		if q.ReplayState != pipeline.Accepted && q.ReplayState != pipeline.Duplicate {
			n++
		}
	}
	return float64(n), nil
}
