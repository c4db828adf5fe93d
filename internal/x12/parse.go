package x12

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// isaMaxLen bounds the search for the 16 ISA element separators. A
// standard ISA is 106 bytes; shortened and padded variants stay well below.
const isaMaxLen = 512

// Delimiters are the separators of an interchange, read from its ISA.
type Delimiters struct {
	Element    byte // byte 3 of the ISA
	Repetition byte // ISA11 when it is a separator character; 0 if none
	Component  byte // ISA16, the sub-element separator
	Segment    byte // the byte after ISA16
	Newline    bool // a line break follows each segment terminator
}

// Segment is one segment; its elements are slices into the parsed input,
// which must not be modified while the Interchange is in use.
type Segment struct {
	ID     string // the segment id, e.g. "AT7"
	Pos    int    // 1-based position in the interchange (ISA is 1)
	Offset int    // byte offset of the segment id in the input
	end    int    // byte offset just past the terminator
	elems  [][]byte
}

// Len is the number of elements after the segment id.
func (s Segment) Len() int { return len(s.elems) - 1 }

// Elem returns element i (1-based) exactly as sent, "" when absent.
func (s Segment) Elem(i int) string {
	if i <= 0 || i >= len(s.elems) {
		return ""
	}
	return string(s.elems[i])
}

// Value returns element i (1-based) without surrounding blanks.
func (s Segment) Value(i int) string {
	if i <= 0 || i >= len(s.elems) {
		return ""
	}
	return string(bytes.TrimSpace(s.elems[i]))
}

// elemOffset is the byte offset of element i in the input.
func (s Segment) elemOffset(i int) int {
	off := s.Offset
	for k := 0; k < i && k < len(s.elems); k++ {
		off += len(s.elems[k]) + 1
	}
	return off
}

// Interchange is one parsed ISA..IEA interchange.
type Interchange struct {
	Delimiters        Delimiters
	SenderQualifier   string // ISA05
	SenderID          string // ISA06, blanks trimmed
	ReceiverQualifier string // ISA07
	ReceiverID        string // ISA08, blanks trimmed
	Date, Time        string // ISA09 (YYMMDD), ISA10 (HHMM)
	Version           string // ISA12
	ControlNumber     string // ISA13, blanks trimmed
	Usage             string // ISA15: P production, T test
	Groups            []*Group
	Segments          []Segment // every segment, ISA..IEA
}

// Group is one GS..GE functional group.
type Group struct {
	FunctionalID  string // GS01, e.g. QM
	SenderID      string // GS02
	ReceiverID    string // GS03
	Date, Time    string // GS04 (CCYYMMDD), GS05 (HHMM[SS[dd]])
	ControlNumber string // GS06
	Version       string // GS08
	Sets          []*Set
	Errors        []*Error        // group-level errors; any of them rejects the whole group
	declared      string          // GE01, "" when GE is missing
	controls      map[string]bool // ST02s seen
}

// Set is one ST..SE transaction set.
type Set struct {
	ID            string    // ST01, e.g. "214"
	ControlNumber string    // ST02
	Segments      []Segment // ST..SE (up to where the set ended when SE is missing)
	Errors        []*Error  // envelope errors of the set; any of them rejects it
	Raw           []byte    // the set's bytes, ST up to and including the SE terminator
}

// Parse reads one interchange. The returned error is always an *Error and
// only reports interchange-level failures; group and set problems are
// recorded in Group.Errors and Set.Errors. Parse does not copy data.
func Parse(data []byte) (*Interchange, error) {
	p := parser{data: data}
	ic, err := p.parse()
	if err != nil {
		return nil, err
	}
	return ic, nil
}

type parser struct {
	data []byte
}

func (p *parser) parse() (*Interchange, *Error) {
	start := skipLeading(p.data)
	ic, end, err := p.readISA(start)
	if err != nil {
		return nil, err
	}
	if err := p.tokenize(ic, end); err != nil {
		return nil, err
	}
	if err := p.envelope(ic); err != nil {
		return nil, err
	}
	return ic, nil
}

// skipLeading skips a UTF-8 byte order mark and white space.
func skipLeading(data []byte) int {
	i := 0
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		i = 3
	}
	return skipSpace(data, i)
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func isaErr(off, elem int, format string, args ...any) *Error {
	return &Error{Segment: 1, SegmentID: "ISA", Element: elem, Offset: off, Level: LevelInterchange, Msg: fmt.Sprintf(format, args...)}
}

