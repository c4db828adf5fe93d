package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/mapping"
	"github.com/crossdockhq/crossdock/internal/pipeline"
)

const mappingUsage = `crossdock mapping test --config FILE --partner P --mapping M < payload.json

Runs partner P's inbound mapping M (from the config file) on the JSON
payload read from standard input, fills specversion and source as the hub
does, checks every event against the canonical model, and prints the
events. Exit status 0 when every event is valid, 1 with the exact error
(the mapping's, naming partner, mapping and position, or each invalid
field) otherwise. Nothing is sent anywhere.
`

// mappingTest is `crossdock mapping test`.
func mappingTest(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "test" {
		fmt.Fprint(stderr, mappingUsage)
		return errors.New("mapping: the only subcommand is test")
	}
	fs := flag.NewFlagSet("mapping test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, mappingUsage) }
	path := configFlag(fs)
	partner := fs.String("partner", "", "partner id")
	name := fs.String("mapping", "", "inbound mapping name")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *path == "" || *partner == "" || *name == "" {
		fs.Usage()
		return errors.New("mapping test: --config, --partner and --mapping are required")
	}
	cfg, err := config.Load(*path, os.Getenv)
	if err != nil {
		return err
	}
	var m *mapping.Mapping
	for _, p := range cfg.Partners {
		if p.ID != *partner {
			continue
		}
		for _, in := range p.Inbound {
			if in.Name == *name {
				if m, err = mapping.Compile(mapping.Spec{Partner: p.ID, Name: in.Name, Source: in.JQ, Tables: p.Tables, Timeout: in.Timeout.D()}); err != nil {
					return err
				}
			}
		}
	}
	if m == nil {
		return fmt.Errorf("mapping test: %s declares no partner %q with an inbound mapping %q", *path, *partner, *name)
	}
	body, err := io.ReadAll(io.LimitReader(stdin, cfg.HTTP.MaxBodyBytes+1))
	if err != nil {
		return fmt.Errorf("mapping test: read standard input: %w", err)
	}
	evs, err := m.RunJSON(context.Background(), body)
	if err != nil {
		return err
	}
	limits := canonical.DefaultLimits()
	limits.MaxFuture = cfg.Pipeline.MaxFuture.D()
	var out []json.RawMessage
	var bad []string
	for i, ev := range evs {
		if _, ok := ev["specversion"]; !ok {
			ev["specversion"] = "1.0"
		}
		if src, ok := ev["source"]; !ok || src == nil || src == "" {
			ev["source"] = pipeline.PartnerSource(*partner)
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("mapping test: event %d: %w", i+1, err)
		}
		it := pipeline.ParseItem(raw, pipeline.IntakeOptions{Limits: limits, Now: time.Now()})
		if it.Err != nil {
			for _, fe := range it.Err.Errors {
				bad = append(bad, fmt.Sprintf("event %d: %s: %s", i+1, fe.Field, fe.Message))
			}
		}
		out = append(out, raw)
	}
	var buf bytes.Buffer
	if out == nil {
		out = []json.RawMessage{}
	}
	b, _ := json.Marshal(out)
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	if _, err := stdout.Write(buf.Bytes()); err != nil {
		return err
	}
	if len(bad) > 0 {
		for _, b := range bad {
			fmt.Fprintln(stderr, b)
		}
		return fmt.Errorf("mapping test: %d invalid field(s); the hub would reject those events and keep the payload in quarantine", len(bad))
	}
	return nil
}
