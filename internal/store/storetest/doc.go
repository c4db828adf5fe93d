// Package storetest is the suite every store.Store implementation must
// pass: SQLite and PostgreSQL run the same tests. It knows only the store
// package's interfaces.
package storetest
