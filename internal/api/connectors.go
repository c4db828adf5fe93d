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
