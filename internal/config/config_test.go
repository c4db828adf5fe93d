package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.golden from the current messages")

func noEnv(string) string { return "" }

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	if err := Default().Validate(); err != nil {
		t.Fatalf("the defaults must be valid: %v", err)
	}
	none, err := Load("", noEnv)
	if err != nil || !reflect.DeepEqual(none, Default()) {
		t.Fatalf("no file: %v %+v", err, none)
	}
	for _, body := range []string{"", "# only a comment\n", "---\n", "~\n", "http:\nstore:\n", "http:\n  addr:\n  read_timeout:\n", "http: {}\nauth: {keys: []}\n"} {
		cfg, err := Load(write(t, body), noEnv)
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		want := Default()
		if strings.Contains(body, "keys: []") {
			want.Auth.Keys = []Key{}
		}
		if !reflect.DeepEqual(cfg, want) {
			t.Fatalf("%q: unset keys must keep their defaults:\n got %+v\nwant %+v", body, cfg, want)
		}
	}
}

func TestFullExample(t *testing.T) {
	t.Parallel()
	full, err := Load("testdata/full.yaml", func(k string) string {
		if k == "ACME_WEBHOOK_SECRET" {
			return "a-secret-of-24-characters"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Auth.Keys = []Key{
		{Name: "portal-reader", SHA256: "4f2b3c0a6d1e5f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a", Scopes: []string{"read"}},
		{Name: "acme-ci", SHA256: "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b", Partner: "acme-tms"},
	}
	want.Partners = []Partner{{
		ID: "acme-tms", Name: "ACME TMS", Scopes: []string{"events:write", "read"},
		RateLimit: RateLimit{PerSecond: 100, Burst: 200},
		Signing:   &Signing{SecretEnv: "ACME_WEBHOOK_SECRET", Header: "X-Crossdock-Signature", Window: Duration(5 * time.Minute), fromEnv: "a-secret-of-24-characters"},
		Tables:    map[string]map[string]any{"status_codes": {"DEP": "departed", "ARR": "arrived"}},
		Inbound: []Mapping{{Name: "status", Timeout: Duration(100 * time.Millisecond),
			JQ: "{type: \"shipment.milestone\", id: .eventId, subject: .load, time: .ts,\n data: {code: (.code | code(\"status_codes\")), stop_id: .stop}}\n"}},
		Files: []FileMapping{{Name: "positions", Timeout: Duration(100 * time.Millisecond), Delimiter: ",",
			JQ: "{type: \"telemetry.position\", id: \"\\(.truck)@\\(.time)\", subject: .truck,\n time: .time, data: {lat: .lat, lon: .lon}}\n",
			Columns: []Column{
				{Name: "time", Header: "Timestamp", Type: "time", Layout: "2006-01-02 15:04:05", Location: "Europe/Berlin", Required: true},
				{Name: "truck", Header: "Truck", Type: "string", Required: true},
				{Name: "lat", Header: "Latitude", Type: "number", Required: true},
				{Name: "lon", Header: "Longitude", Type: "number", Required: true},
			}}},
	}}
	want.Ownership = Ownership{Orders: []string{}, Customers: []string{}, Locations: []string{}, Precedence: []string{}}
	want.Billing.RateCards = []RateCard{{CustomerID: "*", PerKm: "1.20", PerStop: "25.00", Minimum: "150.00", FuelSurchargePct: "8.5",
		Accessorials: map[string]any{"liftgate": "75.00", "detention_per_hour": "60.00", "detention_free_minutes": uint64(120)}}}
	want.Connectors = []Connector{{Name: "erp", Kind: "rest", URL: "http://127.0.0.1:9900/invoices", Events: []string{"invoice.ready"},
		Retry:   Retry{MaxAttempts: 10, Initial: Duration(time.Second), Max: Duration(5 * time.Minute)},
		Headers: map[string]string{"X-Tenant": "eu"}, Timeout: Duration(10 * time.Second), Options: map[string]string{}, Concurrency: 8,
		ReconcileURL: "http://127.0.0.1:9900/invoices/{invoice_id}"}}
	want.Inputs.NATS = []NATSInput{{Name: "carrier-events", URL: "nats://127.0.0.1:4222", Stream: "CARRIER", Subjects: []string{"carrier.>"},
		Durable: "crossdock", Partner: "acme-tms", Mapping: "status"}}
	want.Inputs.AMQP = []AMQPInput{{Name: "erp-orders", URL: "amqp://guest:guest@127.0.0.1:5672/", Queue: "crossdock.orders", Declare: true,
		RoutingKeys: []string{}, Prefetch: 100, Partner: "acme-tms", Mapping: "status"}}
	if !reflect.DeepEqual(full, want) {
		t.Fatalf("the documented example must state the defaults:\n got %+v\nwant %+v", full, want)
	}

	// Every key of Config appears in the example, so the docs list them all.
	src, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{}
	ast.Walk(visitor(func(n ast.Node) {
		if v, ok := n.(*ast.MappingValueNode); ok {
			written[indexRE.ReplaceAllString(keyPath(v.GetPath()), "[]")] = true
		}
	}), f.Docs[0].Body)
	for _, k := range leafKeys(configType, "") {
		if !written[k] {
			t.Errorf("testdata/full.yaml does not document %s", k)
		}
	}
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// leafKeys lists the key paths of t's fields, list items written as [].
func leafKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue // resolved values (secrets read from the environment)
		}
		k := strings.TrimPrefix(prefix+"."+yamlName(f), ".")
		keys = append(keys, k)
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != durationType:
			keys = append(keys[:len(keys)-1], leafKeys(f.Type, k)...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			keys = append(keys, leafKeys(f.Type.Elem(), k+"[]")...)
		}
	}
	return keys
}

// The documented example in docs/ is the tested one.
func TestDocsExampleIsCurrent(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/configuration.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tested, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(doc) != string(tested) {
		t.Fatal("docs/configuration.yaml differs from internal/config/testdata/full.yaml: copy it over")
	}
}

// TestBadConfigs loads each testdata/bad/NAME.yaml and compares the whole
// error text with NAME.golden (go test -run TestBadConfigs -update rewrites
// the golden files).
func TestBadConfigs(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Load(file, noEnv)
			if err == nil {
				t.Fatalf("loaded: %+v", cfg)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != file || len(e.Problems) == 0 {
				t.Fatalf("want an *Error for %s, got %T %v", file, err, err)
			}
			for _, p := range e.Problems {
				if p.Message == "" || strings.Contains(p.Message, "Go struct") || strings.Contains(p.Message, "secret") {
					t.Errorf("problem %+v: empty, in Go terms, or repeating a secret", p)
				}
			}
			if !reflect.DeepEqual(cfg, Config{}) {
				t.Errorf("on error Load must return the zero Config, got %+v", cfg)
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			got := err.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestBadConfigs -update)", err)
			}
			if got != string(want) {
				t.Fatalf("%s:\n got %s\nwant %s", file, got, want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	err := Config{}.Validate()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%T %v", err, err)
	}
	var keys []string
	for _, p := range e.Problems {
		keys = append(keys, p.Key)
	}
	want := []string{
		"http.addr", "http.max_body_bytes", "http.max_batch_events", "http.read_timeout", "http.write_timeout",
		"http.idle_timeout", "http.shutdown_timeout", "store.data_dir", "store.read_conns", "store.busy_timeout",
		"store.max_conns", "pipeline.max_batch_events", "pipeline.queue_size", "pipeline.max_future",
		"telemetry.retention", "telemetry.default_radius_m", "telemetry.hysteresis_m", "telemetry.max_speed_kph",
		"telemetry.fallback_speed_kph", "telemetry.road_factor", "telemetry.delay_margin", "telemetry.temperature_grace",
		"telemetry.route_deviation_m", "telemetry.route_deviation_for", "inputs.teltonika.idle_timeout",
		"inputs.teltonika.max_connections", "billing.invoice_prefix", "billing.rating_wait", "billing.pod_overdue",
		"reconciliation.schedule", "reconciliation.kinds", "reconciliation.lookback", "reconciliation.stuck_ready_after",
		"reconciliation.distance_tolerance_km", "reconciliation.distance_tolerance_pct", "reconciliation.fuel_max_station_km",
		"reconciliation.fuel_outlier_z", "reconciliation.fuel_min_distance_km", "log.level", "log.format",
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("the zero Config:\n got %q\nwant %q", keys, want)
	}
	if lines := strings.Count(err.Error(), "\n") + 1; lines != len(want) {
		t.Fatalf("want one line per problem, got %d lines:\n%v", lines, err)
	}
}

func TestValidateKeys(t *testing.T) {
	t.Parallel()
	sha := func(c string) string { return strings.Repeat(c, 64) }
	tests := []struct {
		name string
		cfg  func(*Config)
		want []Problem // nil: valid
	}{
		{"admin key of 16 characters", func(c *Config) { c.Auth.AdminKey = "0123456789abcdef" }, nil},
		{"admin key with a space", func(c *Config) { c.Auth.AdminKey = "0123456789 abcdef" },
			[]Problem{{"auth.admin_key", "must be printable ASCII without spaces (it travels in an Authorization header)"}}},
		{"every scope", func(c *Config) { c.Auth.Keys = []Key{{Name: "a.b_c-1", SHA256: sha("a"), Scopes: Scopes}} }, nil},
		{"no scopes", func(c *Config) { c.Auth.Keys = []Key{{Name: "a", SHA256: sha("a")}} },
			[]Problem{{"auth.keys[0].scopes", "is required: one or more of events:write, read, ops, finance, admin"}}},
		{"same key twice", func(c *Config) {
			c.Auth.Keys = []Key{{Name: "a", SHA256: sha("a"), Scopes: []string{"read"}}, {Name: "b", SHA256: sha("a"), Scopes: []string{"ops"}}}
		}, []Problem{{"auth.keys[1].sha256", "same key as auth.keys[0]"}}},
		{"name too long", func(c *Config) {
			c.Auth.Keys = []Key{{Name: strings.Repeat("a", 65), SHA256: sha("a"), Scopes: []string{"read"}}}
		},
			[]Problem{{"auth.keys[0].name", `must be 1 to 64 of a-z 0-9 _ . -, got "` + strings.Repeat("a", 65) + `"`}}},
		{"postgresql scheme", func(c *Config) { c.Store.DatabaseURL = "postgresql://u:p@db:5432/crossdock?sslmode=disable" }, nil},
		{"unparsable url", func(c *Config) { c.Store.DatabaseURL = "postgres://u:100%@db/crossdock" },
			[]Problem{{"store.database_url", "is not a valid URL; percent-encode special characters in the user name and password"}}},
		{"any port", func(c *Config) { c.HTTP.Addr = ":0" }, nil},
		{"port out of range", func(c *Config) { c.HTTP.Addr = "127.0.0.1:65536" },
			[]Problem{{"http.addr", `port must be a number 0..65535, got "65536"`}}},
		{"commit delay at its bound", func(c *Config) { c.Pipeline.CommitDelay = Duration(100 * time.Millisecond) }, nil},
		{"state cache off", func(c *Config) { c.Pipeline.StateCache = 0 }, nil},
		{"negative commit delay", func(c *Config) { c.Pipeline.CommitDelay = Duration(-time.Millisecond) },
			[]Problem{{"pipeline.commit_delay", "must be between 0s and 100ms, got -1ms"}}},
		{"inputs on", func(c *Config) {
			c.Inputs.OsmAnd.Addr, c.Inputs.Teltonika.Addr, c.Inputs.MQTT.URL = "0.0.0.0:5055", ":5027", "tcp://127.0.0.1:1883"
		}, nil},
		{"osmand address without a port", func(c *Config) { c.Inputs.OsmAnd.Addr = "localhost" },
			[]Problem{{"inputs.osmand.addr", `must be host:port, e.g. 0.0.0.0:5055, got "localhost"`}}},
		{"mqtt over http", func(c *Config) { c.Inputs.MQTT.URL = "http://broker:1883" },
			[]Problem{{"inputs.mqtt.url", "must be tcp://host:port (or ssl://, ws://, wss://)"}}},
		{"mqtt topic without the device level", func(c *Config) { c.Inputs.MQTT.URL, c.Inputs.MQTT.Topic = "tcp://b:1883", "fleet/#" },
			[]Problem{{"inputs.mqtt.topic", "must be a topic filter ending in /+ (the device id level) without #, e.g. crossdock/telemetry/+"}}},
		{"hysteresis zero", func(c *Config) { c.Telemetry.HysteresisM = 0 },
			[]Problem{{"telemetry.hysteresis_m", "must be between 1 and 5000, got 0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			tt.cfg(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || !reflect.DeepEqual(e.Problems, tt.want) {
				t.Fatalf("got %v\nwant %+v", err, tt.want)
			}
		})
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	t.Parallel()
	file := write(t, "http:\n  addr: 0.0.0.0:9999\nstore:\n  data_dir: /srv/file\n  database_url: postgres://file@db/x\nauth:\n  admin_key: file-admin-key-0123456789\n")
	env := map[string]string{
		"CROSSDOCK_HTTP_ADDR":    "127.0.0.1:18080",
		"CROSSDOCK_DATA_DIR":     "/srv/env",
		"CROSSDOCK_DATABASE_URL": "postgres://env:secret@db/crossdock",
		"CROSSDOCK_ADMIN_KEY":    "env-admin-key-0123456789",
	}
	fromFile := Config{}
	fromFile.HTTP.Addr, fromFile.Store.DataDir = "0.0.0.0:9999", "/srv/file"
	fromFile.Store.DatabaseURL, fromFile.Auth.AdminKey = "postgres://file@db/x", "file-admin-key-0123456789"
	fromDefault := Default()

	pick := func(c Config) [4]string {
		return [4]string{c.HTTP.Addr, c.Store.DataDir, c.Store.DatabaseURL, c.Auth.AdminKey}
	}
	tests := []struct {
		name string
		path string
		env  map[string]string
		want [4]string
	}{
		{"env wins over the file", file, env, pick(Config{HTTP: HTTP{Addr: env["CROSSDOCK_HTTP_ADDR"]},
			Store: Store{DataDir: env["CROSSDOCK_DATA_DIR"], DatabaseURL: env["CROSSDOCK_DATABASE_URL"]},
			Auth:  Auth{AdminKey: env["CROSSDOCK_ADMIN_KEY"]}})},
		{"env wins over the defaults", "", env, pick(Config{HTTP: HTTP{Addr: env["CROSSDOCK_HTTP_ADDR"]},
			Store: Store{DataDir: env["CROSSDOCK_DATA_DIR"], DatabaseURL: env["CROSSDOCK_DATABASE_URL"]},
			Auth:  Auth{AdminKey: env["CROSSDOCK_ADMIN_KEY"]}})},
		{"the file wins over the defaults", file, nil, pick(fromFile)},
		{"empty variables do not override", file, map[string]string{"CROSSDOCK_HTTP_ADDR": "", "CROSSDOCK_DATA_DIR": "", "CROSSDOCK_DATABASE_URL": "", "CROSSDOCK_ADMIN_KEY": ""}, pick(fromFile)},
		{"one variable", file, map[string]string{"CROSSDOCK_DATA_DIR": "/srv/one"}, [4]string{"0.0.0.0:9999", "/srv/one", "postgres://file@db/x", "file-admin-key-0123456789"}},
		{"nothing at all", "", nil, pick(fromDefault)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Load(tt.path, func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got := pick(cfg); got != tt.want {
				t.Fatalf("got %q\nwant %q", got, tt.want)
			}
		})
	}
	if cfg, err := Load(file, nil); err != nil || cfg.HTTP.Addr != "0.0.0.0:9999" {
		t.Fatalf("a nil getenv reads no variables: %v %+v", err, cfg.HTTP)
	}
}

func TestBadEnvironmentValueNamesTheVariable(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CROSSDOCK_DATABASE_URL": "mysql://u:secret@db/x", "CROSSDOCK_ADMIN_KEY": "short-secret"}
	_, err := Load("", func(k string) string { return env[k] })
	want := "store.database_url: must start with postgres:// or postgresql:// (set by CROSSDOCK_DATABASE_URL)\n" +
		"auth.admin_key: must be at least 16 characters, got 12 (set by CROSSDOCK_ADMIN_KEY)"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), noEnv)
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "config: ") {
		t.Fatalf("%v", err)
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	tests := []struct{ url, want string }{
		{"", ""},
		{"postgres://app:hunter2@db:5432/crossdock?sslmode=require", "postgres://app:***@db:5432/crossdock?sslmode=require"},
		{"postgresql://app@db/crossdock", "postgresql://app@db/crossdock"},
		{"postgres://db:5432/crossdock", "postgres://db:5432/crossdock"},
		{"postgres://app:p%40ss@db/crossdock", "postgres://app:***@db/crossdock"},
		{"postgres://app:pa/ss@w?rd@db/crossdock", "postgres://app:***@db/crossdock"},
		{"postgres://app:100%@db/crossdock", "postgres://app:***@db/crossdock"},
		{"postgres:///crossdock?host=/run/postgresql&user=app&password=hunter2&sslmode=disable", "postgres:///crossdock?host=/run/postgresql&user=app&password=***&sslmode=disable"},
		{"postgres://app:hunter2@db/x?sslpassword=hunter3", "postgres://app:***@db/x?sslpassword=***"},
		{"host=db user=app password='hunter 2' dbname=x", "host=db user=app password=*** dbname=x"},
	}
	for _, tt := range tests {
		c := Default()
		c.Store.DatabaseURL = tt.url
		if got := c.Redacted().Store.DatabaseURL; got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.url, got, tt.want)
		}
	}

	c := Default()
	c.Inputs.MQTT.URL, c.Inputs.MQTT.Password = "tcp://fleet:broker-secret@mq:1883", "broker-secret"
	if m := c.Redacted().Inputs.MQTT; m.Password != "***" || m.URL != "tcp://fleet:***@mq:1883" {
		t.Errorf("mqtt credentials not redacted: %+v", m)
	}

	c = Default()
	c.Auth.AdminKey = "super-secret-admin-key"
	c.Auth.Keys = []Key{{Name: "a", SHA256: strings.Repeat("a", 64), Scopes: []string{"read"}}}
	r := c.Redacted()
	if r.Auth.AdminKey != "***" || !reflect.DeepEqual(r.Auth.Keys, c.Auth.Keys) {
		t.Fatalf("%+v", r.Auth)
	}
	r.Auth.Keys[0].Scopes[0] = "admin"
	r.Auth.Keys[0].Name = "b"
	if c.Auth.AdminKey != "super-secret-admin-key" || c.Auth.Keys[0].Scopes[0] != "read" || c.Auth.Keys[0].Name != "a" {
		t.Fatal("Redacted shares memory with the original")
	}
	if Default().Redacted().Auth.AdminKey != "" {
		t.Fatal("an unset admin key stays empty")
	}
	out, err := yaml.Marshal(r)
	if err != nil || strings.Contains(string(out), "super-secret") {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	var c struct {
		D Duration `yaml:"d"`
	}
	for _, tt := range []struct {
		yaml string
		want time.Duration
	}{
		{"d: 1.5s", 1500 * time.Millisecond},
		{"d: '20m'", 20 * time.Minute},
		{"d: 0", 0},
		{"d: 1h30m", 90 * time.Minute},
	} {
		if err := yaml.Unmarshal([]byte(tt.yaml), &c); err != nil || c.D.D() != tt.want {
			t.Errorf("%s: %v %v", tt.yaml, c.D, err)
		}
	}
	c.D = Duration(7 * time.Second)
	if err := yaml.Unmarshal([]byte("d:\n"), &c); err != nil || c.D.D() != 7*time.Second {
		t.Errorf("null must keep the value: %v %v", c.D, err)
	}
	for _, bad := range []string{"d: 30", "d: fast", "d: [1s]", "d: {s: 1}"} {
		err := yaml.Unmarshal([]byte(bad), &c)
		var ye yaml.Error
		if !errors.As(err, &ye) || ye.GetToken() == nil || !strings.Contains(err.Error(), "must be a duration") {
			t.Errorf("%s: want a positioned yaml.Error, got %T %v", bad, err, err)
		}
	}
	out, err := yaml.Marshal(struct {
		D Duration `yaml:"d"`
	}{Duration(1500 * time.Millisecond)})
	if err != nil || string(out) != "d: 1.5s\n" {
		t.Errorf("%q %v", out, err)
	}
	var d Duration
	if err := d.UnmarshalText([]byte("2m")); err != nil || d.D() != 2*time.Minute || d.String() != "2m0s" {
		t.Errorf("%v %v", d, err)
	}
	if b, _ := d.MarshalText(); string(b) != "2m0s" {
		t.Errorf("%s", b)
	}
	if err := d.UnmarshalText([]byte("2")); err == nil {
		t.Error("a duration without unit must be an error")
	}
}

