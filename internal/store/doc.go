// Package store defines crossdock's storage contract: the schema every
// dialect shares, the records it holds and the two interfaces the rest of
// the hub uses — Store for reads and Tx for the single writer's batched
// transactions. The implementations live in store/sqlite (embedded default)
// and store/postgres; store/storetest is the suite both must pass.
//
// The store knows no business rules: it never decides a status, validates an
// event or interprets a projection's JSON state.
package store
