package reconcile

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/store"
)

// fuelFake is an in-memory FuelSource with the store's filter semantics:
// From inclusive, To exclusive, AfterSeq, pages of at most Limit (1..1000)
// in Seq or Time order.
type fuelFake struct {
	events    []store.EventRecord               // by Seq
	positions map[string][]store.PositionRecord // by vehicle, by Time
	// unpaged ignores Limit: every match in one page.
	unpaged        bool
	eventPages     int
	positionPages  int
	largestPage    int
	eventErr       error
	positionErr    error
	positionsAsked []string
}

func newFuelFake() *fuelFake { return &fuelFake{positions: map[string][]store.PositionRecord{}} }

func (f *fuelFake) Events(_ context.Context, flt store.EventFilter) ([]store.EventRecord, error) {
	if f.eventErr != nil {
		return nil, f.eventErr
	}
	if flt.Limit < 1 || flt.Limit > 1000 {
		return nil, fmt.Errorf("events: limit %d out of 1..1000", flt.Limit)
	}
	f.eventPages++
	var out []store.EventRecord
	for _, e := range f.events {
		switch {
		case e.Seq <= flt.AfterSeq,
			len(flt.Types) > 0 && !slices.Contains(flt.Types, e.Type),
			!flt.From.IsZero() && e.Time.Before(flt.From),
			!flt.To.IsZero() && !e.Time.Before(flt.To):
			continue
		}
		if !f.unpaged && len(out) == flt.Limit {
			break
		}
		out = append(out, e)
	}
	f.largestPage = max(f.largestPage, len(out))
	return out, nil
}

func (f *fuelFake) Positions(_ context.Context, flt store.PositionFilter) ([]store.PositionRecord, error) {
	if f.positionErr != nil {
		return nil, f.positionErr
	}
	if flt.Limit < 1 || flt.Limit > 1000 {
		return nil, fmt.Errorf("positions: limit %d out of 1..1000", flt.Limit)
	}
	f.positionPages++
	f.positionsAsked = append(f.positionsAsked, flt.VehicleID)
	var out []store.PositionRecord
	for _, p := range f.positions[flt.VehicleID] {
		if !flt.From.IsZero() && p.Time.Before(flt.From) || !flt.To.IsZero() && !p.Time.Before(flt.To) {
			continue
		}
		if !f.unpaged && len(out) == flt.Limit {
			break
		}
		out = append(out, p)
	}
	f.largestPage = max(f.largestPage, len(out))
	return out, nil
}

// buy appends a fuel.purchased event; station is its lat and lon, or
// nothing for a purchase without a station position.
func (f *fuelFake) buy(vehicle string, at time.Time, liters float64, amount, currency string, station ...float64) {
	d := canonical.FuelPurchased{Liters: liters, Amount: canonical.Decimal(amount), Currency: currency, Station: "Aral " + vehicle}
	if len(station) == 2 {
		d.Lat, d.Lon = &station[0], &station[1]
	}
	data, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	seq := int64(len(f.events) + 1)
	f.events = append(f.events, store.EventRecord{
		Seq: seq, Source: "card", ID: fmt.Sprintf("EV-%d", seq), Type: canonical.TypeFuelPurchased,
		Subject: vehicle, Time: at, ReceivedAt: at, Data: data,
	})
}

// pos adds one position of vehicle.
func (f *fuelFake) pos(vehicle string, at time.Time, lat, lon float64) {
	ps := append(f.positions[vehicle], store.PositionRecord{VehicleID: vehicle, Time: at, Source: "osmand", Lat: lat, Lon: lon})
	slices.SortFunc(ps, func(a, b store.PositionRecord) int { return a.Time.Compare(b.Time) })
	f.positions[vehicle] = ps
}

