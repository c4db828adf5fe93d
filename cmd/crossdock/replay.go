package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
)

// replayUsage heads crossdock replay -h.
const replayUsage = `crossdock replay -connector NAME (-from TIME | -shipment ID) [flags]

Delivers stored events to a connector again — after an ERP restored a backup,
or to fill a connector added later — through a running hub. Each event goes
out with the Idempotency-Key it first had, so a receiver that still holds it
drops the repeat. TIME is RFC 3339 (2026-11-20T00:00:00Z) or a duration ago
(36h). Without -dry-run it waits, with a progress bar, until none of the
replay's deliveries is pending.

`

// replayFlags are crossdock replay's options.
type replayFlags struct {
	url, key, connector, types, from, to, shipment string
	limit                                          int
	dryRun, quiet                                  bool
	timeout                                        time.Duration
}

func runReplay(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, replayUsage); fs.PrintDefaults() }
	var f replayFlags
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080", "base URL of the running hub")
	hubKey := hubKeyFlags(fs, "replay", "scope ops")
	fs.StringVar(&f.connector, "connector", "", "the connector to deliver to (required)")
	fs.StringVar(&f.types, "type", "", "event types, comma separated; default every type the connector receives")
	fs.StringVar(&f.from, "from", "", "events at or after this event time")
	fs.StringVar(&f.to, "to", "", "events before this event time")
	fs.StringVar(&f.shipment, "shipment", "", "only this shipment's events")
	fs.IntVar(&f.limit, "limit", 10000, "at most this many events")
	fs.BoolVar(&f.dryRun, "dry-run", false, "count what would be replayed; queue nothing")
	fs.BoolVar(&f.quiet, "q", false, "no progress bar")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Minute, "give up waiting for the backlog after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.connector == "" {
		return errors.New("replay: -connector is required")
	}
	key, err := hubKey()
	if err != nil {
		return err
	}
	f.key = key
	req := map[string]any{"limit": f.limit, "dry_run": f.dryRun}
	if f.types != "" {
		req["types"] = strings.Split(f.types, ",")
	}
	if f.shipment != "" {
		req["shipment_id"] = f.shipment
	}
	now := time.Now().UTC()
	for name, v := range map[string]string{"from": f.from, "to": f.to} {
		if v == "" {
			continue
		}
		t, err := parseWhen(v, now)
		if err != nil {
			return fmt.Errorf("replay: -%s: %w", name, err)
		}
		req[name] = t
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	c := hubClient{url: strings.TrimRight(f.url, "/"), key: f.key}
	if _, err := c.connector(ctx, f.connector); err != nil {
		return err
	}
	// The replay's deliveries are the connector's pending ones changed
	// from now on (a second's margin for the hub's clock).
	since := time.Now().Add(-time.Second).UTC()
	var res struct {
		Matched, Queued int
		Truncated       bool
	}
	if err := c.do(ctx, http.MethodPost, "/api/v1/connectors/"+f.connector+"/replay", req, &res); err != nil {
		return err
	}
	verb := "queued"
	if f.dryRun {
		verb = "would queue"
	}
	fmt.Fprintf(stdout, "%d events matched; %s %d deliveries to %s", res.Matched, verb, res.Queued, f.connector)
	if res.Truncated {
		fmt.Fprintf(stdout, " (stopped at -limit %d: more match)", f.limit)
	}
	fmt.Fprintln(stdout)
	if f.dryRun || res.Queued == 0 {
		return nil
	}
	return waitReplay(ctx, c, f, since, res.Queued, stdout, stderr)
}

// maxCountPages bounds how many pages of deliveries one progress reading
// lists; beyond, the bar shows at least that many left.
const maxCountPages = 20

