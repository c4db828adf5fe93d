package dropdir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2024, 3, 1, 8, 15, 0, 123456789, time.UTC)

const stamped = "20240301T081500.123456789Z-"

// fixture is a Watcher on a temporary folder with a manual clock and a
// Handler that records calls and returns what results says.
type fixture struct {
	t       *testing.T
	dir     string
	w       *Watcher
	clock   time.Time
	calls   []string          // names handled, in order
	bodies  map[string]string // what Handler read
	results map[string][]error
	log     bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fx := &fixture{t: t, dir: t.TempDir(), clock: t0, bodies: map[string]string{}, results: map[string][]error{}}
	w, err := New(Config{
		Dir: fx.dir, Interval: time.Second, MaxBackoff: 4 * time.Second,
		Logger: slog.New(slog.NewTextHandler(&fx.log, nil)),
		Handle: func(_ context.Context, name string, f *os.File) error {
			fx.calls = append(fx.calls, name)
			b, err := io.ReadAll(f)
			if err != nil {
				return err
			}
			fx.bodies[name] = string(b)
			if rs := fx.results[name]; len(rs) > 0 {
				fx.results[name] = rs[1:]
				return rs[0]
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.now = func() time.Time { return fx.clock }
	fx.w = w
	return fx
}

func (fx *fixture) write(name, body string) {
	fx.t.Helper()
	if err := os.WriteFile(filepath.Join(fx.dir, name), []byte(body), 0o640); err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *fixture) scan() {
	fx.t.Helper()
	if err := fx.w.Scan(context.Background()); err != nil {
		fx.t.Fatalf("Scan: %v", err)
	}
}

// ls lists a folder below dir ("" for dir itself), without subfolders.
func (fx *fixture) ls(sub string) []string {
	fx.t.Helper()
	entries, err := os.ReadDir(filepath.Join(fx.dir, sub))
	if err != nil {
		fx.t.Fatal(err)
	}
	names := []string{}
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

func (fx *fixture) expect(calls, left, done, failed []string) {
	fx.t.Helper()
	for _, c := range []struct {
		what      string
		got, want []string
	}{{"calls", fx.calls, calls}, {"left", fx.ls(""), left}, {"done", fx.ls(DoneDir), done}, {"failed", fx.ls(FailedDir), failed}} {
		if len(c.got) == 0 && len(c.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(c.got, c.want) {
			fx.t.Fatalf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	if _, err := New(Config{Dir: dir, Handle: func(context.Context, string, *os.File) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{DoneDir, FailedDir} {
		st, err := os.Stat(filepath.Join(dir, sub))
		if err != nil || !st.IsDir() || st.Mode().Perm()&^0o750 != 0 {
			t.Fatalf("%s: %v, %v", sub, st.Mode(), err)
		}
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h := func(context.Context, string, *os.File) error { return nil }
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Handle: h}, "dropdir: dir: required"},
		{Config{Dir: dir}, "dropdir: handle: required"},
		{Config{Dir: dir, Handle: h, Interval: -1}, "dropdir: interval -1ns and max backoff 0s must not be negative"},
		{Config{Dir: filepath.Join(dir, "missing"), Handle: h}, "dropdir: stat " + filepath.Join(dir, "missing") + ": no such file or directory"},
		{Config{Dir: file, Handle: h}, "dropdir: " + file + " is not a directory"},
	} {
		if _, err := New(tt.cfg); err == nil || err.Error() != tt.want {
			t.Errorf("New(%+v) = %v, want %s", tt.cfg, err, tt.want)
		}
	}
}

func TestScanTakesStableFiles(t *testing.T) {
	fx := newFixture(t)
	fx.write("b.csv", "id\n2\n")
	fx.write("a.csv", "id\n1\n")
	fx.scan() // first sighting: may still be written
	fx.expect(nil, []string{"a.csv", "b.csv"}, nil, nil)
	fx.write("c.csv", "id\n3\n")
	fx.scan()
	fx.expect([]string{"a.csv", "b.csv"}, []string{"c.csv"}, []string{stamped + "a.csv", stamped + "b.csv"}, nil)
	if fx.bodies["a.csv"] != "id\n1\n" {
		t.Fatalf("handler read %q", fx.bodies["a.csv"])
	}
	b, err := os.ReadFile(filepath.Join(fx.dir, DoneDir, stamped+"b.csv"))
	if err != nil || string(b) != "id\n2\n" {
		t.Fatalf("done file: %q, %v", b, err)
	}
	fx.scan()
	fx.expect([]string{"a.csv", "b.csv", "c.csv"}, nil, []string{stamped + "a.csv", stamped + "b.csv", stamped + "c.csv"}, nil)
	if !strings.Contains(fx.log.String(), `msg="drop file handled" dir=`+fx.dir+" file=a.csv") {
		t.Fatalf("log:\n%s", fx.log.String())
	}
}

func TestScanWaitsForWriters(t *testing.T) {
	fx := newFixture(t)
	fx.write("a.csv", "id\n")
	fx.scan()
	fx.write("a.csv", "id\n1\n") // grew
	fx.scan()
	fx.expect(nil, []string{"a.csv"}, nil, nil)
	path := filepath.Join(fx.dir, "a.csv")
	if err := os.Chtimes(path, t0, t0); err != nil { // same size, new time
		t.Fatal(err)
	}
	fx.scan()
	fx.expect(nil, []string{"a.csv"}, nil, nil)
	fx.scan()
	fx.expect([]string{"a.csv"}, nil, []string{stamped + "a.csv"}, nil)
}

func TestScanIgnores(t *testing.T) {
	fx := newFixture(t)
	names := []string{".a.csv", "b.csv.tmp", "c.csv.part", "d.CSV.TMP", "e.Part"}
	for _, n := range names {
		fx.write(n, "x")
	}
	if err := os.Mkdir(filepath.Join(fx.dir, "f.csv"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(fx.dir, "b.csv.tmp"), filepath.Join(fx.dir, "g.csv")); err != nil {
		t.Fatal(err)
	}
	fx.scan()
	fx.scan()
	fx.expect(nil, append(names, "g.csv"), nil, nil)
}

func TestScanPermanent(t *testing.T) {
	fx := newFixture(t)
	fx.results["a.csv"] = []error{fmt.Errorf("read: %w", Permanent(errors.New(`missing required columns: lat ("Latitude")`)))}
	fx.write("a.csv", "x\n")
	fx.write("b.csv", "id\n1\n")
	fx.scan()
	fx.scan()
	fx.expect([]string{"a.csv", "b.csv"}, nil, []string{stamped + "b.csv"}, []string{stamped + "a.csv", stamped + "a.csv.error.txt"})
	b, err := os.ReadFile(filepath.Join(fx.dir, FailedDir, stamped+"a.csv.error.txt"))
	if err != nil || string(b) != "read: missing required columns: lat (\"Latitude\")\n" {
		t.Fatalf("error file: %q, %v", b, err)
	}
}

func TestScanRetriesWithBackoff(t *testing.T) {
	fx := newFixture(t)
	down := errors.New("store down")
	fx.results["a.csv"] = []error{down, down, down}
	fx.write("a.csv", "id\n1\n")
	fx.write("b.csv", "id\n2\n")
	fx.scan()
	fx.scan() // attempt 1 fails; b waits behind a
	fx.expect([]string{"a.csv"}, []string{"a.csv", "b.csv"}, nil, nil)
	fx.scan() // backoff 1 s not over
	fx.clock = fx.clock.Add(time.Second)
	fx.scan() // attempt 2 fails: 2 s
	fx.clock = fx.clock.Add(time.Second)
	fx.scan()
	fx.clock = fx.clock.Add(time.Second)
	fx.scan() // attempt 3 fails: 4 s
	fx.expect([]string{"a.csv", "a.csv", "a.csv"}, []string{"a.csv", "b.csv"}, nil, nil)
	fx.clock = fx.clock.Add(3 * time.Second)
	fx.scan()
	fx.expect([]string{"a.csv", "a.csv", "a.csv"}, []string{"a.csv", "b.csv"}, nil, nil)
	fx.clock = fx.clock.Add(time.Second)
	fx.scan() // attempt 4 succeeds, then b
	at := fx.clock.UTC().Format(stamp) + "-"
	fx.expect([]string{"a.csv", "a.csv", "a.csv", "a.csv", "b.csv"}, nil, []string{at + "a.csv", at + "b.csv"}, nil)
	if !strings.Contains(fx.log.String(), `msg="drop file not handled; retrying" dir=`+fx.dir+` file=a.csv err="store down" attempt=3 retry_in=4s`) {
		t.Fatalf("log:\n%s", fx.log.String())
	}
}

func TestScanChangedFileStartsOver(t *testing.T) {
	fx := newFixture(t)
	fx.results["a.csv"] = []error{errors.New("store down")}
	fx.write("a.csv", "id\n1\n")
	fx.scan()
	fx.scan()
	fx.write("a.csv", "id\n1\n2\n") // the partner sent it again
	fx.scan()
	fx.scan() // no backoff for the new file
	fx.expect([]string{"a.csv", "a.csv"}, nil, []string{stamped + "a.csv"}, nil)
	if fx.bodies["a.csv"] != "id\n1\n2\n" {
		t.Fatalf("handler read %q", fx.bodies["a.csv"])
	}
}

// TestScanMoveFails checks the at-least-once contract: a file handled but
// not moved is handled again.
func TestScanMoveFails(t *testing.T) {
	fx := newFixture(t)
	done := filepath.Join(fx.dir, DoneDir)
	if err := os.Remove(done); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(done, nil, 0o600); err != nil { // rename into it fails
		t.Fatal(err)
	}
	fx.write("a.csv", "id\n1\n")
	fx.scan()
	if err := fx.w.Scan(context.Background()); err == nil || !strings.HasPrefix(err.Error(), "dropdir: rename ") {
		t.Fatalf("Scan() = %v", err)
	}
	if err := os.Remove(done); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(done, 0o750); err != nil {
		t.Fatal(err)
	}
	fx.scan()
	fx.expect([]string{"a.csv"}, []string{"a.csv"}, nil, nil) // backoff
	fx.clock = fx.clock.Add(time.Second)
	fx.scan()
	fx.expect([]string{"a.csv", "a.csv"}, nil, []string{fx.clock.UTC().Format(stamp) + "-a.csv"}, nil)
}

func TestScanCanceled(t *testing.T) {
	fx := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	fx.w.cfg.Handle = func(ctx context.Context, name string, _ *os.File) error {
		fx.calls = append(fx.calls, name)
		cancel()
		return ctx.Err()
	}
	fx.write("a.csv", "x")
	fx.write("b.csv", "x")
	fx.scan()
	if err := fx.w.Scan(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Scan() = %v", err)
	}
	fx.expect([]string{"a.csv"}, []string{"a.csv", "b.csv"}, nil, nil)
	if len(fx.w.wait) != 0 {
		t.Fatalf("a canceled file waits for a retry: %v", fx.w.wait)
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	handled := make(chan string, 1)
	w, err := New(Config{Dir: dir, Interval: time.Millisecond, Handle: func(_ context.Context, name string, _ *os.File) error {
		handled <- name
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.csv"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- w.Run(ctx) }()
	select {
	case name := <-handled:
		if name != "a.csv" {
			t.Fatalf("handled %q", name)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("file not handled within 10 s")
	}
	cancel()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run() = %v", err)
	}
	if done, _ := filepath.Glob(filepath.Join(dir, DoneDir, "*-a.csv")); len(done) != 1 {
		t.Fatalf("done/ holds %v", done)
	}
}

func TestBackoff(t *testing.T) {
	for attempts, want := range []time.Duration{1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second, 4: 10 * time.Second, 5: 10 * time.Second} {
		if attempts == 0 {
			continue
		}
		if got := backoff(2*time.Second, 10*time.Second, attempts); got != want {
			t.Errorf("backoff(%d) = %s, want %s", attempts, got, want)
		}
	}
	if got := backoff(time.Second, time.Minute, 1000); got != time.Minute {
		t.Errorf("backoff(1000) = %s", got)
	}
}

func TestPermanent(t *testing.T) {
	inner := errors.New("bad header")
	err := fmt.Errorf("file a.csv: %w", Permanent(inner))
	if !IsPermanent(err) || !errors.Is(err, inner) || err.Error() != "file a.csv: bad header" {
		t.Fatalf("%v", err)
	}
	if Permanent(nil) != nil || IsPermanent(inner) || IsPermanent(nil) {
		t.Fatal("Permanent(nil) or IsPermanent wrong")
	}
}
