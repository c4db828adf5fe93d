package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// Config is everything crossdock reads at start.
type Config struct {
	HTTP     HTTP     `yaml:"http"`
	Store    Store    `yaml:"store"`
	Pipeline Pipeline `yaml:"pipeline"`
	Auth     Auth     `yaml:"auth"`
	Log      Log      `yaml:"log"`
}

// HTTP configures the API listener.
type HTTP struct {
	// Addr is the listen address. Default "127.0.0.1:8080"; env CROSSDOCK_HTTP_ADDR.
	Addr string `yaml:"addr"`
	// MaxBodyBytes bounds a request body; larger ones answer 413. Default 4 MiB; 1 KiB..256 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxBatchEvents bounds the events in one POST. Default 1000; 1..100000.
	MaxBatchEvents int `yaml:"max_batch_events"`
	// ReadTimeout bounds reading a whole request. Default 30s.
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response. Default 30s.
	WriteTimeout Duration `yaml:"write_timeout"`
	// IdleTimeout closes idle keep-alive connections. Default 120s.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// ShutdownTimeout bounds the graceful stop on SIGTERM. Default 20s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
}

// Store selects and tunes storage.
type Store struct {
	// DataDir holds the embedded SQLite file (DataDir/crossdock.db) and the
	// generated admin key. Default "./crossdock-data"; env CROSSDOCK_DATA_DIR.
	DataDir string `yaml:"data_dir"`
	// DatabaseURL, when set, selects PostgreSQL instead of SQLite; it must
	// start with postgres:// or postgresql://. Default ""; env CROSSDOCK_DATABASE_URL.
	DatabaseURL string `yaml:"database_url"`
	// ReadConns is the SQLite reader pool size. Default 4; 1..64.
	ReadConns int `yaml:"read_conns"`
	// BusyTimeout is how long SQLite waits for a lock. Default 5s.
	BusyTimeout Duration `yaml:"busy_timeout"`
	// MaxConns is the PostgreSQL pool size. Default 16; 2..1000.
	MaxConns int `yaml:"max_conns"`
}

// Pipeline tunes the single writer.
type Pipeline struct {
	// MaxBatchEvents bounds the events in one write transaction (group
	// commit). Default 2000; 1..100000.
	MaxBatchEvents int `yaml:"max_batch_events"`
	// CommitDelay is how long the writer may wait to fill a batch. Default 0:
	// commit as soon as the previous commit ends (batches fill while it runs). 0..100ms.
	CommitDelay Duration `yaml:"commit_delay"`
	// QueueSize is how many submissions may wait for the writer before
	// intake answers 503. Default 4096; 1..1000000.
	QueueSize int `yaml:"queue_size"`
	// StateCache is how many shipment and vehicle states the writer keeps
	// decoded between batches on the embedded store (PostgreSQL never caches:
	// other nodes write too). Default 4000; 0..1000000; 0 disables.
	StateCache int `yaml:"state_cache"`
	// MaxFuture is how far ahead of the hub's clock an event time may be.
	// Default 24h; 1m..8760h.
	MaxFuture Duration `yaml:"max_future"`
}

// Auth declares API keys.
type Auth struct {
	// AdminKey is a bootstrap key holding every scope; at least 16
	// characters. Default "" (then, with no Keys either, serve generates one
	// into DataDir/admin.key); env CROSSDOCK_ADMIN_KEY.
	AdminKey string `yaml:"admin_key"`
	// Keys are further API keys, written down only as their SHA-256.
	Keys []Key `yaml:"keys"`
}

