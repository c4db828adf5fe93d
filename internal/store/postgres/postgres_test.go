package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/store/postgres"
	"github.com/crossdockhq/crossdock/internal/store/postgres/pgtest"
	"github.com/crossdockhq/crossdock/internal/store/storetest"
)

const skipWhat = "PostgreSQL store suite"

func open(t testing.TB, u string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), postgres.Options{URL: u, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// needServer skips the test, once and saying why, when no server is set.
func needServer(t *testing.T) {
	t.Helper()
	if os.Getenv(pgtest.EnvURL) == "" {
		t.Skip(pgtest.EnvURL + " not set: " + skipWhat + " skipped")
	}
}

// TestIntegrationPostgres runs the shared store suite, each test in a
// fresh schema of the server CROSSDOCK_TEST_POSTGRES_URL names.
func TestIntegrationPostgres(t *testing.T) {
	needServer(t)
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		u := pgtest.FreshSchema(t, skipWhat)
		return open(t, u), func() store.Store { return open(t, u) }
	})
}

var apps atomic.Int64

// node opens a second, independent store on the same schema — another hub
// node — whose connections carry an application_name of their own, so a
// test can see in pg_stat_activity when they wait for a lock.
func node(t *testing.T, u string) (*postgres.Store, string) {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	app := fmt.Sprintf("crossdock-test-%d-%d", time.Now().UnixNano(), apps.Add(1))
	q := p.Query()
	q.Set("application_name", app)
	p.RawQuery = q.Encode()
	return open(t, p.String()), app
}

// waitForLockWait polls until a backend of app waits for a lock, failing
// the test at the deadline.
func waitForLockWait(t *testing.T, u, app string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&n); err != nil {
			t.Fatalf("waiting for %s to wait for a lock: %v", app, err)
		}
		if n > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never waited for a lock", app)
		case <-tick.C:
		}
	}
}

// receive waits for one value, failing the test at the deadline.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: no answer before the deadline", what)
		panic("unreachable")
	}
}

func counter(state []byte) int {
	if len(state) == 0 {
		return 0
	}
	n, err := strconv.Atoi(string(state))
	if err != nil {
		panic(err)
	}
	return n
}

