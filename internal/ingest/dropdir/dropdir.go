package dropdir

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Handler handles one complete file of the folder; name is its base name.
// It returns nil once the file's rows are durable, an error wrapped by
// Permanent if the file can never be handled (it goes to failed/), and any
// other error to have it offered again later. f is closed after Handler
// returns.
type Handler func(ctx context.Context, name string, f *os.File) error

// Config configures a Watcher.
type Config struct {
	// Dir is the drop folder; required, and it must exist.
	Dir string
	// Handle is called for each complete file; required.
	Handle Handler
	// Interval is the time between scans (default 2 s); a file is taken
	// at the earliest one Interval after it stopped changing.
	Interval time.Duration
	// MaxBackoff bounds the wait before a file whose Handler failed
	// without Permanent is offered again (default 5 min).
	MaxBackoff time.Duration
	// Logger gets a line for every file handled or failed; nil discards.
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultInterval   = 2 * time.Second
	DefaultMaxBackoff = 5 * time.Minute
)

// Subdirectories of Dir, created by New.
const (
	DoneDir   = "done"
	FailedDir = "failed"
)

// stamp is the layout of the timestamp prefixed to moved files.
const stamp = "20060102T150405.000000000Z"

// Watcher polls one drop folder.
type Watcher struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	seen map[string]fileState // the files of the last scan
	wait map[string]retry     // files whose Handler failed
}

type fileState struct {
	size int64
	mod  time.Time
}

type retry struct {
	state    fileState // the file that failed; a changed file starts over
	attempts int
	next     time.Time
}

