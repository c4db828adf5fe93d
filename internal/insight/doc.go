// Package insight reads the hub's business figures — shipments by status,
// open cases and their ages, invoices and amounts, POD-to-invoice time and
// delivery propagation lag — from the store's aggregate queries
// (store.InsightStore), and exports them as Prometheus metrics on scrape,
// cached so that scrapes cannot hammer the database.
//
// It owns the percentile helper (Quantiles) the console and the SLA
// monitors share. It only reads; it never writes the store, and it knows
// nothing of HTTP or of how the figures are drawn.
package insight
