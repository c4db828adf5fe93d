package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/api"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/reconcile"
	"github.com/crossdockhq/crossdock/internal/shipment"
)

// errForbidden is an API 403 behind a view.
var errForbidden = errors.New("forbidden")

// opsData is the operations dashboard.
type opsData struct {
	api.OperationsInsight
	Status []bar
	Map    *fleetMap
	// Reconciled is the newest run of each kind.
	Reconciled []api.ReconciliationView
}

// financeData is the finance dashboard.
type financeData struct {
	api.FinanceInsight
	Failed  []pipeline.Invoice
	Ready   []pipeline.Invoice
	Revenue *columnChart
	// Reconciled is the newest run of each kind.
	Reconciled []api.ReconciliationView
}

// platformData is the platform dashboard.
type platformData struct {
	api.PlatformInsight
	Dead []api.Delivery
	// Held is the newest page of quarantine (Quarantine counts it all).
	Held []api.QuarantineItem
}

// reconcileData is the reconciliation view: recent runs, one run's
// findings, and the form that starts a run.
type reconcileData struct {
	Runs []api.ReconciliationView
	// Run is the run shown: the one asked for, else the newest; nil when
	// there is none.
	Run *api.ReconciliationView
	// More is true when the run has more findings than shown.
	More     bool
	Codes    []codeCount
	From, To string // the form's default period: the last 7 days
}

// codeCount is a run's findings of one code.
type codeCount struct {
	Code  string
	Count int64
}

// supportData is the support view: a search and recent shipments.
type supportData struct {
	Query     string
	NotFound  bool
	Shipments []shipment.View
}

// shipmentData is one shipment with everything that happened to it.
type shipmentData struct {
	Shipment shipment.View
	// Correlation, when set, limits the timeline to one correlation id.
	Correlation string
	Timeline    []timelineRow
	Cases       []api.CaseView
	Invoices    []pipeline.Invoice
}

// timelineRow is a timeline item with its detail as compact text.
type timelineRow struct {
	api.TimelineItem
	Text string
}

// load reads one view's data through the API.
func (c *Console) load(ctx context.Context, cl client, name string, q url.Values) (any, error) {
	var err error
	switch name {
	case "ops":
		var d opsData
		if err = cl.get(ctx, "/api/v1/insights/operations", nil, &d.OperationsInsight); err != nil {
			return d, forbid(err)
		}
		d.Status = statusBars(d.Shipments)
		d.Map = drawFleet(d.Vehicles)
		d.Reconciled = latestRuns(ctx, cl)
		return d, nil
	case "finance":
		var d financeData
		if err = cl.get(ctx, "/api/v1/insights/finance", nil, &d.FinanceInsight); err != nil {
			return d, forbid(err)
		}
		var failed, ready api.InvoiceList
		if err = cl.get(ctx, "/api/v1/invoices", url.Values{"status": {"failed"}, "limit": {"20"}}, &failed); err != nil {
			return d, forbid(err)
		}
		if err = cl.get(ctx, "/api/v1/invoices", url.Values{"status": {"ready"}, "limit": {"20"}}, &ready); err != nil {
			return d, forbid(err)
		}
		d.Failed, d.Ready = failed.Items, ready.Items
		d.Revenue = drawRevenue(d.FinanceInsight.Revenue, d.At)
		d.Reconciled = latestRuns(ctx, cl)
		return d, nil
	case "platform":
		var d platformData
		if err = cl.get(ctx, "/api/v1/insights/platform", nil, &d.PlatformInsight); err != nil {
			return d, forbid(err)
		}
		var dead api.DeliveryList
		if err = cl.get(ctx, "/api/v1/deliveries", url.Values{"state": {"dead"}, "limit": {"25"}}, &dead); err != nil {
			return d, forbid(err)
		}
		var qs api.QuarantineList
		if err = cl.get(ctx, "/api/v1/quarantine", url.Values{"limit": {"25"}}, &qs); err != nil {
			return d, forbid(err)
		}
		d.Dead, d.Held = dead.Items, qs.Items
		return d, nil
	case "reconcile":
		return c.loadReconcile(ctx, cl, q.Get("id"))
	case "support":
		d := supportData{Query: q.Get("q")}
		list := url.Values{"limit": {"50"}}
		if d.Query != "" {
			// Not a shipment id: try it as a customer.
			list.Set("customer_id", d.Query)
		} else {
			list.Set("updated_since", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
		}
		var ss api.ShipmentList
		if err = cl.get(ctx, "/api/v1/shipments", list, &ss); err != nil {
			return d, forbid(err)
		}
		d.Shipments = ss.Items
		slices.Reverse(d.Shipments) // newest update first
		d.NotFound = d.Query != "" && len(d.Shipments) == 0
		return d, nil
	case "shipment":
		var d shipmentData
		id := url.PathEscape(q.Get("id"))
		if err = cl.get(ctx, "/api/v1/shipments/"+id, nil, &d.Shipment); err != nil {
			return nil, forbid(err)
		}
		var tl api.Timeline
		if err = cl.get(ctx, "/api/v1/shipments/"+id+"/timeline", url.Values{"limit": {"1000"}}, &tl); err != nil {
			return d, forbid(err)
		}
		d.Correlation = q.Get("cid")
		for i := len(tl.Items) - 1; i >= 0; i-- {
			if d.Correlation != "" && tl.Items[i].CorrelationID != d.Correlation {
				continue
			}
			d.Timeline = append(d.Timeline, timelineRow{TimelineItem: tl.Items[i], Text: compact(tl.Items[i].Detail)})
		}
		var cs api.CaseList
		if err = cl.get(ctx, "/api/v1/cases", url.Values{"shipment_id": {q.Get("id")}}, &cs); err != nil && !isForbidden(err) {
			return d, err
		}
		d.Cases = cs.Items
		var inv api.InvoiceList
		if err = cl.get(ctx, "/api/v1/invoices", url.Values{"shipment_id": {q.Get("id")}}, &inv); err != nil && !isForbidden(err) {
			return d, err
		}
		d.Invoices = inv.Items
		return d, nil
	}
	return nil, fmt.Errorf("no view %q", name)
}

// findShipment reports whether q is a shipment id the key may read.
func (c *Console) findShipment(ctx context.Context, cl client, q string) (bool, error) {
	var v shipment.View
	err := cl.get(ctx, "/api/v1/shipments/"+url.PathEscape(q), nil, &v)
	var ae *apiError
	if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusUnprocessableEntity) {
		return false, nil
	}
	return err == nil, err
}

