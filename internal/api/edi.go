package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/x12"
)

// EDISetResult is the outcome of one transaction set.
type EDISetResult struct {
	Group         int               `json:"group" doc:"1-based position of the functional group"`
	Set           int               `json:"set" doc:"1-based position of the set in its group"`
	ID            string            `json:"id" doc:"ST01: 204, 214, 990, …"`
	ControlNumber string            `json:"control_number" doc:"ST02"`
	Status        string            `json:"status" enum:"accepted,accepted_with_errors,rejected"`
	Errors        []EDIError        `json:"errors"`
	Events        []pipeline.Result `json:"events" doc:"One result per canonical event the set produced"`
	QuarantineID  string            `json:"quarantine_id,omitempty" doc:"Where the interchange was kept when the set had errors"`
}

// EDIError locates one problem in an interchange.
type EDIError struct {
	Segment   int    `json:"segment" doc:"1-based position of the segment in the interchange (ISA is 1)"`
	SegmentID string `json:"segment_id,omitempty"`
	Element   int    `json:"element,omitempty" doc:"1-based element position"`
	Message   string `json:"message"`
}

// ackControl numbers the 997s this process sends. Seeded from the clock
// so a restart continues past the numbers used before it (unless it sends
// more than one acknowledgment a second on average for years).
var ackControl atomic.Int64

func nextAckControl() int {
	if ackControl.Load() == 0 {
		ackControl.CompareAndSwap(0, time.Now().Unix()%900_000_000)
	}
	return int(ackControl.Add(1)%999_999_999) + 1
}

// EDI parses an X12 interchange from a partner, commits the events of its
// sets as the partner's, keeps every set with errors (and an interchange
// that cannot be read at all) in quarantine, and builds the 997. A nil
// Problem and nil error mean the results and ack are filled.
func (s *Server) EDI(ctx context.Context, principal, partner string, body []byte, replay *store.QuarantineRecord) (EDIResponse, *Problem, error) {
	ct := ediContentType + "; partner=" + partner
	p := Principal{Name: principal, Partner: partner}
	ic, err := x12.Parse(body)
	if err != nil {
		var xe *x12.Error
		fe := canonical.FieldError{Message: err.Error()}
		if errors.As(err, &xe) {
			fe.Field = ediField(xe)
		}
		out, serr := s.refuse(ctx, p, ct, body, replay, http.StatusUnprocessableEntity, "malformed interchange: "+err.Error(), fe)
		return EDIResponse{}, out.Problem, serr
	}
	opts := x12.TranslateOptions{}
	if cfg := s.partners.config(partner); cfg != nil && cfg.EDI.TimeZone != "" {
		opts.Location, _ = time.LoadLocation(cfg.EDI.TimeZone) // checked when the config loaded
	}
	sets := x12.Translate(ic, opts)
	var items []pipeline.Item
	type span struct{ from, to, quarantine int }
	spans := make([]span, len(sets))
	for i, set := range sets {
		spans[i] = span{from: len(items), quarantine: -1}
		evs := make([]map[string]any, 0, len(set.Events))
		for _, ev := range set.Events {
			evs = append(evs, map[string]any{"id": ev.ID, "type": ev.Type, "subject": ev.Subject,
				"time": ev.Time.UTC().Format(time.RFC3339Nano), "data": ev.Data, "source": PartnerSource(partner) + "/x12"})
		}
		items = append(items, s.mappedItems(ctx, partner, "x12 "+set.ID, evs, body)...)
		spans[i].to = len(items)
		if len(set.Errors) > 0 {
			fes := make([]canonical.FieldError, 0, len(set.Errors))
			for _, e := range set.Errors {
				fes = append(fes, canonical.FieldError{Field: ediField(e), Message: e.Error()})
			}
			spans[i].quarantine = len(items)
			items = append(items, pipeline.Item{Raw: body, Err: &canonical.ValidationError{Errors: fes}})
		}
	}
	s.prepare(p, items)
	var results []pipeline.Result
	if len(items) > 0 {
		if results, err = s.opt.Pipeline.Submit(ctx, pipeline.Submission{Items: items, Principal: principal, Partner: partner, ContentType: ct, Replay: replay}); err != nil {
			return EDIResponse{}, nil, err
		}
	}
	s.countPartnerItems(partner, "edi", results)
	ack, err := x12.Ack997(ic, sets, x12.AckOptions{InterchangeControlNumber: nextAckControl(), GroupControlNumber: nextAckControl(), Now: s.opt.Now().UTC()})
	if err != nil {
		return EDIResponse{}, nil, err
	}
	resp := EDIResponse{Results: make([]EDISetResult, 0, len(sets)), Ack: string(ack)}
	for i, set := range sets {
		r := EDISetResult{Group: set.Group, Set: set.Set, ID: set.ID, ControlNumber: set.ControlNumber, Status: set.Status,
			Errors: []EDIError{}, Events: results[spans[i].from:spans[i].to]}
		for _, e := range set.Errors {
			r.Errors = append(r.Errors, EDIError{Segment: e.Segment, SegmentID: e.SegmentID, Element: e.Element, Message: e.Msg})
		}
		if q := spans[i].quarantine; q >= 0 {
			r.QuarantineID = results[q].QuarantineID
		}
		resp.Results = append(resp.Results, r)
	}
	return resp, nil, nil
}

// ediField names an X12 error's place like a field path: "segment 14 (IEA) element 2".
func ediField(e *x12.Error) string {
	f := "segment " + strconv.Itoa(e.Segment)
	if e.SegmentID != "" {
		f += " (" + e.SegmentID + ")"
	}
	if e.Element > 0 {
		f += " element " + strconv.Itoa(e.Element)
	}
	return f
}

// postEDI is POST /api/v1/partners/{id}/edi.
func (s *Server) postEDI(w http.ResponseWriter, r *http.Request) {
	call := s.openPartnerCall(w, r, s.opt.MaxBodyBytes)
	if call == nil {
		return
	}
	out, pr, err := s.EDI(r.Context(), call.p.Name, call.partner, call.body, nil)
	switch {
	case err != nil:
		s.submitFailed(w, r, err)
	case pr != nil:
		writeProblem(w, r, pr)
	default:
		writeJSON(w, http.StatusAccepted, out)
	}
}