// Two nodes each increment a counter kept in one record's state. The
// second locks while the first holds the lock: it must wait, then read the
// first one's committed value — no lost update — for a new id (placeholder
// row) as for an existing one, for shipments and vehicles.
func TestIntegrationPostgresLockWaits(t *testing.T) {
	needServer(t)
	type ops struct {
		lock func(ctx context.Context, tx store.Tx, id string) (int, error)
		put  func(ctx context.Context, tx store.Tx, id string, n int) error
	}
	shipments := ops{
		lock: func(ctx context.Context, tx store.Tx, id string) (int, error) {
			m, err := tx.LockShipments(ctx, []string{id})
			return counter(m[id].State), err
		},
		put: func(ctx context.Context, tx store.Tx, id string, n int) error {
			return tx.PutShipments(ctx, []store.ShipmentRecord{{ID: id, Visible: true, Status: "released", State: []byte(strconv.Itoa(n)), UpdatedAt: time.Now()}})
		},
	}
	vehicles := ops{
		lock: func(ctx context.Context, tx store.Tx, id string) (int, error) {
			m, err := tx.LockVehicles(ctx, []string{id})
			return counter(m[id].State), err
		},
		put: func(ctx context.Context, tx store.Tx, id string, n int) error {
			return tx.PutVehicles(ctx, []store.VehicleRecord{{ID: id, State: []byte(strconv.Itoa(n)), UpdatedAt: time.Now()}})
		},
	}
	for _, tt := range []struct {
		name     string
		ops      ops
		existing bool
	}{
		{"new shipment", shipments, false},
		{"existing shipment", shipments, true},
		{"new vehicle", vehicles, false},
		{"existing vehicle", vehicles, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := pgtest.FreshSchema(t, skipWhat)
			node1, _ := node(t, u)
			node2, app2 := node(t, u)
			ctx := context.Background()
			start := 0
			if tt.existing {
				start = 10
				tx, err := node1.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if err := errors.Join(tt.ops.put(ctx, tx, "X", start), tx.Commit()); err != nil {
					t.Fatal(err)
				}
			}
			increment := func(st store.Store, locked chan<- int) error {
				tx, err := st.Begin(ctx)
				if err != nil {
					return err
				}
				defer func() { _ = tx.Rollback() }()
				n, err := tt.ops.lock(ctx, tx, "X")
				if err != nil {
					return err
				}
				locked <- n
				if err := tt.ops.put(ctx, tx, "X", n+1); err != nil {
					return err
				}
				return tx.Commit()
			}

			tx1, err := node1.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx1.Rollback() }()
			n1, err := tt.ops.lock(ctx, tx1, "X")
			if err != nil || n1 != start {
				t.Fatalf("first lock: %d %v, want %d", n1, err, start)
			}
			locked2, done2 := make(chan int, 1), make(chan error, 1)
			go func() { done2 <- increment(node2, locked2) }()
			waitForLockWait(t, u, app2)
			select {
			case n := <-locked2:
				t.Fatalf("second node got the lock (read %d) while the first held it", n)
			default:
			}
			if err := tt.ops.put(ctx, tx1, "X", n1+1); err != nil {
				t.Fatal(err)
			}
			if err := tx1.Commit(); err != nil {
				t.Fatal(err)
			}
			if n2 := receive(t, locked2, "second lock"); n2 != start+1 {
				t.Fatalf("second node read %d after the first committed, want %d", n2, start+1)
			}
			if err := receive(t, done2, "second transaction"); err != nil {
				t.Fatal(err)
			}
			tx, err := node1.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback() }()
			if n, err := tt.ops.lock(ctx, tx, "X"); err != nil || n != start+2 {
				t.Fatalf("final value %d %v, want %d (a lost update?)", n, err, start+2)
			}
		})
	}
}

// An event another node stores between this node's dedupe and its append
// makes AppendEvents return store.ErrConflict, whether the other node
// committed before or while the append waited; if the other node rolls
// back, the append goes through.
func TestIntegrationPostgresAppendConflict(t *testing.T) {
	needServer(t)
	ev := func(id string) store.EventRecord {
		return store.EventRecord{Source: "src", ID: id, Type: "shipment.milestone", Subject: "S", ShipmentID: "S", Time: time.Now(), ReceivedAt: time.Now(), Data: []byte(`{}`)}
	}
	for _, tt := range []struct {
		name         string
		otherFirst   bool // the other node commits before this node appends
		otherCommits bool
		want         error
	}{
		{"other committed before", true, true, store.ErrConflict},
		{"other commits while waiting", false, true, store.ErrConflict},
		{"other rolls back while waiting", false, false, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := pgtest.FreshSchema(t, skipWhat)
			node1, app1 := node(t, u)
			node2, _ := node(t, u)
			ctx := context.Background()
			tx1, err := node1.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx1.Rollback() }()
			if known, err := tx1.ExistingEvents(ctx, []store.EventKey{{Source: "src", ID: "K"}}); err != nil || len(known) != 0 {
				t.Fatalf("dedupe: %v %v", known, err)
			}
			tx2, err := node2.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx2.Rollback() }()
			if err := tx2.AppendEvents(ctx, []store.EventRecord{ev("K")}); err != nil {
				t.Fatal(err)
			}
			end2 := tx2.Rollback
			if tt.otherCommits {
				end2 = tx2.Commit
			}
			if tt.otherFirst {
				if err := end2(); err != nil {
					t.Fatal(err)
				}
			}
			appended := make(chan error, 1)
			go func() { appended <- tx1.AppendEvents(ctx, []store.EventRecord{ev("K2"), ev("K")}) }()
			if !tt.otherFirst {
				waitForLockWait(t, u, app1)
				if err := end2(); err != nil {
					t.Fatal(err)
				}
			}
			err = receive(t, appended, "append")
			if !errors.Is(err, tt.want) {
				t.Fatalf("AppendEvents: %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			if err := tx1.Commit(); err != nil {
				t.Fatal(err)
			}
			if c, err := node1.Counts(ctx); err != nil || c.Events != 2 {
				t.Fatalf("counts %+v %v", c, err)
			}
		})
	}
}

