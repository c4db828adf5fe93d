package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/reconcile"
	"github.com/crossdockhq/crossdock/internal/store"
)

// scopeFinanceOrOps lets keys with either scope in.
const scopeFinanceOrOps = ScopeFinance + "|" + ScopeOps

// ReconciliationRequest is the body of POST /api/v1/reconciliations.
type ReconciliationRequest struct {
	Kind string    `json:"kind" enum:"invoices,shipments,fuel" doc:"What to check"`
	From time.Time `json:"from" doc:"Start of the period checked (inclusive)"`
	To   time.Time `json:"to" doc:"End of the period checked (exclusive); at most 366 days after from"`
}

// ReconciliationStarted answers POST /api/v1/reconciliations.
type ReconciliationStarted struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Status string `json:"status" enum:"running,done,failed"`
}

// FindingView is a finding as the API shows it.
type FindingView struct {
	ID         string          `json:"id" doc:"The same discrepancy has the same id in every run"`
	Code       string          `json:"code"`
	ShipmentID string          `json:"shipment_id,omitempty"`
	InvoiceID  string          `json:"invoice_id,omitempty"`
	VehicleID  string          `json:"vehicle_id,omitempty"`
	Detail     string          `json:"detail"`
	Data       json.RawMessage `json:"data,omitempty" doc:"The figures behind it: amounts, distances, liters"`
	FoundAt    time.Time       `json:"found_at" doc:"When the discrepancy arose"`
}

// ReconciliationView is a run as the API shows it.
type ReconciliationView struct {
	ID          string           `json:"id"`
	Kind        string           `json:"kind" enum:"invoices,shipments,fuel"`
	Status      string           `json:"status" enum:"running,done,failed"`
	From        time.Time        `json:"from"`
	To          time.Time        `json:"to"`
	Trigger     string           `json:"trigger" enum:"api,schedule"`
	RequestedBy string           `json:"requested_by"`
	Checked     int64            `json:"checked" doc:"Invoices, shipments or vehicles checked so far"`
	FindingsN   int64            `json:"findings_count"`
	Counts      map[string]int64 `json:"counts,omitempty" doc:"Findings by code"`
	Error       string           `json:"error,omitempty" doc:"Why a failed run failed"`
	StartedAt   time.Time        `json:"started_at"`
	FinishedAt  *time.Time       `json:"finished_at"`
	// Findings and NextCursor are set on GET /api/v1/reconciliations/{id}.
	Findings   []FindingView `json:"findings,omitempty"`
	NextCursor *string       `json:"next_cursor,omitempty" doc:"More findings: pass as cursor"`
}

// ReconciliationList is a page of runs, newest first.
type ReconciliationList struct {
	Items      []ReconciliationView `json:"items"`
	NextCursor *string              `json:"next_cursor"`
}

// Redelivered answers POST /api/v1/reconciliations/{id}/findings/{finding_id}/redeliver.
type Redelivered struct {
	InvoiceID string `json:"invoice_id"`
	Connector string `json:"connector"`
	Queued    bool   `json:"queued" doc:"False when a delivery of it is pending or running already"`
}

func runView(r store.ReconciliationRecord) ReconciliationView {
	v := ReconciliationView{ID: r.ID, Kind: r.Kind, Status: r.Status, From: r.From, To: r.To, Trigger: r.Trigger,
		RequestedBy: r.RequestedBy, Checked: r.Checked, FindingsN: r.Findings, Error: r.Error, StartedAt: r.StartedAt}
	if !r.FinishedAt.IsZero() {
		v.FinishedAt = &r.FinishedAt
	}
	return v
}

func findingView(f store.FindingRecord) FindingView {
	return FindingView{ID: f.ID, Code: f.Code, ShipmentID: f.ShipmentID, InvoiceID: f.InvoiceID, VehicleID: f.VehicleID,
		Detail: f.Detail, Data: f.Data, FoundAt: f.FoundAt}
}

// internalOnly refuses partner keys: reconciliation spans every partner's data.
func internalOnly(ctx context.Context) error {
	if principalFrom(ctx).Partner != "" {
		return newProblem(http.StatusForbidden, "reconciliation spans every partner's data; a partner's key cannot use it")
	}
	return nil
}

