package app

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossdockhq/crossdock/internal/config"
)

func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Store.DataDir = t.TempDir()
	return cfg
}

// start opens the app and stops it at once, as a start and SIGTERM would.
func start(t *testing.T, cfg config.Config, log *slog.Logger) {
	t.Helper()
	a, err := Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Serve(ctx); err != nil {
		t.Fatal(err)
	}
}

// With no key configured, the first start generates an admin key into the
// data directory (0600), the next start reuses it, and it is never logged.
func TestGeneratedAdminKey(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	open := func() string {
		start(t, cfg, log)
		b, err := os.ReadFile(filepath.Join(cfg.Store.DataDir, AdminKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	first := open()
	info, err := os.Stat(filepath.Join(cfg.Store.DataDir, AdminKeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v %v", info.Mode(), err)
	}
	if len(first) < 40 || !strings.HasPrefix(first, "cdk_") {
		t.Fatalf("weak key %q", first)
	}
	if second := open(); second != first {
		t.Fatal("a restart generated a new key")
	}
	if strings.Contains(logs.String(), first) {
		t.Fatal("the admin key was logged")
	}
}

// A configured key means nothing is generated.
func TestConfiguredKeyGeneratesNothing(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Auth.AdminKey = "configured-admin-key-0123"
	start(t, cfg, slog.New(slog.DiscardHandler))
	if _, err := os.Stat(filepath.Join(cfg.Store.DataDir, AdminKeyFile)); !os.IsNotExist(err) {
		t.Fatalf("a key file was written: %v", err)
	}
}