// Two nodes locking two shipments in opposite orders deadlock; PostgreSQL
// aborts one of them with 40P01, which IsRetryable recognises through the
// store's error wrapping, and the other then completes.
func TestIntegrationPostgresDeadlockIsRetryable(t *testing.T) {
	needServer(t)
	u := pgtest.FreshSchema(t, skipWhat)
	node1, app1 := node(t, u)
	node2, _ := node(t, u)
	ctx := context.Background()
	tx1, err := node1.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx1.Rollback() }()
	tx2, err := node2.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx2.Rollback() }()
	if _, err := tx1.LockShipments(ctx, []string{"A"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx2.LockShipments(ctx, []string{"B"}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	lockThenEnd := func(tx store.Tx, id string) {
		_, err := tx.LockShipments(ctx, []string{id})
		if err != nil {
			_ = tx.Rollback() // the victim releases its locks
		} else {
			err = tx.Commit()
		}
		errs <- err
	}
	go lockThenEnd(tx1, "B")
	waitForLockWait(t, u, app1)
	go lockThenEnd(tx2, "A")
	var failed []error
	for range 2 {
		if err := receive(t, errs, "deadlock resolution"); err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) != 1 || !postgres.IsRetryable(failed[0]) {
		t.Fatalf("errors %v, want exactly one retryable deadlock", failed)
	}
}

func TestIsRetryable(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("x"), false},
		{"conflict", store.ErrConflict, false},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, true},
		{"deadlock", &pgconn.PgError{Code: "40P01"}, true},
		{"wrapped", fmt.Errorf("postgres: lock shipments: %w", &pgconn.PgError{Code: "40P01"}), true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"joined", errors.Join(errors.New("x"), &pgconn.PgError{Code: "40001"}), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := postgres.IsRetryable(tt.err); got != tt.want {
				t.Errorf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

var allVersions = []string{"0001_init", "0002_shipment_paging_indexes", "0003_telemetry", "0004_partners", "0005_jobs", "0006_cases", "0007_invoices", "0008_job_groups", "0009_events_type", "0010_job_indexes", "0011_insights", "0012_reconciliations"}

func versions(t *testing.T, u string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// Several nodes starting at once on an empty schema: the advisory lock
// lets one migrate, the others find the migrations recorded.
func TestIntegrationPostgresConcurrentMigrate(t *testing.T) {
	needServer(t)
	u := pgtest.FreshSchema(t, skipWhat)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			st, err := postgres.Open(context.Background(), postgres.Options{URL: u, MaxConns: 2})
			if err == nil {
				err = st.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	open(t, u) // and once more: nothing left to apply
	if got := versions(t, u); !slices.Equal(got, allVersions) {
		t.Fatalf("schema_migrations %v, want %v", got, allVersions)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, u := range []string{"not a url ://", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"} {
		if st, err := postgres.Open(ctx, postgres.Options{URL: u}); err == nil {
			st.Close()
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}

func BenchmarkAppendBatch100(b *testing.B) {
	storetest.BenchAppendBatch(b, open(b, pgtest.FreshSchema(b, "PostgreSQL store benchmark")), 100)
}

func BenchmarkAppendEvents100(b *testing.B) {
	storetest.BenchAppendEvents(b, open(b, pgtest.FreshSchema(b, "PostgreSQL store benchmark")), 100)
}

func BenchmarkWriterBatch100(b *testing.B) {
	storetest.BenchWriterBatch(b, open(b, pgtest.FreshSchema(b, "PostgreSQL store benchmark")), 100)
}

func BenchmarkAppendBatch1000(b *testing.B) {
	storetest.BenchAppendBatch(b, open(b, pgtest.FreshSchema(b, "PostgreSQL store benchmark")), 1000)
}
