package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
)

// Delivery is one event's delivery to one connector.
type Delivery struct {
	ID            string     `json:"id"`
	Connector     string     `json:"connector"`
	EventSource   string     `json:"event_source"`
	EventID       string     `json:"event_id"`
	State         string     `json:"state" enum:"pending,delivered,dead"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty" doc:"For a dead delivery: why, with the destination's answer"`
	NextAttemptAt *time.Time `json:"next_attempt_at" doc:"When a pending delivery is tried next"`
	CorrelationID string     `json:"correlation_id,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// DeliveryList is a page of deliveries, newest first.
type DeliveryList struct {
	Items      []Delivery `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

var deliveryStates = map[string][]string{
	"pending":   {store.JobPending, store.JobRunning},
	"delivered": {store.JobDone},
	"dead":      {store.JobDead},
}

func deliveryOf(j store.JobRecord) Delivery {
	var p pipeline.DeliveryPayload
	_ = json.Unmarshal(j.Payload, &p)
	d := Delivery{ID: j.ID, Connector: p.Connector, EventSource: p.Source, EventID: p.ID, Attempts: j.Attempts, LastError: j.LastError,
		CorrelationID: j.CorrelationID, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt}
	switch j.State {
	case store.JobDone:
		d.State, d.LastError = "delivered", ""
	case store.JobDead:
		d.State = "dead"
	default:
		d.State, d.NextAttemptAt = "pending", &j.RunAt
	}
	return d
}

func (s *Server) registerDeliveries() {
	huma.Register(s.api, s.op("list-deliveries", http.MethodGet, "/api/v1/deliveries", "List outbound deliveries, newest first", ScopeOps),
		func(ctx context.Context, in *struct {
			State     string `query:"state" enum:"pending,delivered,dead,"`
			Connector string `query:"connector" maxLength:"64"`
			Limit     int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
			Cursor    string `query:"cursor" maxLength:"512"`
			// UpdatedSince: only deliveries changed at or after it
			// (queued, tried, settled); RFC 3339.
			UpdatedSince time.Time `query:"updated_since"`
		}) (*struct{ Body DeliveryList }, error) {
			f := store.JobFilter{Kind: pipeline.JobDeliver, States: deliveryStates[in.State], Limit: in.Limit, UpdatedSince: in.UpdatedSince}
			if in.Connector != "" {
				f.KeyPrefix = in.Connector + "|"
			}
			if in.Cursor != "" {
				if err := decodeCursor(in.Cursor, &f.Before); err != nil {
					return nil, err
				}
			}
			jobs, err := s.opt.Store.Jobs(ctx, f)
			if err != nil {
				return nil, s.internal(ctx, "list deliveries", err)
			}
			out := DeliveryList{Items: make([]Delivery, 0, len(jobs))}
			for _, j := range jobs {
				out.Items = append(out.Items, deliveryOf(j))
			}
			if len(jobs) == in.Limit {
				c := encodeCursor(jobs[len(jobs)-1].ID)
				out.NextCursor = &c
			}
			return &struct{ Body DeliveryList }{out}, nil
		})
	retry := s.op("retry-delivery", http.MethodPost, "/api/v1/deliveries/{id}/retry", "Put a dead delivery back (after fixing its cause)", ScopeOps)
	retry.DefaultStatus = http.StatusOK
	retry.Errors = append(retry.Errors, http.StatusNotFound, http.StatusConflict)
	huma.Register(s.api, retry, func(ctx context.Context, in *struct {
		ID string `path:"id" maxLength:"64"`
	}) (*struct{ Body Delivery }, error) {
		j, err := s.opt.Store.JobByID(ctx, in.ID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && j.Kind != pipeline.JobDeliver) {
			return nil, newProblem(http.StatusNotFound, "no delivery "+strconv.Quote(in.ID))
		}
		if err != nil {
			return nil, s.internal(ctx, "get delivery", err)
		}
		if j.State != store.JobDead {
			return nil, newProblem(http.StatusConflict, "delivery "+in.ID+" is "+deliveryOf(j).State+"; only a dead delivery can be retried")
		}
		if err := s.opt.Store.ResetJob(ctx, in.ID, s.opt.Now().UTC()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, s.internal(ctx, "retry delivery", err)
		}
		if s.opt.Wake != nil {
			s.opt.Wake()
		}
		if j, err = s.opt.Store.JobByID(ctx, in.ID); err != nil {
			return nil, s.internal(ctx, "get delivery", err)
		}
		s.opt.Logger.InfoContext(ctx, "dead delivery retried", "delivery", in.ID, "by", principalFrom(ctx).Name,
			"connector", strings.SplitN(j.Key, "|", 2)[0])
		return &struct{ Body Delivery }{deliveryOf(j)}, nil
	})
}

// RetryFilter selects dead deliveries to put back at once.
type RetryFilter struct {
	Connector     string     `json:"connector,omitempty" maxLength:"64" doc:"Only this connector's; empty for all"`
	ErrorContains string     `json:"error_contains,omitempty" maxLength:"200" doc:"Only those whose last error contains this text (e.g. a status code)"`
	Since         *time.Time `json:"since,omitempty" doc:"Only deliveries queued at or after this time"`
	Until         *time.Time `json:"until,omitempty" doc:"Only deliveries queued before this time"`
	Limit         int        `json:"limit,omitempty" minimum:"1" maximum:"100000" doc:"At most this many; default 1000"`
	DryRun        bool       `json:"dry_run,omitempty" doc:"Count what would be retried; change nothing"`
}

// RetryResult is what a bulk retry did.
type RetryResult struct {
	Matched int  `json:"matched" doc:"Dead deliveries the filter selected"`
	Retried int  `json:"retried" doc:"Put back to pending (0 for a dry run)"`
	DryRun  bool `json:"dry_run"`
	// Truncated: more dead deliveries match than Limit.
	Truncated bool `json:"truncated"`
}

func (f RetryFilter) match(j store.JobRecord) bool {
	return (f.ErrorContains == "" || strings.Contains(j.LastError, f.ErrorContains)) &&
		(f.Since == nil || !j.CreatedAt.Before(*f.Since)) && (f.Until == nil || j.CreatedAt.Before(*f.Until))
}

func (s *Server) registerBulkRetry() {
	o := s.op("retry-deliveries", http.MethodPost, "/api/v1/deliveries/retry",
		"Put every dead delivery a filter selects back (after fixing their cause)", ScopeOps)
	o.DefaultStatus = http.StatusOK
	huma.Register(s.api, o, func(ctx context.Context, in *struct{ Body RetryFilter }) (*struct{ Body RetryResult }, error) {
		f := in.Body
		if f.Limit == 0 {
			f.Limit = 1000
		}
		if f.Connector != "" && !slices.ContainsFunc(s.connectors(), func(c ConnectorInfo) bool { return c.Name == f.Connector }) {
			return nil, fieldProblem("connector", "is not a configured connector")
		}
		jf := store.JobFilter{Kind: pipeline.JobDeliver, States: []string{store.JobDead}, Limit: 1000}
		if f.Connector != "" {
			jf.KeyPrefix = f.Connector + "|"
		}
		res := RetryResult{DryRun: f.DryRun}
		now := s.opt.Now().UTC()
		for {
			page, err := s.opt.Store.Jobs(ctx, jf)
			if err != nil {
				return nil, s.internal(ctx, "list dead deliveries", err)
			}
			var again []store.JobRecord
			for _, j := range page {
				if !f.match(j) {
					continue
				}
				if res.Matched == f.Limit {
					res.Truncated = true
					break
				}
				res.Matched++
				j.RunAt, j.UpdatedAt = now, now
				again = append(again, j)
			}
			if !f.DryRun && len(again) > 0 {
				n, err := s.opt.Store.ReplayJobs(ctx, again)
				if err != nil {
					return nil, s.internal(ctx, "retry deliveries", err)
				}
				res.Retried += n
			}
			if res.Truncated || len(page) < jf.Limit {
				break
			}
			jf.Before = page[len(page)-1].ID
		}
		if res.Retried > 0 && s.opt.Wake != nil {
			s.opt.Wake()
		}
		s.opt.Logger.InfoContext(ctx, "dead deliveries retried", "by", principalFrom(ctx).Name, "connector", f.Connector,
			"matched", res.Matched, "retried", res.Retried, "dry_run", f.DryRun)
		return &struct{ Body RetryResult }{res}, nil
	})
}