// Key is an API key declared in config; only its SHA-256 is written down.
type Key struct {
	// Name identifies the key in logs and on events; [a-z0-9_.-]{1,64}, unique.
	Name string `yaml:"name"`
	// SHA256 is the lowercase hex SHA-256 of the key (64 characters).
	SHA256 string `yaml:"sha256"`
	// Scopes are what the key may do: events:write, read, ops, finance, admin.
	Scopes []string `yaml:"scopes"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is json or text. Default json.
	Format string `yaml:"format"`
}

// Scopes is the list of valid scope names.
var Scopes = []string{"events:write", "read", "ops", "finance", "admin"}

// Duration is a time.Duration written as a Go duration string ("1.5s", "20m").
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(b []byte) error {
	var s string
	if err := yaml.Unmarshal(b, &s); err != nil {
		return &valueError{value: strings.TrimSpace(string(b)), msg: "must be a duration such as 1.5s or 20m"}
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return &valueError{value: s, msg: fmt.Sprintf("must be a duration such as 1.5s or 20m (got %q)", s)}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration string.
func (d Duration) MarshalYAML() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Default returns the configuration crossdock runs with when nothing is set.
func Default() Config {
	return Config{
		HTTP: HTTP{
			Addr: "127.0.0.1:8080", MaxBodyBytes: 4 << 20, MaxBatchEvents: 1000,
			ReadTimeout: Duration(30 * time.Second), WriteTimeout: Duration(30 * time.Second),
			IdleTimeout: Duration(120 * time.Second), ShutdownTimeout: Duration(20 * time.Second),
		},
		Store:    Store{DataDir: "./crossdock-data", ReadConns: 4, BusyTimeout: Duration(5 * time.Second), MaxConns: 16},
		Pipeline: Pipeline{MaxBatchEvents: 2000, QueueSize: 4096, StateCache: 4000, MaxFuture: Duration(24 * time.Hour)},
		Log:      Log{Level: "info", Format: "json"},
	}
}

// Load reads the YAML file at path ("" for none: defaults only) over the
// defaults, applies the environment overrides from getenv, and validates.
func Load(path string, getenv func(string) string) (Config, error) {
	cfg := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		if err := decode(b, &cfg); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	for env, field := range map[string]*string{
		"CROSSDOCK_HTTP_ADDR":    &cfg.HTTP.Addr,
		"CROSSDOCK_DATA_DIR":     &cfg.Store.DataDir,
		"CROSSDOCK_DATABASE_URL": &cfg.Store.DatabaseURL,
		"CROSSDOCK_ADMIN_KEY":    &cfg.Auth.AdminKey,
	} {
		if v := getenv(env); v != "" {
			*field = v
		}
	}
	if err := cfg.Validate(); err != nil {
		if path != "" {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
		return cfg, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// decode parses YAML strictly into cfg, turning the library's errors into
// one line naming the key path.
func decode(b []byte, cfg *Config) error {
	var doc any
	if err := yaml.Unmarshal(b, &doc); err == nil && doc == nil {
		return nil // empty, or only comments: all defaults
	}
	err := yaml.UnmarshalWithOptions(b, cfg, yaml.Strict())
	if err == nil {
		return nil
	}
	var ve *valueError
	if errors.As(err, &ve) {
		for i, l := range strings.Split(string(b), "\n") {
			if _, v, ok := strings.Cut(l, ":"); ok && strings.Trim(strings.TrimSpace(v), `"'`) == ve.value {
				return &Error{Problems: []Problem{{Key: keyPath(b, i+1), Message: fmt.Sprintf("%s (line %d)", ve.msg, i+1)}}}
			}
		}
		return &Error{Problems: []Problem{{Message: ve.msg}}}
	}
	var se yaml.Error
	if errors.As(err, &se) {
		tok := se.GetToken()
		msg := se.GetMessage()
		if tok != nil && tok.Position != nil {
			p := tok.Position
			key := keyPath(b, p.Line)
			if strings.Contains(msg, "unknown field") {
				return &Error{Problems: []Problem{{Key: key, Message: fmt.Sprintf("unknown key (line %d)", p.Line)}}}
			}
			return &Error{Problems: []Problem{{Key: key, Message: fmt.Sprintf("%s (line %d)", cleanMessage(msg), p.Line)}}}
		}
		return &Error{Problems: []Problem{{Message: cleanMessage(msg)}}}
	}
	return &Error{Problems: []Problem{{Message: err.Error()}}}
}

var unmarshalMsg = regexp.MustCompile(`cannot unmarshal (\w+) into Go .*?of type (\S+)`)

// cleanMessage rewords the library's type errors for people.
func cleanMessage(msg string) string {
	msg = strings.TrimSpace(msg)
	if m := unmarshalMsg.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("must be of type %s, not %s", strings.TrimPrefix(m[2], "config."), m[1])
	}
	return msg
}

