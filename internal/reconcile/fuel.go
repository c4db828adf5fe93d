package reconcile

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/telemetry"
)

// FuelSource is what the fuel check reads (store.Store satisfies it).
type FuelSource interface {
	Events(ctx context.Context, f store.EventFilter) ([]store.EventRecord, error)
	Positions(ctx context.Context, f store.PositionFilter) ([]store.PositionRecord, error)
}

// FuelOptions tune the fuel check; zero values take defaults.
type FuelOptions struct {
	// MaxStationKm: a station farther than this from the vehicle at the
	// purchase time is fuel_far_from_vehicle; default 5.
	MaxStationKm float64
	// PositionWindow: a position within this of the purchase places the
	// vehicle; default 30m. A purchase with no position that close is not
	// placed: no finding, but counted in VehicleFuel.Unplaced.
	PositionWindow time.Duration
	// OutlierZ: a modified z-score (0.6745*(x-median)/MAD) of l/100 km
	// beyond this, either way, is a consumption_outlier; default 3.5.
	OutlierZ float64
	// MinDistanceKm: vehicles driving less in the period are not rated for
	// consumption; default 200.
	MinDistanceKm float64
	// MaxSpeedKph: a jump between positions implying more is a GPS glitch,
	// left out of the distance and of placing purchases; default 200.
	MaxSpeedKph float64
}

func (o FuelOptions) withDefaults() FuelOptions {
	if o.MaxStationKm <= 0 {
		o.MaxStationKm = 5
	}
	if o.PositionWindow <= 0 {
		o.PositionWindow = 30 * time.Minute
	}
	if o.OutlierZ <= 0 {
		o.OutlierZ = 3.5
	}
	if o.MinDistanceKm <= 0 {
		o.MinDistanceKm = 200
	}
	if o.MaxSpeedKph <= 0 {
		o.MaxSpeedKph = 200
	}
	return o
}

// VehicleFuel is one vehicle's fuel and distance over the period.
type VehicleFuel struct {
	VehicleID  string
	DistanceKm float64
	Liters     float64 // every purchase's, whatever its currency
	// Amount is the sum of the amounts of the purchases in Currency,
	// decimal text with 2 places (more only when an amount has them).
	Amount string
	// Currency is the purchases' currency; when they have several, the
	// most frequent one (the first in order on a tie).
	Currency  string
	Mixed     int // purchases in another currency than Currency, left out of Amount
	Purchases int
	// Unplaced counts the purchases with a station position but no
	// vehicle position close enough in time.
	Unplaced  int
	LPer100Km *float64 // nil when DistanceKm < MinDistanceKm
}

// fuelPage is the page size of the fuel check's reads.
const fuelPage = 1000

// minRated is how many vehicles must be rated for consumption outliers.
const minRated = 5

// purchase is one fuel.purchased event.
type purchase struct {
	seq        int64
	source, id string
	at         time.Time
	data       canonical.FuelPurchased
}

// located reports whether the purchase has a station position.
func (p *purchase) located() bool { return p.data.Lat != nil && p.data.Lon != nil }

// CheckFuel reads the fuel.purchased events with event time in [from, to),
// groups them by vehicle (the event's Subject), walks each such vehicle's
// positions over [from, to) to measure distance (haversine between
// consecutive positions, skipping glitches) and to place each purchase,
// calls emit for each finding, and returns each vehicle's figures ordered
// by VehicleID.
//
// Positions up to PositionWindow outside the period are read too, to place
// purchases near its ends; they do not count in the distance. Positions are
// read a page at a time, so memory does not grow with their number. An
// emit error stops the check and is returned wrapped.
func CheckFuel(ctx context.Context, src FuelSource, from, to time.Time, o FuelOptions, emit func(Finding) error) ([]VehicleFuel, error) {
	o = o.withDefaults()
	byVehicle, err := readPurchases(ctx, src, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]VehicleFuel, 0, len(byVehicle))
	for _, id := range slices.Sorted(maps.Keys(byVehicle)) {
		v, err := checkVehicle(ctx, src, id, byVehicle[id], from, to, o, emit)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := consumptionOutliers(out, to, o.OutlierZ, emit); err != nil {
		return nil, err
	}
	return out, nil
}

// readPurchases reads the period's fuel purchases by vehicle.
func readPurchases(ctx context.Context, src FuelSource, from, to time.Time) (map[string][]purchase, error) {
	out := map[string][]purchase{}
	f := store.EventFilter{Types: []string{canonical.TypeFuelPurchased}, From: from, To: to, Limit: fuelPage}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		page, err := src.Events(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("read fuel purchases: %w", err)
		}
		for _, e := range page {
			p := purchase{seq: e.Seq, source: e.Source, id: e.ID, at: e.Time}
			if err := json.Unmarshal(e.Data, &p.data); err != nil {
				return nil, fmt.Errorf("fuel purchase %s %s: %w", e.Source, e.ID, err)
			}
			out[e.Subject] = append(out[e.Subject], p)
		}
		if len(page) < f.Limit {
			return out, nil
		}
		f.AfterSeq = page[len(page)-1].Seq
	}
}

