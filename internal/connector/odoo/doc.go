// Package odoo delivers invoice.ready events to Odoo as posted customer
// invoices (account.move, move_type out_invoice), over Odoo 19's JSON-2
// API (POST /json/2/<model>/<method>, Authorization: bearer <API key>,
// X-Odoo-Database) or the legacy JSON-RPC API of Odoo ≤ 18 (POST
// /jsonrpc: common.login, then object.execute_kw). It also answers a
// customer's credit from res.partner (connector.CreditLooker), and what
// Odoo holds for our invoices (connector.InvoiceLister): LookupInvoices
// is one search_read of out_invoice moves by ref in the batch's ids
// (ref, name, amount_total as Odoo writes it, state, currency_id's
// code; the posted move stands for a ref, else a draft, else any);
// ListInvoices pages (200, offset, ordered by id) through those whose
// ref is =like the prefix and whose create_date (UTC) is in the period.
//
// A delivery finds the customer by res.partner ref = our customer id
// (creating it when absent), then searches account.move by ref = our
// invoice id before creating anything, so a retry — after a timeout, a
// crash, a restart — finds the invoice instead of making a second one: a
// posted move answers its name, a draft one (created by an attempt that
// did not get to post it) is posted. Lines go as invoice_line_ids
// command tuples with tax_ids cleared and our tax as a line of its own,
// so Odoo's total is ours; the draft's amount_total is checked before it
// is posted.
//
// Options (Config.Options):
//
//	api       json2 (default; Odoo 19+) or jsonrpc (Odoo ≤ 18)
//	database  the database: sent as X-Odoo-Database by json2 when set;
//	          required by jsonrpc
//
// Errors steer the outbox: Odoo's UserError, ValidationError and
// ValueError are permanent with Odoo's message kept; refused credentials
// (401, AccessDenied) are retried — a wrong key does not fix itself, but
// an operator can fix it, and meanwhile deliveries wait and the breaker
// opens; 5xx, timeouts and connection errors are retried; 429 and 503
// honour Retry-After. The package must not touch the store or the
// pipeline, and never puts the API key or password in an error.
package odoo
