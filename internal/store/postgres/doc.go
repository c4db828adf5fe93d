// Package postgres is crossdock's PostgreSQL store (pgx/v5), for running
// several stateless hub nodes over one database.
//
// Every transaction step is one round trip whatever the batch size (arrays
// through unnest). LockShipments and LockVehicles first create placeholder
// rows for unknown ids and then lock all rows FOR UPDATE in id order, so
// concurrent writers on other nodes wait instead of losing updates, and
// never deadlock on lock order. It implements store.Store and holds no
// business rules.
package postgres
