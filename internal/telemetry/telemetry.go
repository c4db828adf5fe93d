package telemetry

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
)

// Config tunes the rules. Zero values take the defaults noted.
type Config struct {
	// DefaultRadiusM is the geofence radius of a stop whose order gives
	// none; default 200 m.
	DefaultRadiusM float64
	// HysteresisM is how far beyond the radius a vehicle must be before it
	// counts as having left, so GPS jitter at the boundary does not flap
	// between arrived and departed; default 50 m.
	HysteresisM float64
	// MaxSpeedKph is the fastest plausible movement between two positions;
	// a jump implying more is a glitch, dropped and counted; default 200.
	MaxSpeedKph float64
	// FallbackSpeedKph is the speed the ETA assumes while the vehicle is
	// slower than MinMovingKph (stopped, in traffic); default 50.
	FallbackSpeedKph float64
	// RoadFactor turns straight-line distance into expected road distance
	// for the ETA; default 1.3.
	RoadFactor float64
	// DelayMargin is how far inside the window the ETA must come back
	// before a standing delay is cleared; default 5 minutes.
	DelayMargin time.Duration
	// TemperatureGrace is how long readings may stay outside the order's
	// range before temperature_excursion is raised; default 10 minutes.
	TemperatureGrace time.Duration
	// RouteDeviationM is how far from the planned route counts as off
	// route; default 1000 m.
	RouteDeviationM float64
	// RouteDeviationFor is how long a vehicle must stay off route before
	// route_deviation is raised; default 5 minutes.
	RouteDeviationFor time.Duration
}

// routeWindow is how many segments either side of the last nearest one
// the route deviation test looks at before scanning the whole route.
const routeWindow = 32

// MinMovingKph is the smoothed speed below which the ETA uses
// FallbackSpeedKph.
const MinMovingKph = 10

// WithDefaults returns c with zero values replaced by the defaults.
func (c Config) WithDefaults() Config {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.DefaultRadiusM, 200)
	def(&c.HysteresisM, 50)
	def(&c.MaxSpeedKph, 200)
	def(&c.FallbackSpeedKph, 50)
	def(&c.RoadFactor, 1.3)
	defDur(&c.DelayMargin, 5*time.Minute)
	defDur(&c.TemperatureGrace, 10*time.Minute)
	def(&c.RouteDeviationM, 1000)
	defDur(&c.RouteDeviationFor, 5*time.Minute)
	return c
}

// Position is what the rules read of one position report.
type Position struct {
	Time         time.Time
	Lat, Lon     float64
	SpeedKph     *float64
	TemperatureC *float64
}

// Effect is an event the rules derive: Data is a *canonical.ShipmentMilestone
// (Type shipment.milestone) or a *canonical.ShipmentException (Type
// shipment.exception). Its time is the position's time.
type Effect struct {
	Type string
	Data any
}

// Outcome is what one position did to a shipment.
type Outcome struct {
	Effects []Effect
	Changed bool // the shipment's Track changed
	Glitch  bool // dropped as an implausible jump
	Late    bool // older than the newest applied position: not applied
}

// Step applies position p of vehicle vehicleID to shipment st, the
// shipment the vehicle is assigned to, and returns the events it derives.
// st must be visible (its order known). Step changes only st.Track; the
// caller applies the effects to st through shipment.Apply, so a derived
// arrival counts like any other source's.
func Step(st *shipment.State, vehicleID string, p Position, cfg Config) Outcome {
	var out Outcome
	if st.Order == nil || st.Cancelled != nil {
		return out
	}
	tr := st.Track
	if tr == nil {
		tr = &shipment.Track{VehicleID: vehicleID}
	}
	if !slices.ContainsFunc(st.Order.Data.Stops, func(s canonical.Stop) bool { return !left(st, tr, s.ID) }) {
		return out // every stop is behind the vehicle: the trip is over
	}
	st.Track = tr
	if tr.VehicleID != vehicleID {
		// Another vehicle took the shipment over: its distance adds on, the
		// previous vehicle's geofence and deviation bookkeeping ends.
		tr.VehicleID, tr.Last, tr.Inside = vehicleID, nil, ""
		tr.OffSince, tr.OffRaised = nil, false
	}
	if tr.Last != nil && !p.Time.After(tr.Last.Time) {
		tr.Late++
		return Outcome{Changed: true, Late: true}
	}
	if tr.Last != nil {
		km := HaversineKm(tr.Last.Lat, tr.Last.Lon, p.Lat, p.Lon)
		hours := p.Time.Sub(tr.Last.Time).Hours()
		if km*1000 > cfg.HysteresisM && km/hours > cfg.MaxSpeedKph {
			tr.Glitches++
			return Outcome{Changed: true, Glitch: true}
		}
		tr.DistanceKm += km
		speed := km / hours
		if p.SpeedKph != nil {
			speed = *p.SpeedKph
		}
		if tr.SpeedKph == 0 {
			tr.SpeedKph = speed
		} else {
			tr.SpeedKph = 0.7*tr.SpeedKph + 0.3*speed
		}
	} else if p.SpeedKph != nil {
		tr.SpeedKph = *p.SpeedKph
	}
	tr.Last = &shipment.TrackPoint{Time: p.Time, Lat: p.Lat, Lon: p.Lon}
	out.Changed = true

	stops := st.Order.Data.Stops
	out.Effects = append(out.Effects, geofence(st, tr, stops, p, cfg)...)
	out.Effects = append(out.Effects, eta(st, tr, stops, p, cfg)...)
	out.Effects = append(out.Effects, temperature(st, tr, vehicleID, p, cfg)...)
	out.Effects = append(out.Effects, deviation(st, tr, vehicleID, p, cfg)...)
	return out
}