// checkVehicle walks one vehicle's positions, placing its purchases (sorted
// here) and measuring its distance.
func checkVehicle(ctx context.Context, src FuelSource, id string, ps []purchase, from, to time.Time, o FuelOptions, emit func(Finding) error) (VehicleFuel, error) {
	slices.SortFunc(ps, func(a, b purchase) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.seq, b.seq))
	})
	v, err := fuelTotals(id, ps)
	if err != nil {
		return v, err
	}
	w := fuelWalk{vehicleID: id, from: from, to: to, o: o, ps: ps, emit: emit}
	f := store.PositionFilter{VehicleID: id, From: from.Add(-o.PositionWindow), To: to.Add(o.PositionWindow), Limit: fuelPage}
	for {
		if err := ctx.Err(); err != nil {
			return v, err
		}
		page, err := src.Positions(ctx, f)
		if err != nil {
			return v, fmt.Errorf("read positions of %s: %w", id, err)
		}
		for i := range page {
			if err := w.step(&page[i]); err != nil {
				return v, err
			}
		}
		if len(page) < f.Limit {
			break
		}
		f.From = page[len(page)-1].Time.Add(time.Nanosecond)
	}
	if err := w.finish(); err != nil {
		return v, err
	}
	v.DistanceKm, v.Unplaced = w.distanceKm, w.unplaced
	if v.DistanceKm >= o.MinDistanceKm {
		l := v.Liters / v.DistanceKm * 100
		v.LPer100Km = &l
	}
	return v, nil
}

// fuelTotals adds up the liters and, exactly, the amounts of ps (one
// purchase at least).
func fuelTotals(id string, ps []purchase) (VehicleFuel, error) {
	v := VehicleFuel{VehicleID: id, Purchases: len(ps)}
	count := map[string]int{}
	for i := range ps {
		v.Liters += ps[i].data.Liters
		count[ps[i].data.Currency]++
	}
	currencies := slices.Sorted(maps.Keys(count))
	v.Currency = currencies[0]
	for _, c := range currencies[1:] {
		if count[c] > count[v.Currency] {
			v.Currency = c
		}
	}
	sum := new(big.Int)
	for i := range ps {
		if ps[i].data.Currency != v.Currency {
			v.Mixed++
			continue
		}
		a, ok := parseAmount(string(ps[i].data.Amount))
		if !ok {
			return v, fmt.Errorf("fuel purchase %s %s: amount %q is not a decimal", ps[i].source, ps[i].id, ps[i].data.Amount)
		}
		sum.Add(sum, a)
	}
	v.Amount = formatAmount(sum)
	return v, nil
}

// amountScale is the most decimal places of a canonical amount.
const amountScale = 4

// parseAmount reads a non-negative decimal ("84.20") as an integer at
// amountScale; ok is false for anything else.
func parseAmount(s string) (v *big.Int, ok bool) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || dot && frac == "" || !decimalDigits(whole) || !decimalDigits(frac) {
		return nil, false
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > amountScale {
		return nil, false
	}
	return new(big.Int).SetString(whole+frac+strings.Repeat("0", amountScale-len(frac)), 10)
}

