// Package erpinvoice holds what the ERP connectors (odoo, odata) share:
// the invoice of an invoice.ready event, parsed and checked to add up
// before anything is sent, and per-key locks so that concurrent
// deliveries of one invoice or one new customer never create it twice in
// one process.
package erpinvoice
