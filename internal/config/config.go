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
	HTTP      HTTP      `yaml:"http"`
	Store     Store     `yaml:"store"`
	Pipeline  Pipeline  `yaml:"pipeline"`
	Auth      Auth      `yaml:"auth"`
	Telemetry Telemetry `yaml:"telemetry"`
	Inputs    Inputs    `yaml:"inputs"`
	// Partners are declared partners with their mappings (see Partner).
	Partners []Partner `yaml:"partners,omitempty"`
	// Ownership names the system of record per entity.
	Ownership Ownership `yaml:"ownership,omitempty"`
	// Billing prices delivered shipments (rate cards) and says when.
	Billing Billing `yaml:"billing"`
	// Connectors deliver events out: ERPs, webhooks, brokers. None by default.
	Connectors []Connector `yaml:"connectors,omitempty"`
	// Monitors are the SLA monitors raising alert.raised; default
	// DefaultMonitors, [] for none.
	Monitors []Monitor `yaml:"monitors"`
	// Tracing exports OpenTelemetry traces; off by default.
	Tracing Tracing `yaml:"tracing"`
	// Reconciliation schedules the nightly reconciliation runs.
	Reconciliation Reconciliation `yaml:"reconciliation"`
	Log            Log            `yaml:"log"`
}

// Telemetry tunes how positions become milestones and how long raw
// positions are kept.
type Telemetry struct {
	// Retention is how long raw positions are kept (for replay and mileage
	// reconciliation); older ones are pruned. Default 720h (30 days); 1h..87600h.
	Retention Duration `yaml:"retention"`
	// DefaultRadiusM is the geofence radius of a stop whose order gives
	// none. Default 200; 10..50000.
	DefaultRadiusM float64 `yaml:"default_radius_m"`
	// HysteresisM is how far beyond a stop's radius a vehicle must be to
	// count as departed, so GPS jitter cannot flap. Default 50; 1..5000.
	HysteresisM float64 `yaml:"hysteresis_m"`
	// MaxSpeedKph: a jump between positions implying more is a GPS glitch,
	// dropped from the distance and counted. Default 200; 10..2000.
	MaxSpeedKph float64 `yaml:"max_speed_kph"`
	// FallbackSpeedKph is the ETA's speed while the vehicle is (nearly)
	// stopped. Default 50; 1..300.
	FallbackSpeedKph float64 `yaml:"fallback_speed_kph"`
	// RoadFactor turns straight-line distance into road distance for the
	// ETA. Default 1.3; 1..5.
	RoadFactor float64 `yaml:"road_factor"`
	// DelayMargin is how far inside the stop window the ETA must come back
	// to clear a delay. Default 5m; positive.
	DelayMargin Duration `yaml:"delay_margin"`
	// TemperatureGrace is how long readings may stay outside the order's
	// range before temperature_excursion. Default 10m; positive.
	TemperatureGrace Duration `yaml:"temperature_grace"`
	// RouteDeviationM is how far from the planned route counts as off
	// route. Default 1000; 10..100000.
	RouteDeviationM float64 `yaml:"route_deviation_m"`
	// RouteDeviationFor is how long off route before route_deviation.
	// Default 5m; positive.
	RouteDeviationFor Duration `yaml:"route_deviation_for"`
}

// Inputs enables the device inputs; each is off while its address (or
// URL) is empty.
type Inputs struct {
	OsmAnd    OsmAnd    `yaml:"osmand"`
	Teltonika Teltonika `yaml:"teltonika"`
	MQTT      MQTT      `yaml:"mqtt"`
	// NATS are JetStream consumers feeding partner mappings; none by default.
	NATS []NATSInput `yaml:"nats,omitempty"`
	// AMQP are RabbitMQ queues feeding partner mappings; none by default.
	AMQP []AMQPInput `yaml:"amqp,omitempty"`
}

// OsmAnd is the OsmAnd HTTP input (traccar client apps).
type OsmAnd struct {
	// Addr is the listen address, host:port (conventionally port 5055).
	// Default "" (off); env CROSSDOCK_OSMAND_ADDR.
	Addr string `yaml:"addr"`
}

// Teltonika is the Teltonika TCP input (codec 8, 8E, 16).
type Teltonika struct {
	// Addr is the listen address, host:port (conventionally port 5027).
	// Default "" (off); env CROSSDOCK_TELTONIKA_ADDR.
	Addr string `yaml:"addr"`
	// IdleTimeout closes a device connection silent this long.
	// Default 10m; positive.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxConnections bounds open device connections. Default 20000; 1..1000000.
	MaxConnections int `yaml:"max_connections"`
}

// MQTT is the MQTT telemetry subscriber.
type MQTT struct {
	// URL is the broker, tcp://host:1883 (or ssl://, ws://, wss://).
	// Default "" (off); env CROSSDOCK_MQTT_URL.
	URL string `yaml:"url"`
	// ClientID names crossdock's persistent session at the broker; messages
	// published while crossdock is away are kept under it. Default "crossdock".
	ClientID string `yaml:"client_id"`
	// Topic is subscribed with QoS 1; its last level is the device id.
	// Default "crossdock/telemetry/+".
	Topic string `yaml:"topic"`
	// Username and Password authenticate at the broker. Default "".
	Username string `yaml:"username"`
	Password string `yaml:"password"`
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
	// other nodes write too). Default 4000; 0..1000000; 0 disables the cache. A
	// fleet of N vehicles driving shipments wants about 2N (10,000 vehicles:
	// 20000, ~170 MB RSS under load, against ~110 MB at the default).
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
	// Scopes are what the key may do, each one of Scopes. Required, unless
	// Partner is set: a partner's key holds the partner's scopes.
	Scopes []string `yaml:"scopes"`
	// Partner, when set, makes this a key of that declared partner: it
	// sends as partner/{id} and reads only the partner's shipments.
	Partner string `yaml:"partner,omitempty"`
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
		Telemetry: Telemetry{
			Retention:         Duration(720 * time.Hour),
			DefaultRadiusM:    200,
			HysteresisM:       50,
			MaxSpeedKph:       200,
			FallbackSpeedKph:  50,
			RoadFactor:        1.3,
			DelayMargin:       Duration(5 * time.Minute),
			TemperatureGrace:  Duration(10 * time.Minute),
			RouteDeviationM:   1000,
			RouteDeviationFor: Duration(5 * time.Minute),
		},
		Inputs: Inputs{
			Teltonika: Teltonika{IdleTimeout: Duration(10 * time.Minute), MaxConnections: 20000},
			MQTT:      MQTT{ClientID: "crossdock", Topic: "crossdock/telemetry/+"},
		},
		Billing: Billing{Currency: "EUR", TaxRate: "0", RatingWait: Duration(2 * time.Hour), PODToleranceM: 100, PODOverdue: Duration(4 * time.Hour),
			InvoicePrefix: "INV"},
		Monitors:       DefaultMonitors(),
		Tracing:        Tracing{SampleRatio: 1},
		Reconciliation: DefaultReconciliation(),
		Log:            Log{Level: "info", Format: "json"},
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
