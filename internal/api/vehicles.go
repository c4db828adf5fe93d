package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/vehicle"
)

type vehicleIn struct {
	ID string `path:"id" maxLength:"256" doc:"Vehicle id"`
}

type vehicleOut struct{ Body vehicle.View }

func (s *Server) registerVehicles() {
	huma.Register(s.api, s.op("get-vehicle", http.MethodGet, "/api/v1/vehicles/{id}", "Get a vehicle's last position and shipment", ScopeRead),
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
			return &vehicleOut{Body: st.View(rec.UpdatedAt)}, nil
		})
}
