package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
)

// ShipmentList is a page of shipments.
type ShipmentList struct {
	Items      []shipment.View `json:"items"`
	NextCursor *string         `json:"next_cursor"`
}

// TimelineItem is one thing that happened to a shipment.
type TimelineItem struct {
	At            time.Time       `json:"at"`
	Kind          string          `json:"kind" enum:"event,workflow,delivery,case"`
	Type          string          `json:"type"`
	Source        string          `json:"source"`
	ID            string          `json:"id"`
	CorrelationID string          `json:"correlation_id"`
	CausationID   string          `json:"causation_id,omitempty"`
	ReceivedAt    time.Time       `json:"received_at"`
	Detail        json.RawMessage `json:"detail"`
}

// Timeline is a page of a shipment's timeline.
type Timeline struct {
	Items      []TimelineItem `json:"items"`
	NextCursor *string        `json:"next_cursor"`
}

// Tracking is the public view of a shipment: no customer, price or driver.
type Tracking struct {
	ID         string         `json:"id"`
	Status     string         `json:"status"`
	Stops      []TrackingStop `json:"stops"`
	ETA        *time.Time     `json:"eta"`          // at NextStopID, from telemetry; null if unknown
	NextStopID *string        `json:"next_stop_id"` // the stop the ETA is for
	Delayed    bool           `json:"delayed"`      // expected after the stop's window
	UpdatedAt  time.Time      `json:"updated_at"`
}

// TrackingStop is a stop in the public tracking view.
type TrackingStop struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Status      string     `json:"status"`
	WindowFrom  *time.Time `json:"window_from,omitempty"`
	WindowTo    *time.Time `json:"window_to,omitempty"`
	ArrivedAt   *time.Time `json:"arrived_at"`
	DepartedAt  *time.Time `json:"departed_at"`
	CompletedAt *time.Time `json:"completed_at"`
}

type shipmentIn struct {
	ID string `path:"id" maxLength:"256" doc:"Shipment id"`
}

type shipmentOut struct{ Body shipment.View }

type listIn struct {
	Status       string    `query:"status" enum:"released,planned,in_transit,cancelled,delivered,invoiced" doc:"Only shipments in this status"`
	CustomerID   string    `query:"customer_id" maxLength:"256"`
	UpdatedSince time.Time `query:"updated_since" doc:"RFC 3339; only shipments updated at or after"`
	Limit        int       `query:"limit" minimum:"1" maximum:"1000" default:"50"`
	Cursor       string    `query:"cursor" maxLength:"1024" doc:"next_cursor of the previous page"`
}

type listOut struct{ Body ShipmentList }

type timelineIn struct {
	ID     string `path:"id" maxLength:"256"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"500"`
	Cursor string `query:"cursor" maxLength:"1024"`
}

type timelineOut struct{ Body Timeline }

type trackingIn struct {
	ID string `path:"shipment_id" maxLength:"256"`
}

type trackingOut struct{ Body Tracking }

