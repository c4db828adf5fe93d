package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/store"
)

// Invoice statuses as the store keeps them.
const (
	invoiceReady  = "ready"
	invoicePosted = "posted"
)

// checkInvoices compares the invoices created in the run's period with
// what the ERP connectors hold: a posted invoice the ERP lacks is
// missing_in_erp, one it holds with another total amount_mismatch, one
// still ready after StuckAfter stuck_ready; then the ERP's documents with
// one of our references that the hub never issued are unknown_in_hub.
func (r *Runner) checkInvoices(ctx context.Context, w *writer) error {
	names := slices.Sorted(maps.Keys(r.opt.Lookups))
	now := r.opt.Now().UTC()
	f := store.InvoiceFilter{CreatedFrom: w.run.From, CreatedTo: w.run.To, ByCreation: true, Limit: connector.LookupBatch}
	for {
		page, err := r.opt.Store.Invoices(ctx, f)
		if err != nil {
			return fmt.Errorf("read invoices: %w", err)
		}
		if len(page) == 0 {
			break
		}
		held := make(map[string]map[string]connector.ERPInvoice, len(names))
		var ids []string
		for _, inv := range page {
			if inv.Status == invoicePosted || inv.Status == invoiceReady {
				ids = append(ids, inv.ID)
			}
		}
		for _, name := range names {
			if len(ids) == 0 {
				break
			}
			got, err := r.opt.Lookups[name].LookupInvoices(ctx, ids)
			if err != nil {
				return fmt.Errorf("look invoices up in %s: %w", name, err)
			}
			held[name] = got
			w.lookedUp += int64(len(ids))
		}
		for _, inv := range page {
			for _, fd := range invoiceFindings(inv, names, held, now, r.opt.StuckAfter) {
				if err := w.add(ctx, fd); err != nil {
					return err
				}
			}
		}
		if err := w.progress(ctx, len(page)); err != nil {
			return err
		}
		if len(page) < f.Limit {
			break
		}
		f.AfterCreated, f.After = page[len(page)-1].CreatedAt, page[len(page)-1].ID
	}
	for _, name := range names {
		l, ok := r.opt.Lookups[name].(connector.InvoiceLister)
		if !ok {
			continue
		}
		if err := r.unknownInHub(ctx, w, name, l); err != nil {
			return err
		}
	}
	return nil
}

// invoiceFindings compares one invoice with what each ERP holds of it.
func invoiceFindings(inv store.InvoiceRecord, names []string, held map[string]map[string]connector.ERPInvoice, now time.Time, stuckAfter time.Duration) []Finding {
	var out []Finding
	base := func(code, conn, detail string, data map[string]any) Finding {
		d := map[string]any{"status": inv.Status, "total": inv.Total, "currency": inv.Currency}
		if conn != "" {
			d["connector"] = conn
		}
		maps.Copy(d, data)
		maps.DeleteFunc(d, func(_ string, v any) bool { return v == "" }) // what the ERP did not say
		return Finding{Code: code, ShipmentID: inv.ShipmentID, InvoiceID: inv.ID, Key: conn, Detail: detail, Data: d, At: inv.CreatedAt}
	}
	if inv.Status == invoiceReady {
		if age := now.Sub(inv.CreatedAt); age > stuckAfter {
			detail := fmt.Sprintf("invoice %s has waited %s to be posted (limit %s)", inv.ID, roundAge(age), roundAge(stuckAfter))
			var in []string
			for _, name := range names {
				if e, ok := held[name][inv.ID]; ok {
					in = append(in, name+" ("+cmpStr(e.Ref, "no number")+")")
				}
			}
			if len(in) > 0 {
				detail += "; the ERP holds it already: " + strings.Join(in, ", ") + " — its posting was not recorded"
			}
			out = append(out, base(CodeStuckReady, "", detail, map[string]any{"age_seconds": int64(age.Seconds()), "created_at": inv.CreatedAt}))
		}
		return out
	}
	if inv.Status != invoicePosted {
		return nil
	}
	for _, name := range names {
		got, asked := held[name]
		if !asked {
			continue
		}
		e, ok := got[inv.ID]
		if !ok {
			out = append(out, base(CodeMissingInERP, name,
				fmt.Sprintf("invoice %s (%s %s) is posted in the hub (ERP reference %s) but %s does not hold it", inv.ID, inv.Total, inv.Currency, cmpStr(inv.ERPRef, "none"), name),
				map[string]any{"erp_ref": inv.ERPRef}))
			continue
		}
		if cancelled(e.State) {
			out = append(out, base(CodeMissingInERP, name,
				fmt.Sprintf("invoice %s (%s %s) is posted in the hub but %s holds it cancelled (%s)", inv.ID, inv.Total, inv.Currency, name, cmpStr(e.Ref, "no number")),
				map[string]any{"erp_ref": e.Ref, "erp_state": e.State}))
			continue
		}
		same, err := sameAmount(inv.Total, e.Total)
		if err != nil || !same || (e.Currency != "" && !strings.EqualFold(e.Currency, inv.Currency)) {
			out = append(out, base(CodeAmountMismatch, name,
				fmt.Sprintf("invoice %s is %s %s in the hub but %s %s in %s (%s)", inv.ID, inv.Total, inv.Currency, cmpStr(e.Total, "no total"), cmpStr(e.Currency, inv.Currency), name, cmpStr(e.Ref, "no number")),
				map[string]any{"erp_total": e.Total, "erp_currency": e.Currency, "erp_ref": e.Ref, "erp_state": e.State, "difference": difference(e.Total, inv.Total)}))
		}
	}
	return out
}

