package x12

import (
	"fmt"
	"strconv"
	"time"
)

// AckOptions are the envelope values of a generated 997.
type AckOptions struct {
	InterchangeControlNumber int       // ISA13/IEA02 of the 997, 1..999999999
	GroupControlNumber       int       // GS06/GE02 of the 997, 1..999999999
	Now                      time.Time // ISA09/ISA10 and GS04/GS05, written in its own zone
}

// Ack997 builds the functional acknowledgment of ic: one interchange back
// to the sender (sender and receiver swapped, the received delimiters and
// ISA12 version), one FA group (GS08: the first six digits of the
// received GS08, else 004010), one 997 set per received functional group
// (AK1), an AK2..AK5 loop per received set and an AK9 per group. results
// must be what Translate returned for ic: the 997 reports the set
// statuses and errors recorded there.
//
// AK5 is A for accepted sets, E (code 5) for sets accepted with errors and
// R for rejected sets with the set-level codes, or 5 when only segments
// and elements were in error; sets rejected only because their group was
// get AK5 R without a code. AK9 is R with the group's codes when the group
// has errors, else A, E, P or R by the set outcomes.
func Ack997(ic *Interchange, results []SetResult, opts AckOptions) ([]byte, error) {
	if err := checkControl("interchange control number", opts.InterchangeControlNumber); err != nil {
		return nil, err
	}
	if err := checkControl("group control number", opts.GroupControlNumber); err != nil {
		return nil, err
	}
	byPos := make(map[[2]int]*SetResult, len(results))
	for i := range results {
		byPos[[2]int{results[i].Group, results[i].Set}] = &results[i]
	}
	version := ic.Version
	if !isDigits(version, 5, 5) {
		version = "00401"
	}
	usage := ic.Usage
	if usage != "T" {
		usage = "P"
	}
	gsFrom, gsTo, gsVersion := ic.ReceiverID, ic.SenderID, "004010"
	if len(ic.Groups) > 0 {
		g := ic.Groups[0]
		gsFrom, gsTo = g.ReceiverID, g.SenderID
		if len(g.Version) >= 6 && isDigits(g.Version[:6], 6, 6) {
			gsVersion = g.Version[:6]
		}
	}
	e := &encoder{d: ic.Delimiters}
	e.isa(ic.ReceiverQualifier, ic.ReceiverID, ic.SenderQualifier, ic.SenderID, opts.Now, version, opts.InterchangeControlNumber, usage)
	gctl := strconv.Itoa(opts.GroupControlNumber)
	e.seg("GS", "FA", gsFrom, gsTo, opts.Now.Format("20060102"), opts.Now.Format("1504"), gctl, "X", gsVersion)
	for gi, g := range ic.Groups {
		ctl := fmt.Sprintf("%04d", gi+1)
		e.count = 0
		e.seg("ST", "997", ctl)
		e.seg("AK1", g.FunctionalID, g.ControlNumber)
		accepted, withErrors := 0, false
		for si, s := range g.Sets {
			r := byPos[[2]int{gi + 1, si + 1}]
			if r == nil {
				return nil, fmt.Errorf("no result for group %d set %d", gi+1, si+1)
			}
			ackSet(e, s, r)
			switch r.Status {
			case StatusAccepted:
				accepted++
			case StatusAcceptedWithErrors:
				accepted++
				withErrors = true
			}
		}
		included := strconv.Itoa(len(g.Sets))
		if isDigits(g.declared, 1, 6) {
			included = g.declared
		}
		ak9 := []string{"", included, strconv.Itoa(len(g.Sets)), strconv.Itoa(accepted)}
		switch {
		case len(g.Errors) > 0:
			ak9[0] = "R"
			ak9 = append(ak9, codes(g.Errors, LevelGroup)...)
		case accepted == len(g.Sets) && withErrors:
			ak9[0] = "E"
		case accepted == len(g.Sets):
			ak9[0] = "A"
		case accepted == 0:
			ak9[0] = "R"
		default:
			ak9[0] = "P"
		}
		e.seg("AK9", ak9...)
		e.seg("SE", strconv.Itoa(e.count+1), ctl)
	}
	e.seg("GE", strconv.Itoa(len(ic.Groups)), gctl)
	e.seg("IEA", "1", fmt.Sprintf("%09d", opts.InterchangeControlNumber))
	if e.err != nil {
		return nil, fmt.Errorf("997: %w", e.err)
	}
	return e.buf.Bytes(), nil
}

// ackSet writes the AK2 loop of one set.
func ackSet(e *encoder, s *Set, r *SetResult) {
	e.seg("AK2", s.ID, s.ControlNumber)
	stPos := s.Segments[0].Pos
	segErrors := false
	for i := 0; i < len(r.Errors); i++ {
		x := r.Errors[i]
		if x.Level != LevelSegment && x.Level != LevelElement {
			continue
		}
		segErrors = true
		if x.SegmentID == "" {
			continue // an unreadable segment id cannot be named in AK301
		}
		code := x.Code
		if x.Level == LevelElement {
			code = SegmentHasElementErrors
		}
		e.seg("AK3", x.SegmentID, strconv.Itoa(x.Segment-stPos+1), "", code)
		// The element errors of the same segment follow in one AK3.
		for ; i < len(r.Errors); i++ {
			y := r.Errors[i]
			if y.Segment != x.Segment || y.Level != x.Level {
				i--
				break
			}
			if y.Level == LevelElement {
				e.seg("AK4", strconv.Itoa(y.Element), "", y.Code, ak4Value(e, y.Value))
			}
		}
	}
	ak5 := []string{"A"}
	switch r.Status {
	case StatusAcceptedWithErrors:
		ak5 = []string{"E", SetSegmentsInError}
	case StatusRejected:
		ak5 = append([]string{"R"}, codes(r.Errors, LevelSet)...)
		if len(ak5) == 1 && segErrors {
			ak5 = append(ak5, SetSegmentsInError)
		}
	}
	e.seg("AK5", ak5...)
}

// ak4Value is the copy of a bad element for AK404, or "" when it cannot
// be written with the interchange's delimiters.
func ak4Value(e *encoder, v string) string {
	if len(v) > 99 {
		return ""
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == e.d.Element || c == e.d.Segment || c == e.d.Component || (e.d.Repetition != 0 && c == e.d.Repetition) || c < ' ' {
			return ""
		}
	}
	return v
}

// codes lists the distinct non-empty codes of errors at one level, at
// most five (the 997 has five code elements).
func codes(errs []*Error, level Level) []string {
	var out []string
	for _, x := range errs {
		if x.Level != level || x.Code == "" || len(out) == 5 {
			continue
		}
		dup := false
		for _, c := range out {
			dup = dup || c == x.Code
		}
		if !dup {
			out = append(out, x.Code)
		}
	}
	return out
}
