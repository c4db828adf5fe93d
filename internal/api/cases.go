package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
)

// CaseView is a case as the API shows it.
type CaseView struct {
	ID         string          `json:"id"`
	ShipmentID string          `json:"shipment_id"`
	Code       string          `json:"code"`
	Status     string          `json:"status" enum:"open,resolved,superseded,cancelled"`
	OpenedAt   time.Time       `json:"opened_at"`
	StopID     string          `json:"stop_id,omitempty"`
	Detail     string          `json:"detail"`
	Blocking   bool            `json:"blocking" doc:"Billing waits while it is open"`
	Cause      string          `json:"cause" doc:"source and id of the report that raised it"`
	ClosedAt   *time.Time      `json:"closed_at"`
	ResolvedBy string          `json:"resolved_by,omitempty"`
	Resolution string          `json:"resolution,omitempty"`
	Note       string          `json:"note,omitempty"`
	Assignee   string          `json:"assignee,omitempty"`
	CustomerID string          `json:"customer_id,omitempty"`
	Carrier    string          `json:"carrier,omitempty"`
	Region     string          `json:"region,omitempty" doc:"One-degree cell of the stop, e.g. N50E008"`
	Comments   json.RawMessage `json:"comments" doc:"[{at, by, text}], oldest first"`
}