// decimalDigits reports whether s is only the digits 0-9.
func decimalDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// formatAmount writes v, at amountScale, with 2 decimal places or as many
// more as it needs to stay exact ("0.30", "4.125").
func formatAmount(v *big.Int) string {
	s := v.String()
	if len(s) <= amountScale {
		s = strings.Repeat("0", amountScale-len(s)+1) + s
	}
	whole, frac := s[:len(s)-amountScale], strings.TrimRight(s[len(s)-amountScale:], "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return whole + "." + frac
}

// fuelPoint is an accepted position of the walk.
type fuelPoint struct {
	at       time.Time
	lat, lon float64
}

// fuelWalk follows one vehicle's positions in time order. It keeps only
// the last accepted position: a purchase is placed at the nearer in time
// of the positions just before and just after it.
type fuelWalk struct {
	vehicleID  string
	from, to   time.Time
	o          FuelOptions
	ps         []purchase // sorted by time
	next       int        // the first purchase not yet placed
	emit       func(Finding) error
	last       fuelPoint
	started    bool // last is set
	distanceKm float64
	unplaced   int
}

// step takes the next position; a glitch (a jump faster than MaxSpeedKph
// from the last accepted position) is left out.
func (w *fuelWalk) step(p *store.PositionRecord) error {
	cur := fuelPoint{at: p.Time, lat: p.Lat, lon: p.Lon}
	var before *fuelPoint
	if w.started {
		before = &w.last
		km := telemetry.HaversineKm(w.last.lat, w.last.lon, cur.lat, cur.lon)
		if km/cur.at.Sub(w.last.at).Hours() > w.o.MaxSpeedKph {
			return nil
		}
		if !w.last.at.Before(w.from) && cur.at.Before(w.to) {
			w.distanceKm += km
		}
	}
	for ; w.next < len(w.ps) && !w.ps[w.next].at.After(cur.at); w.next++ {
		if err := w.place(&w.ps[w.next], before, &cur); err != nil {
			return err
		}
	}
	w.last, w.started = cur, true
	return nil
}

// finish places the purchases after the last position.
func (w *fuelWalk) finish() error {
	var before *fuelPoint
	if w.started {
		before = &w.last
	}
	for ; w.next < len(w.ps); w.next++ {
		if err := w.place(&w.ps[w.next], before, nil); err != nil {
			return err
		}
	}
	return nil
}

// truckKph is how fast a truck may have driven between a position and a
// purchase: a station within that reach of a position is not far from it.
const truckKph = 100

// place checks purchase p against the positions before and after it
// (either may be nil) within the window. The vehicle may have moved
// between a position and the purchase, so each position allows for
// truckKph times the time between them; the purchase is far only when it
// is beyond MaxStationKm of every position's reach.
func (w *fuelWalk) place(p *purchase, before, after *fuelPoint) error {
	if !p.located() {
		return nil
	}
	var at *fuelPoint
	var km float64
	beyond := math.Inf(1)
	for _, c := range []*fuelPoint{before, after} {
		if c == nil {
			continue
		}
		gap := p.at.Sub(c.at).Abs()
		if gap > w.o.PositionWindow {
			continue
		}
		d := telemetry.HaversineKm(*p.data.Lat, *p.data.Lon, c.lat, c.lon)
		if b := d - gap.Hours()*truckKph; b < beyond {
			at, km, beyond = c, d, b
		}
	}
	if at == nil {
		w.unplaced++
		return nil
	}
	if beyond <= w.o.MaxStationKm {
		return nil
	}
	station := p.data.Station
	if station == "" {
		station = "a station"
	}
	f := Finding{
		Code: CodeFuelFarFromVehicle, VehicleID: w.vehicleID, Key: p.source + " " + p.id, At: p.at,
		Detail: fmt.Sprintf("fuel bought at %s %s km from %s's position at %s (limit %s km)",
			station, kmText(km), w.vehicleID, at.at.UTC().Format("15:04"), strconv.FormatFloat(w.o.MaxStationKm, 'f', -1, 64)),
		Data: map[string]any{
			"liters": p.data.Liters, "amount": string(p.data.Amount), "currency": p.data.Currency,
			"station": p.data.Station, "station_lat": *p.data.Lat, "station_lon": *p.data.Lon,
			"vehicle_lat": at.lat, "vehicle_lon": at.lon, "vehicle_at": at.at.UTC().Format(time.RFC3339),
			"distance_km": roundTo(km, 1), "event_id": p.id, "source": p.source,
		},
	}
	if err := w.emit(f); err != nil {
		return fmt.Errorf("emit fuel finding: %w", err)
	}
	return nil
}

// consumptionOutliers emits a consumption_outlier for each rated vehicle
// of vs whose modified z-score of l/100 km is beyond limit. The scale is
// MAD/0.6745, or 1.2533 times the mean absolute deviation when the MAD is
// 0; with fewer than minRated rated vehicles, or no spread, there are none.
func consumptionOutliers(vs []VehicleFuel, at time.Time, limit float64, emit func(Finding) error) error {
	var xs []float64
	for _, v := range vs {
		if v.LPer100Km != nil {
			xs = append(xs, *v.LPer100Km)
		}
	}
	if len(xs) < minRated {
		return nil
	}
	med := median(xs)
	devs := make([]float64, len(xs))
	mean := 0.0
	for i, x := range xs {
		devs[i] = math.Abs(x - med)
		mean += devs[i] / float64(len(xs))
	}
	mad := median(devs)
	scale := mad / 0.6745
	if mad == 0 {
		scale = 1.2533 * mean
	}
	if scale == 0 {
		return nil
	}
	for _, v := range vs {
		if v.LPer100Km == nil {
			continue
		}
		x := *v.LPer100Km
		z := (x - med) / scale
		if math.Abs(z) <= limit {
			continue
		}
		f := Finding{
			Code: CodeConsumptionOutlier, VehicleID: v.VehicleID, At: at,
			Detail: fmt.Sprintf("%s used %.1f l/100 km over %s km; the fleet's median is %.1f (modified z %.1f)",
				v.VehicleID, x, kmText(v.DistanceKm), med, z),
			Data: map[string]any{
				"l_per_100km": roundTo(x, 2), "median": roundTo(med, 2), "mad": roundTo(mad, 3),
				"mean_abs_dev": roundTo(mean, 3), "z": roundTo(z, 2),
				"distance_km": roundTo(v.DistanceKm, 1), "liters": roundTo(v.Liters, 2),
			},
		}
		if err := emit(f); err != nil {
			return fmt.Errorf("emit consumption finding: %w", err)
		}
	}
	return nil
}

// median is the middle of xs (the mean of the two middle values for an
// even count); xs is not changed.
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// kmText writes a distance for people: "7.3" under 100 km, else whole
// kilometres with thousands separators ("4,310").
func kmText(km float64) string {
	if km < 100 {
		return strconv.FormatFloat(km, 'f', 1, 64)
	}
	s := strconv.FormatFloat(math.Round(km), 'f', 0, 64)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// roundTo rounds x to places decimal places, for findings' data.
func roundTo(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}