// unknownInHub lists the documents of one ERP that carry one of our
// references and finds those the hub never issued.
func (r *Runner) unknownInHub(ctx context.Context, w *writer, name string, l connector.InvoiceLister) error {
	prefix := r.opt.InvoicePrefix + "-"
	err := l.ListInvoices(ctx, prefix, w.run.From, w.run.To, func(page []connector.ERPInvoice) error {
		w.listed += int64(len(page))
		for _, e := range page {
			_, err := r.opt.Store.Invoice(ctx, e.InvoiceID)
			if err == nil {
				continue
			}
			if !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("read invoice %s: %w", e.InvoiceID, err)
			}
			fd := Finding{Code: CodeUnknownInHub, InvoiceID: e.InvoiceID, Key: name,
				Detail: fmt.Sprintf("%s holds %s (%s %s, reference %s) that the hub never issued", name, cmpStr(e.Ref, "a document"), e.Total, e.Currency, e.InvoiceID),
				Data:   map[string]any{"connector": name, "erp_ref": e.Ref, "erp_total": e.Total, "erp_currency": e.Currency, "erp_state": e.State}}
			if err := w.add(ctx, fd); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list invoices in %s: %w", name, err)
	}
	return nil
}

// cancelled reports whether an ERP state means the document was
// cancelled (Tryton cancelled, Odoo cancel).
func cancelled(state string) bool {
	switch strings.ToLower(state) {
	case "cancel", "cancelled", "canceled":
		return true
	}
	return false
}

// sameAmount compares two decimal strings by value ("12.5" = "12.50").
func sameAmount(a, b string) (bool, error) {
	x, ok := new(big.Rat).SetString(strings.TrimSpace(a))
	if !ok {
		return false, fmt.Errorf("amount %q is not a number", a)
	}
	y, ok := new(big.Rat).SetString(strings.TrimSpace(b))
	if !ok {
		return false, fmt.Errorf("amount %q is not a number", b)
	}
	return x.Cmp(y) == 0, nil
}

// difference is a − b with two places, "" when either is not a number.
func difference(a, b string) string {
	x, ok1 := new(big.Rat).SetString(strings.TrimSpace(a))
	y, ok2 := new(big.Rat).SetString(strings.TrimSpace(b))
	if !ok1 || !ok2 {
		return ""
	}
	return new(big.Rat).Sub(x, y).FloatString(2)
}

func cmpStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// roundAge shows a duration to the minute, or to the hour past two days.
func roundAge(d time.Duration) string {
	if d >= 48*time.Hour {
		return d.Round(time.Hour).String()
	}
	return d.Round(time.Minute).String()
}
