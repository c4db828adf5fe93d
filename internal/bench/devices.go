package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/crossdockhq/crossdock/internal/ingest"
	"github.com/crossdockhq/crossdock/internal/ingest/teltonika"
)

// DeviceOptions configure RunTeltonika: a fleet of simulated Teltonika
// trackers, each holding one TCP connection and sending one packet every
// Interval, as a real fleet does.
type DeviceOptions struct {
	// URL and Key reach the hub's API, to register every device first
	// (PUT /api/v1/vehicles/{id}, scope ops). Loopback only, as for Run.
	URL string
	Key string
	// Addr is the hub's Teltonika input, host:port. Loopback only.
	Addr string
	// Devices is the number of trackers, each its own connection. Default 1000.
	Devices int
	// Interval is each tracker's time between packets. Default 10s.
	Interval time.Duration
	// Records is the positions per packet. Default 1.
	Records int
	// Duration is how long every tracker keeps sending once connected. Default 60s.
	Duration time.Duration
	// RunID prefixes IMEIs and vehicle ids so runs never collide. Default: from the time.
	RunID string
}

// DeviceReport is what RunTeltonika saw. A lost ack is a packet that got
// no answer or a count other than its records: a failure of the hub.
type DeviceReport struct {
	Devices   int           // trackers that logged in
	Peak      int           // connections open at once, at most
	Packets   int64         // packets acknowledged correctly
	Positions int64         // positions in them
	LostAcks  int64         // packets without a correct answer
	Errors    []string      // first few failures
	Elapsed   time.Duration // from the first login to the last answer
	P50, P99  time.Duration // packet sent → ack read
	Max       time.Duration
	Options   DeviceOptions
}

func (o DeviceOptions) withDefaults(now time.Time) DeviceOptions {
	if o.Devices <= 0 {
		o.Devices = 1000
	}
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.Records <= 0 {
		o.Records = 1
	}
	if o.Duration <= 0 {
		o.Duration = 60 * time.Second
	}
	if o.RunID == "" {
		o.RunID = now.UTC().Format("150405")
	}
	return o
}

