package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
)

// KindConnector is the master-data kind holding connectors' pause switches.
const KindConnector = "connector"

// PauseSwitch is a connector's pause state as stored.
type PauseSwitch struct {
	Paused bool      `json:"paused"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// ConnectorInfo is what the app tells the API of one connector.
type ConnectorInfo struct {
	Name, Kind, URL string
	Events          []string
	Circuit         string // closed, half-open or open, on this node
}

// ConnectorStatus is one connector as GET /api/v1/connectors shows it.
type ConnectorStatus struct {
	Name          string       `json:"name"`
	Kind          string       `json:"kind"`
	URL           string       `json:"url"`
	Events        []string     `json:"events"`
	State         string       `json:"state" enum:"closed,half-open,open,paused" doc:"paused, else the circuit breaker's state on this node"`
	Paused        *PauseSwitch `json:"paused,omitempty"`
	Backlog       int          `json:"backlog" doc:"Deliveries pending or running"`
	OldestPending *time.Time   `json:"oldest_pending" doc:"When the oldest pending delivery was queued"`
	Dead          int          `json:"dead" doc:"Dead letters waiting for a person"`
	LastError     string       `json:"last_error,omitempty"`
}

// ConnectorList is GET /api/v1/connectors.
type ConnectorList struct {
	Items []ConnectorStatus `json:"items"`
}

func (s *Server) registerConnectors() {
	huma.Register(s.api, s.op("list-connectors", http.MethodGet, "/api/v1/connectors", "Connectors with their state, backlog and last error", ScopeOps),
		func(ctx context.Context, _ *struct{}) (*struct{ Body ConnectorList }, error) {
			out := ConnectorList{Items: []ConnectorStatus{}}
			for _, c := range s.connectors() {
				st, err := s.connectorStatus(ctx, c)
				if err != nil {
					return nil, err
				}
				out.Items = append(out.Items, st)
			}
			return &struct{ Body ConnectorList }{out}, nil
		})
	for _, action := range []string{"pause", "resume"} {
		o := s.op(action+"-connector", http.MethodPost, "/api/v1/connectors/{name}/"+action,
			map[string]string{"pause": "Pause a connector (planned ERP maintenance): deliveries wait, attempts are not spent",
				"resume": "Resume a paused connector"}[action], ScopeOps)
		o.DefaultStatus = http.StatusOK
		o.Errors = append(o.Errors, http.StatusNotFound)
		paused := action == "pause"
		huma.Register(s.api, o, func(ctx context.Context, in *struct {
			Name string `path:"name" maxLength:"64"`
			Body *struct {
				Reason string `json:"reason,omitempty" maxLength:"200"`
			}
		}) (*struct{ Body ConnectorStatus }, error) {
			i := slices.IndexFunc(s.connectors(), func(c ConnectorInfo) bool { return c.Name == in.Name })
			if i < 0 {
				return nil, newProblem(http.StatusNotFound, "no connector "+strconv.Quote(in.Name))
			}
			sw := PauseSwitch{Paused: paused, By: principalFrom(ctx).Name, At: s.opt.Now().UTC()}
			if in.Body != nil {
				sw.Reason = in.Body.Reason
			}
			data, _ := json.Marshal(sw)
			if err := s.opt.Store.PutMaster(ctx, store.MasterRecord{Kind: KindConnector, ID: in.Name, Source: sw.By, Data: data, UpdatedAt: sw.At}); err != nil {
				return nil, s.internal(ctx, action+" connector", err)
			}
			if !paused && s.opt.Resumed != nil {
				if err := s.opt.Resumed(ctx, in.Name); err != nil {
					return nil, s.internal(ctx, "resume connector", err)
				}
			}
			if !paused && s.opt.Wake != nil {
				s.opt.Wake()
			}
			s.opt.Logger.InfoContext(ctx, "connector "+action+"d", "connector", in.Name, "by", sw.By)
			st, err := s.connectorStatus(ctx, s.connectors()[i])
			if err != nil {
				return nil, err
			}
			return &struct{ Body ConnectorStatus }{st}, nil
		})
	}
}

func (s *Server) connectors() []ConnectorInfo {
	if s.opt.Connectors == nil {
		return nil
	}
	cs := s.opt.Connectors()
	slices.SortFunc(cs, func(a, b ConnectorInfo) int { return strings.Compare(a.Name, b.Name) })
	return cs
}

func (s *Server) connectorStatus(ctx context.Context, c ConnectorInfo) (ConnectorStatus, error) {
	st := ConnectorStatus{Name: c.Name, Kind: c.Kind, URL: c.URL, Events: c.Events, State: c.Circuit}
	js, err := s.opt.Store.JobStats(ctx, pipeline.JobDeliver, c.Name+"|")
	if err != nil {
		return st, s.internal(ctx, "connector backlog", err)
	}
	st.Backlog, st.Dead, st.LastError = js.Pending, js.Dead, js.LastError
	if !js.OldestPending.IsZero() {
		st.OldestPending = &js.OldestPending
	}
	rec, err := s.opt.Store.Master(ctx, KindConnector, c.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return st, s.internal(ctx, "connector state", err)
	default:
		var sw PauseSwitch
		if json.Unmarshal(rec.Data, &sw) == nil && sw.Paused {
			st.State, st.Paused = "paused", &sw
		}
	}
	return st, nil
}

// ReplayRequest selects stored events to deliver to a connector again.
type ReplayRequest struct {
	Types      []string   `json:"types,omitempty" maxItems:"50" doc:"Event types; default every type the connector receives"`
	ShipmentID string     `json:"shipment_id,omitempty" maxLength:"128" doc:"Only this shipment's events"`
	From       *time.Time `json:"from,omitempty" doc:"Events at or after this event time"`
	To         *time.Time `json:"to,omitempty" doc:"Events before this event time"`
	Limit      int        `json:"limit,omitempty" minimum:"1" maximum:"1000000" doc:"At most this many events; default 10000"`
	DryRun     bool       `json:"dry_run,omitempty" doc:"Count what would be replayed; queue nothing"`
}

// ConnectorReplay is what a replay queued.
type ConnectorReplay struct {
	Connector string `json:"connector"`
	Matched   int    `json:"matched" doc:"Events the selection matched"`
	Queued    int    `json:"queued" doc:"Deliveries queued; a delivery already pending or running is not queued twice"`
	DryRun    bool   `json:"dry_run"`
	Truncated bool   `json:"truncated" doc:"More events match than limit"`
}

func (s *Server) registerReplay() {
	o := s.op("replay-connector", http.MethodPost, "/api/v1/connectors/{name}/replay",
		"Deliver stored events to a connector again (a type, a time range, a shipment): the destination receives each with its original Idempotency-Key", ScopeOps)
	o.DefaultStatus = http.StatusOK
	o.Errors = append(o.Errors, http.StatusNotFound)
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		Name string `path:"name" maxLength:"64"`
		Body ReplayRequest
	}) (*struct{ Body ConnectorReplay }, error) {
		i := slices.IndexFunc(s.connectors(), func(c ConnectorInfo) bool { return c.Name == in.Name })
		if i < 0 {
			return nil, newProblem(http.StatusNotFound, "no connector "+strconv.Quote(in.Name))
		}
		conn, r := s.connectors()[i], in.Body
		if r.From == nil && r.ShipmentID == "" {
			return nil, fieldProblem("from", "is required unless shipment_id is given: a replay names what it sends again")
		}
		if r.From != nil && r.To != nil && !r.From.Before(*r.To) {
			return nil, fieldProblem("to", "must be after from")
		}
		for j, t := range r.Types {
			if !slices.Contains(conn.Events, t) {
				return nil, fieldProblem(fmt.Sprintf("types[%d]", j), fmt.Sprintf("connector %s does not receive %s (it receives %s)", conn.Name, t, strings.Join(conn.Events, ", ")))
			}
		}
		if len(r.Types) == 0 {
			r.Types = conn.Events
		}
		if r.Limit == 0 {
			r.Limit = 10000
		}
		f := store.EventFilter{Types: r.Types, ShipmentID: r.ShipmentID, Limit: 1000}
		if r.From != nil {
			f.From = *r.From
		}
		if r.To != nil {
			f.To = *r.To
		}
		res := ConnectorReplay{Connector: conn.Name, DryRun: r.DryRun}
		now := s.opt.Now().UTC()
		for {
			page, err := s.opt.Store.Events(ctx, f)
			if err != nil {
				return nil, s.internal(ctx, "select events", err)
			}
			if n := r.Limit - res.Matched; len(page) > n {
				page, res.Truncated = page[:n], true
			}
			res.Matched += len(page)
			if !r.DryRun && len(page) > 0 {
				jobs := make([]store.JobRecord, len(page))
				for k, e := range page {
					jobs[k] = pipeline.DeliveryJob(conn.Name, e, now)
				}
				n, err := s.opt.Store.ReplayJobs(ctx, jobs)
				if err != nil {
					return nil, s.internal(ctx, "queue replay", err)
				}
				res.Queued += n
			}
			if res.Truncated || len(page) < f.Limit {
				break
			}
			f.AfterSeq = page[len(page)-1].Seq
		}
		if res.Queued > 0 && s.opt.Wake != nil {
			s.opt.Wake()
		}
		s.opt.Logger.InfoContext(ctx, "connector replay", "connector", conn.Name, "by", principalFrom(ctx).Name, "types", r.Types,
			"shipment", r.ShipmentID, "matched", res.Matched, "queued", res.Queued, "dry_run", r.DryRun)
		return &struct{ Body ConnectorReplay }{res}, nil
	})
}
