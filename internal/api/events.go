package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/pipeline"
)

// oversizeKeep is how much of a body over the limit is kept in quarantine:
// enough to identify the sender and the payload, not enough to fill a disk.
const oversizeKeep = 64 << 10

// EventsResponse is the 202 answer of POST /api/v1/events.
type EventsResponse struct {
	Results []pipeline.Result `json:"results"`
}

var eventContentTypes = map[string]bool{
	"":                                   true,
	"application/json":                   true,
	"application/cloudevents+json":       true,
	"application/cloudevents-batch+json": true,
}

// registerEvents mounts POST /api/v1/events as a plain handler — it needs
// the raw body to enforce the limit itself and quarantine what it rejects —
// and documents it in the OpenAPI description like every other operation.
func (s *Server) registerEvents() {
	oapi := s.api.OpenAPI()
	resp := oapi.Components.Schemas.Schema(reflect.TypeFor[EventsResponse](), true, "EventsResponse")
	prob := oapi.Components.Schemas.Schema(reflect.TypeFor[Problem](), true, "Problem")
	problem := func(desc string) *huma.Response {
		return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{"application/problem+json": {Schema: prob}}}
	}
	oapi.AddOperation(&huma.Operation{
		OperationID: "post-events",
		Method:      http.MethodPost,
		Path:        "/api/v1/events",
		Summary:     "Submit one CloudEvent or a batch of them",
		Description: "Takes one CloudEvents 1.0 JSON event (application/cloudevents+json or application/json) or a JSON array " +
			"of them (application/cloudevents-batch+json). (source, id) is the idempotency key. A 202 means every accepted " +
			"event is durable; rejected items are kept in quarantine. A single invalid event answers 422.",
		Security: []map[string][]string{{"bearer": {}}},
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
			"application/cloudevents+json":       {Schema: &huma.Schema{Type: "object"}},
			"application/cloudevents-batch+json": {Schema: &huma.Schema{Type: "array", Items: &huma.Schema{Type: "object"}}},
			"application/json":                   {Schema: &huma.Schema{}},
		}},
		Responses: map[string]*huma.Response{
			"202": {Description: "Per-event results in request order", Content: map[string]*huma.MediaType{"application/json": {Schema: resp}}},
			"400": problem("Body is not a JSON event or array of events (quarantined)"),
			"401": problem("Missing or unknown API key"),
			"403": problem("Key lacks events:write"),
			"413": problem("Body over the limit (quarantined, cut)"),
			"415": problem("Unsupported content type (quarantined)"),
			"422": problem("The single event is invalid (quarantined); errors name each field"),
			"503": problem("Writer overloaded or shutting down; retry after Retry-After"),
		},
	})
	s.mux.HandleFunc("POST /api/v1/events", s.postEvents)
}

func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) {
	p, err := s.authenticate(r.Context(), r.Header.Get("Authorization"), ScopeEventsWrite)
	if err != nil {
		writeProblem(w, r, s.authProblem(err, w.Header().Set))
		return
	}
	ctx := r.Context()
	ct := r.Header.Get("Content-Type")
	limit := s.opt.MaxBodyBytes
	if c := s.partners.config(p.Partner); c != nil && c.MaxBodyBytes > 0 {
		limit = c.MaxBodyBytes
	}
	body, over, err := readLimited(r.Body, limit)
	if err != nil {
		writeProblem(w, r, newProblem(http.StatusBadRequest, "reading the body: "+err.Error()))
		return
	}
	if over {
		s.quarantineBody(w, r, p, ct, body, true, http.StatusRequestEntityTooLarge,
			canonical.FieldError{Message: "body exceeds the limit of " + strconv.FormatInt(limit, 10) + " bytes"})
		return
	}
	if mt, _, _ := mime.ParseMediaType(ct); !eventContentTypes[mt] {
		s.quarantineBody(w, r, p, ct, body, false, http.StatusUnsupportedMediaType, canonical.FieldError{
			Message: "content type " + ct + " is not accepted: send application/cloudevents+json, application/cloudevents-batch+json or application/json",
		})
		return
	}
	items, batch, verr := pipeline.Parse(body, pipeline.IntakeOptions{
		Limits: s.opt.Limits, Now: s.opt.Now(), MaxBatch: s.opt.MaxBatchEvents, CorrelationID: obs.Correlation(ctx),
		Enrich: s.enricher(ctx),
	})
	if verr != nil {
		status := http.StatusBadRequest
		if batch {
			status = http.StatusRequestEntityTooLarge // too many events in one batch
		}
		s.quarantineBody(w, r, p, ct, body, false, status, verr.Errors...)
		return
	}
	refused := s.prepare(p, items)
	results, err := s.opt.Pipeline.Submit(ctx, pipeline.Submission{Items: items, Principal: p.Name, Partner: p.Partner, ContentType: ct})
	if err != nil {
		s.submitFailed(w, r, err)
		return
	}
	if !batch && results[0].Status == pipeline.Rejected {
		status, what := http.StatusUnprocessableEntity, "the event is invalid"
		switch {
		case refused[0]:
			status, what = http.StatusForbidden, "the event's source does not own this entity"
		case results[0].Conflict:
			status, what = http.StatusConflict, "the event conflicts with the shipment's state"
		}
		pr := newProblem(status, what+"; it was kept in quarantine as "+results[0].QuarantineID, results[0].Errors...)
		pr.QuarantineID = results[0].QuarantineID
		writeProblem(w, r, pr)
		return
	}
	writeJSON(w, http.StatusAccepted, EventsResponse{Results: results})
}

// quarantineBody keeps a body rejected as a whole and answers the problem.
func (s *Server) quarantineBody(w http.ResponseWriter, r *http.Request, p Principal, ct string, body []byte, truncated bool, status int, errs ...canonical.FieldError) {
	if truncated && len(body) > oversizeKeep {
		body = body[:oversizeKeep]
	}
	item := pipeline.Item{Raw: body, Err: &canonical.ValidationError{Errors: errs}}
	results, err := s.opt.Pipeline.Submit(r.Context(), pipeline.Submission{Items: []pipeline.Item{item}, Principal: p.Name, ContentType: ct, Truncated: truncated})
	if err != nil {
		s.submitFailed(w, r, err)
		return
	}
	detail := errs[0].Message
	pr := newProblem(status, detail+"; the payload was kept in quarantine as "+results[0].QuarantineID, errs...)
	pr.QuarantineID = results[0].QuarantineID
	writeProblem(w, r, pr)
}

func (s *Server) submitFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, pipeline.ErrOverloaded), errors.Is(err, pipeline.ErrClosed):
		w.Header().Set("Retry-After", "1")
		writeProblem(w, r, newProblem(http.StatusServiceUnavailable, err.Error()))
	case r.Context().Err() != nil:
		// The client is gone; nothing was acknowledged.
		writeProblem(w, r, newProblem(http.StatusServiceUnavailable, "request cancelled before commit"))
	default:
		s.opt.Logger.ErrorContext(r.Context(), "submit failed", "err", err)
		w.Header().Set("Retry-After", "1")
		writeProblem(w, r, newProblem(http.StatusServiceUnavailable, "storage error; nothing from this request was kept, retry"))
	}
}

// readLimited reads at most limit bytes; over reports a longer body, of
// which the first limit bytes are returned.
func readLimited(rc io.Reader, limit int64) ([]byte, bool, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, false, err
	}
	if n > limit {
		return buf.Bytes()[:limit], true, nil
	}
	return buf.Bytes(), false, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