func (c Config) radius(s canonical.Stop) float64 {
	if s.Location.RadiusM > 0 {
		return s.Location.RadiusM
	}
	return c.DefaultRadiusM
}

// left reports whether stop id is departed by any source or by telemetry.
func left(st *shipment.State, tr *shipment.Track, id string) bool {
	if slices.Contains(tr.Departed, id) {
		return true
	}
	f := st.Stops[id]
	return f != nil && (f.Departed != nil)
}

// geofence derives arrival on the first position inside a stop's radius
// and departure on the first position beyond radius + hysteresis.
func geofence(st *shipment.State, tr *shipment.Track, stops []canonical.Stop, p Position, cfg Config) []Effect {
	var fx []Effect
	if tr.Inside != "" {
		i := slices.IndexFunc(stops, func(s canonical.Stop) bool { return s.ID == tr.Inside })
		if i < 0 {
			tr.Inside = "" // an order amendment removed the stop
		} else if s := stops[i]; HaversineKm(s.Location.Lat, s.Location.Lon, p.Lat, p.Lon)*1000 > cfg.radius(s)+cfg.HysteresisM {
			fx = append(fx, milestone(canonical.MilestoneDeparted, s.ID, p, ""))
			tr.Departed = append(tr.Departed, s.ID)
			tr.Inside = ""
		} else {
			return fx
		}
	}
	for _, s := range stops {
		if left(st, tr, s.ID) {
			continue
		}
		if HaversineKm(s.Location.Lat, s.Location.Lon, p.Lat, p.Lon)*1000 <= cfg.radius(s) {
			tr.Inside = s.ID
			if !slices.Contains(tr.Arrived, s.ID) {
				tr.Arrived = append(tr.Arrived, s.ID)
				fx = append(fx, milestone(canonical.MilestoneArrived, s.ID, p, ""))
			}
			break
		}
	}
	return fx
}

func milestone(code, stopID string, p Position, reason string) Effect {
	return Effect{Type: canonical.TypeShipmentMilestone, Data: &canonical.ShipmentMilestone{
		Code: code, StopID: stopID, Location: &canonical.Point{Lat: p.Lat, Lon: p.Lon}, Reason: reason,
	}}
}