// What Default marshals to loads back to Default: a config can be printed
// (Redacted) and edited.
func TestMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	want := Default()
	want.Auth.Keys = []Key{{Name: "ci", SHA256: strings.Repeat("0", 64), Scopes: []string{"events:write", "read"}}}
	want.Pipeline.CommitDelay = Duration(2500 * time.Microsecond)
	out, err := yaml.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load(write(t, string(out)), noEnv)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("%v\n%s\n got %+v\nwant %+v", err, out, got, want)
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ key, path, want string }{
		{"address", "$.http", "; did you mean addr?"},
		{"adress", "$.http", "; known keys: addr, max_body_bytes, max_batch_events, read_timeout, write_timeout, idle_timeout, shutdown_timeout"},
		{"max_body", "$.http", "; did you mean max_body_bytes?"},
		{"sha", "$.auth.keys[0]", "; did you mean sha256?"},
		{"Addr", "$.http", "; did you mean addr?"},
		{"readconns", "$.store", "; did you mean read_conns?"},
		{"colour", "$.auth.keys[3]", "; known keys: name, sha256, scopes, partner"},
		{"x", "$.nowhere", ""},
	} {
		if got := suggest(tt.key, typeAt(tt.path)); got != tt.want {
			t.Errorf("%s at %s: got %q want %q", tt.key, tt.path, got, tt.want)
		}
	}
}

