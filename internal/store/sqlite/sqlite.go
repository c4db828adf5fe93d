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
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

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
	w     *sql.DB // one connection, the writer
	r     *sql.DB // read-only pool
	stmts writeStmts
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
		"journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)",
		fmt.Sprintf("busy_timeout(%d)", opt.BusyTimeout.Milliseconds()),
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

// migrate applies the embedded migrations not yet recorded, each in its own
// transaction together with its record.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied_at_ns INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("sqlite: list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		var n int
		if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", version, err)
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", version, err)
		}
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", version, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("sqlite: migration %s: %w", version, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at_ns) VALUES (?, ?)`, version, time.Now().UnixNano()); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("sqlite: migration %s: %w", version, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", version, err)
		}
	}
	return nil
}

// Dialect implements store.Store.
func (s *Store) Dialect() string { return "sqlite" }

// Ping checks both connections answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping writer: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping readers: %w", err)
	}
	return nil
}

// Close closes the prepared statements and both pools.
func (s *Store) Close() error {
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
