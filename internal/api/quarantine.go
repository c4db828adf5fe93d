package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
)

// QuarantineItem is a kept payload. Payload is the body as received: JSON
// when it parses, else text, else base64 (PayloadEncoding says which).
type QuarantineItem struct {
	ID              string                 `json:"id"`
	ReceivedAt      time.Time              `json:"received_at"`
	Source          string                 `json:"source"`
	Reason          string                 `json:"reason"`
	Errors          []canonical.FieldError `json:"errors"`
	Payload         json.RawMessage        `json:"payload"`
	PayloadEncoding string                 `json:"payload_encoding" enum:"json,text,base64"`
	ContentType     string                 `json:"content_type"`
	Truncated       bool                   `json:"truncated"`
	Principal       string                 `json:"principal"`
	ReplayedAt      *time.Time             `json:"replayed_at"`
	ReplayState     string                 `json:"replay_state"`
}

// QuarantineList is a page of quarantine items, newest first.
type QuarantineList struct {
	Items      []QuarantineItem `json:"items"`
	NextCursor *string          `json:"next_cursor"`
}

// ReplayResult is the outcome of replaying one quarantine item.
type ReplayResult struct {
	QuarantineID string            `json:"quarantine_id"`
	State        string            `json:"state" enum:"accepted,duplicate,rejected"`
	Results      []pipeline.Result `json:"results"`
}

