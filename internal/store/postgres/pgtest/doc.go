// Package pgtest gives tests an empty PostgreSQL schema of their own on
// the server named by CROSSDOCK_TEST_POSTGRES_URL, dropped when the test
// ends. It is for tests only.
package pgtest
