package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/crossdockhq/crossdock/internal/canonical"
)

type schemaIn struct {
	File string `path:"file" maxLength:"128" doc:"<type>.json, e.g. order.released.json"`
}

type schemaOut struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

type schemaIndexOut struct {
	Body struct {
		Types []string `json:"types"`
	}
}

func (s *Server) registerSchemas() {
	huma.Register(s.api, s.op("list-schemas", http.MethodGet, "/api/v1/schemas", "Event types with a published JSON Schema", "any"),
		func(context.Context, *struct{}) (*schemaIndexOut, error) {
			out := &schemaIndexOut{}
			out.Body.Types = append(canonical.InboundTypes(), canonical.DerivedTypes()...)
			return out, nil
		})
	huma.Register(s.api, s.op("get-schema", http.MethodGet, "/api/v1/schemas/{file}", "JSON Schema (2020-12) of one event type", "any"),
		func(_ context.Context, in *schemaIn) (*schemaOut, error) {
			typ, ok := strings.CutSuffix(in.File, ".json")
			b, found := canonical.Schema(typ)
			if !ok || !found {
				return nil, newProblem(http.StatusNotFound, "no schema "+in.File+"; GET /api/v1/schemas lists the types")
			}
			return &schemaOut{ContentType: "application/schema+json", Body: b}, nil
		})
}
