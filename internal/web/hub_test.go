package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/api"
	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/reconcile"
	"github.com/crossdockhq/crossdock/internal/store/sqlite"
	"github.com/crossdockhq/crossdock/internal/web"
)

// Keys of the test hub besides the admin key, by the scopes they hold.
const (
	financeKey = "test-finance-key-0123456789"
	readKey    = "test-read-key-0123456789"
)

type hubOptions struct {
	now         func() time.Time
	streamEvery time.Duration
}

type testHub struct {
	srv     *httptest.Server
	console *web.Console
	st      *sqlite.Store
	rec     *reconcile.Runner
}

// clock is a settable time for session expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func digest(key string) string {
	d := sha256.Sum256([]byte(key))
	return hex.EncodeToString(d[:])
}

func newHub(t *testing.T, o hubOptions) testHub {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "crossdock.db")})
	if err != nil {
		t.Fatal(err)
	}
	m := obs.NewMetrics()
	p := pipeline.New(st, pipeline.Options{Metrics: m, StateCache: 100})
	keys, err := api.NewKeyRing(adminKey, []config.Key{
		{Name: "finance-clerk", SHA256: digest(financeKey), Scopes: []string{api.ScopeFinance}},
		{Name: "support-desk", SHA256: digest(readKey), Scopes: []string{api.ScopeRead}},
	}, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	var apiHandler http.Handler
	console := web.NewConsole(web.ConsoleOptions{
		API:  http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { apiHandler.ServeHTTP(w, r) }),
		Keys: keys, Logger: log, Now: o.now, StreamEvery: o.streamEvery,
	})
	pages := map[string]http.Handler{"GET /track/{shipment_id}": web.Track(st, log)}
	for _, pat := range console.Patterns() {
		pages[pat] = console
	}
	rec := reconcile.New(reconcile.Options{Store: st, Cases: p, Now: o.now})
	s := api.New(api.Options{Store: st, Pipeline: p, Keys: keys, Metrics: m, Logger: log, Limits: canonical.DefaultLimits(), Ready: st.Ping, Pages: pages,
		Reconcile: rec})
	apiHandler = s.Handler()
	srv := httptest.NewUnstartedServer(apiHandler)
	srv.Config.RegisterOnShutdown(console.Close)
	srv.Start()
	t.Cleanup(func() {
		console.Close()
		srv.Close()
		_ = p.Close(ctx)
		_ = st.Close()
	})
	return testHub{srv: srv, console: console, st: st, rec: rec}
}
