package x12

import (
	"fmt"
	"strconv"
	"time"
)

// Set statuses of a SetResult.
const (
	StatusAccepted           = "accepted"
	StatusAcceptedWithErrors = "accepted_with_errors"
	StatusRejected           = "rejected"
)

// TranslateOptions tune Translate for one trading partner.
type TranslateOptions struct {
	// Location is the zone of times sent as local time (time code LT or
	// none) and of the GS date and time; nil means UTC.
	Location *time.Location
	// StopFromLX takes a 214 LX01 assigned number as the stop id when its
	// LX loop has no L11 stop sequence number (qualifier QN). Only for
	// partners who number LX loops by stop.
	StopFromLX bool
	// SignerEntity is the N1 entity identifier code (N101) whose name
	// (N102) in a 214 is the signed_by of delivery.completed; "" leaves
	// signed_by empty.
	SignerEntity string
}

// Event is one translated event; json.Marshal gives the members id, type,
// subject, time and data. The caller adds specversion and source.
type Event struct {
	ID      string         `json:"id"`      // deterministic: the same interchange gives the same ids
	Type    string         `json:"type"`    // one of the Type… constants
	Subject string         `json:"subject"` // the shipment id
	Time    time.Time      `json:"time"`    // when it happened
	Data    map[string]any `json:"data"`    // JSON-able: strings, float64, int, maps and slices of them
}

// SetResult is the outcome of one transaction set.
type SetResult struct {
	Group, Set    int      // 1-based positions: group in the interchange, set in the group
	ID            string   // ST01
	ControlNumber string   // ST02
	Events        []Event  // translated events; empty when rejected
	Errors        []*Error // what was wrong, envelope errors first
	Status        string   // StatusAccepted, StatusAcceptedWithErrors or StatusRejected
	Raw           []byte   // the set's bytes ST..SE, for quarantine
}

// Translate turns every set of ic into events. Sets of a group with
// errors, and sets with envelope errors, are rejected without being
// translated. The results are in interchange order.
func Translate(ic *Interchange, opts TranslateOptions) []SetResult {
	var out []SetResult
	for gi, g := range ic.Groups {
		for si, s := range g.Sets {
			r := SetResult{Group: gi + 1, Set: si + 1, ID: s.ID, ControlNumber: s.ControlNumber, Raw: s.Raw, Status: StatusRejected}
			r.Errors = append(r.Errors, s.Errors...)
			if len(g.Errors) > 0 || len(s.Errors) > 0 {
				r.Errors = append(r.Errors, g.Errors...)
				out = append(out, r)
				continue
			}
			loc := opts.Location
			if loc == nil {
				loc = time.UTC
			}
			// The group passed its checks, so its date and time parse.
			gsTime, _ := stamp(g.Date, g.Time, "LT", loc)
			c := &tctx{opts: opts, loc: loc, gsTime: gsTime, ic: ic, set: s, res: &r,
				idPrefix: fmt.Sprintf("%s-%s-%s-%s-", ic.SenderID, ic.ControlNumber, g.ControlNumber, s.ControlNumber)}
			switch s.ID {
			case "204":
				c.t204()
			case "214":
				c.t214()
			case "990":
				c.t990()
			default:
				c.fail(segErr(&s.Segments[0], 1, LevelSet, SetNotSupported, "transaction set %s is not supported", s.ID))
			}
			switch {
			case c.rejected:
				r.Events = nil
			case len(r.Errors) > 0:
				r.Status = StatusAcceptedWithErrors
			default:
				r.Status = StatusAccepted
			}
			out = append(out, r)
		}
	}
	return out
}

// tctx is the state of translating one set.
type tctx struct {
	opts     TranslateOptions
	loc      *time.Location
	gsTime   time.Time
	ic       *Interchange
	set      *Set
	res      *SetResult
	idPrefix string
	rejected bool
}

// body is the set without ST and SE.
func (c *tctx) body() []Segment {
	segs := c.set.Segments
	return segs[1 : len(segs)-1]
}

func (c *tctx) emit(typ, subject string, t time.Time, data map[string]any) {
	c.res.Events = append(c.res.Events, Event{
		ID:      c.idPrefix + strconv.Itoa(len(c.res.Events)+1),
		Type:    typ,
		Subject: subject,
		Time:    t,
		Data:    data,
	})
}

// fail records an error that rejects the set.
func (c *tctx) fail(e *Error) {
	c.res.Errors = append(c.res.Errors, e)
	c.rejected = true
}

// warn records an error the set is accepted with.
func (c *tctx) warn(e *Error) { c.res.Errors = append(c.res.Errors, e) }

// missing reports a mandatory segment id that the set lacks.
func (c *tctx) missing(id string) *Error {
	st := &c.set.Segments[0]
	return &Error{Segment: st.Pos + 1, SegmentID: id, Offset: st.end, Level: LevelSegment, Code: SegmentMandatoryMissing,
		Msg: fmt.Sprintf("mandatory segment %s missing", id)}
}

// elemErr is an element error of segment s.
func elemErr(s *Segment, elem int, code, format string, args ...any) *Error {
	return segErr(s, elem, LevelElement, code, format, args...)
}

// timeErrAt places a timeErr on the date, time or time code element of s,
// whose positions are given in els.
func timeErrAt(s *Segment, els [3]int, te *timeErr) *Error {
	return elemErr(s, els[te.elem], te.code, "%s", te.msg)
}

// addString sets m[k] = v when v is not empty.
func addString(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}
