// Package credit answers customer credit lookups from the ERP with a
// short cache that outlives an outage: a fresh answer for a while, then a
// new lookup, and when the ERP cannot answer, the last known answer marked
// stale. Concurrent lookups of one customer share one ERP call.
package credit
