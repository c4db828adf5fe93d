// Package rest delivers events as JSON POSTs to an HTTP endpoint: an ERP's
// REST API, a portal, and — with a signing secret — a customer's webhook
// receiver (the webhook kind). It classifies answers
// for the outbox (retry, retry after, or dead) and must not touch the store.
//
// With Config.ReconcileURL set, New returns a *Reconciling: the same
// connector, which also says what the ERP behind it holds for our
// invoices (connector.InvoiceLooker), one GET of that URL per invoice.
package rest
