package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite" // also registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/crossdockhq/crossdock/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configure Open. Zero values take the defaults noted.
type Options struct {
	Path        string        // database file; its directory is created if missing
	ReadConns   int           // read-only connections; default 4
	BusyTimeout time.Duration // lock wait; default 5s
}

// Store is the SQLite implementation of store.Store.
type Store struct {
	w      *sql.DB // one connection, the writer
	r      *sql.DB // read-only pool
	stmts  writeStmts
	closed atomic.Bool
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) and migrates the database at opt.Path.
func Open(ctx context.Context, opt Options) (*Store, error) {
	if opt.Path == "" {
		return nil, errors.New("sqlite: no path")
	}
	if opt.ReadConns <= 0 {
		opt.ReadConns = 4
	}
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 5 * time.Second
	}
	if err := os.MkdirAll(filepath.Dir(opt.Path), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: create directory: %w", err)
	}
	pragmas := []string{
		// Every connection of both pools runs these on open (DSN _pragma).
		// busy_timeout first, so the others already wait for locks.
		fmt.Sprintf("busy_timeout(%d)", opt.BusyTimeout.Milliseconds()),
		"journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)",
		"temp_store(memory)",
		// Checkpoint every ~40 MB of WAL instead of 4 MB: a hot page is then
		// copied into the database once per checkpoint rather than ten times.
		"wal_autocheckpoint(10000)", "journal_size_limit(67108864)",
	}
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append(pragmas, extra...) {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		return "file:" + opt.Path + "?" + q.Encode()
	}
	// The writer's page cache holds the indexes' working set (SQLite's
	// default 2 MB does not); readers keep the default so memory stays
	// bounded by one big cache. No mmap: its pages count in RSS and it did
	// not measurably help.
	w, err := sql.Open("sqlite", dsn("cache_size(-16384)"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w}
	if err := connect(ctx, w, opt.BusyTimeout); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	s.r, err = sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}
	s.r.SetMaxOpenConns(opt.ReadConns)
	s.r.SetMaxIdleConns(opt.ReadConns)
	if err := s.stmts.prepare(ctx, w); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// connect opens the writer's connection. Switching a new file to WAL needs
// an exclusive lock, and SQLite reports SQLITE_BUSY at once, without its
// busy handler, when another process is opening the same new file; so
// connect retries for up to the busy timeout.
func connect(ctx context.Context, db *sql.DB, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := db.PingContext(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// isBusy reports SQLITE_BUSY and its extended codes.
func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// migrate applies the embedded migrations not yet recorded, in name order,
// each in its own transaction together with its record. The version check
// runs inside that transaction (BEGIN IMMEDIATE takes the write lock), so
// two processes opening one new file cannot both apply a migration.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("sqlite: list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(path.Base(name), ".sql")
		if err := s.apply(ctx, version, name); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", version, err)
		}
	}
	return nil
}

// apply runs one migration unless it is recorded. Everything, even creating
// schema_migrations, happens in a write transaction: a statement outside
// one that reads and then writes can fail with SQLITE_BUSY at once, without
// waiting, when another process writes in between.
func (s *Store) apply(ctx context.Context, version, name string) error {
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied_at_ns INTEGER NOT NULL)`); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at_ns) VALUES (?, ?)`, version, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// Dialect implements store.Store.
func (s *Store) Dialect() string { return "sqlite" }

// Ping checks that the database answers a query on the read pool. It does
// not touch the writer connection: that is busy for the whole of every
// write transaction, and a readiness probe must not wait for a batch.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations LIMIT 1`).Scan(new(int)); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes the prepared statements and both pools. Later calls do
// nothing.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stmts.close()
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