func (s *Server) registerReconciliations() {
	if s.opt.Reconcile == nil {
		return
	}
	o := s.op("start-reconciliation", http.MethodPost, "/api/v1/reconciliations",
		"Start a reconciliation run over a period: invoices against the ERP, shipments against invoices, fuel against telematics", scopeFinanceOrOps)
	o.DefaultStatus = http.StatusAccepted
	huma.Register(s.api, o, func(ctx context.Context, in *struct{ Body ReconciliationRequest }) (*struct{ Body ReconciliationStarted }, error) {
		if err := internalOnly(ctx); err != nil {
			return nil, err
		}
		b := in.Body
		if err := reconcile.Check(b.Kind, b.From, b.To); err != nil {
			field := "to"
			if b.From.IsZero() {
				field = "from"
			}
			return nil, fieldProblem(field, err.Error())
		}
		run, _, err := s.opt.Reconcile.Start(ctx, reconcile.Request{Kind: b.Kind, From: b.From, To: b.To,
			Trigger: reconcile.TriggerAPI, RequestedBy: principalFrom(ctx).Name})
		if err != nil {
			return nil, s.internal(ctx, "start reconciliation", err)
		}
		if s.opt.WakeReconcile != nil {
			s.opt.WakeReconcile()
		}
		s.opt.Logger.InfoContext(ctx, "reconciliation requested", "run", run.ID, "kind", run.Kind, "from", run.From, "to", run.To, "by", run.RequestedBy)
		return &struct{ Body ReconciliationStarted }{ReconciliationStarted{ID: run.ID, Kind: run.Kind, Status: run.Status}}, nil
	})

	huma.Register(s.api, s.op("list-reconciliations", http.MethodGet, "/api/v1/reconciliations", "List reconciliation runs, newest first", scopeFinanceOrOps),
		func(ctx context.Context, in *struct {
			Kind   string `query:"kind" enum:"invoices,shipments,fuel,"`
			Status string `query:"status" enum:"running,done,failed,"`
			Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
			Cursor string `query:"cursor" maxLength:"64"`
		}) (*struct{ Body ReconciliationList }, error) {
			if err := internalOnly(ctx); err != nil {
				return nil, err
			}
			recs, err := s.opt.Store.Reconciliations(ctx, store.ReconciliationFilter{Kind: in.Kind, Status: in.Status, Before: in.Cursor, Limit: in.Limit})
			if err != nil {
				return nil, s.internal(ctx, "list reconciliations", err)
			}
			out := ReconciliationList{Items: make([]ReconciliationView, len(recs))}
			for i, r := range recs {
				out.Items[i] = runView(r)
			}
			if len(recs) == in.Limit {
				c := recs[len(recs)-1].ID
				out.NextCursor = &c
			}
			return &struct{ Body ReconciliationList }{out}, nil
		})

	huma.Register(s.api, s.op("get-reconciliation", http.MethodGet, "/api/v1/reconciliations/{id}",
		"A reconciliation run with its findings (paged by cursor) and counts by code", scopeFinanceOrOps),
		func(ctx context.Context, in *struct {
			ID     string `path:"id" maxLength:"64"`
			Code   string `query:"code" maxLength:"64" doc:"Only findings with this code"`
			Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"1000"`
			Cursor string `query:"cursor" maxLength:"32"`
		}) (*struct{ Body ReconciliationView }, error) {
			if err := internalOnly(ctx); err != nil {
				return nil, err
			}
			run, err := s.opt.Store.Reconciliation(ctx, in.ID)
			if errors.Is(err, store.ErrNotFound) {
				return nil, newProblem(http.StatusNotFound, "no reconciliation run "+strconv.Quote(in.ID))
			}
			if err != nil {
				return nil, s.internal(ctx, "read reconciliation", err)
			}
			f := store.FindingFilter{RunID: run.ID, Code: in.Code, Limit: in.Limit}
			if in.Cursor != "" {
				n, err := strconv.ParseInt(in.Cursor, 10, 64)
				if err != nil || n < 0 {
					return nil, fieldProblem("cursor", "is not a cursor this endpoint gave")
				}
				f.AfterSeq = n
			}
			fs, err := s.opt.Store.Findings(ctx, f)
			if err != nil {
				return nil, s.internal(ctx, "list findings", err)
			}
			counts, err := s.opt.Store.FindingCounts(ctx, run.ID)
			if err != nil {
				return nil, s.internal(ctx, "count findings", err)
			}
			v := runView(run)
			v.Counts = counts
			v.Findings = make([]FindingView, len(fs))
			for i, fd := range fs {
				v.Findings[i] = findingView(fd)
			}
			if len(fs) == in.Limit {
				c := strconv.FormatInt(fs[len(fs)-1].Seq, 10)
				v.NextCursor = &c
			}
			return &struct{ Body ReconciliationView }{v}, nil
		})

	o = s.op("redeliver-finding", http.MethodPost, "/api/v1/reconciliations/{id}/findings/{finding_id}/redeliver",
		"Act on an invoice finding (missing_in_erp, stuck_ready): deliver the invoice to its ERP connector again through the outbox", scopeFinanceOrOps)
	o.DefaultStatus = http.StatusAccepted
	o.Errors = append(o.Errors, http.StatusNotFound, http.StatusConflict)
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		ID        string `path:"id" maxLength:"64"`
		FindingID string `path:"finding_id" maxLength:"64"`
	}) (*struct{ Body Redelivered }, error) {
		if err := internalOnly(ctx); err != nil {
			return nil, err
		}
		fd, err := s.finding(ctx, in.ID, in.FindingID)
		if err != nil {
			return nil, err
		}
		if fd.Code != reconcile.CodeMissingInERP && fd.Code != reconcile.CodeStuckReady {
			return nil, newProblem(http.StatusConflict, "only missing_in_erp and stuck_ready findings are redelivered; this one is "+fd.Code)
		}
		out, err := s.redeliver(ctx, fd)
		if err != nil {
			return nil, err
		}
		s.opt.Logger.InfoContext(ctx, "finding redelivered", "run", in.ID, "finding", fd.ID, "invoice", out.InvoiceID,
			"connector", out.Connector, "queued", out.Queued, "by", principalFrom(ctx).Name)
		return &struct{ Body Redelivered }{out}, nil
	})
}

// finding reads one finding of a run.
func (s *Server) finding(ctx context.Context, runID, id string) (store.FindingRecord, error) {
	f := store.FindingFilter{RunID: runID, Limit: 1000}
	for {
		page, err := s.opt.Store.Findings(ctx, f)
		if err != nil {
			return store.FindingRecord{}, s.internal(ctx, "list findings", err)
		}
		if i := slices.IndexFunc(page, func(x store.FindingRecord) bool { return x.ID == id }); i >= 0 {
			return page[i], nil
		}
		if len(page) < f.Limit {
			return store.FindingRecord{}, newProblem(http.StatusNotFound, "run "+strconv.Quote(runID)+" has no finding "+strconv.Quote(id))
		}
		f.AfterSeq = page[len(page)-1].Seq
	}
}

// redeliver queues the delivery of a finding's invoice.ready event to the
// connector the finding names (or every ERP connector receiving it).
func (s *Server) redeliver(ctx context.Context, fd store.FindingRecord) (Redelivered, error) {
	var data struct {
		Connector string `json:"connector"`
	}
	_ = json.Unmarshal(fd.Data, &data)
	out := Redelivered{InvoiceID: fd.InvoiceID, Connector: data.Connector}
	var conns []string
	for _, c := range s.connectors() {
		if slices.Contains(c.Events, pipeline.TypeInvoiceReady) && (data.Connector == "" || c.Name == data.Connector) {
			conns = append(conns, c.Name)
		}
	}
	if len(conns) == 0 {
		return out, newProblem(http.StatusConflict, "no connector receives invoice.ready to deliver "+fd.InvoiceID+" to")
	}
	evs, err := s.opt.Store.Events(ctx, store.EventFilter{Types: []string{pipeline.TypeInvoiceReady}, ShipmentID: fd.ShipmentID, Limit: 1000})
	if err != nil {
		return out, s.internal(ctx, "read invoice events", err)
	}
	i := slices.IndexFunc(evs, func(e store.EventRecord) bool {
		var d struct {
			ID string `json:"id"`
		}
		return json.Unmarshal(e.Data, &d) == nil && d.ID == fd.InvoiceID
	})
	if i < 0 {
		return out, newProblem(http.StatusNotFound, "no invoice.ready event of "+fd.InvoiceID+" is stored")
	}
	now := s.opt.Now().UTC()
	jobs := make([]store.JobRecord, len(conns))
	for k, c := range conns {
		jobs[k] = pipeline.DeliveryJob(c, evs[i], now)
	}
	n, err := s.opt.Store.ReplayJobs(ctx, jobs)
	if err != nil {
		return out, s.internal(ctx, "queue redelivery", err)
	}
	if n > 0 && s.opt.Wake != nil {
		s.opt.Wake()
	}
	out.Queued = n > 0
	if out.Connector == "" {
		out.Connector = conns[0]
	}
	return out, nil
}
