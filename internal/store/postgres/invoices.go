package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crossdockhq/crossdock/internal/store"
)

// NextSequence implements store.Tx. The counter row stays locked until the
// transaction ends, so concurrent writers number one after the other.
func (t *tx) NextSequence(ctx context.Context, name string) (int64, error) {
	var v int64
	err := t.tx.QueryRow(ctx, `INSERT INTO counters (name, value) VALUES ($1, 1)
		ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value`, name).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("postgres: next %s: %w", name, err)
	}
	return v, nil
}

const invoiceCols = `id, shipment_id, customer_id, currency, total, status, erp_ref, data, created_at_ns, updated_at_ns`

// PutInvoices implements store.Tx.
func (t *tx) PutInvoices(ctx context.Context, recs []store.InvoiceRecord) error {
	b := &pgx.Batch{}
	for _, r := range recs {
		b.Queue(`INSERT INTO invoices (`+invoiceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, erp_ref = excluded.erp_ref, data = excluded.data,
			updated_at_ns = excluded.updated_at_ns`,
			r.ID, r.ShipmentID, r.CustomerID, r.Currency, r.Total, r.Status, r.ERPRef, string(r.Data),
			store.UnixNanos(r.CreatedAt), store.UnixNanos(r.UpdatedAt))
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: put invoices: %w", err)
	}
	return nil
}

func scanInvoice(sc pgx.Row) (store.InvoiceRecord, error) {
	var r store.InvoiceRecord
	var data string
	var created, upd int64
	err := sc.Scan(&r.ID, &r.ShipmentID, &r.CustomerID, &r.Currency, &r.Total, &r.Status, &r.ERPRef, &data, &created, &upd)
	r.Data, r.CreatedAt, r.UpdatedAt = []byte(data), store.FromUnixNanos(created), store.FromUnixNanos(upd)
	return r, err
}

// Invoice implements store.InvoiceStore.
func (s *Store) Invoice(ctx context.Context, id string) (store.InvoiceRecord, error) {
	r, err := scanInvoice(s.pool.QueryRow(ctx, `SELECT `+invoiceCols+` FROM invoices WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("postgres: invoice %s: %w", id, err)
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
		where, args = []string{"id > $1"}, []any{f.After}
	case !f.AfterCreated.IsZero() || f.After != "":
		where, args = []string{"(created_at_ns, id) > ($1, $2)"}, []any{store.UnixNanos(f.AfterCreated), f.After}
		order = "created_at_ns, id"
	default:
		where, order = []string{"TRUE"}, "created_at_ns, id"
	}
	for _, c := range []struct{ col, v string }{{"shipment_id", f.ShipmentID}, {"customer_id", f.CustomerID}, {"status", f.Status}} {
		if c.v != "" {
			args = append(args, c.v)
			where = append(where, fmt.Sprintf("%s = $%d", c.col, len(args)))
		}
	}
	if !f.CreatedFrom.IsZero() {
		args = append(args, store.UnixNanos(f.CreatedFrom))
		where = append(where, fmt.Sprintf("created_at_ns >= $%d", len(args)))
	}
	if !f.CreatedTo.IsZero() {
		args = append(args, store.UnixNanos(f.CreatedTo))
		where = append(where, fmt.Sprintf("created_at_ns < $%d", len(args)))
	}
	args = append(args, store.PageLimit(f.Limit))
	rows, err := s.pool.Query(ctx, `SELECT `+invoiceCols+` FROM invoices WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY %s LIMIT $%d`, order, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: invoices: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.InvoiceRecord, error) { return scanInvoice(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: invoices: %w", err)
	}
	return out, nil
}

// SetInvoiceStatus implements store.Tx.
func (t *tx) SetInvoiceStatus(ctx context.Context, id, status, erpRef string, at time.Time) error {
	tag, err := t.tx.Exec(ctx, `UPDATE invoices SET status = $1, erp_ref = $2, updated_at_ns = $3 WHERE id = $4`,
		status, erpRef, store.UnixNanos(at), id)
	if err != nil {
		return fmt.Errorf("postgres: invoice %s status: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: invoice %s: %w", id, store.ErrNotFound)
	}
	return nil
}
