package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsAndFullExample(t *testing.T) {
	t.Parallel()
	none, err := Load("", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(none, Default()) {
		t.Fatalf("no file: %+v", none)
	}
	empty, err := Load(write(t, "# nothing\n"), noEnv)
	if err != nil || !reflect.DeepEqual(empty, Default()) {
		t.Fatalf("empty file: %v", err)
	}
	full, err := Load("testdata/full.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Auth.Keys = []Key{{Name: "portal-reader", SHA256: "4f2b3c0a6d1e5f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a", Scopes: []string{"read"}}}
	if !reflect.DeepEqual(full, want) {
		t.Fatalf("the documented example must state the defaults:\n got %+v\nwant %+v", full, want)
	}
}

func TestBadConfigs(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, yaml, want string }{
		{"unknown top-level key", "bogus: 1\n", "bogus: unknown key (line 1)"},
		{"unknown nested key", "http:\n  adress: x\n", "http.adress: unknown key (line 2)"},
		{"unknown key in a list item", "auth:\n  keys:\n    - name: a\n      sha256: x\n    - name: b\n      colour: red\n", "auth.keys[1].colour: unknown key (line 6)"},
		{"wrong type", "http:\n  max_body_bytes: lots\n", "http.max_body_bytes: must be of type int64, not string (line 2)"},
		{"bad duration", "pipeline:\n  commit_delay: 5 parsecs\n", `pipeline.commit_delay: must be a duration such as 1.5s or 20m (got "5 parsecs") (line 2)`},
		{"number out of range", "store:\n  read_conns: 0\n", "store.read_conns: must be between 1 and 64 (got 0)"},
		{"commit delay too long", "pipeline:\n  commit_delay: 1s\n", "pipeline.commit_delay: must be between 0 and 100ms"},
		{"bad listen address", "http:\n  addr: 8080\n", "http.addr: must be host:port"},
		{"bad scope", "auth:\n  keys:\n    - name: a\n      sha256: " + strings.Repeat("a", 64) + "\n      scopes: [write]\n", `auth.keys[0].scopes[0]: unknown scope "write"`},
		{"duplicate key names", "auth:\n  keys:\n    - {name: a, sha256: " + strings.Repeat("a", 64) + ", scopes: [read]}\n    - {name: a, sha256: " + strings.Repeat("b", 64) + ", scopes: [read]}\n", `auth.keys[1].name: duplicate key name "a"`},
		{"bad sha", "auth:\n  keys:\n    - {name: a, sha256: xyz, scopes: [read]}\n", "auth.keys[0].sha256: must be the 64 lowercase hex"},
		{"short admin key", "auth:\n  admin_key: short\n", "auth.admin_key: must be at least 16 characters"},
		{"bad database url", "store:\n  database_url: mysql://x\n", "store.database_url: must start with postgres:// or postgresql://"},
		{"bad log level", "log:\n  level: loud\n", `log.level: must be debug, info, warn or error (got "loud")`},
		{"mapping expected", "http: [1, 2]\n", "http: sequence was used where mapping is expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(write(t, tt.yaml), noEnv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEveryProblemIsReported(t *testing.T) {
	t.Parallel()
	_, err := Load(write(t, "store:\n  read_conns: 0\n  max_conns: 1\nlog:\n  format: xml\n"), noEnv)
	e, ok := err.(interface{ Unwrap() error })
	if !ok {
		t.Fatalf("%v", err)
	}
	ce, ok := e.Unwrap().(*Error)
	if !ok || len(ce.Problems) != 3 {
		t.Fatalf("%#v", e.Unwrap())
	}
}

func TestEnvironmentWins(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"CROSSDOCK_HTTP_ADDR":    "127.0.0.1:18080",
		"CROSSDOCK_DATA_DIR":     "/var/lib/crossdock",
		"CROSSDOCK_DATABASE_URL": "postgres://u:secret@db/crossdock",
		"CROSSDOCK_ADMIN_KEY":    "env-admin-key-0123456789",
	}
	p := write(t, "http:\n  addr: 0.0.0.0:9999\nstore:\n  data_dir: /tmp/x\nauth:\n  admin_key: file-admin-key-0123456789\n")
	cfg, err := Load(p, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Addr != env["CROSSDOCK_HTTP_ADDR"] || cfg.Store.DataDir != env["CROSSDOCK_DATA_DIR"] ||
		cfg.Store.DatabaseURL != env["CROSSDOCK_DATABASE_URL"] || cfg.Auth.AdminKey != env["CROSSDOCK_ADMIN_KEY"] {
		t.Fatalf("env did not win: %+v", cfg)
	}
	cfg, err = Load(p, noEnv)
	if err != nil || cfg.HTTP.Addr != "0.0.0.0:9999" {
		t.Fatalf("file value lost without env: %v %+v", err, cfg.HTTP)
	}
	if _, err := Load(p, func(k string) string {
		if k == "CROSSDOCK_DATABASE_URL" {
			return "sqlite:///x"
		}
		return ""
	}); err == nil || !strings.Contains(err.Error(), "store.database_url") {
		t.Fatalf("a bad env value must be named by its key: %v", err)
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Auth.AdminKey = "super-secret-admin-key"
	c.Store.DatabaseURL = "postgres://app:hunter2@db:5432/crossdock"
	r := c.Redacted()
	if r.Auth.AdminKey != "***" || strings.Contains(r.Store.DatabaseURL, "hunter2") || !strings.Contains(r.Store.DatabaseURL, "app:") {
		t.Fatalf("%+v", r)
	}
	if c.Auth.AdminKey != "super-secret-admin-key" {
		t.Fatal("Redacted changed the original")
	}
}

func TestDurationYAML(t *testing.T) {
	t.Parallel()
	var d Duration
	if err := d.UnmarshalYAML([]byte("1.5s")); err != nil || d.D() != 1500*time.Millisecond {
		t.Fatalf("%v %v", d, err)
	}
	b, _ := d.MarshalYAML()
	if string(b) != "1.5s" {
		t.Fatalf("%s", b)
	}
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
