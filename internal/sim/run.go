package sim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/x12"
)

// Defaults and limits of Options.
const (
	DefaultSpeed    = 60
	DefaultVehicles = 12
	DefaultTick     = 500 * time.Millisecond
	MaxSpeed        = 3600
	MaxVehicles     = 1000
	// maxBatch bounds the events (or 214 statuses) of one request.
	maxBatch = 500
)

// Options configure Run. Zero values take the defaults noted.
type Options struct {
	// BaseURL is the hub, e.g. http://127.0.0.1:8080. Required.
	BaseURL string
	// Key is an API key with the scopes events:write, read, ops (which
	// also lets the finance clerk start reconciliation runs) and, with
	// Carrier set, admin (to issue the carrier its key). Required.
	Key string
	// Speed is how many times faster than the wall clock the simulated
	// day runs; default 60, 1..3600.
	Speed float64
	// Vehicles is the fleet size; default 12, 1..1000. Every fourth truck
	// belongs to Carrier when it is set.
	Vehicles int
	// Seed picks the scenario: the same seed gives the same orders, routes,
	// exceptions and resolutions.
	Seed int64
	// Carrier is the id of a partner declared in the hub whose trucks
	// report by X12 214 instead of GPS; "" (default) for none.
	Carrier string
	// Clock is the wall clock; default the system clock.
	Clock Clock
	// Start is the wall-clock instant the simulated day starts (see
	// Timeline); default Clock.Now() when Run starts. Give an ERP the
	// same Start and Speed so its outage falls in the same simulated
	// minutes.
	Start time.Time
	// Tick is the wall-clock time between two rounds of sending; default
	// 500ms.
	Tick time.Duration
	// Duration stops Run after this much wall-clock time on Clock; default
	// 0: run until ctx ends.
	Duration time.Duration
	// Logger receives progress (info) and problems (warn); default none.
	Logger *slog.Logger
	// HTTPClient calls the hub; default one with a 30 s timeout.
	HTTPClient *http.Client
}

