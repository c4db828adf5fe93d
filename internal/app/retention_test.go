package app

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/ingest"
	"github.com/crossdockhq/crossdock/internal/store"
)

func TestPrunePositionsPastRetention(t *testing.T) {
	cfg := testConfig(t)
	cfg.Auth.AdminKey = "test-admin-key-0123456789"
	cfg.Telemetry.Retention = config.Duration(24 * time.Hour)
	a, err := Open(context.Background(), cfg, slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.closeStorage(context.Background())
	ctx := context.Background()
	if _, err := a.pipeline.RegisterDevices(ctx, "TRK-1", []string{"d1"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var ps []ingest.Position
	for h := range 12000 { // 12000 positions an hour apart reach back 500 days
		ps = append(ps, ingest.Position{DeviceID: "d1", Time: now.Add(-time.Duration(h) * time.Hour), Lat: 50, Lon: 8})
	}
	res, err := a.pipeline.Positions(ctx, "teltonika", ps)
	if err != nil || res[0].Status != ingest.Accepted || res[len(res)-1].Status != ingest.Accepted {
		t.Fatalf("%v %+v", err, res[0])
	}
	// Two chunks and a partial one: everything before the cut goes.
	if n := a.pruneOnce(ctx, now.Add(-24*time.Hour)); n != 12000-25 {
		t.Fatalf("pruned %d, want %d", n, 12000-25)
	}
	left, err := a.store.Positions(ctx, store.PositionFilter{VehicleID: "TRK-1", Limit: 1000})
	if err != nil || len(left) != 25 {
		t.Fatalf("%d positions left, %v; want the 25 of the last day", len(left), err)
	}
}

// An input whose port is taken fails Open, naming the input, and releases
// everything Open had bound.
func TestInputPortTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := testConfig(t)
	cfg.Auth.AdminKey = "test-admin-key-0123456789"
	cfg.Inputs.OsmAnd.Addr, cfg.Inputs.Teltonika.Addr = "127.0.0.1:0", busy.Addr().String()
	_, err = Open(context.Background(), cfg, slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	if err == nil || !strings.Contains(err.Error(), "teltonika: listen") {
		t.Fatalf("Open: %v", err)
	}
	// The store was closed: opening it again works.
	cfg.Inputs = config.Inputs{}
	a, err := Open(context.Background(), cfg, slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.closeStorage(context.Background())
	_ = a.listener.Close()
}
