package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// MQTTOptions configure RunMQTT: positions published at QoS 1 to the topic
// the hub subscribes, measured until the hub has committed them.
type MQTTOptions struct {
	// URL and Key reach the hub's API: devices are registered first, and
	// progress is read from /metrics. Loopback only.
	URL string
	Key string
	// Broker is the MQTT broker, tcp://host:port. Loopback only.
	Broker string
	// Prefix is the topic prefix the hub subscribes (its filter without
	// the final "/+"). Default "crossdock/telemetry".
	Prefix string
	// Devices publish positions round robin. Default 1000.
	Devices int
	// Positions to publish in all. Default 100000.
	Positions int
	// Publishers are concurrent broker connections, each keeping at most
	// 16 messages unacknowledged. Default 8.
	Publishers int
	// Ahead bounds how many positions the publishers may be ahead of what
	// the hub committed (as /metrics shows it, polled every 20 ms).
	// Mosquitto drops QoS 1 messages queued past its max_queued_messages
	// (1000 by default) for a client, so the default, 300, stays well
	// below it.
	Ahead int
	// RunID prefixes device and vehicle ids. Default: from the time.
	RunID string
}

// MQTTReport is what RunMQTT saw.
type MQTTReport struct {
	Published int64         // accepted by the broker (PUBACK)
	Committed int64         // counted by the hub as accepted from MQTT during the run
	Elapsed   time.Duration // first publish to the last commit
	Options   MQTTOptions
}

func (o MQTTOptions) withDefaults(now time.Time) MQTTOptions {
	if o.Prefix == "" {
		o.Prefix = "crossdock/telemetry"
	}
	if o.Devices <= 0 {
		o.Devices = 1000
	}
	if o.Positions <= 0 {
		o.Positions = 100000
	}
	if o.Publishers <= 0 {
		o.Publishers = 8
	}
	if o.Ahead <= 0 {
		o.Ahead = 300
	}
	if o.RunID == "" {
		o.RunID = now.UTC().Format("150405")
	}
	return o
}

// RunMQTT registers opt.Devices devices, publishes opt.Positions positions
// through the broker, and waits until the hub's
// crossdock_positions_total{input="mqtt",result="accepted"} has grown by
// all of them (or ctx ends).
func RunMQTT(ctx context.Context, opt MQTTOptions) (MQTTReport, error) {
	opt = opt.withDefaults(time.Now())
	rep := MQTTReport{Options: opt}
	for _, raw := range []string{opt.URL, opt.Broker} {
		u, err := url.Parse(raw)
		if err != nil {
			return rep, fmt.Errorf("bench: %q: %w", raw, err)
		}
		if err := checkLoopback(u.Hostname()); err != nil {
			return rep, fmt.Errorf("bench: refusing to load-test %s: %w", raw, err)
		}
	}
	devs := make([]string, opt.Devices)
	for i := range devs {
		devs[i] = "mq-" + opt.RunID + "-" + strconv.Itoa(i)
		if err := register(ctx, DeviceOptions{URL: opt.URL, Key: opt.Key}, "bench-"+opt.RunID+"-MQ-"+strconv.Itoa(i), devs[i]); err != nil {
			return rep, err
		}
	}
	base, err := mqttAccepted(ctx, opt.URL)
	if err != nil {
		return rep, err
	}
	var committed atomic.Int64
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-pollCtx.Done():
				return
			case <-tick.C:
			}
			if n, err := mqttAccepted(pollCtx, opt.URL); err == nil {
				committed.Store(n - base)
			}
		}
	}()

	start := time.Now().UTC().Add(-time.Duration(opt.Positions/opt.Devices+10) * time.Second).Truncate(time.Second)
	var next, published atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, opt.Publishers)
	begin := time.Now()
	for k := range opt.Publishers {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(opt.Broker).SetClientID(fmt.Sprintf("bench-%s-%d", opt.RunID, k)))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			return rep, fmt.Errorf("bench: connect %s: %v", opt.Broker, tok.Error())
		}
		defer c.Disconnect(250)
		window := make(chan struct{}, 16)
		wg.Go(func() {
			defer func() {
				for range cap(window) {
					window <- struct{}{}
				}
			}()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= opt.Positions {
					return
				}
				for int64(i)-committed.Load() > int64(opt.Ahead) {
					if !sleepCtx(ctx, time.Millisecond) {
						return
					}
				}
				dev := i % opt.Devices
				at := start.Add(time.Duration(i/opt.Devices) * time.Second)
				body := fmt.Sprintf(`{"lat":%.6f,"lon":%.6f,"time":%q,"speed_kph":50}`,
					48+float64(dev%100)*0.04+float64(i/opt.Devices)*1e-4, 6+float64(dev/100)*0.04, at.Format(time.RFC3339))
				window <- struct{}{}
				tok := c.Publish(opt.Prefix+"/"+devs[dev], 1, false, body)
				go func() {
					defer func() { <-window }()
					if tok.Wait(); tok.Error() != nil {
						select {
						case errc <- fmt.Errorf("bench: publish: %w", tok.Error()):
						default:
						}
						return
					}
					published.Add(1)
				}()
			}
		})
	}
	wg.Wait()
	rep.Published = published.Load()
	select {
	case err := <-errc:
		return rep, err
	default:
	}
	last, lastChange := committed.Load(), time.Now()
	for n := committed.Load(); n < rep.Published; n = committed.Load() {
		if n != last {
			last, lastChange = n, time.Now()
		}
		if time.Since(lastChange) > 10*time.Second {
			rep.Elapsed, rep.Committed = lastChange.Sub(begin), n
			return rep, fmt.Errorf("bench: the hub committed %d of %d published positions and nothing more for 10 s; "+
				"a broker that dropped messages logs it (Mosquitto: \"Outgoing messages are being dropped\"; raise max_queued_messages)", n, rep.Published)
		}
		if !sleepCtx(ctx, 5*time.Millisecond) {
			break
		}
	}
	rep.Elapsed, rep.Committed = time.Since(begin), committed.Load()
	if ctx.Err() != nil {
		return rep, fmt.Errorf("bench: interrupted: %w", ctx.Err())
	}
	return rep, nil
}

// mqttAccepted reads crossdock_positions_total{input="mqtt",result="accepted"}
// from the hub's /metrics (0 before the first one).
func mqttAccepted(ctx context.Context, hub string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(hub, "/")+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("bench: metrics: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	const series = `crossdock_positions_total{input="mqtt",result="accepted"} `
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int64(f), err
		}
	}
	return 0, sc.Err()
}

// WriteText writes the report as a table.
func (r MQTTReport) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	o := r.Options
	fmt.Fprintf(tw, "target\tmqtt %s → hub %s\n", o.Broker, o.URL)
	fmt.Fprintf(tw, "settings\t%d positions from %d devices, %d publishers, at most %d ahead of the hub\n", o.Positions, o.Devices, o.Publishers, o.Ahead)
	fmt.Fprintf(tw, "positions\t%d published (QoS 1), %d committed by the hub\n", r.Published, r.Committed)
	fmt.Fprintf(tw, "throughput\t%.0f positions/s committed over %s\n", float64(r.Committed)/r.Elapsed.Seconds(), r.Elapsed.Round(time.Millisecond))
	return tw.Flush()
}
