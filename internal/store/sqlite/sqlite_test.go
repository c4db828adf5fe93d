package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/store/sqlite"
	"github.com/crossdockhq/crossdock/internal/store/storetest"
)

func open(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		path := filepath.Join(t.TempDir(), "sub", "crossdock.db")
		st := open(t, path)
		t.Cleanup(func() { _ = st.Close() })
		return st, func() store.Store { return open(t, path) }
	})
}

// Readers never wait for an open write transaction.
func TestReadsDoNotWaitForWriter(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "c.db"))
	defer st.Close()
	ctx := context.Background()
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := tx.PutShipments(ctx, []store.ShipmentRecord{{ID: "S", Visible: true, Status: "released", State: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Counts(ctx); err != nil { // would block on a shared connection
		t.Fatal(err)
	}
}