func (s *Server) registerShipments() {
	huma.Register(s.api, s.op("get-shipment", http.MethodGet, "/api/v1/shipments/{id}", "Get a shipment", ScopeRead),
		func(ctx context.Context, in *shipmentIn) (*shipmentOut, error) {
			st, rec, err := s.loadShipment(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &shipmentOut{Body: st.View(rec.UpdatedAt)}, nil
		})
	huma.Register(s.api, s.op("list-shipments", http.MethodGet, "/api/v1/shipments", "List shipments, oldest update first", ScopeRead),
		func(ctx context.Context, in *listIn) (*listOut, error) {
			f := store.ShipmentFilter{Status: in.Status, CustomerID: in.CustomerID, UpdatedSince: in.UpdatedSince, Limit: in.Limit,
				PartnerID: principalFrom(ctx).Partner}
			if in.Cursor != "" {
				var c store.ShipmentCursor
				if err := decodeCursor(in.Cursor, &c); err != nil {
					return nil, err
				}
				f.After = &c
			}
			recs, err := s.opt.Store.Shipments(ctx, f)
			if err != nil {
				return nil, s.internal(ctx, "list shipments", err)
			}
			out := &listOut{Body: ShipmentList{Items: make([]shipment.View, 0, len(recs))}}
			for _, rec := range recs {
				st, err := decodeShipment(rec)
				if err != nil {
					return nil, s.internal(ctx, "decode shipment", err)
				}
				out.Body.Items = append(out.Body.Items, st.View(rec.UpdatedAt))
			}
			if len(recs) == in.Limit {
				last := recs[len(recs)-1]
				c := encodeCursor(store.ShipmentCursor{UpdatedAt: last.UpdatedAt, ID: last.ID})
				out.Body.NextCursor = &c
			}
			return out, nil
		})
	huma.Register(s.api, s.op("get-shipment-timeline", http.MethodGet, "/api/v1/shipments/{id}/timeline", "Everything that happened to a shipment, in event-time order", ScopeRead),
		func(ctx context.Context, in *timelineIn) (*timelineOut, error) {
			if _, _, err := s.loadShipment(ctx, in.ID); err != nil {
				return nil, err
			}
			var after *store.TimelineCursor
			if in.Cursor != "" {
				after = &store.TimelineCursor{}
				if err := decodeCursor(in.Cursor, after); err != nil {
					return nil, err
				}
			}
			recs, err := s.opt.Store.Timeline(ctx, in.ID, after, in.Limit)
			if err != nil {
				return nil, s.internal(ctx, "timeline", err)
			}
			out := &timelineOut{Body: Timeline{Items: make([]TimelineItem, 0, len(recs))}}
			for _, e := range recs {
				out.Body.Items = append(out.Body.Items, TimelineItem{
					At: e.Time, Kind: timelineKind(e), Type: e.Type, Source: e.Source, ID: e.ID,
					CorrelationID: e.CorrelationID, CausationID: e.CausationID, ReceivedAt: e.ReceivedAt, Detail: e.Data,
				})
			}
			if len(recs) == in.Limit {
				last := recs[len(recs)-1]
				c := encodeCursor(store.TimelineCursor{Time: last.Time, Seq: last.Seq})
				out.Body.NextCursor = &c
			}
			return out, nil
		})
	huma.Register(s.api, s.op("get-tracking", http.MethodGet, "/api/v1/tracking/{shipment_id}", "Public tracking view (no key)", ""),
		func(ctx context.Context, in *trackingIn) (*trackingOut, error) {
			st, rec, err := s.loadShipment(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			v := st.View(rec.UpdatedAt)
			t := Tracking{ID: v.ID, Status: v.Status, UpdatedAt: v.UpdatedAt, Stops: make([]TrackingStop, 0, len(v.Stops)),
				ETA: v.ETA, NextStopID: v.NextStopID, Delayed: v.Delay != nil}
			for _, sv := range v.Stops {
				ts := TrackingStop{ID: sv.ID, Type: sv.Type, Status: sv.Status, ArrivedAt: sv.ArrivedAt, DepartedAt: sv.DepartedAt, CompletedAt: sv.CompletedAt}
				if sv.Window != nil {
					ts.WindowFrom, ts.WindowTo = &sv.Window.From, &sv.Window.To
				}
				t.Stops = append(t.Stops, ts)
			}
			return &trackingOut{Body: t}, nil
		})
}

func (s *Server) loadShipment(ctx context.Context, id string) (*shipment.State, store.ShipmentRecord, error) {
	rec, err := s.opt.Store.Shipment(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, rec, newProblem(http.StatusNotFound, "no shipment "+strconv.Quote(id))
	}
	if err != nil {
		return nil, rec, s.internal(ctx, "get shipment", err)
	}
	// Object-level authorization: a partner's key sees only shipments it
	// sent events for or that were shared with it; any other answers
	// exactly as an absent one, so ids cannot be probed.
	if partner := principalFrom(ctx).Partner; partner != "" {
		ok, err := s.opt.Store.ShipmentShared(ctx, id, partner)
		if err != nil {
			return nil, rec, s.internal(ctx, "check shipment access", err)
		}
		if !ok {
			return nil, rec, newProblem(http.StatusNotFound, "no shipment "+strconv.Quote(id))
		}
	}
	st, err := decodeShipment(rec)
	if err != nil {
		return nil, rec, s.internal(ctx, "decode shipment", err)
	}
	return st, rec, nil
}

func decodeShipment(rec store.ShipmentRecord) (*shipment.State, error) {
	st := &shipment.State{ID: rec.ID}
	if err := json.Unmarshal(rec.State, st); err != nil {
		return nil, fmt.Errorf("shipment %s: %w", rec.ID, err)
	}
	return st, nil
}

// internal logs err and answers a 500 problem that reveals nothing of it.
func (s *Server) internal(ctx context.Context, what string, err error) error {
	s.opt.Logger.ErrorContext(ctx, what, "err", err)
	return newProblem(http.StatusInternalServerError, what+" failed; the correlation id identifies it in the logs")
}

func encodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(c))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return newProblem(http.StatusBadRequest, "malformed cursor", fieldErr("cursor", "not a cursor this API issued"))
	}
	return nil
}

// unavailable answers a write the pipeline could not commit: 503 with
// Retry-After, since nothing of the request was kept.
func (s *Server) unavailable(ctx context.Context, what string, err error) error {
	if !errors.Is(err, pipeline.ErrOverloaded) && !errors.Is(err, pipeline.ErrClosed) && ctx.Err() == nil {
		s.opt.Logger.ErrorContext(ctx, what, "err", err)
	}
	return huma.ErrorWithHeaders(newProblem(http.StatusServiceUnavailable, what+" not committed; nothing was kept, retry"),
		http.Header{"Retry-After": {"1"}})
}

// timelineKind classifies a timeline entry: what the workflow recorded is
// "case" (cases opened, superseded, resolved) or "workflow" (steps such
// as billing held), how deliveries ended "delivery", everything else
// "event".
func timelineKind(e store.EventRecord) string {
	switch {
	case e.Source == pipeline.SourceOutbox:
		return "delivery"
	case e.Source != pipeline.SourceWorkflow:
		return "event"
	case strings.HasPrefix(e.Type, "case."):
		return "case"
	}
	return "workflow"
}