// readISA reads the delimiters and fields of the ISA starting at start
// and returns the offset just past its terminator. The ISA is read by
// counting element separators, so shortened (not fixed-width) ISAs are
// accepted.
func (p *parser) readISA(start int) (*Interchange, int, *Error) {
	data := p.data
	if start >= len(data) {
		return nil, 0, &Error{Offset: start, Level: LevelInterchange, Msg: "no ISA segment: input is empty"}
	}
	if !bytes.HasPrefix(data[start:], []byte("ISA")) {
		return nil, 0, &Error{Segment: 1, Offset: start, Level: LevelInterchange, Msg: fmt.Sprintf("no ISA segment: input starts with %q", clip(data[start:]))}
	}
	if len(data)-start < 4 {
		return nil, 0, isaErr(start, 0, "truncated ISA segment")
	}
	es := data[start+3]
	if isAlnum(es) || isSpace(es) {
		return nil, 0, isaErr(start+3, 0, "invalid element separator %q", es)
	}
	var seps [16]int
	n := 0
	limit := min(len(data), start+isaMaxLen)
	for i := start + 3; i < limit && n < 16; i++ {
		if data[i] == es {
			seps[n] = i
			n++
		}
	}
	if n < 16 {
		return nil, 0, isaErr(start, n, "truncated ISA segment: %d of 16 elements", n)
	}
	c := seps[15] + 1
	if c+1 >= len(data) {
		return nil, 0, isaErr(c, 16, "ISA segment has no segment terminator")
	}
	comp, term := data[c], data[c+1]
	if isAlnum(comp) || isSpace(comp) {
		return nil, 0, isaErr(c, 16, "invalid component separator %q", comp)
	}
	if isAlnum(term) || term == ' ' || term == es || term == comp {
		return nil, 0, isaErr(c+1, 16, "invalid segment terminator %q", term)
	}
	elems := make([][]byte, 17)
	elems[0] = data[start : start+3]
	for i := 0; i < 15; i++ {
		elems[i+1] = data[seps[i]+1 : seps[i+1]]
	}
	elems[16] = data[c : c+1]
	isa := Segment{ID: "ISA", Pos: 1, Offset: start, end: c + 2, elems: elems}
	d := Delimiters{Element: es, Component: comp, Segment: term}
	if r := elems[11]; len(r) == 1 && !isAlnum(r[0]) && !isSpace(r[0]) && r[0] != es && r[0] != comp && r[0] != term {
		d.Repetition = r[0]
	}
	if c+2 < len(data) && term != '\n' && term != '\r' && (data[c+2] == '\n' || data[c+2] == '\r') {
		d.Newline = true
	}
	ic := &Interchange{
		Delimiters:        d,
		SenderQualifier:   isa.Value(5),
		SenderID:          isa.Value(6),
		ReceiverQualifier: isa.Value(7),
		ReceiverID:        isa.Value(8),
		Date:              isa.Value(9),
		Time:              isa.Value(10),
		Version:           isa.Value(12),
		ControlNumber:     isa.Value(13),
		Usage:             isa.Value(15),
	}
	if !isDigits(ic.ControlNumber, 1, 9) {
		return nil, 0, isaErr(isa.elemOffset(13), 13, "invalid control number %q", clip(elems[13]))
	}
	ic.Segments = []Segment{isa}
	return ic, c + 2, nil
}

// tokenize splits everything after the ISA into segments, up to and
// including the IEA, and checks that only white space follows the IEA.
func (p *parser) tokenize(ic *Interchange, pos int) *Error {
	data, d := p.data, ic.Delimiters
	rest := data[pos:]
	nseg := bytes.Count(rest, []byte{d.Segment}) + 2
	slab := make([][]byte, 0, bytes.Count(rest, []byte{d.Element})+nseg)
	segs := make([]Segment, 1, nseg)
	segs[0] = ic.Segments[0]
	defer func() { ic.Segments = segs }()
	for {
		pos = skipSpace(data, pos)
		if pos >= len(data) {
			return nil
		}
		var body []byte
		end := len(data)
		if j := bytes.IndexByte(data[pos:], d.Segment); j >= 0 {
			body, end = data[pos:pos+j], pos+j+1
		} else {
			body = data[pos:]
		}
		first := len(slab)
		k := 0
		for i, c := range body {
			if c == d.Element {
				slab = append(slab, body[k:i])
				k = i + 1
			}
		}
		slab = append(slab, body[k:])
		elems := slab[first:len(slab):len(slab)]
		segs = append(segs, Segment{ID: segID(elems[0]), Pos: len(segs) + 1, Offset: pos, end: end, elems: elems})
		pos = end
		if segs[len(segs)-1].ID == "IEA" {
			if g := skipSpace(data, pos); g < len(data) {
				return &Error{Segment: len(segs) + 1, Offset: g, Level: LevelInterchange,
					Msg: fmt.Sprintf("unexpected data after IEA: %q", clip(data[g:]))}
			}
			return nil
		}
	}
}

