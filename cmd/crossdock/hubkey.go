package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/crossdockhq/crossdock/internal/app"
)

// hubKeyFlags registers -key and -data-dir on fs for a command that calls
// a running hub with a key holding scopes, and returns what resolves the
// key once fs is parsed: -key, else $CROSSDOCK_ADMIN_KEY, else the admin
// key the hub generated in -data-dir.
func hubKeyFlags(fs *flag.FlagSet, cmd, scopes string) func() (string, error) {
	key := fs.String("key", os.Getenv("CROSSDOCK_ADMIN_KEY"), "API key with "+scopes+"; default $CROSSDOCK_ADMIN_KEY, else the generated key in -data-dir")
	dataDir := fs.String("data-dir", envOr("CROSSDOCK_DATA_DIR", "./crossdock-data"), "where to find a generated admin key")
	return func() (string, error) {
		if *key != "" {
			return *key, nil
		}
		b, err := os.ReadFile(filepath.Join(*dataDir, app.AdminKeyFile))
		if err != nil {
			return "", fmt.Errorf("%s: no key: pass -key or set CROSSDOCK_ADMIN_KEY (%w)", cmd, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
}