// RunTeltonika registers opt.Devices trackers, connects them all (spread
// over the first Interval), lets each send a packet every Interval for
// Duration, and reports acknowledgements and their latency.
func RunTeltonika(ctx context.Context, opt DeviceOptions) (DeviceReport, error) {
	opt = opt.withDefaults(time.Now())
	rep := DeviceReport{Options: opt}
	u, err := url.Parse(opt.URL)
	if err != nil {
		return rep, fmt.Errorf("bench: hub URL: %w", err)
	}
	host, _, err := net.SplitHostPort(opt.Addr)
	if err != nil {
		return rep, fmt.Errorf("bench: teltonika address: %w", err)
	}
	for _, h := range []string{u.Hostname(), host} {
		if err := checkLoopback(h); err != nil {
			return rep, fmt.Errorf("bench: refusing to load-test %s: %w", h, err)
		}
	}
	imeis := make([]string, opt.Devices)
	for i := range imeis {
		imeis[i] = fmt.Sprintf("35%s%07d", opt.RunID, i)
		if err := register(ctx, opt, "bench-"+opt.RunID+"-TRK-"+strconv.Itoa(i), imeis[i]); err != nil {
			return rep, err
		}
	}

	var (
		open, peak, logged atomic.Int64
		packets, positions atomic.Int64
		lost               atomic.Int64
		mu                 sync.Mutex
		lat                []time.Duration
		errs               []string
		wg                 sync.WaitGroup
		begin              = time.Now()
		stopAt             = begin.Add(opt.Interval + opt.Duration)
		fail               = func(s string) {
			mu.Lock()
			if len(errs) < maxSamples {
				errs = append(errs, s)
			}
			mu.Unlock()
		}
	)
	for i, imei := range imeis {
		wg.Go(func() {
			// Spread logins over the first interval, as devices come online.
			delay := time.Duration(int64(opt.Interval) * int64(i) / int64(len(imeis)))
			if !sleepCtx(ctx, delay) {
				return
			}
			c, err := net.DialTimeout("tcp", opt.Addr, 10*time.Second)
			if err != nil {
				fail("dial: " + err.Error())
				lost.Add(1)
				return
			}
			defer c.Close()
			if n := open.Add(1); n > peak.Load() {
				peak.Store(n) // racy max, good enough for a report
			}
			defer open.Add(-1)
			if _, err := c.Write(teltonika.AppendLogin(nil, imei)); err != nil {
				fail("login: " + err.Error())
				return
			}
			var one [1]byte
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			if _, err := io.ReadFull(c, one[:]); err != nil || one[0] != 1 {
				fail(fmt.Sprintf("login refused: %v %v", one, err))
				return
			}
			logged.Add(1)
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			lat0, lon0 := 48+4*rng.Float64(), 6+8*rng.Float64()
			var local []time.Duration
			defer func() {
				mu.Lock()
				lat = append(lat, local...)
				mu.Unlock()
			}()
			buf := make([]byte, 0, 64*opt.Records)
			for k := 0; time.Now().Before(stopAt); k++ {
				ps := make([]ingest.Position, opt.Records)
				now := time.Now().UTC().Truncate(time.Millisecond)
				for r := range ps {
					speed := 40 + 40*rng.Float64()
					step := float64(k*opt.Records + r)
					ps[r] = ingest.Position{
						Time: now.Add(time.Duration(r-opt.Records) * time.Second), Lat: lat0 + step*1e-4,
						Lon: lon0 + math.Sin(step/50)*1e-3, SpeedKph: &speed,
					}
				}
				buf, _ = teltonika.AppendPacket(buf[:0], ps)
				sent := time.Now()
				if _, err := c.Write(buf); err != nil {
					fail("write: " + err.Error())
					lost.Add(1)
					return
				}
				var ack [4]byte
				_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
				if _, err := io.ReadFull(c, ack[:]); err != nil || binary.BigEndian.Uint32(ack[:]) != uint32(opt.Records) {
					fail(fmt.Sprintf("ack: %x %v", ack, err))
					lost.Add(1)
					return
				}
				local = append(local, time.Since(sent))
				packets.Add(1)
				positions.Add(int64(opt.Records))
				if !sleepCtx(ctx, time.Until(sent.Add(opt.Interval))) {
					return
				}
			}
		})
	}
	wg.Wait()
	rep.Elapsed = time.Since(begin)
	rep.Devices, rep.Peak = int(logged.Load()), int(peak.Load())
	rep.Packets, rep.Positions, rep.LostAcks, rep.Errors = packets.Load(), positions.Load(), lost.Load(), errs
	slices.Sort(lat)
	if len(lat) > 0 {
		rep.P50, rep.P99, rep.Max = lat[(len(lat)-1)*50/100], lat[(len(lat)-1)*99/100], lat[len(lat)-1]
	}
	if ctx.Err() != nil {
		return rep, fmt.Errorf("bench: interrupted: %w", ctx.Err())
	}
	return rep, nil
}

func register(ctx context.Context, opt DeviceOptions, vehicle, imei string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, opt.URL+"/api/v1/vehicles/"+url.PathEscape(vehicle),
		bytes.NewReader([]byte(`{"device_ids":["`+imei+`"]}`)))
	if err != nil {
		return fmt.Errorf("bench: register %s: %w", vehicle, err)
	}
	req.Header.Set("Authorization", "Bearer "+opt.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("bench: register %s: %w", vehicle, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("bench: register %s: HTTP %d: %s", vehicle, resp.StatusCode, b)
	}
	return nil
}

// sleepCtx waits d; false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// WriteText writes the report as a table.
func (r DeviceReport) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	o := r.Options
	fmt.Fprintf(tw, "target\tteltonika %s\n", o.Addr)
	fmt.Fprintf(tw, "settings\t%d devices, a packet of %d every %s, for %s each\n", o.Devices, o.Records, o.Interval, o.Duration)
	fmt.Fprintf(tw, "connections\t%d logged in, %d open at once at most\n", r.Devices, r.Peak)
	fmt.Fprintf(tw, "packets\t%d acknowledged (%d positions), %d lost acks\n", r.Packets, r.Positions, r.LostAcks)
	fmt.Fprintf(tw, "throughput\t%.0f positions/s over %s\n", float64(r.Positions)/r.Elapsed.Seconds(), r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(tw, "ack latency\tp50 %s, p99 %s, max %s\n", r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond))
	for _, e := range r.Errors {
		fmt.Fprintf(tw, "error\t%s\n", e)
	}
	return tw.Flush()
}

// ErrLostAcks is returned by the CLI when a run lost acknowledgements.
var ErrLostAcks = errors.New("bench: acknowledgements lost")
