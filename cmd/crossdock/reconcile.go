package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
)

// reconcileUsage heads crossdock reconcile -h.
const reconcileUsage = `crossdock reconcile -kind invoices|shipments|fuel -from TIME [-to TIME] [flags]

Runs a reconciliation on a running hub and prints its findings: invoices
against the ERP connectors, shipments against their invoices and proofs of
delivery, fuel purchases against the vehicles' positions. TIME is RFC 3339
(2026-11-20T00:00:00Z), a date (2026-11-20, midnight UTC) or a duration ago
(36h); -to defaults to now. It waits for the run, with a progress bar, and
exits 1 if the run failed. docs/reconciliation.md explains each finding.

`

// reconcileFlags are crossdock reconcile's options.
type reconcileFlags struct {
	url, key, kind, from, to, format, code string
	quiet                                  bool
	timeout                                time.Duration
}

func runReconcile(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, reconcileUsage); fs.PrintDefaults() }
	var f reconcileFlags
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080", "base URL of the running hub")
	hubKey := hubKeyFlags(fs, "reconcile", "scope finance or ops")
	fs.StringVar(&f.kind, "kind", "", "invoices, shipments or fuel (required)")
	fs.StringVar(&f.from, "from", "", "start of the period checked (required)")
	fs.StringVar(&f.to, "to", "", "end of the period checked (exclusive); default now")
	fs.StringVar(&f.format, "format", "table", "output: table, json or csv")
	fs.StringVar(&f.code, "code", "", "print only findings with this code")
	fs.BoolVar(&f.quiet, "q", false, "no progress bar")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Minute, "give up waiting for the run after this long (it goes on in the hub)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.kind == "" || f.from == "" {
		return errors.New("reconcile: -kind and -from are required (crossdock reconcile -h)")
	}
	if !slices.Contains([]string{"table", "json", "csv"}, f.format) {
		return fmt.Errorf("reconcile: -format %q: use table, json or csv", f.format)
	}
	key, err := hubKey()
	if err != nil {
		return err
	}
	f.key = key
	now := time.Now().UTC()
	from, err := parseDay(f.from, now)
	if err != nil {
		return fmt.Errorf("reconcile: -from: %w", err)
	}
	to := now
	if f.to != "" {
		if to, err = parseDay(f.to, now); err != nil {
			return fmt.Errorf("reconcile: -to: %w", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	c := hubClient{url: strings.TrimRight(f.url, "/"), key: f.key, cmd: "reconcile"}
	var started struct{ ID string }
	if err := c.do(ctx, http.MethodPost, "/api/v1/reconciliations", map[string]any{"kind": f.kind, "from": from, "to": to}, &started); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "reconciliation %s: %s from %s to %s\n", started.ID, f.kind, from.Format(time.RFC3339), to.Format(time.RFC3339))
	run, err := waitRun(ctx, c, started.ID, f, stderr)
	if err != nil {
		return err
	}
	findings, err := allFindings(ctx, c, run.ID, f.code)
	if err != nil {
		return err
	}
	if err := printFindings(stdout, f.format, run, findings); err != nil {
		return err
	}
	if run.Status == "failed" {
		return fmt.Errorf("reconcile: run %s failed: %s", run.ID, run.Error)
	}
	return nil
}

// parseDay reads parseWhen's forms or a date (midnight UTC).
func parseDay(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	t, err := parseWhen(v, now)
	if err != nil {
		return t, fmt.Errorf("%q is neither a date (2026-11-20), an RFC 3339 time nor a duration such as 36h", v)
	}
	return t, nil
}

// runState is a run as GET /api/v1/reconciliations/{id} shows it.
type runState struct {
	ID       string           `json:"id"`
	Kind     string           `json:"kind"`
	Status   string           `json:"status"`
	From     time.Time        `json:"from"`
	To       time.Time        `json:"to"`
	Checked  int64            `json:"checked"`
	Count    int64            `json:"findings_count"`
	Counts   map[string]int64 `json:"counts"`
	Error    string           `json:"error,omitempty"`
	Findings []finding        `json:"findings"`
	Next     *string          `json:"next_cursor"`
}

// finding is one finding as the API shows it.
type finding struct {
	ID         string          `json:"id"`
	Code       string          `json:"code"`
	ShipmentID string          `json:"shipment_id,omitempty"`
	InvoiceID  string          `json:"invoice_id,omitempty"`
	VehicleID  string          `json:"vehicle_id,omitempty"`
	Detail     string          `json:"detail"`
	Data       json.RawMessage `json:"data,omitempty"`
	FoundAt    time.Time       `json:"found_at"`
}

// waitRun polls the run until it is no longer running, showing how many
// records it has checked.
func waitRun(ctx context.Context, c hubClient, id string, f reconcileFlags, stderr io.Writer) (runState, error) {
	var bar *progressbar.ProgressBar
	if !f.quiet {
		bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("checking "+f.kind),
			progressbar.OptionShowCount(), progressbar.OptionSetItsString("checked"), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(), progressbar.OptionSetSpinnerChangeInterval(0))
	}
	deadline := time.Now().Add(f.timeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		var run runState
		if err := c.do(ctx, http.MethodGet, "/api/v1/reconciliations/"+url.PathEscape(id)+"?limit=1", nil, &run); err != nil {
			return run, err
		}
		if bar != nil {
			_ = bar.Set64(run.Checked)
		}
		if run.Status != "running" {
			if bar != nil {
				_ = bar.Finish()
			}
			return run, nil
		}
		if time.Now().After(deadline) {
			return run, fmt.Errorf("reconcile: run %s still running after %s (%d checked); it goes on: GET /api/v1/reconciliations/%s", id, f.timeout, run.Checked, id)
		}
		select {
		case <-ctx.Done():
			return run, fmt.Errorf("reconcile: interrupted; run %s goes on in the hub: %w", id, ctx.Err())
		case <-tick.C:
		}
	}
}

// allFindings reads every finding of a run, page by page.
func allFindings(ctx context.Context, c hubClient, id, code string) ([]finding, error) {
	var out []finding
	cursor := ""
	for {
		q := url.Values{"limit": {"500"}}
		if code != "" {
			q.Set("code", code)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page runState
		if err := c.do(ctx, http.MethodGet, "/api/v1/reconciliations/"+url.PathEscape(id)+"?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Findings...)
		if page.Next == nil {
			return out, nil
		}
		cursor = *page.Next
	}
}

// printFindings writes the run's findings as a table (with a summary),
// one JSON document, or CSV rows.
func printFindings(w io.Writer, format string, run runState, fs []finding) error {
	switch format {
	case "json":
		run.Findings, run.Next = fs, nil
		if run.Findings == nil {
			run.Findings = []finding{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(run)
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"code", "shipment_id", "invoice_id", "vehicle_id", "found_at", "detail", "id"})
		for _, f := range fs {
			_ = cw.Write([]string{f.Code, f.ShipmentID, f.InvoiceID, f.VehicleID, f.FoundAt.UTC().Format(time.RFC3339), f.Detail, f.ID})
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "run %s: %s %s, %d checked, %d findings\n", run.ID, run.Kind, run.Status, run.Checked, run.Count)
	if len(fs) == 0 {
		fmt.Fprintln(tw, "nothing to reconcile: every record agrees")
		return tw.Flush()
	}
	fmt.Fprintln(tw, "CODE\tSHIPMENT\tINVOICE\tVEHICLE\tDETAIL")
	for _, f := range fs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Code, dash(f.ShipmentID), dash(f.InvoiceID), dash(f.VehicleID), f.Detail)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
