// Command crossdock is the logistics integration hub.
//
//	crossdock serve   [-c FILE]   run the hub (embedded SQLite by default)
//	crossdock demo    [flags]     run the hub with simulated fleet, dispatch, drivers, carrier and ERP
//	crossdock check   -c FILE     validate a config file
//	crossdock bench   [flags]     drive a running hub with generated events
//	crossdock mapping test ...    try a partner's jq mapping on a payload
//	crossdock replay  [flags]     deliver stored events to a connector again
//	crossdock reconcile [flags]   check invoices, shipments or fuel and print the findings
//	crossdock version             print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/crossdockhq/crossdock/internal/app"
	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/obs"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `crossdock — logistics integration hub

Usage:
  crossdock serve   [-c FILE]   run the hub (embedded SQLite under ./crossdock-data by default)
  crossdock demo    [-speed 60] [-vehicles 12] [-seed 1] [-duration 0]
                                run the hub with simulated dispatch, fleet, drivers' app, carrier
                                and ERP on an accelerated clock (data in ./crossdock-data-demo)
  crossdock check   -c FILE     validate a config file; exit 1 naming the bad key
  crossdock bench   [flags]     load-test a running hub over HTTP (crossdock bench -h)
  crossdock mapping test --config FILE --partner P --mapping M < payload.json
                                try a partner's jq mapping: prints the canonical events or the error
  crossdock replay  -connector NAME (-from TIME | -shipment ID) [-type T] [-to TIME] [-dry-run]
                                deliver stored events to a connector again (crossdock replay -h)
  crossdock reconcile -kind invoices|shipments|fuel -from TIME [-to TIME] [-format table|json|csv]
                                run a reconciliation on the hub and print its findings (crossdock reconcile -h)
  crossdock version             print the version

Environment (wins over the config file): CROSSDOCK_CONFIG, CROSSDOCK_HTTP_ADDR,
CROSSDOCK_DATA_DIR, CROSSDOCK_DATABASE_URL, CROSSDOCK_ADMIN_KEY.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stderr)
	case "demo":
		err = runDemo(args[1:], stdout, stderr)
	case "check":
		err = check(args[1:], stdout)
	case "bench":
		err = runBench(args[1:], stdout, stderr)
	case "mapping":
		err = mappingTest(args[1:], os.Stdin, stdout, stderr)
	case "replay":
		err = runReplay(args[1:], stdout, stderr)
	case "reconcile":
		err = runReconcile(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "crossdock", buildVersion())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "crossdock: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "crossdock:", err)
		return 1
	}
	return 0
}

// configFlag registers -c/--config on fs, defaulting to $CROSSDOCK_CONFIG.
func configFlag(fs *flag.FlagSet) *string {
	p := fs.String("c", os.Getenv("CROSSDOCK_CONFIG"), "config file (YAML); default $CROSSDOCK_CONFIG")
	fs.StringVar(p, "config", *p, "same as -c")
	return p
}

func serve(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path, os.Getenv)
	if err != nil {
		return err
	}
	log, err := obs.NewLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	return a.Serve(ctx)
}

func check(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	path := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		return errors.New("check: give a config file with -c FILE")
	}
	// The file is checked as written: crossdock's own overrides
	// (CROSSDOCK_*) are ignored, but secrets the file names by variable
	// (signing.secret_env) are read, since their absence would fail serve.
	fileOnly := func(k string) string {
		if strings.HasPrefix(k, "CROSSDOCK_") {
			return ""
		}
		return os.Getenv(k)
	}
	cfg, err := config.Load(*path, fileOnly)
	if err != nil {
		return err
	}
	// Each connector kind checks its own options (nothing connects).
	if err := app.CheckConnectors(cfg.Connectors); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", *path)
	return nil
}

func buildVersion() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		v += " " + bi.GoVersion
	}
	return v
}
