package api

import (
	"net/http"
	"reflect"

	"github.com/danielgtaylor/huma/v2"
)

// EDIResponse is the 202 answer of POST /api/v1/partners/{id}/edi.
type EDIResponse struct {
	Results []EDISetResult `json:"results" doc:"One entry per transaction set, in the interchange's order"`
	Ack     string         `json:"ack" doc:"The 997 functional acknowledgment, as X12 text"`
}

// FileResponse is the 202 answer of POST /api/v1/partners/{id}/files/{mapping}.
type FileResponse struct {
	Rows     int         `json:"rows"`
	Good     int         `json:"good" doc:"Rows mapped to events without errors"`
	Bad      int         `json:"bad" doc:"Rows refused (bad cells, a failing mapping or an invalid event); each is quarantined"`
	Accepted int         `json:"accepted" doc:"Events accepted"`
	Dup      int         `json:"duplicate" doc:"Events already known"`
	Errors   []RowResult `json:"errors" doc:"Every refused row: its number, line, column and reason"`
}

// registerPartnerChannels mounts the partner endpoints that take raw
// payloads (a JSON webhook, an X12 interchange, a CSV file) as plain
// handlers, like POST /api/v1/events, and documents them.
func (s *Server) registerPartnerChannels() {
	oapi := s.api.OpenAPI()
	prob := oapi.Components.Schemas.Schema(reflect.TypeFor[Problem](), true, "Problem")
	problem := func(desc string) *huma.Response {
		return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{"application/problem+json": {Schema: prob}}}
	}
	params := []*huma.Param{{Name: "id", In: "path", Required: true, Schema: &huma.Schema{Type: "string"}, Description: "Partner id"}}
	common := map[string]*huma.Response{
		"401": problem("Missing or unknown key, or a bad webhook signature (with the reason)"),
		"403": problem("Key lacks events:write, or the source does not own the entity"),
		"404": problem("No such partner (or another partner's endpoint), or no such mapping"),
		"413": problem("Body over the partner's limit (quarantined, cut)"),
		"429": problem("Partner rate limit; retry after Retry-After"),
		"503": problem("Writer overloaded or shutting down; retry after Retry-After"),
	}
	with := func(extra map[string]*huma.Response) map[string]*huma.Response {
		out := map[string]*huma.Response{}
		for k, v := range common {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	schema := func(t reflect.Type, name string) *huma.Schema { return oapi.Components.Schemas.Schema(t, true, name) }
	security := []map[string][]string{{"bearer": {}}}

	oapi.AddOperation(&huma.Operation{
		OperationID: "post-partner-inbound", Method: http.MethodPost, Path: "/api/v1/partners/{id}/inbound/{mapping}",
		Summary: "Send a partner payload through its named jq mapping",
		Description: "Any JSON body. The partner's jq mapping from config turns it into one or more canonical events; the hub " +
			"fills specversion and source (partner/{id}). Answers like POST /api/v1/events. A payload the mapping cannot " +
			"map (a jq error, a time-out, an output that is not an event) is kept in quarantine and answers 422.",
		Security:    security,
		Parameters:  append(params, &huma.Param{Name: "mapping", In: "path", Required: true, Schema: &huma.Schema{Type: "string"}}),
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{}}}},
		Responses: with(map[string]*huma.Response{
			"202": {Description: "Per-event results", Content: map[string]*huma.MediaType{"application/json": {Schema: schema(reflect.TypeFor[EventsResponse](), "EventsResponse")}}},
			"400": problem("Body is not JSON (quarantined)"),
			"422": problem("The mapping failed, or its single event is invalid (quarantined); errors name the mapping and field"),
		}),
	})
	s.mux.HandleFunc("POST /api/v1/partners/{id}/inbound/{mapping}", s.postInbound)

	oapi.AddOperation(&huma.Operation{
		OperationID: "post-partner-edi", Method: http.MethodPost, Path: "/api/v1/partners/{id}/edi",
		Summary: "Send an X12 interchange (204, 214, 990)",
		Description: "A raw X12 interchange (application/edi-x12). 204 → order.released, 214 → milestones and proofs of " +
			"delivery, 990 → tender.responded. Answers 202 with one result per transaction set and the 997 acknowledgment. " +
			"A malformed interchange answers 422 naming the segment and element, and is quarantined.",
		Security: security, Parameters: params,
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/edi-x12": {Schema: &huma.Schema{Type: "string"}}}},
		Responses: with(map[string]*huma.Response{
			"202": {Description: "Per-set results and the 997", Content: map[string]*huma.MediaType{"application/json": {Schema: schema(reflect.TypeFor[EDIResponse](), "EDIResponse")}}},
			"422": problem("Malformed interchange (quarantined); names the segment and element"),
		}),
	})
	s.mux.HandleFunc("POST /api/v1/partners/{id}/edi", s.postEDI)

	oapi.AddOperation(&huma.Operation{
		OperationID: "post-partner-file", Method: http.MethodPost, Path: "/api/v1/partners/{id}/files/{mapping}",
		Summary: "Import a CSV file through the partner's file mapping",
		Description: "A CSV file (text/csv). Columns come from the mapping's declared headers; each good row goes through " +
			"the mapping's jq program and is applied, each bad row is quarantined and reported with its row number, " +
			"column and reason. A file whose header lacks required columns answers 422 and is quarantined whole.",
		Security:    security,
		Parameters:  append(params, &huma.Param{Name: "mapping", In: "path", Required: true, Schema: &huma.Schema{Type: "string"}}),
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"text/csv": {Schema: &huma.Schema{Type: "string"}}}},
		Responses: with(map[string]*huma.Response{
			"202": {Description: "Row counts and every refused row", Content: map[string]*huma.MediaType{"application/json": {Schema: schema(reflect.TypeFor[FileResponse](), "FileResponse")}}},
			"422": problem("The file as a whole is unreadable (quarantined)"),
		}),
	})
	s.mux.HandleFunc("POST /api/v1/partners/{id}/files/{mapping}", s.postFile)
}
