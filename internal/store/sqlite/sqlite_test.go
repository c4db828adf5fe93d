package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/store/sqlite"
	"github.com/crossdockhq/crossdock/internal/store/storetest"
)

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		// A directory that does not exist yet: Open creates it.
		path := filepath.Join(t.TempDir(), "sub", "dir", "crossdock.db")
		return open(t, path), func() store.Store { return open(t, path) }
	})
}

// raw opens the database file without the store, for checks the store
// interface does not offer.
func raw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func versions(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

var allVersions = []string{"0001_init", "0002_shipments_rowid", "0003_telemetry", "0004_partners", "0005_jobs", "0006_cases", "0007_invoices", "0008_job_groups", "0009_events_type", "0010_job_indexes", "0011_insights", "0012_reconciliations"}

// Every connection of both pools carries the pragmas; readers are
// query_only, and the writer pool has one connection.
func TestPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: path, ReadConns: 3, BusyTimeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tt := range []struct {
		pool   string
		conns  int
		pragma string
		want   string
	}{
		{"writer", 1, "journal_mode", "wal"},
		{"writer", 1, "synchronous", "2"}, // FULL
		{"writer", 1, "foreign_keys", "1"},
		{"writer", 1, "busy_timeout", "1500"},
		{"writer", 1, "query_only", "0"},
		{"readers", 3, "journal_mode", "wal"},
		{"readers", 3, "synchronous", "2"},
		{"readers", 3, "foreign_keys", "1"},
		{"readers", 3, "busy_timeout", "1500"},
		{"readers", 3, "query_only", "1"},
	} {
		t.Run(tt.pool+"/"+tt.pragma, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got, err := sqlite.PoolPragmas(ctx, st, tt.pool == "writer", tt.conns, tt.pragma)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range got {
				if v != tt.want {
					t.Errorf("%s connection %d: PRAGMA %s = %s, want %s", tt.pool, i, tt.pragma, v, tt.want)
				}
			}
		})
	}
}

func TestMigrationsRecordedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	st := open(t, path)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	open(t, path) // nothing left to apply
	if got := versions(t, raw(t, path)); !slices.Equal(got, allVersions) {
		t.Fatalf("schema_migrations %v, want %v", got, allVersions)
	}
}

// A database made by the first release (0001 only) keeps its rows when
// 0002 rebuilds the shipments table.
func TestMigrationUpgradeKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db := raw(t, path)
	init, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at_ns INTEGER NOT NULL)`,
		string(init),
		`INSERT INTO schema_migrations VALUES ('0001_init', 1)`,
		`INSERT INTO shipments VALUES ('S1', 1, 'released', 'C1', '{"id":"S1"}', 1795000000123456789), ('S2', 0, '', '', '', 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	st := open(t, path)
	ctx := context.Background()
	got, err := st.Shipment(ctx, "S1")
	want := store.ShipmentRecord{ID: "S1", Visible: true, Status: "released", CustomerID: "C1", State: []byte(`{"id":"S1"}`), UpdatedAt: store.FromUnixNanos(1795000000123456789)}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("after upgrade: %+v %v", got, err)
	}
	if list, err := st.Shipments(ctx, store.ShipmentFilter{Status: "released"}); err != nil || len(list) != 1 {
		t.Fatalf("status index after upgrade: %v %v", list, err)
	}
	if got := versions(t, db); !slices.Equal(got, allVersions) {
		t.Fatalf("schema_migrations %v, want %v", got, allVersions)
	}
}

// Several processes starting on one new file: each migration is applied
// exactly once and every Open succeeds.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "race.db")
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			st, err := sqlite.Open(context.Background(), sqlite.Options{Path: path})
			if err == nil {
				err = st.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := versions(t, raw(t, path)); !slices.Equal(got, allVersions) {
		t.Fatalf("schema_migrations %v, want %v", got, allVersions)
	}
}

func TestOptions(t *testing.T) {
	if _, err := sqlite.Open(context.Background(), sqlite.Options{}); err == nil {
		t.Fatal("Open without a path succeeded")
	}
	st := open(t, filepath.Join(t.TempDir(), "o.db"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkAppendBatch100(b *testing.B) {
	storetest.BenchAppendBatch(b, open(b, filepath.Join(b.TempDir(), "bench.db")), 100)
}

func BenchmarkAppendEvents100(b *testing.B) {
	storetest.BenchAppendEvents(b, open(b, filepath.Join(b.TempDir(), "bench.db")), 100)
}

func BenchmarkWriterBatch100(b *testing.B) {
	storetest.BenchWriterBatch(b, open(b, filepath.Join(b.TempDir(), "bench.db")), 100)
}

func BenchmarkAppendBatch1000(b *testing.B) {
	storetest.BenchAppendBatch(b, open(b, filepath.Join(b.TempDir(), "bench.db")), 1000)
}