// New checks cfg, applies its defaults and creates Dir/done and Dir/failed
// (mode 0750) if missing.
func New(cfg Config) (*Watcher, error) {
	if cfg.Dir == "" {
		return nil, errors.New("dropdir: dir: required")
	}
	if cfg.Handle == nil {
		return nil, errors.New("dropdir: handle: required")
	}
	if cfg.Interval < 0 || cfg.MaxBackoff < 0 {
		return nil, fmt.Errorf("dropdir: interval %s and max backoff %s must not be negative", cfg.Interval, cfg.MaxBackoff)
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	st, err := os.Stat(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("dropdir: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("dropdir: %s is not a directory", cfg.Dir)
	}
	for _, sub := range []string{DoneDir, FailedDir} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, sub), 0o750); err != nil {
			return nil, fmt.Errorf("dropdir: %w", err)
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{
		cfg: cfg, log: log.With("dir", cfg.Dir), now: time.Now,
		seen: map[string]fileState{}, wait: map[string]retry{},
	}, nil
}

// Run scans the folder every Interval until ctx ends, and then returns
// ctx.Err(). Scan errors are logged, and the next scan tries again.
func (w *Watcher) Run(ctx context.Context) error {
	tick := time.NewTicker(w.cfg.Interval)
	defer tick.Stop()
	for {
		if err := w.Scan(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("drop folder scan failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Scan lists the folder once and handles, in name order, every file found
// complete. It stops at the first file that is waiting for a retry or
// whose Handler failed without Permanent, and returns an error only if the
// folder cannot be listed, a handled file cannot be moved, or ctx ended.
func (w *Watcher) Scan(ctx context.Context) error {
	entries, err := os.ReadDir(w.cfg.Dir)
	if err != nil {
		return fmt.Errorf("dropdir: %w", err)
	}
	prev := w.seen
	w.seen = make(map[string]fileState, len(entries))
	var ready []string
	for _, e := range entries { // sorted by name
		name := e.Name()
		if !e.Type().IsRegular() || ignored(name) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone since the listing
		}
		st := fileState{size: info.Size(), mod: info.ModTime()}
		w.seen[name] = st
		if old, ok := prev[name]; ok && old == st {
			ready = append(ready, name)
		}
	}
	for name, r := range w.wait {
		if st, ok := w.seen[name]; !ok || st != r.state {
			delete(w.wait, name)
		}
	}
	for _, name := range ready {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r, ok := w.wait[name]; ok && w.now().Before(r.next) {
			return nil // keep name order: later files wait too
		}
		done, err := w.handle(ctx, name, w.seen[name])
		if err != nil || !done {
			return err
		}
	}
	return nil
}

// handle offers one file to the Handler and moves it. It reports whether
// the scan may go on to the next file.
func (w *Watcher) handle(ctx context.Context, name string, want fileState) (bool, error) {
	log := w.log.With("file", name)
	f, err := os.Open(filepath.Join(w.cfg.Dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		w.retryLater(log, name, want, err)
		return false, nil
	}
	if info, err := f.Stat(); err != nil || (fileState{size: info.Size(), mod: info.ModTime()}) != want {
		f.Close()
		delete(w.seen, name) // still being written: wait for two more scans
		return true, nil
	}
	start := w.now()
	herr := w.cfg.Handle(ctx, name, f)
	f.Close()
	var to string
	switch {
	case herr == nil:
		if to, err = w.move(name, DoneDir, nil); err == nil {
			log.Info("drop file handled", "to", to, "took", w.now().Sub(start))
		}
	case IsPermanent(herr):
		if to, err = w.move(name, FailedDir, herr); err == nil {
			log.Warn("drop file failed", "to", to, "err", herr)
		}
	case ctx.Err() != nil:
		return false, ctx.Err()
	default:
		w.retryLater(log, name, want, herr)
		return false, nil
	}
	if err != nil {
		// Handled but not moved: handled again after the backoff, which
		// the hub's deduplication makes safe.
		w.retryLater(log, name, want, err)
		return false, err
	}
	delete(w.wait, name)
	return true, nil
}

// retryLater schedules the next attempt at a file that could not be
// handled or moved.
func (w *Watcher) retryLater(log *slog.Logger, name string, st fileState, err error) {
	r := w.wait[name]
	r.state = st
	r.attempts++
	delay := backoff(w.cfg.Interval, w.cfg.MaxBackoff, r.attempts)
	r.next = w.now().Add(delay)
	w.wait[name] = r
	log.Error("drop file not handled; retrying", "err", err, "attempt", r.attempts, "retry_in", delay)
}

// move moves name to sub/<timestamp>-<name> and returns the new path.
// Given a reason, it first writes it to <new path>.error.txt, so that a
// file in failed/ always comes with its reason.
func (w *Watcher) move(name, sub string, reason error) (string, error) {
	to := filepath.Join(w.cfg.Dir, sub, w.now().UTC().Format(stamp)+"-"+name)
	if reason != nil {
		if err := os.WriteFile(to+".error.txt", []byte(reason.Error()+"\n"), 0o640); err != nil {
			return "", fmt.Errorf("dropdir: %w", err)
		}
	}
	if err := os.Rename(filepath.Join(w.cfg.Dir, name), to); err != nil {
		return "", fmt.Errorf("dropdir: %w", err)
	}
	return to, nil
}

// backoff is the wait after the given number of failed attempts: interval
// doubled per attempt, at most maxWait.
func backoff(interval, maxWait time.Duration, attempts int) time.Duration {
	d := interval
	for i := 1; i < attempts && d < maxWait; i++ {
		d *= 2
	}
	return min(d, maxWait)
}

// ignored reports whether name is never taken: hidden or partial.
func ignored(name string) bool {
	lower := strings.ToLower(name)
	return strings.HasPrefix(name, ".") || strings.HasSuffix(lower, ".tmp") || strings.HasSuffix(lower, ".part")
}

// permanent marks an error as permanent.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// Permanent marks err as one that handling the file again cannot cure (a
// malformed file): the file goes to failed/. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err}
}

// IsPermanent reports whether err or an error it wraps was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanent
	return errors.As(err, &p)
}
