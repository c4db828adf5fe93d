package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/crossdockhq/crossdock/internal/app"
	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/sim"
)

const (
	// demoDataDir is where the demo keeps its hub's data unless
	// CROSSDOCK_DATA_DIR says otherwise; every start begins afresh there.
	demoDataDir = "./crossdock-data-demo"
	// demoConfigFile is the config the demo writes into its data
	// directory; it also marks the directory as the demo's own.
	demoConfigFile = "demo.yaml"
	// demoCarrier is the partner whose trucks report by X12 214.
	demoCarrier = "northline-carrier"
)

// demoConfig is the hub's configuration in the demo: the carrier partner,
// the ERP connector pointed at the fake ERP (which it also looks invoices
// up in to reconcile them), no nightly reconciliation (the simulators'
// finance clerk starts the runs), and the rate cards. Its arguments are
// the data directory, the carrier and the ERP's URL.
const demoConfig = `# Written by crossdock demo on every start (edits are lost): the hub's
# configuration while the simulators run. See docs/demo.md.
store:
  data_dir: %[1]q
partners:
  - id: %[2]s
    name: Northline Carrier
connectors:
  - name: erp
    kind: rest
    url: %[3]s/invoices
    reconcile_url: %[3]s/invoices/{invoice_id}
    events: [invoice.ready]
    timeout: 5s
    retry: {max_attempts: 30, initial: 1s, max: 20s}
reconciliation:
  # The nightly schedule runs on the wall clock, which means nothing to the
  # simulated day; the finance clerk starts the demo's runs.
  schedule: "off"
billing:
  currency: EUR
  tax_rate: "0.21"
  rate_cards:
    - customer_id: "*"
      per_km: "1.85"
      per_stop: "35.00"
      minimum: "150.00"
      fuel_surcharge_pct: "9.5"
      accessorials: {liftgate: "75.00", detention_per_hour: "65.00", detention_free_minutes: 90}
    - customer_id: CUST-107
      per_km: "2.30"
      per_stop: "45.00"
      minimum: "220.00"
      fuel_surcharge_pct: "9.5"
      accessorials: {liftgate: "60.00", detention_per_hour: "80.00", detention_free_minutes: 60}
`

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	speed := fs.Float64("speed", sim.DefaultSpeed, fmt.Sprintf("how many times faster than real time the simulated day runs (1..%d)", sim.MaxSpeed))
	vehicles := fs.Int("vehicles", sim.DefaultVehicles, fmt.Sprintf("trucks in the simulated fleet (1..%d)", sim.MaxVehicles))
	seed := fs.Int64("seed", 1, "scenario: the same seed plays the same day")
	duration := fs.Duration("duration", 0, "stop after this long (0: run until SIGINT or SIGTERM)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))
	case *speed < 1 || *speed > sim.MaxSpeed:
		return fmt.Errorf("demo: -speed must be between 1 and %d, got %g", sim.MaxSpeed, *speed)
	case *vehicles < 1 || *vehicles > sim.MaxVehicles:
		return fmt.Errorf("demo: -vehicles must be between 1 and %d, got %d", sim.MaxVehicles, *vehicles)
	case *duration < 0:
		return fmt.Errorf("demo: -duration must not be negative, got %s", *duration)
	}

	dir := envOr("CROSSDOCK_DATA_DIR", demoDataDir)
	if err := freshDemoDir(dir); err != nil {
		return err
	}
	key := os.Getenv("CROSSDOCK_ADMIN_KEY")
	if key == "" {
		var err error
		if key, err = newDemoKey(dir); err != nil {
			return err
		}
	}
	erpListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: erp: %w", err)
	}
	defer erpListener.Close()
	erpURL := "http://" + erpListener.Addr().String()
	cfgPath := filepath.Join(dir, demoConfigFile)
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, demoConfig, dir, demoCarrier, erpURL), 0o600); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	cfg, err := config.Load(cfgPath, demoEnv)
	if err != nil {
		return err
	}
	cfg.Auth.AdminKey = key
	if err := cfg.Validate(); err != nil {
		return err
	}
	log, err := obs.NewLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, stopDemo := context.WithCancel(ctx)
	defer stopDemo()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	start := time.Now()
	erp := sim.NewERP(sim.ERPOptions{Start: start, Speed: *speed, Logger: log.With("component", "erp")})
	erpServer := &http.Server{Handler: erp, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = erpServer.Serve(erpListener) }()
	defer erpServer.Close()

	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "crossdock demo: console http://%s/  key %s  (speed %g×, %d vehicles, seed %d)\n",
		a.Addr(), key, *speed, *vehicles, *seed)
	log.Info("demo", "data_dir", dir, "config", cfgPath, "erp", erpURL)

	simCtx, stopSim := context.WithCancel(ctx)
	defer stopSim()
	simDone := make(chan error, 1)
	go func() {
		err := sim.Run(simCtx, sim.Options{
			BaseURL: "http://" + a.Addr(), Key: key, Speed: *speed, Vehicles: *vehicles, Seed: *seed,
			Carrier: demoCarrier, Start: start, Logger: log.With("component", "sim"),
		})
		if err != nil {
			stopDemo() // without its simulators the demo has nothing to show
		}
		simDone <- err
	}()
	// Serve returns once ctx ends and the hub has stopped gracefully (or
	// when it fails); the ERP answers until then, so deliveries in flight
	// finish.
	serveErr := a.Serve(ctx)
	stopSim()
	simErr := <-simDone
	// Nothing calls the ERP once the hub has stopped. Close, not Shutdown:
	// a connection the hub's reconciliation lookups opened but never used
	// would hold Shutdown for 5 s.
	_ = erpServer.Close()
	s := erp.Stats()
	log.Info("demo stopped", "erp_invoices", s.Received, "erp_duplicates", s.Duplicates, "erp_refused", s.Refused, "erp_edited", s.Edited)
	return errors.Join(serveErr, simErr)
}

// demoEnv passes the hub only the overrides the demo honours: its listen
// address and admin key. The demo always runs the embedded store in its
// own data directory, with its own configuration.
func demoEnv(k string) string {
	switch k {
	case "CROSSDOCK_HTTP_ADDR", "CROSSDOCK_ADMIN_KEY":
		return os.Getenv(k)
	}
	return ""
}

// freshDemoDir makes dir an empty demo data directory: it creates it, or
// deletes a previous demo's store in it. A directory holding a store the
// demo did not write (no demo.yaml next to it) is refused, never wiped.
func freshDemoDir(dir string) error {
	db := filepath.Join(dir, "crossdock.db")
	if _, err := os.Stat(db); err == nil {
		if _, err := os.Stat(filepath.Join(dir, demoConfigFile)); err != nil {
			return fmt.Errorf("demo: %s holds a hub's data the demo did not write; give the demo an empty directory (CROSSDOCK_DATA_DIR)", dir)
		}
	}
	for _, name := range []string{"crossdock.db", "crossdock.db-wal", "crossdock.db-shm", demoConfigFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("demo: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// newDemoKey generates an admin key and keeps it in dir/admin.key (mode
// 0600), where `crossdock serve` on the same directory finds it too.
func newDemoKey(dir string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("demo: generate admin key: %w", err)
	}
	key := "cdk_" + base64.RawURLEncoding.EncodeToString(raw)
	if err := os.WriteFile(filepath.Join(dir, app.AdminKeyFile), []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	return key, nil
}
