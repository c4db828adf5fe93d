package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/store/postgres"
	"github.com/crossdockhq/crossdock/internal/store/postgres/pgtest"
	"github.com/crossdockhq/crossdock/internal/store/storetest"
)

func open(t *testing.T, u string) store.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), postgres.Options{URL: u, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestIntegrationPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		u := pgtest.FreshSchema(t, "PostgreSQL store suite")
		st := open(t, u)
		t.Cleanup(func() { _ = st.Close() })
		return st, func() store.Store { return open(t, u) }
	})
}

// Two writers locking the same new shipment: the second waits for the
// first to commit and then sees its row — no lost update.
func TestIntegrationPostgresLockWaits(t *testing.T) {
	u := pgtest.FreshSchema(t, "PostgreSQL store suite")
	st := open(t, u)
	defer st.Close()
	ctx := context.Background()
	tx1, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx1.LockShipments(ctx, []string{"S"}); err != nil {
		t.Fatal(err)
	}
	second := make(chan map[string]store.ShipmentRecord, 1)
	go func() {
		tx2, err := st.Begin(ctx)
		if err != nil {
			t.Error(err)
			second <- nil
			return
		}
		defer func() { _ = tx2.Rollback() }()
		got, err := tx2.LockShipments(ctx, []string{"S"})
		if err != nil {
			t.Error(err)
		}
		second <- got
	}()
	select {
	case <-second:
		t.Fatal("second writer did not wait for the first")
	case <-time.After(200 * time.Millisecond):
	}
	if err := tx1.PutShipments(ctx, []store.ShipmentRecord{{ID: "S", Visible: true, Status: "released", State: []byte(`{"v":1}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}
	got := <-second
	if string(got["S"].State) != `{"v":1}` {
		t.Fatalf("second writer saw %+v", got)
	}
}

func TestIsRetryable(t *testing.T) {
	if postgres.IsRetryable(fmt.Errorf("x")) {
		t.Fatal("plain error retryable")
	}
}