// waitReplay follows the replay's deliveries — the connector's pending
// ones changed since the replay began (new deliveries of fresh events
// count too, so the wait is never cut short) — until none is left, and
// reports how they ended.
func waitReplay(ctx context.Context, c hubClient, f replayFlags, since time.Time, queued int, stdout, stderr io.Writer) error {
	var bar *progressbar.ProgressBar
	if !f.quiet {
		bar = progressbar.NewOptions(queued, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("replay "+f.connector),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish(),
			progressbar.OptionSetSpinnerChangeInterval(0)) // no goroutine of its own racing with Set
	}
	deadline := time.Now().Add(f.timeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		pending, err := c.countDeliveries(ctx, f.connector, "pending", since)
		if err != nil {
			return err
		}
		left := min(queued, pending)
		if bar != nil {
			_ = bar.Set(queued - left)
		}
		if pending == 0 {
			if bar != nil {
				_ = bar.Finish()
			}
			dead, err := c.countDeliveries(ctx, f.connector, "dead", since)
			if err != nil {
				return err
			}
			dead = min(dead, queued)
			fmt.Fprintf(stdout, "replay drained: %d delivered, %d dead (GET /api/v1/deliveries?state=dead&connector=%s)\n", queued-dead, dead, f.connector)
			if dead > 0 {
				return fmt.Errorf("replay: %d deliveries dead", dead)
			}
			return nil
		}
		if time.Now().After(deadline) {
			st, _ := c.connector(ctx, f.connector)
			return fmt.Errorf("replay: %d of %d deliveries still pending after %s (connector %s is %s: %s)", left, queued, f.timeout, f.connector, st.State, st.LastError)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replay: interrupted with %d pending; they still deliver: %w", left, ctx.Err())
		case <-tick.C:
		}
	}
}

// countDeliveries counts the connector's deliveries in state changed
// since, listing at most maxCountPages pages.
func (c hubClient) countDeliveries(ctx context.Context, connector, state string, since time.Time) (int, error) {
	n, cursor := 0, ""
	for range maxCountPages {
		q := url.Values{"connector": {connector}, "state": {state}, "updated_since": {since.Format(time.RFC3339Nano)}, "limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Items      []json.RawMessage
			NextCursor *string `json:"next_cursor"`
		}
		if err := c.do(ctx, http.MethodGet, "/api/v1/deliveries?"+q.Encode(), nil, &page); err != nil {
			return 0, err
		}
		n += len(page.Items)
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	return n, nil
}

// parseWhen reads RFC 3339 or a duration before now.
func parseWhen(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration such as 36h", v)
}

// hubClient calls a running hub's API.
type hubClient struct {
	url, key string
	cmd      string // the command, for its errors; default replay
}

func (c hubClient) prefix() string {
	if c.cmd == "" {
		return "replay"
	}
	return c.cmd
}

// connectorState is a connector as GET /api/v1/connectors shows it.
type connectorState struct {
	Name, State string
	Backlog     int
	Dead        int
	LastError   string `json:"last_error"`
}

func (c hubClient) connector(ctx context.Context, name string) (connectorState, error) {
	var list struct{ Items []connectorState }
	if err := c.do(ctx, http.MethodGet, "/api/v1/connectors", nil, &list); err != nil {
		return connectorState{}, err
	}
	for _, s := range list.Items {
		if s.Name == name {
			return s, nil
		}
	}
	return connectorState{}, fmt.Errorf("replay: the hub has no connector %q", name)
}

func (c hubClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, rd)
	if err != nil {
		return fmt.Errorf("%s: %w", c.prefix(), err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", c.prefix(), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode/100 != 2 {
		var p struct{ Detail string }
		if json.Unmarshal(b, &p) == nil && p.Detail != "" {
			return fmt.Errorf("%s: %s %s: %d: %s", c.prefix(), method, path, resp.StatusCode, p.Detail)
		}
		return fmt.Errorf("%s: %s %s: %d", c.prefix(), method, path, resp.StatusCode)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: %s %s: %w", c.prefix(), method, path, err)
	}
	return nil
}