func (o Options) withDefaults() (Options, error) {
	if o.BaseURL == "" || o.Key == "" {
		return o, errors.New("sim: BaseURL and Key are required")
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.Speed == 0 {
		o.Speed = DefaultSpeed
	}
	if o.Speed < 1 || o.Speed > MaxSpeed {
		return o, fmt.Errorf("sim: speed %g is out of range 1..%d", o.Speed, MaxSpeed)
	}
	if o.Vehicles == 0 {
		o.Vehicles = DefaultVehicles
	}
	if o.Vehicles < 1 || o.Vehicles > MaxVehicles {
		return o, fmt.Errorf("sim: vehicles %d is out of range 1..%d", o.Vehicles, MaxVehicles)
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Start.IsZero() {
		o.Start = o.Clock.Now()
	}
	if o.Tick <= 0 {
		o.Tick = DefaultTick
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return o, nil
}

// Run simulates the dispatch system, the fleet, the drivers' app, the
// carrier, the ops clerk and the finance clerk against the hub at
// o.BaseURL until ctx ends (or o.Duration passes), and returns nil then.
// Every tick it sends what became due on the simulated clock: each system
// one request per round, and the events of one truck in the order they
// happened (see the package documentation). A request the hub does not
// answer, or answers with 5xx or 429, is sent again on the next tick; one
// it refuses is logged and dropped. It returns an error only for invalid
// options or a Carrier the hub does not know.
func Run(ctx context.Context, o Options) error {
	o, err := o.withDefaults()
	if err != nil {
		return err
	}
	tl := NewTimeline(o.Start, o.Speed)
	r := &runner{
		o: o, tl: tl, log: o.Logger,
		hub: &hubClient{base: o.BaseURL, key: o.Key, http: o.HTTPClient},
		sc:  newScenario(o.Seed, o.Vehicles, tl.Origin(), o.Carrier != ""),
	}
	r.log.Info("simulation starts", "day", tl.Origin().Format("Mon 2 Jan 2006 15:04 MST"), "speed", o.Speed,
		"vehicles", o.Vehicles, "seed", o.Seed, "carrier", o.Carrier)
	for {
		now := o.Clock.Now()
		ready, err := r.setup(ctx)
		if err != nil {
			return err
		}
		if ready {
			simNow := tl.Sim(now)
			r.sc.advance(simNow)
			r.flush(ctx)
			r.reconcile(ctx, now, simNow)
			r.progress(now, simNow)
		}
		if o.Duration > 0 && !now.Before(o.Start.Add(o.Duration)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-o.Clock.After(o.Tick):
		}
	}
}

// runner is one Run's state.
type runner struct {
	o          Options
	tl         Timeline
	log        *slog.Logger
	hub        *hubClient
	sc         *scenario
	ready      bool   // setup is done
	written    int    // master data records written so far
	carrierKey string // the carrier's own key, issued at setup
	control    int    // the last X12 interchange control number used
	down       bool   // the hub did not answer the last call
	hour       time.Time
	caughtUp   bool
	clerk      financeClerk
	counts     struct {
		released, assigned, cancelled, fixes, fuel, pods, exceptions, statuses, interchanges, resolved int
	}
}

// setup writes the customers and locations (master data) and gets the
// carrier its key; it reports whether that is done, else it goes on from
// where it stopped next tick. A carrier the hub does not know is an error:
// its trucks could report nothing.
func (r *runner) setup(ctx context.Context) (bool, error) {
	if r.ready {
		return true, nil
	}
	for r.written < len(customers)+len(cities())*(1+sitesPerCity) {
		var err error
		if i := r.written; i < len(customers) {
			err = r.hub.putCustomer(ctx, customers[i])
		} else {
			i -= len(customers)
			c := &cities()[i/(1+sitesPerCity)]
			p := c.depot
			if n := i % (1 + sitesPerCity); n > 0 {
				p = c.sites[n-1]
			}
			err = r.hub.putLocation(ctx, c, p)
		}
		if err != nil {
			r.failed(ctx, err, "master data") // a refusal is logged and skipped: orders work without it
			if again(ctx, err) {
				return false, nil
			}
		}
		r.written++
	}
	if r.o.Carrier != "" && r.carrierKey == "" {
		key, err := r.hub.issueKey(ctx, r.o.Carrier)
		switch {
		case err != nil && again(ctx, err):
			r.failed(ctx, err, "carrier key")
			return false, nil
		case err != nil:
			return false, fmt.Errorf("sim: carrier %s: %w", r.o.Carrier, err)
		}
		r.carrierKey = key
	}
	r.ready = true
	return true, nil
}

// again reports whether a failed call is worth making again next tick:
// the hub did not answer or failed, or ctx ended (then Run returns
// anyway).
func again(ctx context.Context, err error) bool { return retryable(err) || ctx.Err() != nil }

// failed logs a failed call: once while the hub stays unreachable, every
// time for a refusal, never once ctx has ended (the demo stopping).
func (r *runner) failed(ctx context.Context, err error, what string) {
	switch {
	case ctx.Err() != nil:
	case !retryable(err):
		r.log.Error("simulation: the hub refused a request; dropped", "what", what, "err", err)
	case !r.down:
		r.down = true
		r.log.Warn("simulation: the hub is not answering; retrying every tick", "what", what, "err", err)
	}
}

// flush sends everything due, round by round: in each round every
// vehicle contributes its longest run of due items bound for one system,
// so one truck's events reach the hub in the order they happened while
// each system sends one request per round.
func (r *runner) flush(ctx context.Context) {
	vs := r.sc.vehicles
	taken := make([]int, len(vs))
	to := make([]sink, len(vs))
	for {
		var batches [sinkCount][]entry
		some := false
		for i, v := range vs {
			taken[i] = 0
			if len(v.due) == 0 {
				continue
			}
			to[i] = v.due[0].kind.sink()
			for taken[i] < len(v.due) && v.due[taken[i]].kind.sink() == to[i] && len(batches[to[i]]) < maxBatch {
				batches[to[i]] = append(batches[to[i]], entry{v: v, it: v.due[taken[i]]})
				taken[i]++
			}
			some = some || taken[i] > 0
		}
		if !some {
			return
		}
		for sk, batch := range batches {
			if len(batch) == 0 {
				continue
			}
			err := r.send(ctx, sink(sk), batch)
			switch {
			case err != nil && again(ctx, err):
				r.failed(ctx, err, sinkNames[sk])
				return
			case err != nil:
				r.failed(ctx, err, sinkNames[sk]) // refused: logged and dropped
			case r.down:
				r.down = false
				r.log.Info("simulation: the hub answers again")
			}
			for i, v := range vs {
				if taken[i] > 0 && to[i] == sink(sk) {
					v.due = v.due[taken[i]:]
				}
			}
		}
	}
}

var sinkNames = [sinkCount]string{"dispatch", "fleet", "carrier", "driver app", "ops clerk"}

// send makes the requests of one system for one round.
func (r *runner) send(ctx context.Context, sk sink, batch []entry) error {
	switch sk {
	case sinkCarrier:
		return r.sendStatuses(ctx, batch)
	case sinkClerk:
		for _, e := range batch {
			if err := r.resolve(ctx, e.it.job); err != nil {
				return err
			}
		}
		return nil
	}
	body, err := encodeEvents(batch)
	if err != nil {
		return err
	}
	bad, err := r.hub.postEvents(ctx, body)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		r.log.Warn("simulation: the hub rejected events", "system", sinkNames[sk], "rejected", len(bad), "first", bad[0])
	}
	for _, e := range batch {
		switch e.it.kind {
		case kindRelease:
			r.counts.released++
		case kindAssign:
			r.counts.assigned++
		case kindCancel:
			r.counts.cancelled++
		case kindFix:
			r.counts.fixes++
		case kindFuel:
			r.counts.fuel++
		case kindPOD:
			r.counts.pods++
			if j := e.it.job; j.exception != "" && j.stops[j.excStop] == e.it.stop {
				r.counts.exceptions++
			}
		}
	}
	return nil
}

// sendStatuses sends the carrier's due statuses as one X12 214
// interchange, one transaction set per shipment.
func (r *runner) sendStatuses(ctx context.Context, batch []entry) error {
	sorted := slices.Clone(batch)
	slices.SortStableFunc(sorted, func(a, b entry) int { return cmp.Compare(a.it.job.number, b.it.job.number) })
	statuses := make([]x12.Status, len(sorted))
	for i, e := range sorted {
		st := e.it.stop
		at := st.arrive
		if e.it.code == "AF" || e.it.code == "CD" {
			at = st.depart
		}
		lat, lon := round6(st.place.at.lat), round6(st.place.at.lon)
		statuses[i] = x12.Status{ShipmentID: e.it.job.id, Code: e.it.code, StopID: st.id, Time: at, Lat: &lat, Lon: &lon}
	}
	r.control++
	body, err := x12.Write214(x12.Envelope{
		SenderQualifier: "ZZ", SenderID: "NORTHLINE", ReceiverQualifier: "ZZ", ReceiverID: "CROSSDOCK",
		InterchangeControlNumber: r.control, GroupControlNumber: r.control, SCAC: "NLCR",
		Date: sorted[len(sorted)-1].it.at.UTC(),
	}, statuses...)
	if err != nil {
		return fmt.Errorf("sim: write 214: %w", err)
	}
	bad, err := r.hub.postEDI(ctx, r.o.Carrier, r.carrierKey, body)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		r.log.Warn("simulation: the hub did not take carrier statuses", "problems", len(bad), "first", bad[0])
	}
	r.counts.statuses += len(statuses)
	r.counts.interchanges++
	return nil
}

// resolve is the ops clerk closing the case the job's exception opened.
func (r *runner) resolve(ctx context.Context, j *job) error {
	cases, err := r.hub.openCases(ctx, j.id)
	if err != nil {
		return err
	}
	res := resolutions[j.exception]
	for _, c := range cases {
		if c.Code != j.exception {
			continue
		}
		if err := r.hub.resolveCase(ctx, c.ID, res[0], res[1]); err != nil {
			return err
		}
		r.counts.resolved++
	}
	return nil
}

// progress logs a line per simulated hour, and once when the simulated
// day has caught up with Behind.
func (r *runner) progress(wall, simNow time.Time) {
	if h := simNow.Truncate(time.Hour); h.After(r.hour) {
		r.hour = h
		c := r.counts
		r.log.Info("simulated clock", "time", simNow.Format("Mon 15:04 MST"), "orders", c.released, "assigned", c.assigned,
			"cancelled", c.cancelled, "positions", c.fixes, "fuel_purchases", c.fuel, "carrier_statuses", c.statuses, "interchanges", c.interchanges, "pods", c.pods,
			"pod_exceptions", c.exceptions, "cases_resolved", c.resolved)
	}
	if !r.caughtUp && !simNow.Before(wall.Add(-Behind)) {
		r.caughtUp = true
		r.log.Info("simulation: the simulated day has caught up; it runs at 1× from now on", "behind", Behind.String())
	}
}