// track adds n positions of vehicle, one every step from start, moving
// northwards by km between consecutive ones from (lat, lon).
func (f *fuelFake) track(vehicle string, start time.Time, step time.Duration, n int, lat, lon, km float64) {
	for i := range n {
		f.positions[vehicle] = append(f.positions[vehicle], store.PositionRecord{
			VehicleID: vehicle, Time: start.Add(time.Duration(i) * step), Source: "osmand", Lat: lat + float64(i)*km/fuelKmPerDeg, Lon: lon,
		})
	}
	slices.SortFunc(f.positions[vehicle], func(a, b store.PositionRecord) int { return a.Time.Compare(b.Time) })
}

// fuelKmPerDeg is the length of a degree of latitude by haversine.
const fuelKmPerDeg = 6371.0088 * math.Pi / 180

var (
	fuelDay         = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	berlin, munich  = [2]float64{52.52, 13.405}, [2]float64{48.137, 11.575}
	errFuelDiskFull = errors.New("disk full")
)

// fuelAt is a time of the test day.
func fuelAt(h, m int) time.Time {
	return fuelDay.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// checkFuelDay runs CheckFuel over the test day, collecting findings.
func checkFuelDay(t *testing.T, src FuelSource, o FuelOptions) ([]VehicleFuel, []Finding) {
	t.Helper()
	var fs []Finding
	vs, err := CheckFuel(context.Background(), src, fuelDay, fuelDay.Add(24*time.Hour), o, func(f Finding) error {
		fs = append(fs, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return vs, fs
}

func TestCheckFuelPlacesPurchases(t *testing.T) {
	t.Parallel()
	// parked is TRK-7 standing in Berlin from 08:00 to 12:00, a position
	// every 5 minutes.
	parked := func(f *fuelFake) { f.track("TRK-7", fuelAt(8, 0), 5*time.Minute, 49, berlin[0], berlin[1], 0) }
	tests := []struct {
		name         string
		setup        func(f *fuelFake)
		wantFindings int
		wantUnplaced int
		check        func(t *testing.T, f Finding)
	}{
		{
			name: "station 500 km from the vehicle",
			setup: func(f *fuelFake) {
				parked(f)
				f.buy("TRK-7", fuelAt(10, 2), 400, "640.00", "EUR", munich[0], munich[1])
			},
			wantFindings: 1,
			check: func(t *testing.T, f Finding) {
				if f.Code != CodeFuelFarFromVehicle || f.VehicleID != "TRK-7" || f.Key != "card EV-1" || !f.At.Equal(fuelAt(10, 2)) || f.ShipmentID != "" {
					t.Errorf("finding %+v", f)
				}
				if km := f.Data["distance_km"].(float64); km < 490 || km > 520 {
					t.Errorf("distance %v km, want about 504", km)
				}
				// Both neighbours are 504 km away; the one after leaves the
				// truck the least reach (3 minutes later).
				want := "fuel bought at Aral TRK-7 504 km from TRK-7's position at 10:05 (limit 5 km)"
				if f.Detail != want {
					t.Errorf("detail %q, want %q", f.Detail, want)
				}
				for _, k := range []string{"liters", "amount", "currency", "station", "station_lat", "station_lon", "vehicle_lat", "vehicle_lon", "distance_km", "event_id", "source"} {
					if _, ok := f.Data[k]; !ok {
						t.Errorf("data has no %s: %v", k, f.Data)
					}
				}
				if f.Data["amount"] != "640.00" || f.Data["vehicle_lat"] != berlin[0] || f.Data["event_id"] != "EV-1" {
					t.Errorf("data %v", f.Data)
				}
			},
		},
		{
			name: "station at the vehicle",
			setup: func(f *fuelFake) {
				parked(f)
				f.buy("TRK-7", fuelAt(10, 2), 400, "640.00", "EUR", berlin[0], berlin[1])
			},
		},
		{
			name: "station just inside the limit",
			setup: func(f *fuelFake) {
				parked(f)
				f.buy("TRK-7", fuelAt(10, 2), 400, "640.00", "EUR", berlin[0]+4.9/fuelKmPerDeg, berlin[1])
			},
		},
		{
			name: "no position within the window",
			setup: func(f *fuelFake) {
				parked(f)
				f.buy("TRK-7", fuelAt(12, 31), 400, "640.00", "EUR", munich[0], munich[1])
				f.buy("TRK-7", fuelAt(7, 29), 400, "640.00", "EUR", munich[0], munich[1])
			},
			wantUnplaced: 2,
		},
		{
			name: "no positions at all",
			setup: func(f *fuelFake) {
				f.buy("TRK-7", fuelAt(10, 0), 400, "640.00", "EUR", munich[0], munich[1])
			},
			wantUnplaced: 1,
		},
		{
			name: "no station position: not checked",
			setup: func(f *fuelFake) {
				f.buy("TRK-7", fuelAt(10, 2), 400, "640.00", "EUR")
				f.buy("TRK-7", fuelAt(3, 0), 400, "640.00", "EUR")
			},
		},
		{
			name: "the position after is nearer",
			setup: func(f *fuelFake) {
				// 20 km north of Berlin at 10:40, in Berlin at 11:05.
				f.pos("TRK-7", fuelAt(10, 40), berlin[0]+20/fuelKmPerDeg, berlin[1])
				f.pos("TRK-7", fuelAt(11, 5), berlin[0], berlin[1])
				f.buy("TRK-7", fuelAt(11, 0), 400, "640.00", "EUR", berlin[0], berlin[1])
			},
		},
		{
			name: "within reach of the position after, though far from the one before",
			setup: func(f *fuelFake) {
				// 20 km north at 10:40, in Berlin at 11:05: at 10:45 the
				// truck may well be at the Berlin station.
				f.pos("TRK-7", fuelAt(10, 40), berlin[0]+20/fuelKmPerDeg, berlin[1])
				f.pos("TRK-7", fuelAt(11, 5), berlin[0], berlin[1])
				f.buy("TRK-7", fuelAt(10, 45), 400, "640.00", "EUR", berlin[0], berlin[1])
			},
		},
		{
			name: "beyond the reach of both positions",
			setup: func(f *fuelFake) {
				// 60 km north at 10:40 and at 10:50: no truck gets to
				// Berlin and back in ten minutes.
				f.pos("TRK-7", fuelAt(10, 40), berlin[0]+60/fuelKmPerDeg, berlin[1])
				f.pos("TRK-7", fuelAt(10, 50), berlin[0]+60/fuelKmPerDeg, berlin[1])
				f.buy("TRK-7", fuelAt(10, 45), 400, "640.00", "EUR", berlin[0], berlin[1])
			},
			wantFindings: 1,
			check: func(t *testing.T, f Finding) {
				if !strings.Contains(f.Detail, "60.0 km from TRK-7's position at 10:40") {
					t.Errorf("detail %q, want the 10:40 position", f.Detail)
				}
			},
		},
		{
			name: "a glitch does not place a purchase",
			setup: func(f *fuelFake) {
				parked(f)
				f.pos("TRK-7", fuelAt(10, 1), munich[0], munich[1])
				f.buy("TRK-7", fuelAt(10, 1), 400, "640.00", "EUR", berlin[0], berlin[1])
			},
		},
		{
			name: "a position before the period places a purchase at its start",
			setup: func(f *fuelFake) {
				f.pos("TRK-7", fuelDay.Add(-10*time.Minute), berlin[0], berlin[1])
				f.buy("TRK-7", fuelDay.Add(5*time.Minute), 400, "640.00", "EUR", munich[0], munich[1])
			},
			wantFindings: 1,
		},
		{
			name: "purchases outside the period are not read",
			setup: func(f *fuelFake) {
				parked(f)
				f.buy("TRK-7", fuelDay.Add(-time.Minute), 400, "640.00", "EUR", munich[0], munich[1])
				f.buy("TRK-7", fuelDay.Add(24*time.Hour), 400, "640.00", "EUR", munich[0], munich[1])
				f.buy("TRK-7", fuelAt(10, 0), 400, "640.00", "EUR", berlin[0], berlin[1])
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFuelFake()
			tt.setup(f)
			vs, fs := checkFuelDay(t, f, FuelOptions{})
			if len(fs) != tt.wantFindings {
				t.Fatalf("%d findings %+v, want %d", len(fs), fs, tt.wantFindings)
			}
			if tt.check != nil {
				tt.check(t, fs[0])
			}
			if len(vs) != 1 || vs[0].VehicleID != "TRK-7" {
				t.Fatalf("vehicles %+v, want TRK-7", vs)
			}
			if vs[0].Unplaced != tt.wantUnplaced {
				t.Errorf("unplaced %d, want %d", vs[0].Unplaced, tt.wantUnplaced)
			}
		})
	}
}

func TestCheckFuelDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(f *fuelFake)
		want  float64
	}{
		{
			name:  "5 km every 5 minutes",
			setup: func(f *fuelFake) { f.track("TRK-1", fuelAt(8, 0), 5*time.Minute, 101, 48, 11, 5) },
			want:  500,
		},
		{
			name: "a jump implying 1000 km/h is skipped",
			setup: func(f *fuelFake) {
				f.track("TRK-1", fuelAt(8, 0), 5*time.Minute, 101, 48, 11, 5)
				// 41.7 km east of the 08:00 position 2.5 minutes later.
				f.pos("TRK-1", fuelAt(8, 2).Add(30*time.Second), 48, 11+41.7/(fuelKmPerDeg*math.Cos(48*math.Pi/180)))
			},
			want: 500,
		},
		{
			name: "positions outside the period do not count",
			setup: func(f *fuelFake) {
				f.track("TRK-1", fuelDay.Add(-20*time.Minute), 5*time.Minute, 9, 48, 11, 5)
				f.track("TRK-1", fuelDay.Add(24*time.Hour-10*time.Minute), 5*time.Minute, 5, 48+40/fuelKmPerDeg, 11, 5)
			},
			// 00:00 to 00:20 and 23:50 to 23:55: four steps and one.
			want: 25,
		},
		{
			name: "parked",
			setup: func(f *fuelFake) {
				f.track("TRK-1", fuelAt(8, 0), 5*time.Minute, 50, 48, 11, 0)
			},
			want: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFuelFake()
			tt.setup(f)
			f.buy("TRK-1", fuelAt(9, 0), 150, "240.00", "EUR")
			vs, fs := checkFuelDay(t, f, FuelOptions{})
			if len(fs) != 0 {
				t.Errorf("findings %+v", fs)
			}
			if math.Abs(vs[0].DistanceKm-tt.want) > 1e-6 {
				t.Errorf("distance %v km, want %v", vs[0].DistanceKm, tt.want)
			}
		})
	}
}

func TestCheckFuelConsumption(t *testing.T) {
	t.Parallel()
	type vehicle struct {
		id      string
		km      float64 // driven, in steps of 5 km
		lPer100 float64
	}
	fleet := func(rates ...float64) []vehicle {
		var vs []vehicle
		for i, r := range rates {
			vs = append(vs, vehicle{id: fmt.Sprintf("TRK-%02d", i+1), km: 500, lPer100: r})
		}
		return vs
	}
	tests := []struct {
		name      string
		vehicles  []vehicle
		opt       FuelOptions
		want      []string // flagged vehicles
		wantRated int
	}{
		{
			name:      "one of nine at 65 l/100 km",
			vehicles:  fleet(29, 30, 31, 30.5, 29.5, 30, 28.5, 31.5, 65),
			want:      []string{"TRK-09"},
			wantRated: 9,
		},
		{
			name:      "a low one is flagged too",
			vehicles:  fleet(29, 30, 31, 30.5, 29.5, 30, 28.5, 31.5, 5),
			want:      []string{"TRK-09"},
			wantRated: 9,
		},
		{
			name:      "four rated: no outliers",
			vehicles:  fleet(30, 31, 29, 65),
			wantRated: 4,
		},
		{
			name: "a vehicle under MinDistanceKm is not rated",
			vehicles: append(fleet(29, 30, 31, 30.5, 29.5, 30, 28.5, 31.5),
				vehicle{id: "TRK-09", km: 150, lPer100: 65}),
			wantRated: 8,
		},
		{
			name: "a lower MinDistanceKm rates it",
			vehicles: append(fleet(29, 30, 31, 30.5, 29.5, 30, 28.5, 31.5),
				vehicle{id: "TRK-09", km: 150, lPer100: 65}),
			opt:       FuelOptions{MinDistanceKm: 100},
			want:      []string{"TRK-09"},
			wantRated: 9,
		},
		{
			name:      "MAD 0 falls back to the mean absolute deviation",
			vehicles:  fleet(30, 30, 30, 30, 30, 30, 40),
			want:      []string{"TRK-07"},
			wantRated: 7,
		},
		{
			name:      "all equal: no outliers",
			vehicles:  fleet(30, 30, 30, 30, 30, 30),
			wantRated: 6,
		},
		{
			name:      "a stricter OutlierZ flags less spread",
			vehicles:  fleet(29, 30, 31, 30.5, 29.5, 30, 28.5, 31.5, 34),
			opt:       FuelOptions{OutlierZ: 2},
			want:      []string{"TRK-09"},
			wantRated: 9,
		},
		{
			name:      "a modest spread is not flagged",
			vehicles:  fleet(29, 30, 31, 30.5, 29.5, 30, 28.5, 31.5, 34),
			wantRated: 9,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFuelFake()
			for _, v := range tt.vehicles {
				// The same track for all, so equal rates are equal floats.
				f.track(v.id, fuelAt(6, 0), 5*time.Minute, int(v.km/5)+1, 45, 10, 5)
				f.buy(v.id, fuelAt(6, 0), v.lPer100*v.km/100, "100.00", "EUR", 45, 10)
			}
			vs, fs := checkFuelDay(t, f, tt.opt)
			var got []string
			for _, fd := range fs {
				if fd.Code != CodeConsumptionOutlier || !fd.At.Equal(fuelDay.Add(24*time.Hour)) {
					t.Errorf("finding %+v", fd)
				}
				got = append(got, fd.VehicleID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("flagged %v, want %v; findings %+v", got, tt.want, fs)
			}
			rated := 0
			for _, v := range vs {
				if v.LPer100Km != nil {
					rated++
				}
			}
			if rated != tt.wantRated {
				t.Errorf("%d rated, want %d", rated, tt.wantRated)
			}
		})
	}
}

func TestCheckFuelOutlierFinding(t *testing.T) {
	t.Parallel()
	f := newFuelFake()
	for i, r := range []float64{29, 30, 31, 30.5, 29.5, 30, 28.5, 31.5, 65} {
		id := fmt.Sprintf("TRK-%d", i+1)
		f.track(id, fuelAt(6, 0), 5*time.Minute, 101, 45, 10, 5)
		f.buy(id, fuelAt(6, 0), r*5, "100.00", "EUR", 45, 10)
	}
	vs, fs := checkFuelDay(t, f, FuelOptions{})
	if len(fs) != 1 {
		t.Fatalf("findings %+v, want one", fs)
	}
	want := "TRK-9 used 65.0 l/100 km over 500 km; the fleet's median is 30.0 (modified z 23.6)"
	if fs[0].Detail != want {
		t.Errorf("detail %q, want %q", fs[0].Detail, want)
	}
	if got := *vs[8].LPer100Km; math.Abs(got-65) > 1e-9 {
		t.Errorf("l/100 km %v, want 65", got)
	}
	for k, want := range map[string]float64{"l_per_100km": 65, "median": 30, "mad": 1, "distance_km": 500, "liters": 325, "z": 23.61} {
		if got, ok := fs[0].Data[k].(float64); !ok || math.Abs(got-want) > 1e-9 {
			t.Errorf("data %s = %v, want %v", k, fs[0].Data[k], want)
		}
	}
}

func TestCheckFuelAmounts(t *testing.T) {
	t.Parallel()
	type buy struct{ amount, currency string }
	tests := []struct {
		name         string
		buys         []buy
		wantAmount   string
		wantCurrency string
		wantMixed    int
	}{
		{name: "exact cents", buys: []buy{{"0.10", "EUR"}, {"0.20", "EUR"}}, wantAmount: "0.30", wantCurrency: "EUR"},
		{name: "whole and short", buys: []buy{{"84.2", "EUR"}, {"15.8", "EUR"}, {"7", "EUR"}}, wantAmount: "107.00", wantCurrency: "EUR"},
		{name: "more places kept", buys: []buy{{"1.125", "EUR"}, {"2.0001", "EUR"}}, wantAmount: "3.1251", wantCurrency: "EUR"},
		{name: "trailing zeros", buys: []buy{{"1.1000", "EUR"}, {"0.0000", "EUR"}}, wantAmount: "1.10", wantCurrency: "EUR"},
		{name: "zero", buys: []buy{{"0", "EUR"}}, wantAmount: "0.00", wantCurrency: "EUR"},
		{name: "large", buys: []buy{{"999999999999999.99", "EUR"}, {"0.01", "EUR"}}, wantAmount: "1000000000000000.00", wantCurrency: "EUR"},
		{
			name:       "the most frequent currency",
			buys:       []buy{{"10.00", "PLN"}, {"1.50", "EUR"}, {"2.50", "EUR"}},
			wantAmount: "4.00", wantCurrency: "EUR", wantMixed: 1,
		},
		{
			name:       "a tie takes the first currency",
			buys:       []buy{{"10.00", "PLN"}, {"1.50", "EUR"}},
			wantAmount: "1.50", wantCurrency: "EUR", wantMixed: 1,
		},
		{name: "no currency", buys: []buy{{"1.50", ""}}, wantAmount: "1.50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFuelFake()
			for i, b := range tt.buys {
				f.buy("TRK-1", fuelAt(8, i), 10, b.amount, b.currency)
			}
			vs, _ := checkFuelDay(t, f, FuelOptions{})
			v := vs[0]
			if v.Amount != tt.wantAmount || v.Currency != tt.wantCurrency || v.Mixed != tt.wantMixed || v.Purchases != len(tt.buys) {
				t.Errorf("got %s %q, %d mixed, %d purchases; want %s %q, %d mixed, %d purchases",
					v.Amount, v.Currency, v.Mixed, v.Purchases, tt.wantAmount, tt.wantCurrency, tt.wantMixed, len(tt.buys))
			}
			if v.Liters != 10*float64(len(tt.buys)) {
				t.Errorf("liters %v", v.Liters)
			}
		})
	}
}

