// Package sqlite is crossdock's embedded store: SQLite through the pure-Go
// modernc.org/sqlite driver, in WAL mode with synchronous=FULL so an
// acknowledged event survives power loss, not only a crash.
//
// One writer connection (BEGIN IMMEDIATE) serves the pipeline's single
// writer; a separate pool of read-only connections serves the API, so reads
// never wait for a write transaction. It implements store.Store and holds no
// business rules.
package sqlite
