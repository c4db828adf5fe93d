package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/crossdockhq/crossdock/internal/bench"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o bench.Options
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "base URL of a running hub (loopback only)")
	hubKey := hubKeyFlags(fs, "bench", "events:write")
	fs.IntVar(&o.Clients, "clients", 64, "concurrent clients")
	fs.IntVar(&o.Batch, "batch", 1, "events per POST (1 = single-event requests)")
	fs.IntVar(&o.Events, "events", 100000, "events to send")
	fs.DurationVar(&o.Duration, "duration", 0, "stop after this long (0 = when -events are sent)")
	fs.IntVar(&o.Shipments, "shipments", 10000, "distinct shipments the stream spreads over")
	fs.StringVar(&o.Mix, "mix", "realistic", "event mix: realistic | positions | tracking (GPS-driven shipments)")
	fs.Int64Var(&o.Seed, "seed", 1, "generator seed")
	fs.StringVar(&o.Source, "source", bench.DefaultSource, "event source prefix (a partner key needs partner/<id>)")
	fs.DurationVar(&o.Timeout, "timeout", bench.DefaultTimeout, "limit per request; a timeout counts as an error")
	tcpAddr := fs.String("teltonika", "", "instead of events, simulate Teltonika trackers against this input address (host:port)")
	broker := fs.String("mqtt", "", "instead of events, publish -events positions to this MQTT broker (tcp://host:port) for the hub to take")
	prefix := fs.String("topic-prefix", "crossdock/telemetry", "with -mqtt: the hub's topic filter without its final /+")
	devices := fs.Int("devices", 1000, "with -teltonika: trackers, one connection each; with -mqtt: devices publishing")
	interval := fs.Duration("interval", 10*time.Second, "with -teltonika: time between a tracker's packets")
	records := fs.Int("records", 1, "with -teltonika: positions per packet")
	drain := fs.String("drain", "", "pause this connector, ingest -events, resume it and measure how the backlog drains into -sink")
	sinkAddr := fs.String("sink", "127.0.0.1:19900", "with -drain: where the fast HTTP sink listens (the connector's url must point here)")
	scenario := fs.String("scenario", "", "instead of generated events, run a scenario: demo (the demo's simulators at -speed with -vehicles for -duration, default 60s)")
	vehicles := fs.Int("vehicles", 100, "with -scenario demo: the fleet")
	speed := fs.Float64("speed", 3600, "with -scenario demo: how many times faster than the wall clock the simulated day runs")
	markdown := fs.Bool("markdown", false, "also print a docs/benchmarks.md table row")
	quiet := fs.Bool("q", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key, err := hubKey()
	if err != nil {
		return err
	}
	o.Key = key
	if !*quiet {
		o.Progress = stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *tcpAddr != "" {
		rep, err := bench.RunTeltonika(ctx, bench.DeviceOptions{
			URL: strings.TrimRight(o.URL, "/"), Key: o.Key, Addr: *tcpAddr, Devices: *devices,
			Interval: *interval, Records: *records, Duration: o.Duration,
		})
		if werr := rep.WriteText(stdout); werr != nil {
			return werr
		}
		if err == nil && rep.LostAcks > 0 {
			err = bench.ErrLostAcks
		}
		return err
	}
	if *broker != "" {
		rep, err := bench.RunMQTT(ctx, bench.MQTTOptions{
			URL: strings.TrimRight(o.URL, "/"), Key: o.Key, Broker: *broker, Prefix: *prefix, Devices: *devices, Positions: o.Events,
		})
		if werr := rep.WriteText(stdout); werr != nil {
			return werr
		}
		return err
	}
	if *scenario != "" {
		if *scenario != "demo" {
			return fmt.Errorf("bench: -scenario %q: the scenario is demo", *scenario)
		}
		rep, err := bench.RunScenario(ctx, bench.ScenarioOptions{URL: o.URL, Key: o.Key, Vehicles: *vehicles, Speed: *speed,
			Seed: o.Seed, Duration: o.Duration, Progress: o.Progress})
		if werr := rep.WriteText(stdout); werr != nil {
			return werr
		}
		return err
	}
	if *drain != "" {
		sink, err := bench.StartSink(*sinkAddr)
		if err != nil {
			return err
		}
		defer sink.Close()
		rep, err := bench.RunDrain(ctx, bench.DrainOptions{Ingest: o, Connector: *drain, Sink: sink})
		if werr := rep.WriteText(stdout); werr != nil {
			return werr
		}
		return err
	}
	rep, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	if err := rep.WriteText(stdout); err != nil {
		return err
	}
	if *markdown {
		if _, err := io.WriteString(stdout, "\n"+bench.MarkdownHeader); err != nil {
			return err
		}
		return rep.WriteMarkdownRow(stdout)
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