// keyPath reconstructs the dotted key path of the key on line (1-based)
// from the indentation of the lines above it; list items show as [i].
func keyPath(src []byte, line int) string {
	lines := strings.Split(string(src), "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	k, indent, _ := yamlKey(lines[line-1])
	if k == "" {
		return ""
	}
	path := []string{k}
	for i := line - 2; i >= 0 && indent > 0; i-- {
		pk, pIndent, item := yamlKey(lines[i])
		if pIndent >= indent && !(item && pIndent == indent) {
			continue
		}
		if item && pIndent == indent {
			// the list item holding our key: count its earlier siblings
			n := 0
			for j := i - 1; j >= 0; j-- {
				_, jIndent, jItem := yamlKey(lines[j])
				if jIndent < indent-2 || (jIndent == indent-2 && !jItem && strings.TrimSpace(lines[j]) != "") {
					break
				}
				if jItem && jIndent == indent {
					n++
				}
			}
			path[0] = fmt.Sprintf("[%d].%s", n, path[0])
			indent -= 2
			continue
		}
		if pk == "" {
			continue
		}
		path = append([]string{pk}, path...)
		indent = pIndent
	}
	return strings.ReplaceAll(strings.Join(path, "."), ".[", "[")
}

// yamlKey returns the mapping key a line starts, its column, and whether
// the line starts a list item ("- key: …").
func yamlKey(l string) (string, int, bool) {
	trimmed := strings.TrimLeft(l, " ")
	indent := len(l) - len(trimmed)
	item := false
	if strings.HasPrefix(trimmed, "- ") {
		trimmed, indent, item = strings.TrimPrefix(trimmed, "- "), indent+2, true
	}
	k, _, ok := strings.Cut(trimmed, ":")
	if !ok || k == "" || strings.HasPrefix(k, "#") || strings.ContainsAny(k, " \t\"'{[") {
		return "", indent, item
	}
	return k, indent, item
}

// valueError is a bad scalar value; decode finds its key by the value.
type valueError struct {
	value string
	msg   string
}

func (e *valueError) Error() string { return e.msg }

// Problem is one invalid key.
type Problem struct {
	Key     string
	Message string
}

// Error lists every invalid key of a configuration.
type Error struct {
	Problems []Problem
}

// Error prints one problem per line.
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("\n")
		}
		if p.Key != "" {
			b.WriteString(p.Key + ": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

var keyName = regexp.MustCompile(`^[a-z0-9_.-]{1,64}$`)
var hexSHA = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Validate reports every violation, each naming its key path.
func (c Config) Validate() error {
	var ps []Problem
	bad := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		bad("http.addr", "must be host:port, e.g. 127.0.0.1:8080 (got %q)", c.HTTP.Addr)
	}
	intRange := func(key string, v, lo, hi int64) {
		if v < lo || v > hi {
			bad(key, "must be between %d and %d (got %d)", lo, hi, v)
		}
	}
	intRange("http.max_body_bytes", c.HTTP.MaxBodyBytes, 1<<10, 256<<20)
	intRange("http.max_batch_events", int64(c.HTTP.MaxBatchEvents), 1, 100000)
	positive := func(key string, d Duration) {
		if d <= 0 {
			bad(key, "must be a positive duration (got %s)", d.D())
		}
	}
	positive("http.read_timeout", c.HTTP.ReadTimeout)
	positive("http.write_timeout", c.HTTP.WriteTimeout)
	positive("http.idle_timeout", c.HTTP.IdleTimeout)
	positive("http.shutdown_timeout", c.HTTP.ShutdownTimeout)
	if c.Store.DataDir == "" {
		bad("store.data_dir", "must not be empty")
	}
	if u := c.Store.DatabaseURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "postgres" && pu.Scheme != "postgresql") {
			bad("store.database_url", "must start with postgres:// or postgresql://")
		}
	}
	intRange("store.read_conns", int64(c.Store.ReadConns), 1, 64)
	positive("store.busy_timeout", c.Store.BusyTimeout)
	intRange("store.max_conns", int64(c.Store.MaxConns), 2, 1000)
	intRange("pipeline.max_batch_events", int64(c.Pipeline.MaxBatchEvents), 1, 100000)
	if d := c.Pipeline.CommitDelay.D(); d < 0 || d > 100*time.Millisecond {
		bad("pipeline.commit_delay", "must be between 0 and 100ms (got %s)", d)
	}
	intRange("pipeline.queue_size", int64(c.Pipeline.QueueSize), 1, 1000000)
	intRange("pipeline.state_cache", int64(c.Pipeline.StateCache), 0, 1000000)
	if d := c.Pipeline.MaxFuture.D(); d < time.Minute || d > 8760*time.Hour {
		bad("pipeline.max_future", "must be between 1m and 8760h (got %s)", d)
	}
	if k := c.Auth.AdminKey; k != "" && len(k) < 16 {
		bad("auth.admin_key", "must be at least 16 characters (got %d)", len(k))
	}
	names := map[string]bool{}
	for i, k := range c.Auth.Keys {
		p := fmt.Sprintf("auth.keys[%d]", i)
		if !keyName.MatchString(k.Name) {
			bad(p+".name", "must match [a-z0-9_.-]{1,64} (got %q)", k.Name)
		} else if names[k.Name] {
			bad(p+".name", "duplicate key name %q", k.Name)
		}
		names[k.Name] = true
		if !hexSHA.MatchString(k.SHA256) {
			bad(p+".sha256", "must be the 64 lowercase hex characters of the key's SHA-256")
		}
		if len(k.Scopes) == 0 {
			bad(p+".scopes", "must list at least one scope of %s", strings.Join(Scopes, ", "))
		}
		for j, s := range k.Scopes {
			if !validScope(s) {
				bad(fmt.Sprintf("%s.scopes[%d]", p, j), "unknown scope %q; valid: %s", s, strings.Join(Scopes, ", "))
			}
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error (got %q)", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		bad("log.format", "must be json or text (got %q)", c.Log.Format)
	}
	if len(ps) > 0 {
		return &Error{Problems: ps}
	}
	return nil
}

func validScope(s string) bool {
	for _, v := range Scopes {
		if s == v {
			return true
		}
	}
	return false
}

// Redacted returns a copy safe to log or print: the admin key and the
// database URL's password are replaced by "***".
func (c Config) Redacted() Config {
	if c.Auth.AdminKey != "" {
		c.Auth.AdminKey = "***"
	}
	if u, err := url.Parse(c.Store.DatabaseURL); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "***")
			c.Store.DatabaseURL = u.String()
		}
	}
	c.Auth.Keys = append([]Key(nil), c.Auth.Keys...)
	return c
}