// Numbers and booleans in string fields stay as written: YAML would read
// them as numbers, and printing them back would change a key.
func TestScalarsInStringFieldsStayAsWritten(t *testing.T) {
	t.Parallel()
	digits := strings.Repeat("0123456789", 6) + "0123"
	cfg, err := Load(write(t, "http:\n  addr: 127.0.0.1:0\nstore:\n  data_dir: 0x10\nauth:\n  admin_key: 0123456789012345678\n  keys:\n"+
		"    - {name: 007, sha256: "+digits+", scopes: [read]}\n    - name: 1e3\n      sha256: "+strings.Repeat("1", 64)+"\n      scopes: [ops]\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{cfg.Store.DataDir, cfg.Auth.AdminKey, cfg.Auth.Keys[0].Name, cfg.Auth.Keys[0].SHA256, cfg.Auth.Keys[1].Name, cfg.Auth.Keys[1].SHA256}
	want := []string{"0x10", "0123456789012345678", "007", digits, "1e3", strings.Repeat("1", 64)}
	if !slices.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestBillingPricesAsDecimalText(t *testing.T) {
	t.Parallel()
	cfg, err := Load(write(t, "billing:\n  tax_rate: \"0.19\"\n  rate_cards:\n    - customer_id: \"*\"\n      per_km: \"1.10\"\n      accessorials: {liftgate: 1000000.00, detention_per_hour: 60, detention_free_minutes: 90}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := cfg.Billing.Engine(); err != nil || e == nil {
		t.Fatalf("engine: %v", err)
	}
	for v, want := range map[any]string{1000000.00: "1000000", 75.5: "75.5", uint64(120): "120", "75.00": "75.00"} {
		if got := decimalText(v); got != want {
			t.Errorf("decimalText(%v) = %q, want %q", v, got, want)
		}
	}
}
