package hubtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// AdminKey is the bootstrap key every hub started here gets.
const AdminKey = "hubtest-admin-key-0123456789abcdef"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds ./cmd/crossdock once per test process (with the race
// detector when the tests run with it) and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "crossdock-hubtest-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "crossdock")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "github.com/crossdockhq/crossdock/cmd/crossdock")
		cmd := exec.Command("go", args...)
		cmd.Dir = moduleRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Hub is one running crossdock process.
type Hub struct {
	t       testing.TB
	URL     string
	Addr    string
	DataDir string
	Env     []string
	// OsmAndAddr and TeltonikaAddr are the device inputs' addresses when
	// Options.Inputs is set; they stay the same across restarts.
	OsmAndAddr, TeltonikaAddr string
	configFile                string
	cmd                       *exec.Cmd
	logs                      *syncBuffer
	exited                    chan struct{}
}

// Options configure a hub. Zero values are fine.
type Options struct {
	DataDir     string   // default t.TempDir()
	DatabaseURL string   // postgres://… to run on PostgreSQL
	Env         []string // extra KEY=VALUE
	Inputs      bool     // enable the OsmAnd and Teltonika inputs on free ports
	Config      string   // YAML config file contents; "" for none
}

// Start starts a hub and waits until /readyz answers 200.
func Start(t testing.TB, o Options) *Hub {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	h := &Hub{t: t, DataDir: o.DataDir}
	h.Env = append([]string{
		"CROSSDOCK_DATA_DIR=" + o.DataDir,
		"CROSSDOCK_ADMIN_KEY=" + AdminKey,
		"CROSSDOCK_DATABASE_URL=" + o.DatabaseURL,
	}, o.Env...)
	if o.Config != "" {
		h.configFile = filepath.Join(t.TempDir(), "crossdock.yaml")
		if err := os.WriteFile(h.configFile, []byte(o.Config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if o.Inputs {
		h.OsmAndAddr, h.TeltonikaAddr = freeAddr(t), freeAddr(t)
		h.Env = append(h.Env, "CROSSDOCK_OSMAND_ADDR="+h.OsmAndAddr, "CROSSDOCK_TELTONIKA_ADDR="+h.TeltonikaAddr)
	}
	h.start()
	t.Cleanup(func() { h.Kill() })
	return h
}

// SetConfig replaces the hub's config file; a Restart reads it (an
// operator fixing the config).
func (h *Hub) SetConfig(yaml string) {
	h.t.Helper()
	if h.configFile == "" {
		h.configFile = filepath.Join(h.t.TempDir(), "crossdock.yaml")
	}
	if err := os.WriteFile(h.configFile, []byte(yaml), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// Restart starts the same hub again (same data, new port) after it stopped.
func (h *Hub) Restart() {
	h.t.Helper()
	h.start()
}

func (h *Hub) start() {
	h.t.Helper()
	addr := freeAddr(h.t)
	h.Addr, h.URL = addr, "http://"+addr
	cmd := exec.Command(Binary(h.t), "serve")
	cmd.Env = append(append(os.Environ(), h.Env...), "CROSSDOCK_HTTP_ADDR="+addr, "CROSSDOCK_CONFIG="+h.configFile)
	h.logs = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = h.logs, h.logs
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("start crossdock: %v", err)
	}
	h.cmd, h.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(h.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(h.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-h.exited:
			h.t.Fatalf("crossdock exited during start: %s", h.logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("crossdock not ready after 60s: %s", h.logs.String())
		}
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (h *Hub) Kill() {
	if h.cmd == nil || h.cmd.Process == nil {
		return
	}
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	<-h.exited
}

// Stop sends SIGTERM and returns the exit code.
func (h *Hub) Stop(timeout time.Duration) int {
	h.t.Helper()
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited:
	case <-time.After(timeout):
		h.Kill()
		h.t.Fatalf("crossdock did not stop within %s: %s", timeout, h.logs.String())
	}
	return h.cmd.ProcessState.ExitCode()
}

// Logs returns what the process printed so far.
func (h *Hub) Logs() string { return h.logs.String() }

// syncBuffer is the hub's output: the process writes it while a test may
// read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Do sends a request with the admin key and returns status and body.
func (h *Hub) Do(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, error) {
	return h.DoAs(ctx, AdminKey, method, path, contentType, body)
}

// DoAs is Do with another key ("" for none).
func (h *Hub) DoAs(ctx context.Context, key, method, path, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, h.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// GetJSON GETs path with the admin key and decodes a 200 answer into v.
func (h *Hub) GetJSON(path string, v any) int {
	h.t.Helper()
	status, body, err := h.Do(context.Background(), http.MethodGet, path, "", nil)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	if status == http.StatusOK && v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			h.t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return status
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
