package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// Config is everything crossdock reads at start. The zero value is not
// usable; start from Default (Load does).
type Config struct {
	HTTP     HTTP     `yaml:"http"`
	Store    Store    `yaml:"store"`
	Pipeline Pipeline `yaml:"pipeline"`
	Auth     Auth     `yaml:"auth"`
	Log      Log      `yaml:"log"`
}

// HTTP configures the API listener.
type HTTP struct {
	// Addr is the listen address, host:port; port 0 picks a free port.
	// Default "127.0.0.1:8080"; env CROSSDOCK_HTTP_ADDR.
	Addr string `yaml:"addr"`
	// MaxBodyBytes bounds a request body; larger ones answer 413.
	// Default 4194304 (4 MiB); 1024 (1 KiB)..268435456 (256 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxBatchEvents bounds the events in one POST /api/v1/events.
	// Default 1000; 1..100000.
	MaxBatchEvents int `yaml:"max_batch_events"`
	// ReadTimeout bounds reading a whole request. Default 30s; positive.
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response. Default 30s; positive.
	WriteTimeout Duration `yaml:"write_timeout"`
	// IdleTimeout closes idle keep-alive connections. Default 120s; positive.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// ShutdownTimeout bounds the graceful stop on SIGTERM/SIGINT.
	// Default 20s; positive.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
}

// Store selects and tunes storage.
type Store struct {
	// DataDir holds the embedded SQLite file (DataDir/crossdock.db) and the
	// generated admin key. Default "./crossdock-data"; must not be empty;
	// env CROSSDOCK_DATA_DIR.
	DataDir string `yaml:"data_dir"`
	// DatabaseURL, when set, selects PostgreSQL instead of the embedded
	// SQLite; it must start with postgres:// or postgresql://.
	// Default "" (SQLite); env CROSSDOCK_DATABASE_URL.
	DatabaseURL string `yaml:"database_url"`
	// ReadConns is the SQLite reader pool size. Default 4; 1..64.
	ReadConns int `yaml:"read_conns"`
	// BusyTimeout is how long SQLite waits for a lock. Default 5s; positive.
	BusyTimeout Duration `yaml:"busy_timeout"`
	// MaxConns is the PostgreSQL pool size. Default 16; 2..1000.
	MaxConns int `yaml:"max_conns"`
}

// Pipeline tunes the single writer.
type Pipeline struct {
	// MaxBatchEvents bounds the events in one write transaction (group
	// commit). Default 2000; 1..100000.
	MaxBatchEvents int `yaml:"max_batch_events"`
	// CommitDelay is how long the writer may wait to fill a batch.
	// Default 0: commit as soon as the previous commit ends (batches fill
	// while it runs); 0..100ms.
	CommitDelay Duration `yaml:"commit_delay"`
	// QueueSize is how many submissions may wait for the writer before
	// intake answers 503. Default 4096; 1..1000000.
	QueueSize int `yaml:"queue_size"`
	// StateCache is how many shipment and vehicle states the writer keeps
	// decoded between batches on the embedded store (PostgreSQL never caches:
	// other nodes write too). Default 4000; 0..1000000; 0 disables the cache.
	StateCache int `yaml:"state_cache"`
	// MaxFuture is how far ahead of the hub's clock an event time may be.
	// Default 24h; 1m..8760h.
	MaxFuture Duration `yaml:"max_future"`
}

// Auth declares API keys.
type Auth struct {
	// AdminKey is a bootstrap key holding every scope: at least 16
	// printable ASCII characters, no spaces. Default "" (then, with no Keys
	// either, serve generates one into DataDir/admin.key);
	// env CROSSDOCK_ADMIN_KEY.
	AdminKey string `yaml:"admin_key"`
	// Keys are further API keys, written down only as their SHA-256.
	// Default none.
	Keys []Key `yaml:"keys"`
}

// Key is an API key declared in config; only its SHA-256 is written down.
type Key struct {
	// Name identifies the key in logs and on events. Required, unique,
	// [a-z0-9_.-]{1,64}.
	Name string `yaml:"name"`
	// SHA256 is the SHA-256 of the key as 64 lowercase hex characters
	// (echo -n KEY | sha256sum). Required, unique.
	SHA256 string `yaml:"sha256"`
	// Scopes are what the key may do, each one of Scopes. Required.
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

// Default returns the configuration crossdock runs with when nothing is set.
func Default() Config {
	return Config{
		HTTP: HTTP{
			Addr:            "127.0.0.1:8080",
			MaxBodyBytes:    4 << 20,
			MaxBatchEvents:  1000,
			ReadTimeout:     Duration(30 * time.Second),
			WriteTimeout:    Duration(30 * time.Second),
			IdleTimeout:     Duration(120 * time.Second),
			ShutdownTimeout: Duration(20 * time.Second),
		},
		Store: Store{
			DataDir:     "./crossdock-data",
			ReadConns:   4,
			BusyTimeout: Duration(5 * time.Second),
			MaxConns:    16,
		},
		Pipeline: Pipeline{
			MaxBatchEvents: 2000,
			QueueSize:      4096,
			StateCache:     4000,
			MaxFuture:      Duration(24 * time.Hour),
		},
		Log: Log{Level: "info", Format: "json"},
	}
}

// Duration is a time.Duration written as a Go duration string ("1.5s",
// "20m") in YAML. A bare number other than 0 is an error: the unit is
// required.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration as time.Duration does ("1.5s").
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML parses a Go duration string. A null value leaves d as it
// was, so an empty key keeps its default.
func (d *Duration) UnmarshalYAML(n ast.Node) error {
	if n.Type() == ast.NullType {
		return nil
	}
	var s string
	if n.Type() == ast.MappingType || n.Type() == ast.SequenceType || yaml.NodeToValue(n, &s) != nil {
		return &valueError{tok: n.GetToken(), msg: "must be a duration such as 1.5s or 20m, got " + describe(n)}
	}
	s = strings.TrimSpace(s)
	v, err := time.ParseDuration(s)
	if err != nil {
		msg := fmt.Sprintf("must be a duration such as 1.5s or 20m, got %q", s)
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			msg = fmt.Sprintf("must be a duration with a unit, e.g. %ss, got %q", s, s)
		}
		return &valueError{tok: n.GetToken(), msg: msg}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration string.
func (d Duration) MarshalYAML() ([]byte, error) { return []byte(d.String()), nil }

// MarshalText writes the duration string (for JSON and log output).
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("config: must be a duration such as 1.5s or 20m, got %q", b)
	}
	*d = Duration(v)
	return nil
}