// segID returns the id as a string without allocating for the ids this
// package reads.
func segID(b []byte) string {
	switch string(b) {
	case "ISA":
		return "ISA"
	case "IEA":
		return "IEA"
	case "GS":
		return "GS"
	case "GE":
		return "GE"
	case "ST":
		return "ST"
	case "SE":
		return "SE"
	case "B10":
		return "B10"
	case "LX":
		return "LX"
	case "AT7":
		return "AT7"
	case "MS1":
		return "MS1"
	case "MS2":
		return "MS2"
	case "L11":
		return "L11"
	case "N1":
		return "N1"
	case "N3":
		return "N3"
	case "N4":
		return "N4"
	case "AT8":
		return "AT8"
	case "K1":
		return "K1"
	case "G62":
		return "G62"
	case "S5":
		return "S5"
	case "B2":
		return "B2"
	case "B2A":
		return "B2A"
	case "B1":
		return "B1"
	case "N9":
		return "N9"
	case "V9":
		return "V9"
	}
	return string(b)
}

// validID reports whether b is a syntactically valid segment id: two or
// three upper-case letters or digits, starting with a letter.
func validID(b []byte) bool {
	if len(b) < 2 || len(b) > 3 || b[0] < 'A' || b[0] > 'Z' {
		return false
	}
	for _, c := range b[1:] {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func isDigits(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// sameNumber compares two numeric control numbers ignoring leading zeros.
func sameNumber(a, b string) bool {
	if !isDigits(a, 1, 9) || !isDigits(b, 1, 9) {
		return false
	}
	return strings.TrimLeft(a, "0") == strings.TrimLeft(b, "0")
}

// clip shortens a piece of input for an error message.
func clip(b []byte) string {
	const max = 20
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

func segErr(s *Segment, elem int, level Level, code, format string, args ...any) *Error {
	e := &Error{Segment: s.Pos, SegmentID: s.ID, Element: elem, Offset: s.Offset, Level: level, Code: code, Msg: fmt.Sprintf(format, args...)}
	if elem > 0 {
		e.Offset = s.elemOffset(elem)
		if elem < len(s.elems) {
			e.Value = string(s.elems[elem])
		}
	}
	return e
}

// envelope checks the ISA/GS/ST nesting and the trailers, building the
// groups and sets.
func (p *parser) envelope(ic *Interchange) *Error {
	segs := ic.Segments
	var g *Group
	var s *Set
	setStart := 0
	endSet := func(i int, trailer bool) {
		last := i
		if !trailer {
			last = i - 1
			s.Errors = append(s.Errors, segErr(&segs[i], 0, LevelSet, SetTrailerMissing, "transaction set trailer SE missing"))
		}
		s.Segments = segs[setStart : last+1]
		s.Raw = p.data[segs[setStart].Offset:segs[last].end]
		s = nil
	}
	for i := 1; i < len(segs); i++ {
		sg := &segs[i]
		if !validID(sg.elems[0]) {
			e := &Error{Segment: sg.Pos, Offset: sg.Offset, Msg: fmt.Sprintf("invalid segment id %q", clip(sg.elems[0]))}
			switch {
			case s != nil:
				e.Level, e.Code = LevelSegment, SegmentUnrecognizedID
				s.Errors = append(s.Errors, e)
			case g != nil:
				e.Level = LevelGroup
				g.Errors = append(g.Errors, e)
			default:
				e.Level = LevelInterchange
				return e
			}
			continue
		}
		switch sg.ID {
		case "GS":
			if s != nil {
				endSet(i, false)
			}
			if g != nil {
				g.Errors = append(g.Errors, segErr(sg, 0, LevelGroup, GroupTrailerMissing, "functional group trailer GE missing"))
			}
			g = openGroup(sg)
			ic.Groups = append(ic.Groups, g)
		case "ST":
			if g == nil {
				return segErr(sg, 0, LevelInterchange, "", "transaction set outside a functional group")
			}
			if s != nil {
				endSet(i, false)
			}
			s = openSet(g, sg)
			setStart = i
		case "SE":
			switch {
			case s != nil:
				checkSE(s, sg, i-setStart+1)
				endSet(i, true)
			case g != nil:
				g.Errors = append(g.Errors, segErr(sg, 0, LevelGroup, "", "SE without ST"))
			default:
				return segErr(sg, 0, LevelInterchange, "", "SE outside a functional group")
			}
		case "GE":
			if g == nil {
				return segErr(sg, 0, LevelInterchange, "", "GE without GS")
			}
			if s != nil {
				endSet(i, false)
			}
			closeGroup(g, sg)
			g = nil
		case "IEA":
			if s != nil {
				endSet(i, false)
			}
			if g != nil {
				g.Errors = append(g.Errors, segErr(sg, 0, LevelGroup, GroupTrailerMissing, "functional group trailer GE missing"))
			}
			return checkIEA(ic, sg)
		default:
			switch {
			case s != nil:
			case g != nil:
				g.Errors = append(g.Errors, segErr(sg, 0, LevelGroup, "", "segment %s outside a transaction set", sg.ID))
			default:
				return segErr(sg, 0, LevelInterchange, "", "segment %s outside a functional group", sg.ID)
			}
		}
	}
	return &Error{Segment: len(segs) + 1, SegmentID: "IEA", Offset: len(p.data), Level: LevelInterchange, Msg: "interchange trailer IEA missing"}
}

func openGroup(gs *Segment) *Group {
	g := &Group{
		FunctionalID:  gs.Value(1),
		SenderID:      gs.Value(2),
		ReceiverID:    gs.Value(3),
		Date:          gs.Value(4),
		Time:          gs.Value(5),
		ControlNumber: gs.Value(6),
		Version:       gs.Value(8),
	}
	if !isDigits(g.ControlNumber, 1, 9) {
		g.Errors = append(g.Errors, segErr(gs, 6, LevelGroup, GroupControlNumberSyntax, "invalid group control number %q", g.ControlNumber))
	}
	if _, ok := parseDate(g.Date); !ok {
		g.Errors = append(g.Errors, segErr(gs, 4, LevelGroup, "", "invalid date %q", g.Date))
	}
	if _, ok := parseClock(g.Time); !ok {
		g.Errors = append(g.Errors, segErr(gs, 5, LevelGroup, "", "invalid time %q", g.Time))
	}
	return g
}

func closeGroup(g *Group, ge *Segment) {
	g.declared = ge.Value(1)
	if n, err := strconv.Atoi(g.declared); err != nil || n != len(g.Sets) {
		g.Errors = append(g.Errors, segErr(ge, 1, LevelGroup, GroupSetCountMismatch, "transaction set count %s does not match actual count %d", g.declared, len(g.Sets)))
	}
	if ctl := ge.Value(2); !sameNumber(ctl, g.ControlNumber) {
		g.Errors = append(g.Errors, segErr(ge, 2, LevelGroup, GroupControlNumberMismatch, "control number %s does not match GS06 %s", ctl, g.ControlNumber))
	}
}

func openSet(g *Group, st *Segment) *Set {
	s := &Set{ID: st.Value(1), ControlNumber: st.Value(2)}
	if !isDigits(s.ID, 3, 3) {
		s.Errors = append(s.Errors, segErr(st, 1, LevelSet, SetInvalidID, "invalid transaction set id %q", s.ID))
	}
	if len(s.ControlNumber) < 1 || len(s.ControlNumber) > 9 {
		s.Errors = append(s.Errors, segErr(st, 2, LevelSet, SetInvalidControlNumber, "invalid transaction set control number %q", s.ControlNumber))
	}
	if g.controls == nil {
		g.controls = make(map[string]bool)
	}
	if g.controls[s.ControlNumber] {
		s.Errors = append(s.Errors, segErr(st, 2, LevelSet, SetControlNumberNotUniq, "transaction set control number %q is not unique in the group", s.ControlNumber))
	}
	g.controls[s.ControlNumber] = true
	g.Sets = append(g.Sets, s)
	return s
}

func checkSE(s *Set, se *Segment, count int) {
	if n, err := strconv.Atoi(se.Value(1)); err != nil || n != count {
		s.Errors = append(s.Errors, segErr(se, 1, LevelSet, SetSegmentCountMismatch, "segment count %s does not match actual count %d", se.Value(1), count))
	}
	if ctl := se.Value(2); ctl != s.ControlNumber {
		s.Errors = append(s.Errors, segErr(se, 2, LevelSet, SetControlNumberMismatch, "control number %s does not match ST02 %s", ctl, s.ControlNumber))
	}
}

func checkIEA(ic *Interchange, iea *Segment) *Error {
	if n, err := strconv.Atoi(iea.Value(1)); err != nil || n != len(ic.Groups) {
		return segErr(iea, 1, LevelInterchange, "", "group count %s does not match actual count %d", iea.Value(1), len(ic.Groups))
	}
	if ctl := iea.Value(2); !sameNumber(ctl, ic.ControlNumber) {
		return segErr(iea, 2, LevelInterchange, "", "control number %s does not match ISA13 %s", ctl, ic.ControlNumber)
	}
	return nil
}
