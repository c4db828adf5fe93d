package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Problem is one invalid key.
type Problem struct {
	// Key is the dotted key path, e.g. "auth.keys[1].name"; "" for the
	// file as a whole (a YAML syntax error, say).
	Key string
	// Message says what is wrong and, for problems found in the file,
	// ends with the line: "unknown key (line 3)".
	Message string
}

// Error lists every invalid key of a configuration. Load and Validate
// return it for anything wrong with the configuration's content.
type Error struct {
	// File is the config file the problems were found in; "" for none.
	File     string
	Problems []Problem
}

// Error prints one problem per line: "FILE: key.path: message", without
// "FILE: " when there is no file and "key.path: " when the problem has no key.
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if e.File != "" {
			b.WriteString(e.File + ": ")
		}
		if p.Key != "" {
			b.WriteString(p.Key + ": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

var (
	keyNameRE = regexp.MustCompile(`^[a-z0-9_.-]{1,64}$`)
	sha256RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Validate reports every violation at once as an *Error, each problem
// naming its key path, e.g.
// "store.database_url: must start with postgres:// or postgresql://".
// Messages never repeat a secret (admin key, database URL).
func (c Config) Validate() error {
	var ps []Problem
	bad := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	between := func(key string, v, lo, hi int64) {
		if v < lo || v > hi {
			bad(key, "must be between %d and %d, got %d", lo, hi, v)
		}
	}
	positive := func(key string, d Duration) {
		if d <= 0 {
			bad(key, "must be a positive duration, got %s", d)
		}
	}
	durationBetween := func(key string, d Duration, lo, hi time.Duration) {
		if d.D() < lo || d.D() > hi {
			bad(key, "must be between %s and %s, got %s", short(lo), short(hi), short(d.D()))
		}
	}

	if _, port, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		bad("http.addr", "must be host:port, e.g. 127.0.0.1:8080, got %q", c.HTTP.Addr)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		bad("http.addr", "port must be a number 0..65535, got %q", port)
	}
	between("http.max_body_bytes", c.HTTP.MaxBodyBytes, 1<<10, 256<<20)
	between("http.max_batch_events", int64(c.HTTP.MaxBatchEvents), 1, 100000)
	positive("http.read_timeout", c.HTTP.ReadTimeout)
	positive("http.write_timeout", c.HTTP.WriteTimeout)
	positive("http.idle_timeout", c.HTTP.IdleTimeout)
	positive("http.shutdown_timeout", c.HTTP.ShutdownTimeout)

	if strings.TrimSpace(c.Store.DataDir) == "" {
		bad("store.data_dir", "must not be empty")
	}
	if u := c.Store.DatabaseURL; u != "" {
		switch {
		case !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://"):
			bad("store.database_url", "must start with postgres:// or postgresql://")
		case !parses(u):
			bad("store.database_url", "is not a valid URL; percent-encode special characters in the user name and password")
		}
	}
	between("store.read_conns", int64(c.Store.ReadConns), 1, 64)
	positive("store.busy_timeout", c.Store.BusyTimeout)
	between("store.max_conns", int64(c.Store.MaxConns), 2, 1000)

	between("pipeline.max_batch_events", int64(c.Pipeline.MaxBatchEvents), 1, 100000)
	durationBetween("pipeline.commit_delay", c.Pipeline.CommitDelay, 0, 100*time.Millisecond)
	between("pipeline.queue_size", int64(c.Pipeline.QueueSize), 1, 1000000)
	between("pipeline.state_cache", int64(c.Pipeline.StateCache), 0, 1000000)
	durationBetween("pipeline.max_future", c.Pipeline.MaxFuture, time.Minute, 8760*time.Hour)

	if k := c.Auth.AdminKey; k != "" {
		if len(k) < 16 {
			bad("auth.admin_key", "must be at least 16 characters, got %d", len(k))
		}
		if strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			bad("auth.admin_key", "must be printable ASCII without spaces (it travels in an Authorization header)")
		}
	}
	names, hashes := map[string]int{}, map[string]int{}
	for i, k := range c.Auth.Keys {
		p := fmt.Sprintf("auth.keys[%d]", i)
		switch j, dup := names[k.Name]; {
		case k.Name == "":
			bad(p+".name", "is required")
		case !keyNameRE.MatchString(k.Name):
			bad(p+".name", "must be 1 to 64 of a-z 0-9 _ . -, got %q", k.Name)
		case dup:
			bad(p+".name", "duplicate key name %q, also auth.keys[%d]", k.Name, j)
		default:
			names[k.Name] = i
		}
		switch j, dup := hashes[k.SHA256]; {
		case k.SHA256 == "":
			bad(p+".sha256", "is required: the key's SHA-256 in lowercase hex (echo -n KEY | sha256sum)")
		case !sha256RE.MatchString(k.SHA256):
			bad(p+".sha256", "must be 64 lowercase hex characters: the key's SHA-256 (echo -n KEY | sha256sum)")
		case dup:
			bad(p+".sha256", "same key as auth.keys[%d]", j)
		default:
			hashes[k.SHA256] = i
		}
		if k.Partner != "" {
			if !slices.ContainsFunc(c.Partners, func(pt Partner) bool { return pt.ID == k.Partner }) {
				bad(p+".partner", "no partner %q is declared under partners", k.Partner)
			}
			if len(k.Scopes) > 0 {
				bad(p+".scopes", "must be left out for a partner's key: it holds the partner's scopes")
			}
		} else if len(k.Scopes) == 0 {
			bad(p+".scopes", "is required: one or more of %s", strings.Join(Scopes, ", "))
		}
		for j, s := range k.Scopes {
			if !slices.Contains(Scopes, s) {
				bad(fmt.Sprintf("%s.scopes[%d]", p, j), "unknown scope %q; valid: %s", s, strings.Join(Scopes, ", "))
			}
		}
	}

	t := c.Telemetry
	durationBetween("telemetry.retention", t.Retention, time.Hour, 87600*time.Hour)
	floatBetween := func(key string, v, lo, hi float64) {
		if v < lo || v > hi {
			bad(key, "must be between %g and %g, got %g", lo, hi, v)
		}
	}
	floatBetween("telemetry.default_radius_m", t.DefaultRadiusM, 10, 50000)
	floatBetween("telemetry.hysteresis_m", t.HysteresisM, 1, 5000)
	floatBetween("telemetry.max_speed_kph", t.MaxSpeedKph, 10, 2000)
	floatBetween("telemetry.fallback_speed_kph", t.FallbackSpeedKph, 1, 300)
	floatBetween("telemetry.road_factor", t.RoadFactor, 1, 5)
	positive("telemetry.delay_margin", t.DelayMargin)
	positive("telemetry.temperature_grace", t.TemperatureGrace)
	floatBetween("telemetry.route_deviation_m", t.RouteDeviationM, 10, 100000)
	positive("telemetry.route_deviation_for", t.RouteDeviationFor)

	listenAddr := func(key, addr string) {
		if addr == "" {
			return
		}
		if _, port, err := net.SplitHostPort(addr); err != nil {
			bad(key, "must be host:port, e.g. 0.0.0.0:5055, got %q", addr)
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			bad(key, "port must be a number 0..65535, got %q", port)
		}
	}
	listenAddr("inputs.osmand.addr", c.Inputs.OsmAnd.Addr)
	listenAddr("inputs.teltonika.addr", c.Inputs.Teltonika.Addr)
	positive("inputs.teltonika.idle_timeout", c.Inputs.Teltonika.IdleTimeout)
	between("inputs.teltonika.max_connections", int64(c.Inputs.Teltonika.MaxConnections), 1, 1000000)
	if m := c.Inputs.MQTT; m.URL != "" {
		u, err := url.Parse(m.URL)
		switch {
		case err != nil:
			bad("inputs.mqtt.url", "is not a valid URL")
		case !slices.Contains([]string{"tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss"}, u.Scheme) || u.Host == "":
			bad("inputs.mqtt.url", "must be tcp://host:port (or ssl://, ws://, wss://)")
		}
		if m.ClientID == "" || len(m.ClientID) > 23*4 {
			bad("inputs.mqtt.client_id", "must be 1 to 92 characters")
		}
		if !strings.HasSuffix(m.Topic, "/+") || strings.Contains(m.Topic, "#") {
			bad("inputs.mqtt.topic", "must be a topic filter ending in /+ (the device id level) without #, e.g. crossdock/telemetry/+")
		}
	}

	c.validatePartners(bad)
	c.validateBilling(bad)
	c.validateConnectors(bad)
	c.validateObservability(bad)
	c.validateReconciliation(bad)

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		bad("log.format", "must be json or text, got %q", c.Log.Format)
	}

	if len(ps) > 0 {
		return &Error{Problems: ps}
	}
	return nil
}

func parses(u string) bool {
	_, err := url.Parse(u)
	return err == nil
}

// short prints a bound without time.Duration's trailing zero units
// ("8760h", not "8760h0m0s").
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