// CaseList is a page of cases, oldest opened first.
type CaseList struct {
	Items      []CaseView `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

type casesIn struct {
	ShipmentID string `query:"shipment_id" maxLength:"256"`
	Status     string `query:"status" enum:"open,resolved,superseded,cancelled,"`
	Code       string `query:"code" maxLength:"64"`
	CustomerID string `query:"customer_id" maxLength:"256"`
	Carrier    string `query:"carrier" maxLength:"256"`
	Region     string `query:"region" maxLength:"16"`
	OlderThan  string `query:"older_than" maxLength:"16" doc:"Only cases opened longer ago than this duration, e.g. 4h"`
	Limit      int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Cursor     string `query:"cursor" maxLength:"512"`
}

type caseIn struct {
	ID string `path:"id" maxLength:"64"`
}

// CaseResolve is the body of POST /api/v1/cases/{id}/resolve.
type CaseResolve struct {
	Resolution string `json:"resolution" minLength:"1" maxLength:"200" doc:"What was decided, e.g. credit note issued"`
	Note       string `json:"note,omitempty" maxLength:"2000"`
}

// CaseComment is the body of POST /api/v1/cases/{id}/comments.
type CaseComment struct {
	Text string `json:"text" minLength:"1" maxLength:"2000"`
}

// CaseAssign is the body of PUT /api/v1/cases/{id}/assignee.
type CaseAssign struct {
	Assignee string `json:"assignee" maxLength:"200" doc:"Who works on it; empty to unassign"`
}

func caseView(c store.CaseRecord) CaseView {
	v := CaseView{ID: c.ID, ShipmentID: c.ShipmentID, Code: c.Code, Status: c.Status, OpenedAt: c.OpenedAt, StopID: c.StopID,
		Detail: c.Detail, Blocking: c.Blocking, Cause: c.Cause, ResolvedBy: c.ResolvedBy, Resolution: c.Resolution, Note: c.Note,
		Assignee: c.Assignee, CustomerID: c.CustomerID, Carrier: c.Carrier, Region: c.Region, Comments: c.Comments}
	if !c.ClosedAt.IsZero() {
		v.ClosedAt = &c.ClosedAt
	}
	if len(v.Comments) == 0 {
		v.Comments = json.RawMessage(`[]`)
	}
	return v
}

func (s *Server) registerCases() {
	huma.Register(s.api, s.op("list-cases", http.MethodGet, "/api/v1/cases", "List cases, oldest opened first", ScopeRead),
		func(ctx context.Context, in *casesIn) (*struct{ Body CaseList }, error) {
			f := store.CaseFilter{ShipmentID: in.ShipmentID, Status: in.Status, Code: in.Code, CustomerID: in.CustomerID,
				Carrier: in.Carrier, Region: in.Region, Limit: in.Limit}
			if p := principalFrom(ctx); p.Partner != "" {
				// A partner lists the cases of one shipment it may read.
				if in.ShipmentID == "" {
					return nil, newProblem(http.StatusForbidden, "a partner's key lists cases per shipment: give shipment_id")
				}
				if _, _, err := s.loadShipment(ctx, in.ShipmentID); err != nil {
					return nil, err
				}
			}
			if in.OlderThan != "" {
				d, err := time.ParseDuration(in.OlderThan)
				if err != nil || d < 0 {
					return nil, fieldProblem("older_than", "must be a duration such as 30m or 4h")
				}
				f.OpenedBefore = s.opt.Now().Add(-d)
			}
			if in.Cursor != "" {
				var c store.CaseCursor
				if err := decodeCursor(in.Cursor, &c); err != nil {
					return nil, err
				}
				f.After = &c
			}
			recs, err := s.opt.Store.Cases(ctx, f)
			if err != nil {
				return nil, s.internal(ctx, "list cases", err)
			}
			out := CaseList{Items: make([]CaseView, 0, len(recs))}
			for _, c := range recs {
				out.Items = append(out.Items, caseView(c))
			}
			if len(recs) == in.Limit {
				last := recs[len(recs)-1]
				cur := encodeCursor(store.CaseCursor{OpenedAt: last.OpenedAt, ID: last.ID})
				out.NextCursor = &cur
			}
			return &struct{ Body CaseList }{out}, nil
		})
	huma.Register(s.api, s.op("get-case", http.MethodGet, "/api/v1/cases/{id}", "Get a case", ScopeRead),
		func(ctx context.Context, in *caseIn) (*struct{ Body CaseView }, error) {
			c, err := s.readCase(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &struct{ Body CaseView }{caseView(c)}, nil
		})
	resolve := s.op("resolve-case", http.MethodPost, "/api/v1/cases/{id}/resolve", "Resolve a case; billing resumes when no blocking case is left", ScopeOps)
	resolve.DefaultStatus = http.StatusOK
	resolve.Errors = append(resolve.Errors, http.StatusNotFound, http.StatusConflict)
	huma.Register(s.api, resolve, func(ctx context.Context, in *struct {
		ID   string `path:"id" maxLength:"64"`
		Body CaseResolve
	}) (*struct{ Body CaseView }, error) {
		c, err := s.readCase(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		err = s.opt.Pipeline.ResolveCase(ctx, pipeline.Resolution{CaseID: c.ID, ShipmentID: c.ShipmentID, By: principalFrom(ctx).Name,
			Resolution: in.Body.Resolution, Note: in.Body.Note})
		switch {
		case errors.Is(err, pipeline.ErrCaseClosed), errors.Is(err, pipeline.ErrCaseNotFound):
			return nil, newProblem(http.StatusConflict, "case "+c.ID+" is "+c.Status+"; only an open case can be resolved")
		case err != nil:
			return nil, s.unavailable(ctx, "resolve case", err)
		}
		if c, err = s.readCase(ctx, in.ID); err != nil {
			return nil, err
		}
		return &struct{ Body CaseView }{caseView(c)}, nil
	})
	comment := s.op("comment-case", http.MethodPost, "/api/v1/cases/{id}/comments", "Add a comment to a case", ScopeOps)
	comment.DefaultStatus = http.StatusCreated
	comment.Errors = append(comment.Errors, http.StatusNotFound)
	huma.Register(s.api, comment, func(ctx context.Context, in *struct {
		ID   string `path:"id" maxLength:"64"`
		Body CaseComment
	}) (*struct{ Body CaseView }, error) {
		at := s.opt.Now().UTC()
		b, _ := json.Marshal(map[string]any{"at": at, "by": principalFrom(ctx).Name, "text": in.Body.Text})
		return s.annotate(ctx, in.ID, nil, b, at)
	})
	assign := s.op("assign-case", http.MethodPut, "/api/v1/cases/{id}/assignee", "Assign a case to someone", ScopeOps)
	assign.DefaultStatus = http.StatusOK
	assign.Errors = append(assign.Errors, http.StatusNotFound)
	huma.Register(s.api, assign, func(ctx context.Context, in *struct {
		ID   string `path:"id" maxLength:"64"`
		Body CaseAssign
	}) (*struct{ Body CaseView }, error) {
		return s.annotate(ctx, in.ID, &in.Body.Assignee, nil, s.opt.Now().UTC())
	})
}

func (s *Server) annotate(ctx context.Context, id string, assignee *string, comment []byte, at time.Time) (*struct{ Body CaseView }, error) {
	c, err := s.opt.Store.AnnotateCase(ctx, id, assignee, comment, at)
	if errors.Is(err, store.ErrNotFound) {
		return nil, newProblem(http.StatusNotFound, "no case "+strconv.Quote(id))
	}
	if err != nil {
		return nil, s.internal(ctx, "annotate case", err)
	}
	return &struct{ Body CaseView }{caseView(c)}, nil
}

// readCase reads a case the caller may see: a partner only the cases of
// shipments it may read.
func (s *Server) readCase(ctx context.Context, id string) (store.CaseRecord, error) {
	c, err := s.opt.Store.Case(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, newProblem(http.StatusNotFound, "no case "+strconv.Quote(id))
	}
	if err != nil {
		return c, s.internal(ctx, "get case", err)
	}
	if principalFrom(ctx).Partner != "" {
		if _, _, err := s.loadShipment(ctx, c.ShipmentID); err != nil {
			return c, newProblem(http.StatusNotFound, "no case "+strconv.Quote(id))
		}
	}
	return c, nil
}