func TestCheckFuelAmountAsNumber(t *testing.T) {
	t.Parallel()
	f := newFuelFake()
	f.events = append(f.events, store.EventRecord{
		Seq: 1, Source: "card", ID: "EV-1", Type: canonical.TypeFuelPurchased, Subject: "TRK-1", Time: fuelAt(8, 0),
		Data: []byte(`{"liters":10,"amount":0.1,"currency":"EUR"}`),
	}, store.EventRecord{
		Seq: 2, Source: "card", ID: "EV-2", Type: canonical.TypeFuelPurchased, Subject: "TRK-1", Time: fuelAt(9, 0),
		Data: []byte(`{"liters":10,"amount":"0.20","currency":"EUR"}`),
	})
	vs, _ := checkFuelDay(t, f, FuelOptions{})
	if vs[0].Amount != "0.30" {
		t.Errorf("amount %s, want 0.30", vs[0].Amount)
	}
}

// fuelFleet fills f with n vehicles over three days from fuelDay: positions
// every minute driving north at 60 km/h (every 97th a glitch 50 km east)
// and a purchase every 40 minutes, every 7th at a far station.
func fuelFleet(f *fuelFake, n, positions int) {
	for v := range n {
		id := fmt.Sprintf("VAN-%d", v)
		lat := 40 + float64(v)
		for i := range positions {
			at := fuelDay.Add(time.Duration(i) * time.Minute)
			lon := 10.0
			if i%97 == 50 {
				lon += 50 / fuelKmPerDeg
			}
			f.positions[id] = append(f.positions[id], store.PositionRecord{VehicleID: id, Time: at, Lat: lat + float64(i)/fuelKmPerDeg, Lon: lon})
		}
	}
	for i := range positions / 40 {
		for v := range n {
			id := fmt.Sprintf("VAN-%d", v)
			lat := 40 + float64(v) + float64(i*40+3)/fuelKmPerDeg
			if i%7 == 3 {
				lat += 1
			}
			f.buy(id, fuelDay.Add(time.Duration(i*40+3)*time.Minute+17*time.Second), 20+float64(i%5), fmt.Sprintf("%d.%02d", 30+i%7, i%100), "EUR", lat, 10)
		}
	}
}