type quarantineListIn struct {
	Source string `query:"source" maxLength:"256"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
	Cursor string `query:"cursor" maxLength:"128"`
}

type quarantineListOut struct{ Body QuarantineList }

type quarantineIn struct {
	ID string `path:"id" maxLength:"64"`
}

type quarantineOut struct{ Body QuarantineItem }

type replayOut struct{ Body ReplayResult }

func (s *Server) registerQuarantine() {
	huma.Register(s.api, s.op("list-quarantine", http.MethodGet, "/api/v1/quarantine", "List rejected payloads, newest first", ScopeOps),
		func(ctx context.Context, in *quarantineListIn) (*quarantineListOut, error) {
			recs, err := s.opt.Store.Quarantine(ctx, store.QuarantineFilter{Source: in.Source, Before: in.Cursor, Limit: in.Limit})
			if err != nil {
				return nil, s.internal(ctx, "list quarantine", err)
			}
			out := &quarantineListOut{Body: QuarantineList{Items: make([]QuarantineItem, 0, len(recs))}}
			for _, r := range recs {
				out.Body.Items = append(out.Body.Items, quarantineItem(r))
			}
			if len(recs) == in.Limit {
				c := recs[len(recs)-1].ID
				out.Body.NextCursor = &c
			}
			return out, nil
		})
	huma.Register(s.api, s.op("get-quarantine-item", http.MethodGet, "/api/v1/quarantine/{id}", "Get one rejected payload", ScopeOps),
		func(ctx context.Context, in *quarantineIn) (*quarantineOut, error) {
			rec, err := s.quarantineRecord(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &quarantineOut{Body: quarantineItem(rec)}, nil
		})
	o := s.op("replay-quarantine-item", http.MethodPost, "/api/v1/quarantine/{id}/replay",
		"Run a kept payload through intake again (after a mapping or master-data fix)", ScopeOps)
	o.DefaultStatus = http.StatusOK
	huma.Register(s.api, o, func(ctx context.Context, in *quarantineIn) (*replayOut, error) {
		rec, err := s.quarantineRecord(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		if rec.Truncated {
			return nil, newProblem(http.StatusUnprocessableEntity, "this payload was cut at the body limit when it arrived and cannot be replayed")
		}
		if results, handled, err := s.replayPartner(ctx, rec); handled {
			if err != nil {
				return nil, s.unavailable(ctx, "replay", err)
			}
			return &replayOut{Body: ReplayResult{QuarantineID: rec.ID, State: replayState(results), Results: results}}, nil
		}
		var items []pipeline.Item
		var verr *canonical.ValidationError
		if rec.ContentType == pipeline.DevicePositionContentType {
			items = []pipeline.Item{pipeline.ParseDevicePosition(rec.Payload, s.opt.Now(), s.opt.Limits)}
		} else {
			items, _, verr = pipeline.Parse(rec.Payload, pipeline.IntakeOptions{
				Limits: s.opt.Limits, Now: s.opt.Now(), MaxBatch: s.opt.MaxBatchEvents, CorrelationID: obs.Correlation(ctx),
				Enrich: s.enricher(ctx),
			})
		}
		if verr != nil {
			// Still not an event at all: record the attempt, answer why.
			items = []pipeline.Item{{Raw: rec.Payload, Err: verr}}
		}
		// A partner's payload is replayed as that partner's: under its
		// source, sharing what it applies with it.
		sender := Principal{Name: principalFrom(ctx).Name, Partner: partnerOf(rec.Principal)}
		s.prepare(sender, items)
		results, err := s.opt.Pipeline.Submit(ctx, pipeline.Submission{
			Items: items, Principal: sender.Name, Partner: sender.Partner, ContentType: rec.ContentType, Replay: &rec,
		})
		if err != nil {
			return nil, newProblem(http.StatusServiceUnavailable, "replay not committed: "+err.Error())
		}
		return &replayOut{Body: ReplayResult{QuarantineID: rec.ID, State: replayState(results), Results: results}}, nil
	})
}

// replayState sums up a replay: rejected if anything was, else duplicate
// if anything was, else accepted.
func replayState(results []pipeline.Result) string {
	state := pipeline.Accepted
	for _, r := range results {
		if r.Status == pipeline.Rejected {
			return pipeline.Rejected
		}
		if r.Status == pipeline.Duplicate {
			state = pipeline.Duplicate
		}
	}
	return state
}

// replayPartner replays a payload a partner sent through one of its
// channels (inbound mapping, X12, CSV) through that channel again, as the
// partner. handled is false for other payloads.
func (s *Server) replayPartner(ctx context.Context, rec store.QuarantineRecord) (results []pipeline.Result, handled bool, err error) {
	mt, params, perr := mime.ParseMediaType(rec.ContentType)
	partner := params["partner"]
	if perr != nil || partner == "" {
		return nil, false, nil
	}
	principal := principalFrom(ctx).Name
	switch mt {
	case inboundContentType:
		out, err := s.Inbound(ctx, principal, partner, params["mapping"], rec.Payload, &rec)
		return out.Results, true, err
	case ediContentType:
		out, pr, err := s.EDI(ctx, principal, partner, rec.Payload, &rec)
		if pr != nil || err != nil {
			return []pipeline.Result{{Status: pipeline.Rejected, QuarantineID: rec.ID, Errors: problemErrors(pr)}}, true, err
		}
		for _, set := range out.Results {
			results = append(results, set.Events...)
			if set.QuarantineID != "" {
				results = append(results, pipeline.Result{Status: pipeline.Rejected, QuarantineID: set.QuarantineID, Errors: ediErrors(set.Errors)})
			}
		}
		return results, true, nil
	case fileContentType:
		out, pr, err := s.ImportFile(ctx, principal, partner, params["mapping"], rec.Payload, &rec)
		if pr != nil || err != nil {
			return []pipeline.Result{{Status: pipeline.Rejected, QuarantineID: rec.ID, Errors: problemErrors(pr)}}, true, err
		}
		for range out.Accepted {
			results = append(results, pipeline.Result{Status: pipeline.Accepted})
		}
		for range out.Dup {
			results = append(results, pipeline.Result{Status: pipeline.Duplicate})
		}
		for _, e := range out.Errors {
			results = append(results, pipeline.Result{Status: pipeline.Rejected, QuarantineID: e.QuarantineID,
				Errors: []canonical.FieldError{{Field: "row " + strconv.Itoa(e.Row), Message: e.Reason}}})
		}
		return results, true, nil
	}
	return nil, false, nil
}

func problemErrors(p *Problem) []canonical.FieldError {
	if p == nil {
		return nil
	}
	if len(p.Errors) > 0 {
		return p.Errors
	}
	return []canonical.FieldError{{Message: p.Detail}}
}

func ediErrors(es []EDIError) []canonical.FieldError {
	out := make([]canonical.FieldError, 0, len(es))
	for _, e := range es {
		out = append(out, canonical.FieldError{Field: "segment " + strconv.Itoa(e.Segment) + " (" + e.SegmentID + ")", Message: e.Message})
	}
	return out
}

// partnerOf returns the partner of a principal name ("partner/{id}:{key}"),
// "" for internal keys.
func partnerOf(principal string) string {
	rest, ok := strings.CutPrefix(principal, "partner/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, ":")
	return id
}

func (s *Server) quarantineRecord(ctx context.Context, id string) (store.QuarantineRecord, error) {
	rec, err := s.opt.Store.QuarantineItem(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return rec, newProblem(http.StatusNotFound, "no quarantine item "+strconv.Quote(id))
	}
	if err != nil {
		return rec, s.internal(ctx, "get quarantine item", err)
	}
	return rec, nil
}

func quarantineItem(r store.QuarantineRecord) QuarantineItem {
	q := QuarantineItem{
		ID: r.ID, ReceivedAt: r.ReceivedAt, Source: r.Source, Reason: r.Reason, ContentType: r.ContentType,
		Truncated: r.Truncated, Principal: r.Principal, ReplayedAt: r.ReplayedAt, ReplayState: r.ReplayState,
		Errors: []canonical.FieldError{},
	}
	if len(r.Errors) > 0 {
		_ = json.Unmarshal(r.Errors, &q.Errors)
	}
	switch {
	case json.Valid(r.Payload) && len(r.Payload) > 0:
		q.Payload, q.PayloadEncoding = json.RawMessage(r.Payload), "json"
	case utf8.Valid(r.Payload):
		q.Payload, _ = json.Marshal(string(r.Payload))
		q.PayloadEncoding = "text"
	default:
		q.Payload, _ = json.Marshal(base64.StdEncoding.EncodeToString(r.Payload))
		q.PayloadEncoding = "base64"
	}
	return q
}