func isForbidden(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusForbidden
}

func forbid(err error) error {
	if isForbidden(err) {
		return fmt.Errorf("%w: %w", errForbidden, err)
	}
	return err
}

// compact renders a timeline detail as one line of key=value pairs.
func compact(raw json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return string(raw)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := ""
	for _, k := range keys {
		v := m[k]
		if v == nil || v == "" {
			continue
		}
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			b, _ := json.Marshal(x)
			s = string(b)
		}
		if r := []rune(s); len(r) > 160 {
			s = string(r[:157]) + "…"
		}
		if out != "" {
			out += "  "
		}
		out += k + "=" + s
	}
	return out
}

// latestRuns is the newest reconciliation run of each kind, in the
// order of reconcile.Kinds; none when the hub runs none or the key may
// not see them (the dashboard shows the rest all the same).
func latestRuns(ctx context.Context, cl client) []api.ReconciliationView {
	var runs api.ReconciliationList
	if err := cl.get(ctx, "/api/v1/reconciliations", url.Values{"limit": {"50"}}, &runs); err != nil {
		return nil
	}
	var out []api.ReconciliationView
	for _, kind := range reconcile.Kinds {
		if i := slices.IndexFunc(runs.Items, func(r api.ReconciliationView) bool { return r.Kind == kind }); i >= 0 {
			out = append(out, runs.Items[i])
		}
	}
	return out
}

// findingsShown is how many findings of a run the console lists.
const findingsShown = 200

func (c *Console) loadReconcile(ctx context.Context, cl client, runID string) (reconcileData, error) {
	now := c.opt.Now().UTC()
	d := reconcileData{From: now.AddDate(0, 0, -7).Format(time.DateOnly), To: now.Format(time.DateOnly)}
	var runs api.ReconciliationList
	if err := cl.get(ctx, "/api/v1/reconciliations", url.Values{"limit": {"20"}}, &runs); err != nil {
		return d, forbid(err)
	}
	d.Runs = runs.Items
	if runID == "" && len(d.Runs) > 0 {
		runID = d.Runs[0].ID
	}
	if runID == "" {
		return d, nil
	}
	var run api.ReconciliationView
	if err := cl.get(ctx, "/api/v1/reconciliations/"+url.PathEscape(runID), url.Values{"limit": {strconv.Itoa(findingsShown)}}, &run); err != nil {
		return d, forbid(err)
	}
	d.Run, d.More = &run, run.NextCursor != nil
	for code, n := range run.Counts {
		d.Codes = append(d.Codes, codeCount{code, n})
	}
	slices.SortFunc(d.Codes, func(a, b codeCount) int {
		if a.Count != b.Count {
			return int(b.Count - a.Count)
		}
		return strings.Compare(a.Code, b.Code)
	})
	return d, nil
}