func TestCheckFuelPaging(t *testing.T) {
	t.Parallel()
	run := func(unpaged bool) (*fuelFake, []VehicleFuel, []Finding) {
		f := newFuelFake()
		f.unpaged = unpaged
		fuelFleet(f, 3, 2500) // 7,500 positions, 186 purchases a vehicle
		for i := range 1200 {
			f.buy("BUS-1", fuelDay.Add(time.Duration(i)*time.Minute), 1, "0.01", "EUR")
		}
		var fs []Finding
		vs, err := CheckFuel(context.Background(), f, fuelDay, fuelDay.Add(3*24*time.Hour), FuelOptions{}, func(fd Finding) error {
			fs = append(fs, fd)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return f, vs, fs
	}
	paged, pvs, pfs := run(false)
	whole, wvs, wfs := run(true)
	if !reflect.DeepEqual(pvs, wvs) {
		t.Errorf("paged %+v\nwhole %+v", pvs, wvs)
	}
	if !reflect.DeepEqual(pfs, wfs) {
		t.Errorf("paged findings differ: %d and %d", len(pfs), len(wfs))
	}
	if paged.largestPage > 1000 {
		t.Errorf("a page of %d", paged.largestPage)
	}
	if paged.eventPages < 2 || paged.positionPages < 3*3 {
		t.Errorf("%d event and %d position pages: not paged", paged.eventPages, paged.positionPages)
	}
	if whole.largestPage <= 1000 {
		t.Errorf("unpaged largest page %d", whole.largestPage)
	}
	if pvs[0].VehicleID != "BUS-1" || pvs[0].Amount != "12.00" || pvs[0].Purchases != 1200 {
		t.Errorf("BUS-1 %+v, want 1200 purchases of 12.00", pvs[0])
	}
	// Glitches are 50 km away, so each is left out: 60 km an hour.
	if want := 2499.0; math.Abs(pvs[1].DistanceKm-want) > 1e-6 {
		t.Errorf("VAN-0 drove %v km, want %v", pvs[1].DistanceKm, want)
	}
	far := 0
	for _, fd := range pfs {
		if fd.Code == CodeFuelFarFromVehicle {
			far++
		}
	}
	want := 0
	for i := range 2500 / 40 {
		if i%7 == 3 {
			want += 3
		}
	}
	if far != want {
		t.Errorf("%d far purchases, want %d", far, want)
	}
}

func TestCheckFuelOrderedByVehicle(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	f := newFuelFake()
	ids := map[string]bool{}
	for range 300 {
		id := fmt.Sprintf("%s-%d", []string{"TRK", "VAN", "BUS", "trk"}[rng.IntN(4)], rng.IntN(60))
		ids[id] = true
		at := fuelDay.Add(time.Duration(rng.Int64N(int64(24 * time.Hour))))
		f.buy(id, at, 10, "1.00", "EUR", 50, 10)
		f.pos(id, at.Add(time.Minute), 50+rng.Float64(), 10)
	}
	vs, _ := checkFuelDay(t, f, FuelOptions{})
	if !slices.IsSortedFunc(vs, func(a, b VehicleFuel) int { return cmp.Compare(a.VehicleID, b.VehicleID) }) {
		t.Error("vehicles not ordered by id")
	}
	if len(vs) != len(ids) {
		t.Errorf("%d vehicles, want %d", len(vs), len(ids))
	}
	if !slices.IsSorted(f.positionsAsked) {
		t.Error("positions not read in vehicle order")
	}
}

func TestCheckFuelErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(f *fuelFake)
		emitErr func(Finding) error
		cancel  bool
		want    error
		wantMsg string
	}{
		{
			name:    "emit fails on a far purchase",
			setup:   func(f *fuelFake) { fuelFleet(f, 1, 200) },
			emitErr: func(Finding) error { return errFuelDiskFull },
			want:    errFuelDiskFull,
			wantMsg: "emit fuel finding: disk full",
		},
		{
			name: "emit fails on an outlier",
			setup: func(f *fuelFake) {
				for i, r := range []float64{29, 30, 31, 30.5, 29.5, 65} {
					id := fmt.Sprintf("TRK-%d", i)
					f.track(id, fuelAt(6, 0), 5*time.Minute, 101, 45, 10, 5)
					f.buy(id, fuelAt(6, 0), r*5, "100.00", "EUR", 45, 10)
				}
			},
			emitErr: func(Finding) error { return errFuelDiskFull },
			want:    errFuelDiskFull,
			wantMsg: "emit consumption finding: disk full",
		},
		{
			name:    "events cannot be read",
			setup:   func(f *fuelFake) { f.eventErr = errFuelDiskFull },
			want:    errFuelDiskFull,
			wantMsg: "read fuel purchases: disk full",
		},
		{
			name: "positions cannot be read",
			setup: func(f *fuelFake) {
				f.buy("TRK-1", fuelAt(6, 0), 10, "1.00", "EUR")
				f.positionErr = errFuelDiskFull
			},
			want:    errFuelDiskFull,
			wantMsg: "read positions of TRK-1: disk full",
		},
		{
			name:   "cancelled",
			setup:  func(f *fuelFake) { fuelFleet(f, 1, 100) },
			cancel: true,
			want:   context.Canceled,
		},
		{
			name:    "an amount that is not a decimal",
			setup:   func(f *fuelFake) { f.buy("TRK-1", fuelAt(6, 0), 10, "1e3", "EUR") },
			wantMsg: `fuel purchase card EV-1: amount "1e3" is not a decimal`,
		},
		{
			name: "data that is not a fuel purchase",
			setup: func(f *fuelFake) {
				f.events = append(f.events, store.EventRecord{Seq: 1, Source: "card", ID: "EV-1", Type: canonical.TypeFuelPurchased,
					Subject: "TRK-1", Time: fuelAt(6, 0), Data: []byte(`{"liters":"ten"}`)})
			},
			wantMsg: "fuel purchase card EV-1: json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFuelFake()
			tt.setup(f)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			emit := tt.emitErr
			if emit == nil {
				emit = func(Finding) error { return nil }
			}
			vs, err := CheckFuel(ctx, f, fuelDay, fuelDay.Add(3*24*time.Hour), FuelOptions{}, emit)
			if err == nil || vs != nil {
				t.Fatalf("got %v, %v; want an error", vs, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.wantMsg) {
				t.Errorf("error %q, want it to start with %q", err, tt.wantMsg)
			}
		})
	}
}

func TestFuelKmText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		km   float64
		want string
	}{
		{0, "0.0"}, {7.26, "7.3"}, {99.94, "99.9"}, {99.96, "100.0"}, {100, "100"}, {512.4, "512"},
		{4310, "4,310"}, {999_999.6, "1,000,000"}, {12_345_678, "12,345,678"},
	} {
		if got := kmText(tt.km); got != tt.want {
			t.Errorf("kmText(%v) = %q, want %q", tt.km, got, tt.want)
		}
	}
}
