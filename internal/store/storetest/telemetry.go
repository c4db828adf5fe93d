package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

func f64(v float64) *float64 { return &v }

func pos(vehicle string, at time.Duration) store.PositionRecord {
	return store.PositionRecord{
		VehicleID: vehicle, Time: t0.Add(at), DeviceID: "356307042441013", Source: "teltonika",
		EventID: fmt.Sprintf("356307042441013@%d", t0.Add(at).UnixMilli()), ReceivedAt: t0.Add(time.Hour + 1),
		CorrelationID: "corr", Lat: 52.520008, Lon: 13.404954, SpeedKph: f64(61.5), Heading: f64(270),
		TemperatureC: f64(-18.25), BatteryPct: f64(87),
	}
}

func testPositions(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	a, b, c := pos("TRK-1", 2*time.Second), pos("TRK-1", time.Second), pos("TRK-2", time.Second)
	c.SpeedKph, c.Heading, c.TemperatureC, c.BatteryPct, c.DeviceID = nil, nil, nil, nil, ""
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		if got, err := tx.ExistingPositions(ctx, []store.PositionKey{a.Key(), c.Key()}); err != nil || len(got) != 0 {
			return fmt.Errorf("existing before append: %v %v", got, err)
		}
		return tx.AppendPositions(ctx, []store.PositionRecord{a, b, c})
	})
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		other := store.PositionKey{VehicleID: "TRK-1", Time: t0.Add(3 * time.Second)}
		got, err := tx.ExistingPositions(ctx, []store.PositionKey{a.Key(), c.Key(), other})
		if err != nil || !reflect.DeepEqual(got, map[store.PositionKey]bool{a.Key(): true, c.Key(): true}) {
			return fmt.Errorf("existing: %v %v", got, err)
		}
		return nil
	})
	got, err := st.Positions(ctx, store.PositionFilter{VehicleID: "TRK-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []store.PositionRecord{b, a}) {
		t.Errorf("positions in time order\n got %+v\nwant %+v", got, []store.PositionRecord{b, a})
	}
	got, err = st.Positions(ctx, store.PositionFilter{VehicleID: "TRK-2"})
	if err != nil || !reflect.DeepEqual(got, []store.PositionRecord{c}) {
		t.Errorf("nil readings round trip: %+v %v", got, err)
	}
	for _, tt := range []struct {
		f    store.PositionFilter
		want int
	}{
		{store.PositionFilter{VehicleID: "TRK-1", From: b.Time.Add(1)}, 1},
		{store.PositionFilter{VehicleID: "TRK-1", From: b.Time}, 2},
		{store.PositionFilter{VehicleID: "TRK-1", To: a.Time}, 1},
		{store.PositionFilter{VehicleID: "TRK-1", Limit: 1}, 1},
		{store.PositionFilter{VehicleID: "TRK-404"}, 0},
	} {
		got, err := st.Positions(ctx, tt.f)
		if err != nil || len(got) != tt.want {
			t.Errorf("Positions(%+v) = %d items, %v; want %d", tt.f, len(got), err, tt.want)
		}
	}
}

func testPositionConflict(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.AppendPositions(ctx, []store.PositionRecord{pos("TRK-1", 0)})
	})
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = tx.AppendPositions(ctx, []store.PositionRecord{pos("TRK-1", time.Second), pos("TRK-1", 0)})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("appending a stored position: %v, want ErrConflict", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Positions(ctx, store.PositionFilter{VehicleID: "TRK-1"}); err != nil || len(got) != 1 {
		t.Fatalf("after rollback: %d positions, %v; want 1", len(got), err)
	}
}

func testPrunePositions(t *testing.T, open Opener) {
	st, _ := open(t)
	ctx := context.Background()
	var recs []store.PositionRecord
	for i := range 10 {
		recs = append(recs, pos("TRK-1", time.Duration(i)*time.Minute))
	}
	write(t, st, func(ctx context.Context, tx store.Tx) error { return tx.AppendPositions(ctx, recs) })
	cut := t0.Add(7 * time.Minute)
	n, err := st.PrunePositions(ctx, cut, 4)
	if err != nil || n != 4 {
		t.Fatalf("first chunk: %d, %v; want 4", n, err)
	}
	n, err = st.PrunePositions(ctx, cut, 4)
	if err != nil || n != 3 {
		t.Fatalf("second chunk: %d, %v; want 3", n, err)
	}
	got, err := st.Positions(ctx, store.PositionFilter{VehicleID: "TRK-1"})
	if err != nil || len(got) != 3 || !got[0].Time.Equal(cut) {
		t.Fatalf("kept: %d from %v, %v; want 3 from %v", len(got), got[0].Time, err, cut)
	}
}

func testDevices(t *testing.T, open Opener) {
	st, _ := open(t)
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetDevices(ctx, "TRK-1", []string{"D1", "D2"}); err != nil {
			return err
		}
		return tx.SetDevices(ctx, "TRK-2", []string{"D3"})
	})
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.DeviceVehicles(ctx, []string{"D1", "D2", "D3", "D4"})
		if err != nil || !reflect.DeepEqual(got, map[string]string{"D1": "TRK-1", "D2": "TRK-1", "D3": "TRK-2"}) {
			return fmt.Errorf("devices: %v %v", got, err)
		}
		// Replacing the set unregisters D1 and keeps D2.
		return tx.SetDevices(ctx, "TRK-1", []string{"D2", "D5"})
	})
	write(t, st, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.DeviceVehicles(ctx, []string{"D1", "D2", "D5"})
		if err != nil || !reflect.DeepEqual(got, map[string]string{"D2": "TRK-1", "D5": "TRK-1"}) {
			return fmt.Errorf("after replace: %v %v", got, err)
		}
		return nil
	})
	ctx := context.Background()
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := tx.SetDevices(ctx, "TRK-3", []string{"D3"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("registering another vehicle's device: %v, want ErrConflict", err)
	}
}
