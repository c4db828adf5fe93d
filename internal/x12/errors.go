package x12

import (
	"strconv"
	"strings"
)

// Level says which envelope an Error belongs to and so which 997 segment
// reports it.
type Level int

// Error levels, from the whole interchange down to one element.
const (
	// LevelInterchange: the interchange is rejected as a whole; Parse
	// returns the error and no 997 is produced.
	LevelInterchange Level = iota + 1
	// LevelGroup: the functional group is rejected; Code is an AK905 code
	// (DE 716) or "" when the 997 code list has none for it.
	LevelGroup
	// LevelSet: the transaction set is rejected; Code is an AK502 code
	// (DE 718).
	LevelSet
	// LevelSegment: a segment of a set is in error; Code is an AK304 code
	// (DE 720).
	LevelSegment
	// LevelElement: an element of a segment of a set is in error; Code is
	// an AK403 code (DE 723).
	LevelElement
)

// AK502 transaction set syntax error codes (DE 718) used by this package.
const (
	SetNotSupported          = "1"
	SetTrailerMissing        = "2"
	SetControlNumberMismatch = "3"
	SetSegmentCountMismatch  = "4"
	SetSegmentsInError       = "5"
	SetInvalidID             = "6"
	SetInvalidControlNumber  = "7"
	SetControlNumberNotUniq  = "23"
)

// AK905 functional group syntax error codes (DE 716) used by this package.
const (
	GroupTrailerMissing        = "3"
	GroupControlNumberMismatch = "4"
	GroupSetCountMismatch      = "5"
	GroupControlNumberSyntax   = "6"
)

// AK304 segment syntax error codes (DE 720) used by this package.
const (
	SegmentUnrecognizedID   = "1"
	SegmentUnexpected       = "2"
	SegmentMandatoryMissing = "3"
	SegmentHasElementErrors = "8"
)

// AK403 element syntax error codes (DE 723) used by this package.
const (
	ElementMandatoryMissing = "1"
	ElementInvalidCharacter = "6"
	ElementInvalidCode      = "7"
	ElementInvalidDate      = "8"
	ElementInvalidTime      = "9"
)

// Error is one problem found in an interchange, located as precisely as
// the input allows.
type Error struct {
	Segment   int    // 1-based position of the segment in the interchange (ISA is 1); 0 if none
	SegmentID string // the segment's id, "" if unknown
	Element   int    // 1-based element position in the segment; 0 if not about one element
	Offset    int    // byte offset in the input where the problem is
	Msg       string // short lowercase description
	Level     Level  // which envelope it belongs to
	Code      string // the 997 code for Level (see the Level constants); "" if none
	Value     string // the offending element value, reported in AK404; "" if none
}

// Error reads like
// "segment 14 (IEA) element 2: control number 000000906 does not match ISA13 000000905".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Segment > 0 {
		b.WriteString("segment ")
		b.WriteString(strconv.Itoa(e.Segment))
		if e.SegmentID != "" {
			b.WriteString(" (")
			b.WriteString(e.SegmentID)
			b.WriteString(")")
		}
	} else {
		b.WriteString("offset ")
		b.WriteString(strconv.Itoa(e.Offset))
	}
	if e.Element > 0 {
		b.WriteString(" element ")
		b.WriteString(strconv.Itoa(e.Element))
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}