// eta estimates the arrival at the next stop not yet departed and raises
// or clears the delay against that stop's window.
func eta(st *shipment.State, tr *shipment.Track, stops []canonical.Stop, p Position, cfg Config) []Effect {
	i := slices.IndexFunc(stops, func(s canonical.Stop) bool { return !left(st, tr, s.ID) })
	if i < 0 {
		tr.ETA, tr.NextStop = nil, ""
		return clearDelay(tr, "", p)
	}
	next := stops[i]
	arrivedAt := arrival(st, next.ID)
	var at time.Time
	switch {
	case arrivedAt != nil:
		at = *arrivedAt
	case tr.Inside == next.ID:
		at = p.Time
	default:
		km := HaversineKm(p.Lat, p.Lon, next.Location.Lat, next.Location.Lon) * cfg.RoadFactor
		speed := tr.SpeedKph
		if speed < MinMovingKph {
			speed = cfg.FallbackSpeedKph
		}
		at = p.Time.Add(time.Duration(km / speed * float64(time.Hour))).Truncate(time.Second)
	}
	tr.ETA, tr.NextStop = &at, next.ID
	if next.Window == nil {
		return clearDelay(tr, next.ID, p)
	}
	end := next.Window.To
	switch {
	case !tr.Delayed && at.After(end):
		tr.Delayed = true
		reason := fmt.Sprintf("expected at %s at %s, after its window ends at %s", next.ID, at.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
		if arrivedAt != nil || tr.Inside == next.ID {
			reason = fmt.Sprintf("arrived at %s at %s, after its window ended at %s", next.ID, at.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
		}
		return []Effect{milestone(canonical.MilestoneDelayed, next.ID, p, reason)}
	case tr.Delayed && !at.After(end.Add(-cfg.DelayMargin)):
		return clearDelay(tr, next.ID, p)
	}
	return nil
}

func clearDelay(tr *shipment.Track, stopID string, p Position) []Effect {
	if !tr.Delayed {
		return nil
	}
	tr.Delayed = false
	return []Effect{milestone(canonical.MilestoneInTransit, stopID, p, shipment.ReasonOnTime)}
}

func arrival(st *shipment.State, id string) *time.Time {
	if f := st.Stops[id]; f != nil && f.Arrived != nil {
		t := f.Arrived.Time
		return &t
	}
	return nil
}

// temperature raises one temperature_excursion per excursion that lasts
// longer than the grace period.
func temperature(st *shipment.State, tr *shipment.Track, vehicleID string, p Position, cfg Config) []Effect {
	rng := st.Order.Data.Temperature
	if rng == nil || p.TemperatureC == nil {
		return nil
	}
	t := *p.TemperatureC
	if t >= rng.MinC && t <= rng.MaxC {
		tr.TempSince, tr.TempRaised = nil, false
		return nil
	}
	if tr.TempSince == nil {
		since := p.Time
		tr.TempSince = &since
	}
	if tr.TempRaised || p.Time.Sub(*tr.TempSince) < cfg.TemperatureGrace {
		return nil
	}
	tr.TempRaised = true
	since, lo, hi := *tr.TempSince, rng.MinC, rng.MaxC
	return []Effect{{Type: canonical.TypeShipmentException, Data: &canonical.ShipmentException{
		Code:      canonical.ExceptionTemperature,
		Detail:    fmt.Sprintf("cargo at %.1f °C since %s, outside %g..%g °C", t, since.UTC().Format(time.RFC3339), lo, hi),
		VehicleID: vehicleID, Since: &since, ReadingC: &t, MinC: &lo, MaxC: &hi,
		Location: &canonical.Point{Lat: p.Lat, Lon: p.Lon},
	}}}
}

// deviation raises one route_deviation per stretch off the planned route
// that lasts longer than RouteDeviationFor.
func deviation(st *shipment.State, tr *shipment.Track, vehicleID string, p Position, cfg Config) []Effect {
	if st.Assignment == nil || st.Assignment.Data.Route == nil || len(st.Assignment.Data.Route.Coordinates) < 2 {
		return nil
	}
	line := st.Assignment.Data.Route.Coordinates
	// Vehicles move along the route: look near the last nearest segment
	// first, and scan the whole route only when that window is off route.
	m, at := nearestSegment(p.Lat, p.Lon, line, tr.RouteSeg-routeWindow, tr.RouteSeg+routeWindow+1)
	if m > cfg.RouteDeviationM {
		m, at = nearestSegment(p.Lat, p.Lon, line, 1, len(line))
	}
	tr.RouteSeg = at
	if m <= cfg.RouteDeviationM {
		tr.OffSince, tr.OffRaised = nil, false
		return nil
	}
	if tr.OffSince == nil {
		since := p.Time
		tr.OffSince = &since
	}
	if tr.OffRaised || p.Time.Sub(*tr.OffSince) < cfg.RouteDeviationFor {
		return nil
	}
	tr.OffRaised = true
	since, dist := *tr.OffSince, math.Round(m)
	return []Effect{{Type: canonical.TypeShipmentException, Data: &canonical.ShipmentException{
		Code:      canonical.ExceptionRouteDeviation,
		Detail:    fmt.Sprintf("%.0f m off the planned route since %s", dist, since.UTC().Format(time.RFC3339)),
		VehicleID: vehicleID, Since: &since, DistanceM: &dist,
		Location: &canonical.Point{Lat: p.Lat, Lon: p.Lon},
	}}}
}
