package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/mapping"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/signature"
	"github.com/crossdockhq/crossdock/internal/store"
)

// Mappings are the compiled jq mappings of the declared partners.
type Mappings struct {
	inbound map[[2]string]*mapping.Mapping // (partner, name)
	files   map[[2]string]*fileMapping
}

// CompileMappings compiles every inbound and file mapping of partners.
// Errors name the partner, the mapping and the position in the program.
func CompileMappings(partners []config.Partner) (*Mappings, error) {
	m := &Mappings{inbound: map[[2]string]*mapping.Mapping{}, files: map[[2]string]*fileMapping{}}
	var errs []error
	for _, p := range partners {
		for _, in := range p.Inbound {
			c, err := mapping.Compile(mapping.Spec{Partner: p.ID, Name: in.Name, Source: in.JQ, Tables: p.Tables, Timeout: in.Timeout.D()})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			m.inbound[[2]string{p.ID, in.Name}] = c
		}
		for _, f := range p.Files {
			c, err := mapping.Compile(mapping.Spec{Partner: p.ID, Name: f.Name, Source: f.JQ, Tables: p.Tables, Timeout: f.Timeout.D()})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			spec := fileSpec(f)
			if err := spec.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("partner %s file mapping %s: %w", p.ID, f.Name, err))
				continue
			}
			m.files[[2]string{p.ID, f.Name}] = &fileMapping{spec: spec, m: c}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// Inbound returns a partner's inbound mapping, nil when there is none.
func (m *Mappings) Inbound(partner, name string) *mapping.Mapping {
	if m == nil {
		return nil
	}
	return m.inbound[[2]string{partner, name}]
}

func (m *Mappings) file(partner, name string) *fileMapping {
	if m == nil {
		return nil
	}
	return m.files[[2]string{partner, name}]
}

// Content types of partner payloads kept in quarantine: replay runs them
// through their channel again (after a mapping or master-data fix).
const (
	inboundContentType = "application/vnd.crossdock.inbound+json"
	ediContentType     = "application/edi-x12"
	fileContentType    = "text/csv"
)

// partnerCall is an authenticated, size- and signature-checked request to
// one of a partner's channels.
type partnerCall struct {
	p       Principal // the caller; Partner is the partner the data is for
	partner string
	cfg     *config.Partner // nil for partners created through the API
	body    []byte
	ct      string
}

// openPartnerCall authenticates a request to /api/v1/partners/{id}/...,
// reads its body within the partner's limit and checks its signature. It
// answers the request itself and returns nil when any of that fails.
// defaultLimit is the body limit unless the partner sets max_body_bytes.
func (s *Server) openPartnerCall(w http.ResponseWriter, r *http.Request, defaultLimit int64) *partnerCall {
	ctx := r.Context()
	p, err := s.authenticate(ctx, r.Header.Get("Authorization"), ScopeEventsWrite)
	if err != nil {
		writeProblem(w, r, s.authProblem(err, w.Header().Set))
		return nil
	}
	id := r.PathValue("id")
	notFound := func() *partnerCall {
		writeProblem(w, r, newProblem(http.StatusNotFound, "no partner "+strconv.Quote(id)))
		return nil
	}
	switch {
	case p.Partner != "" && p.Partner != id:
		return notFound() // another partner's endpoint does not exist for this key
	case p.Partner == "" && !p.Has(ScopeAdmin):
		writeProblem(w, r, newProblem(http.StatusForbidden, "only the partner's own keys (or an admin key) may send to its endpoints"))
		return nil
	}
	if _, err := s.opt.Store.Partner(ctx, id); errors.Is(err, store.ErrNotFound) {
		return notFound()
	} else if err != nil {
		writeProblem(w, r, s.internal(ctx, "get partner", err).(*Problem))
		return nil
	}
	call := &partnerCall{p: p, partner: id, cfg: s.partners.config(id), ct: r.Header.Get("Content-Type")}
	call.p.Partner = id
	limit := defaultLimit
	if call.cfg != nil && call.cfg.MaxBodyBytes > 0 {
		limit = call.cfg.MaxBodyBytes
	}
	body, over, err := readLimited(r.Body, limit)
	if err != nil {
		writeProblem(w, r, newProblem(http.StatusBadRequest, "reading the body: "+err.Error()))
		return nil
	}
	if over {
		s.quarantineBody(w, r, call.p, call.ct, body, true, http.StatusRequestEntityTooLarge,
			canonical.FieldError{Message: "body exceeds partner " + id + "'s limit of " + strconv.FormatInt(limit, 10) + " bytes"})
		return nil
	}
	call.body = body
	if sg := signingOf(call.cfg); sg != nil {
		if reason, msg := signature.Verify(sg.Key(), r.Header.Get(sg.Header), body, s.opt.Now(), sg.Window.D()); reason != "" {
			if s.opt.Metrics != nil {
				s.opt.Metrics.SignatureFailures.WithLabelValues(id, reason).Inc()
			}
			w.Header().Set("WWW-Authenticate", `Signature realm="crossdock", header="`+sg.Header+`"`)
			writeProblem(w, r, newProblem(http.StatusUnauthorized, msg+" ("+reason+"); sign with "+sg.Header+": t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">",
				fieldErr("header."+sg.Header, reason)))
			return nil
		}
	}
	return call
}

func signingOf(c *config.Partner) *config.Signing {
	if c == nil {
		return nil
	}
	return c.Signing
}

// InboundResult is what one partner payload produced.
type InboundResult struct {
	// Results has one entry per event the mapping produced, in order.
	Results []pipeline.Result
	// Problem is set when the payload produced no events because it was
	// refused as a whole (not JSON, a failing mapping); it was quarantined
	// as Problem.QuarantineID.
	Problem *Problem
}

// Inbound runs a partner's payload through its named inbound mapping and
// commits the events it produces, as the partner's. Everything refused is
// kept in quarantine with the original payload, so a replay after a fix
// runs the mapping again. replay is the quarantine record being replayed,
// or nil. The error is non-nil only when nothing could be committed
// (overload, storage): the sender must retry.
func (s *Server) Inbound(ctx context.Context, principal, partner, name string, body []byte, replay *store.QuarantineRecord) (InboundResult, error) {
	ct := inboundContentType + "; partner=" + partner + "; mapping=" + name
	p := Principal{Name: principal, Partner: partner}
	m := s.opt.Mappings.Inbound(partner, name)
	if m == nil {
		return s.refuse(ctx, p, ct, body, replay, http.StatusNotFound, "partner "+partner+" has no inbound mapping "+strconv.Quote(name),
			canonical.FieldError{Field: "mapping", Message: "no inbound mapping " + strconv.Quote(name) + " for partner " + partner})
	}
	evs, err := m.RunJSON(ctx, body)
	if err != nil {
		if ctx.Err() != nil {
			return InboundResult{}, ctx.Err()
		}
		status := http.StatusUnprocessableEntity
		var pe *mapping.PayloadError
		if errors.As(err, &pe) {
			status = http.StatusBadRequest
		}
		return s.refuse(ctx, p, ct, body, replay, status, err.Error(), canonical.FieldError{Field: "mapping", Message: err.Error()})
	}
	items := s.mappedItems(ctx, partner, name, evs, body)
	s.prepare(p, items)
	results, err := s.opt.Pipeline.Submit(ctx, pipeline.Submission{Items: items, Principal: principal, Partner: partner, ContentType: ct, Replay: replay})
	if err != nil {
		return InboundResult{}, err
	}
	s.countPartnerItems(partner, "inbound", results)
	return InboundResult{Results: results}, nil
}

// refuse quarantines a payload refused as a whole and describes it.
func (s *Server) refuse(ctx context.Context, p Principal, ct string, body []byte, replay *store.QuarantineRecord, status int, detail string, fe canonical.FieldError) (InboundResult, error) {
	item := pipeline.Item{Raw: body, Err: &canonical.ValidationError{Errors: []canonical.FieldError{fe}}}
	res, err := s.opt.Pipeline.Submit(ctx, pipeline.Submission{Items: []pipeline.Item{item}, Principal: p.Name, Partner: p.Partner, ContentType: ct, Replay: replay})
	if err != nil {
		return InboundResult{}, err
	}
	pr := newProblem(status, detail+"; the payload was kept in quarantine as "+res[0].QuarantineID, fe)
	pr.QuarantineID = res[0].QuarantineID
	return InboundResult{Results: res, Problem: pr}, nil
}

// mappedItems turns the events a mapping produced into intake items: the
// hub fills specversion and the partner's source where the mapping left
// them out, then parses each like an event sent to POST /api/v1/events.
// Each item keeps raw (the partner's payload) for quarantine, and its
// errors name the mapping and the event.
func (s *Server) mappedItems(ctx context.Context, partner, name string, evs []map[string]any, raw []byte) []pipeline.Item {
	o := pipeline.IntakeOptions{Limits: s.opt.Limits, Now: s.opt.Now(), CorrelationID: obs.Correlation(ctx), Enrich: s.enricher(ctx)}
	items := make([]pipeline.Item, len(evs))
	for i, ev := range evs {
		if _, ok := ev["specversion"]; !ok {
			ev["specversion"] = "1.0"
		}
		if src, ok := ev["source"]; !ok || src == nil || src == "" {
			ev["source"] = PartnerSource(partner)
		}
		b, err := json.Marshal(ev)
		if err != nil {
			items[i] = pipeline.Item{Raw: raw, Err: &canonical.ValidationError{Errors: []canonical.FieldError{{Message: "event cannot be encoded: " + err.Error()}}}}
			continue
		}
		it := pipeline.ParseItem(b, o)
		it.Raw = raw
		if it.Err != nil {
			for j := range it.Err.Errors {
				it.Err.Errors[j].Message += fmt.Sprintf(" (mapping %s, event %d)", name, i+1)
			}
		}
		items[i] = it
	}
	return items
}

func (s *Server) countPartnerItems(partner, channel string, results []pipeline.Result) {
	if s.opt.Metrics == nil {
		return
	}
	for _, r := range results {
		s.opt.Metrics.PartnerItems.WithLabelValues(partner, channel, r.Status).Inc()
	}
}

// postInbound is POST /api/v1/partners/{id}/inbound/{mapping}.
func (s *Server) postInbound(w http.ResponseWriter, r *http.Request) {
	call := s.openPartnerCall(w, r, s.opt.MaxBodyBytes)
	if call == nil {
		return
	}
	if mt, _, _ := mime.ParseMediaType(call.ct); call.ct != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		s.quarantineBody(w, r, call.p, call.ct, call.body, false, http.StatusUnsupportedMediaType,
			canonical.FieldError{Message: "content type " + call.ct + " is not accepted: send application/json"})
		return
	}
	out, err := s.Inbound(r.Context(), call.p.Name, call.partner, r.PathValue("mapping"), call.body, nil)
	s.answerIntake(w, r, out, err, true)
}

// answerIntake answers like POST /api/v1/events: 202 with per-event
// results; a problem when the payload was refused whole, or when it
// produced exactly one event and that was rejected (single).
func (s *Server) answerIntake(w http.ResponseWriter, r *http.Request, out InboundResult, err error, single bool) {
	switch {
	case err != nil:
		s.submitFailed(w, r, err)
	case out.Problem != nil:
		writeProblem(w, r, out.Problem)
	case single && len(out.Results) == 1 && out.Results[0].Status == pipeline.Rejected:
		res := out.Results[0]
		pr := newProblem(http.StatusUnprocessableEntity, "the mapped event is invalid; the payload was kept in quarantine as "+res.QuarantineID, res.Errors...)
		pr.QuarantineID = res.QuarantineID
		writeProblem(w, r, pr)
	default:
		if out.Results == nil {
			out.Results = []pipeline.Result{}
		}
		writeJSON(w, http.StatusAccepted, EventsResponse{Results: out.Results})
	}
}
