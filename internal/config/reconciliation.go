package config

import (
	"fmt"
	"slices"
	"time"

	"github.com/robfig/cron/v3"
)

// Reconciliation schedules the nightly reconciliation runs and tunes their
// checks (docs/reconciliation.md).
type Reconciliation struct {
	// Schedule is when the scheduled runs start: a cron expression of five
	// fields (minute hour day-of-month month day-of-week) or a descriptor
	// such as @daily, in Timezone. Default "30 2 * * *" (02:30 every
	// night); "off" for no scheduled runs.
	Schedule string `yaml:"schedule"`
	// Timezone is the IANA zone Schedule is read in. Default UTC.
	Timezone string `yaml:"timezone"`
	// Kinds are what a scheduled run checks: invoices, shipments, fuel.
	// Default all three.
	Kinds []string `yaml:"kinds"`
	// Lookback is the period a scheduled run checks, ending when it
	// starts. Default 168h (a week: an ERP document changed days later is
	// still caught); 1h..8784h.
	Lookback Duration `yaml:"lookback"`
	// StuckReadyAfter: an invoice ready longer than this is stuck_ready.
	// Default 1h; 1s..720h.
	StuckReadyAfter Duration `yaml:"stuck_ready_after"`
	// DistanceToleranceKm and DistanceTolerancePct: a measured distance
	// that moved by more than both since its invoice is
	// distance_changed_after_invoice. Defaults 1 km and 2 %.
	DistanceToleranceKm  float64 `yaml:"distance_tolerance_km"`
	DistanceTolerancePct float64 `yaml:"distance_tolerance_pct"`
	// FuelMaxStationKm: a fuel purchase farther than this from the
	// vehicle's position at the time is fuel_far_from_vehicle. Default 5.
	FuelMaxStationKm float64 `yaml:"fuel_max_station_km"`
	// FuelOutlierZ is the modified z-score (median absolute deviation)
	// of l/100 km above which a vehicle is a consumption_outlier.
	// Default 3.5.
	FuelOutlierZ float64 `yaml:"fuel_outlier_z"`
	// FuelMinDistanceKm: vehicles that drove less in the period are not
	// rated for consumption. Default 200.
	FuelMinDistanceKm float64 `yaml:"fuel_min_distance_km"`
}

// ReconcileKinds are the kinds of reconciliation run.
var ReconcileKinds = []string{"invoices", "shipments", "fuel"}

// DefaultReconciliation is the nightly schedule over the last week.
func DefaultReconciliation() Reconciliation {
	return Reconciliation{
		Schedule: "30 2 * * *", Timezone: "UTC", Kinds: slices.Clone(ReconcileKinds), Lookback: Duration(168 * time.Hour),
		StuckReadyAfter: Duration(time.Hour), DistanceToleranceKm: 1, DistanceTolerancePct: 2,
		FuelMaxStationKm: 5, FuelOutlierZ: 3.5, FuelMinDistanceKm: 200,
	}
}

// ScheduleOff turns the scheduled runs off.
const ScheduleOff = "off"

// Next returns when the scheduled runs next start after t; ok is false
// when the schedule is off (or invalid, which Validate refuses).
func (r Reconciliation) Next(t time.Time) (time.Time, bool) {
	if r.Schedule == ScheduleOff {
		return time.Time{}, false
	}
	s, err := r.parse()
	if err != nil {
		return time.Time{}, false
	}
	return s.Next(t).UTC(), true
}

func (r Reconciliation) parse() (cron.Schedule, error) {
	tz := r.Timezone
	if tz == "" {
		tz = "UTC"
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return nil, fmt.Errorf("unknown time zone %q", tz)
	}
	return cron.ParseStandard("CRON_TZ=" + tz + " " + r.Schedule)
}

func (c Config) validateReconciliation(bad func(key, format string, args ...any)) {
	r := c.Reconciliation
	if r.Timezone != "" {
		if _, err := time.LoadLocation(r.Timezone); err != nil {
			bad("reconciliation.timezone", "%q is not an IANA time zone such as Europe/Berlin", r.Timezone)
		}
	}
	if r.Schedule != ScheduleOff {
		if _, err := cron.ParseStandard(r.Schedule); err != nil {
			bad("reconciliation.schedule", "must be a cron expression such as \"30 2 * * *\", a descriptor such as @daily, or off: %s", err)
		}
	}
	if len(r.Kinds) == 0 {
		bad("reconciliation.kinds", "must name at least one of %v (turn the runs off with schedule: off)", ReconcileKinds)
	}
	for i, k := range r.Kinds {
		if !slices.Contains(ReconcileKinds, k) {
			bad(fmt.Sprintf("reconciliation.kinds[%d]", i), "%q is not one of %v", k, ReconcileKinds)
		}
	}
	if d := r.Lookback.D(); d < time.Hour || d > 8784*time.Hour {
		bad("reconciliation.lookback", "must be between 1h and 8784h, got %s", short(d))
	}
	if d := r.StuckReadyAfter.D(); d < time.Second || d > 720*time.Hour {
		bad("reconciliation.stuck_ready_after", "must be between 1s and 720h, got %s", short(d))
	}
	for _, f := range []struct {
		key       string
		v, lo, hi float64
	}{
		{"distance_tolerance_km", r.DistanceToleranceKm, 0.1, 1000},
		{"distance_tolerance_pct", r.DistanceTolerancePct, 0.1, 100},
		{"fuel_max_station_km", r.FuelMaxStationKm, 0.1, 1000},
		{"fuel_outlier_z", r.FuelOutlierZ, 1, 100},
		{"fuel_min_distance_km", r.FuelMinDistanceKm, 1, 100000},
	} {
		if f.v < f.lo || f.v > f.hi {
			bad("reconciliation."+f.key, "must be between %g and %g, got %g", f.lo, f.hi, f.v)
		}
	}
}
