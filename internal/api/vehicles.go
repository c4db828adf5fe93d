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
	"github.com/crossdockhq/crossdock/internal/vehicle"
)

type vehicleIn struct {
	ID string `path:"id" maxLength:"256" doc:"Vehicle id"`
}

type vehicleOut struct{ Body vehicle.View }

// VehiclePut is the body of PUT /api/v1/vehicles/{id}.
type VehiclePut struct {
	DeviceIDs []string `json:"device_ids" maxItems:"100" doc:"Every device of the vehicle (IMEI, OsmAnd id, MQTT topic id); replaces the current set. A device belongs to one vehicle."`
}

type vehiclePutIn struct {
	ID   string `path:"id" maxLength:"256" pattern:"^[^\\x00-\\x1f\\x7f]+$" doc:"Vehicle id"`
	Body VehiclePut
}

type positionsIn struct {
	ID    string    `path:"id" maxLength:"256" doc:"Vehicle id"`
	From  time.Time `query:"from" doc:"RFC 3339; positions at or after"`
	To    time.Time `query:"to" doc:"RFC 3339; positions before"`
	Limit int       `query:"limit" minimum:"1" maximum:"1000" default:"500"`
}

// Position is one raw position as stored.
type Position struct {
	Time         time.Time `json:"time"`
	Lat          float64   `json:"lat"`
	Lon          float64   `json:"lon"`
	SpeedKph     *float64  `json:"speed_kph"`
	Heading      *float64  `json:"heading,omitempty"`
	OdometerKm   *float64  `json:"odometer_km,omitempty"`
	TemperatureC *float64  `json:"temperature_c,omitempty"`
	AltitudeM    *float64  `json:"altitude_m,omitempty"`
	AccuracyM    *float64  `json:"accuracy_m,omitempty"`
	BatteryPct   *float64  `json:"battery_pct,omitempty"`
	DeviceID     string    `json:"device_id,omitempty"`
	Source       string    `json:"source"`
	ReceivedAt   time.Time `json:"received_at"`
}

// PositionList is a page of a vehicle's positions in time order.
type PositionList struct {
	Items []Position `json:"items"`
	// NextFrom is the from of the next page; null on the last page.
	NextFrom *time.Time `json:"next_from"`
}

type positionsOut struct{ Body PositionList }

func (s *Server) registerVehicles() {
	huma.Register(s.api, s.op("get-vehicle", http.MethodGet, "/api/v1/vehicles/{id}", "Get a vehicle's devices, last position and shipment", ScopeRead),
		func(ctx context.Context, in *vehicleIn) (*vehicleOut, error) {
			rec, err := s.opt.Store.Vehicle(ctx, in.ID)
			if errors.Is(err, store.ErrNotFound) {
				return nil, newProblem(http.StatusNotFound, "no vehicle "+strconv.Quote(in.ID))
			}
			if err != nil {
				return nil, s.internal(ctx, "get vehicle", err)
			}
			st := &vehicle.State{ID: rec.ID}
			if err := json.Unmarshal(rec.State, st); err != nil {
				return nil, s.internal(ctx, "decode vehicle", err)
			}
			// A partner sees a vehicle only while it carries one of the
			// partner's shipments.
			if partner := principalFrom(ctx).Partner; partner != "" {
				ok := st.Assignment != nil
				if ok {
					if ok, err = s.opt.Store.ShipmentShared(ctx, st.Assignment.ShipmentID, partner); err != nil {
						return nil, s.internal(ctx, "check vehicle access", err)
					}
				}
				if !ok {
					return nil, newProblem(http.StatusNotFound, "no vehicle "+strconv.Quote(in.ID))
				}
			}
			return &vehicleOut{Body: st.View(rec.UpdatedAt)}, nil
		})
	put := s.op("put-vehicle", http.MethodPut, "/api/v1/vehicles/{id}",
		"Register a vehicle and its devices (replacing its device list)", ScopeOps)
	put.DefaultStatus = http.StatusOK
	huma.Register(s.api, put, func(ctx context.Context, in *vehiclePutIn) (*vehicleOut, error) {
		for i, d := range in.Body.DeviceIDs {
			if d == "" || len(d) > 200 || !printable(d) {
				return nil, fieldProblem("body.device_ids["+strconv.Itoa(i)+"]", "must be printable text of 1 to 200 bytes")
			}
		}
		st, err := s.opt.Pipeline.RegisterDevices(ctx, in.ID, in.Body.DeviceIDs)
		var taken *pipeline.DeviceTakenError
		switch {
		case errors.As(err, &taken):
			return nil, newProblem(http.StatusConflict, taken.Error())
		case err != nil:
			return nil, s.unavailable(ctx, "register devices", err)
		}
		return &vehicleOut{Body: st.View(s.opt.Now())}, nil
	})
	huma.Register(s.api, s.op("list-vehicle-positions", http.MethodGet, "/api/v1/vehicles/{id}/positions",
		"List a vehicle's raw positions in time order (kept for the retention period)", ScopeRead),
		func(ctx context.Context, in *positionsIn) (*positionsOut, error) {
			if principalFrom(ctx).Partner != "" {
				// Raw position history belongs to the fleet's operator: it
				// spans every customer's trips.
				return nil, newProblem(http.StatusNotFound, "no vehicle "+strconv.Quote(in.ID))
			}
			recs, err := s.opt.Store.Positions(ctx, store.PositionFilter{VehicleID: in.ID, From: in.From, To: in.To, Limit: in.Limit})
			if err != nil {
				return nil, s.internal(ctx, "list positions", err)
			}
			out := &positionsOut{Body: PositionList{Items: make([]Position, 0, len(recs))}}
			for _, r := range recs {
				out.Body.Items = append(out.Body.Items, Position{
					Time: r.Time, Lat: r.Lat, Lon: r.Lon, SpeedKph: r.SpeedKph, Heading: r.Heading, OdometerKm: r.OdometerKm,
					TemperatureC: r.TemperatureC, AltitudeM: r.AltitudeM, AccuracyM: r.AccuracyM, BatteryPct: r.BatteryPct,
					DeviceID: r.DeviceID, Source: r.Source, ReceivedAt: r.ReceivedAt,
				})
			}
			if len(recs) == in.Limit {
				next := recs[len(recs)-1].Time.Add(time.Nanosecond)
				out.Body.NextFrom = &next
			}
			return out, nil
		})
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
