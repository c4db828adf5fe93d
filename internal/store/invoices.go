package store

import (
	"context"
	"time"
)

// InvoiceRecord is an invoice as the invoices projection keeps it. Data is
// the invoice's JSON as the API shows it (owned by package billing and the
// API); the other fields are copies for filtering.
type InvoiceRecord struct {
	ID         string // the invoice number, e.g. INV-2026-000001
	ShipmentID string
	CustomerID string
	Currency   string
	Total      string // decimal text
	Status     string // "ready", "posted" or "failed"
	ERPRef     string
	Data       []byte
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// InvoiceFilter selects invoices in id order (or by creation, see
// ByCreation).
type InvoiceFilter struct {
	ShipmentID string
	CustomerID string
	Status     string
	// CreatedFrom and CreatedTo bound the invoice's creation: [From, To);
	// zero for no bound.
	CreatedFrom time.Time
	CreatedTo   time.Time
	After       string // id cursor: invoices with a greater id
	// ByCreation orders by (CreatedAt, ID) instead of ID, paged after
	// (AfterCreated, After): a period's invoices are read as one range of
	// the creation index, never a sort of all of them per page.
	ByCreation   bool
	AfterCreated time.Time
	Limit        int // 1..1000
}

// InvoiceStore reads invoices; the writer creates them (Tx.PutInvoices).
type InvoiceStore interface {
	Invoice(ctx context.Context, id string) (InvoiceRecord, error) // ErrNotFound
	Invoices(ctx context.Context, f InvoiceFilter) ([]InvoiceRecord, error)
}
