// Package tryton is the connector kind "tryton": it delivers invoice.ready
// events to a Tryton 6.0 ERP as posted customer invoices, over trytond's
// JSON-RPC, answers customer credit lookups from it
// (connector.CreditLooker), and says what it holds for our invoices for
// reconciliation (connector.InvoiceLister).
//
// It owns the conversation with one trytond database: the session (one
// common.db.login shared by concurrent deliveries, made again once when
// trytond answers 401 or 403 — an expired session, or one not fresh enough
// for account.invoice post), the calls, and how their answers steer the
// outbox. It must not touch the store or the pipeline.
//
// # Delivering an invoice
//
//  1. The invoice is checked: amounts are decimals with two places, the
//     lines add up to the subtotal, subtotal and tax to the total. A bad
//     payload is outbox.Permanent. Other event types are too: "tryton takes
//     invoice.ready only".
//  2. account.invoice is searched by reference = our invoice id (company,
//     type out). Posted or paid: the delivery is done, and answers its
//     number again. Draft or validated (a crash or a timeout between create
//     and post): it is posted, not created again. Cancelled in the ERP:
//     permanent, never re-sent.
//  3. Otherwise the party is found by a party.identifier without a type
//     whose code is our customer id, or created (name and identifier: the
//     customer id; one empty address marked for invoices). Then a customer
//     invoice (type out) is created with one line per invoice line on the
//     revenue account (description, quantity, unit price as a Decimal) and
//     our tax as one manual invoice tax line (account.invoice.tax, base =
//     subtotal, amount = tax) on the tax account, so Tryton's total is ours
//     to the cent. A line whose quantity has more than 2 decimals or whose
//     unit price has more than 4 (what Tryton 6.0 keeps), or whose amount
//     Tryton would round otherwise (it rounds half-even, our billing
//     half-up), goes as quantity 1 at its amount, "(quantity × unit price)"
//     added to its description.
//  4. validate_invoice, then post (RPC fresh_session; one post at a time
//     per connector, since Tryton numbers invoices from a strict sequence
//     that concurrent posts fail to lock). The invoice date is the day
//     Tryton posts it; the receipt's Ref is the number it assigns.
//
// Concurrent deliveries of one invoice, and the find-or-create of one
// party, share a single run inside one Connector. Two hubs delivering the
// same new customer at the same instant could still create two parties;
// the oldest is used from then on.
//
// # Errors
//
// A transport error, a timeout, 401/403 (after the one new login), 404 (no
// such database), 408, 429, 5xx, and JSON-RPC errors ConcurrencyException,
// RateLimitException, LoginException or a server error are retryable;
// Retry-After on a 429 or 503 is honoured (outbox.RetryAfter). A UserError
// or UserWarning (a validation the ERP refuses), another 4xx, a bad payload
// or a currency the ERP does not know are outbox.Permanent, with the ERP's
// message (at most 2 KiB). An ERP that lacks what invoices need (no revenue
// journal, several revenue accounts and no option naming one) is retryable
// with a message naming the option to set. The password never appears in
// an error.
//
// # Options
//
// Config.Options, all optional; accounts and journals are named by code or
// by name:
//
//	company             the company's id or name; default: the only company
//	journal             the invoices' journal; default: the only journal of type revenue
//	revenue_account     the lines' account; default: the company's only open revenue account
//	receivable_account  the invoices' receivable account; default: the party's
//	                    receivable account, else the accounting configuration's default
//	tax_account         the account of the tax line; default: the invoice account of the
//	                    company's only tax (needed only for invoices with tax)
//	payment_term        a payment term's name; default: the party's customer payment term,
//	                    else the accounting configuration's default, else none
//
// They are looked up on the first delivery or credit lookup and kept for the
// connector's life; a failed lookup is tried again on the next one.
//
// # Credit
//
// Credit finds the party as a delivery does (connector.ErrUnknownCustomer
// when none) and answers its receivable for the company (party.party
// receivable), its credit_limit_amount when the account_credit_limit module
// is activated and a limit is set ("" otherwise), and the company's
// currency.
//
// # Reconciliation
//
// LookupInvoices reads a batch of our invoice ids with one search_read of
// account.invoice (company, type out, reference in ids): reference,
// number, state, total_amount and currency.code (trytond 6.0 reads a
// dotted field in the same call). Ref is the number, or the record's id
// while it has none (a draft); when several invoices carry one reference,
// the posted or paid one stands for it, else a draft or validated one,
// else a cancelled one. ListInvoices pages (offset and limit, ordered by
// id, 200 a page) through the customer invoices whose reference is like
// the prefix (its % and _ escaped) and whose create_date, which trytond
// keeps in UTC, is in [from, to).
package tryton
