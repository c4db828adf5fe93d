package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

// NextSequence implements store.Tx.
func (t *tx) NextSequence(ctx context.Context, name string) (int64, error) {
	var v int64
	err := t.tx.QueryRowContext(ctx, `INSERT INTO counters (name, value) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value`, name).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("sqlite: next %s: %w", name, err)
	}
	return v, nil
}

const invoiceCols = `id, shipment_id, customer_id, currency, total, status, erp_ref, data, created_at_ns, updated_at_ns`

// PutInvoices implements store.Tx.
func (t *tx) PutInvoices(ctx context.Context, recs []store.InvoiceRecord) error {
	for _, r := range recs {
		_, err := t.tx.ExecContext(ctx, `INSERT INTO invoices (`+invoiceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, erp_ref = excluded.erp_ref, data = excluded.data,
			updated_at_ns = excluded.updated_at_ns`,
			r.ID, r.ShipmentID, r.CustomerID, r.Currency, r.Total, r.Status, r.ERPRef, string(r.Data),
			store.UnixNanos(r.CreatedAt), store.UnixNanos(r.UpdatedAt))
		if err != nil {
			return fmt.Errorf("sqlite: put invoice %s: %w", r.ID, err)
		}
	}
	return nil
}

func scanInvoice(sc interface{ Scan(...any) error }) (store.InvoiceRecord, error) {
	var r store.InvoiceRecord
	var data string
	var created, upd int64
	err := sc.Scan(&r.ID, &r.ShipmentID, &r.CustomerID, &r.Currency, &r.Total, &r.Status, &r.ERPRef, &data, &created, &upd)
	r.Data, r.CreatedAt, r.UpdatedAt = []byte(data), store.FromUnixNanos(created), store.FromUnixNanos(upd)
	return r, err
}

// Invoice implements store.InvoiceStore.
func (s *Store) Invoice(ctx context.Context, id string) (store.InvoiceRecord, error) {
	r, err := scanInvoice(s.r.QueryRowContext(ctx, `SELECT `+invoiceCols+` FROM invoices WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("sqlite: invoice %s: %w", id, err)
	}
	return r, nil
}

// Invoices implements store.InvoiceStore.
func (s *Store) Invoices(ctx context.Context, f store.InvoiceFilter) ([]store.InvoiceRecord, error) {
	var where []string
	var args []any
	order := "id"
	switch {
	case !f.ByCreation:
		where, args = []string{"id > ?"}, []any{f.After}
	case !f.AfterCreated.IsZero() || f.After != "":
		at := store.UnixNanos(f.AfterCreated)
		where, args = []string{"(created_at_ns, id) > (?, ?)"}, []any{at, f.After}
		order = "created_at_ns, id"
	default:
		where, order = []string{"1 = 1"}, "created_at_ns, id"
	}
	for _, c := range []struct{ col, v string }{{"shipment_id", f.ShipmentID}, {"customer_id", f.CustomerID}, {"status", f.Status}} {
		if c.v != "" {
			where, args = append(where, c.col+" = ?"), append(args, c.v)
		}
	}
	if !f.CreatedFrom.IsZero() {
		where, args = append(where, "created_at_ns >= ?"), append(args, store.UnixNanos(f.CreatedFrom))
	}
	if !f.CreatedTo.IsZero() {
		where, args = append(where, "created_at_ns < ?"), append(args, store.UnixNanos(f.CreatedTo))
	}
	args = append(args, store.PageLimit(f.Limit))
	return queryAll(ctx, s.r, "invoices", scanInvoice, `SELECT `+invoiceCols+` FROM invoices WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
}

// SetInvoiceStatus implements store.Tx.
func (t *tx) SetInvoiceStatus(ctx context.Context, id, status, erpRef string, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE invoices SET status = ?, erp_ref = ?, updated_at_ns = ? WHERE id = ?`,
		status, erpRef, store.UnixNanos(at), id)
	if err != nil {
		return fmt.Errorf("sqlite: invoice %s status: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("sqlite: invoice %s: %w", id, store.ErrNotFound)
	}
	return nil
}
