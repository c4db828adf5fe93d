package mapping

import (
	"errors"
	"fmt"
	"time"
)

// ErrTimeout is matched (errors.Is) by the *TimeoutError a run returns when
// it outlives its mapping's time limit.
var ErrTimeout = errors.New("mapping time limit exceeded")

// CompileError is a mapping that cannot be compiled: a syntax error, an
// unknown function or variable, a code table that is not configured or a
// bad Spec. Line and Column (1-based, columns count characters) locate the
// error in Spec.Source; both are 0 when the error has no position.
type CompileError struct {
	Partner, Mapping string
	Line, Column     int
	Msg              string
}

// Error reads "partner acme-tms mapping status: line 2 column 14:
// unexpected token "}"", without the position when there is none.
func (e *CompileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d column %d: %s", prefix(e.Partner, e.Mapping), e.Line, e.Column, e.Msg)
	}
	return prefix(e.Partner, e.Mapping) + ": " + e.Msg
}

// RunError is an error raised by the jq program while it runs: error(...),
// a type error such as iterating over null, halt_error, or a failed code
// table lookup. Msg is the message of gojq (or of the helper).
type RunError struct {
	Partner, Mapping string
	Msg              string
}

// Error reads "partner acme-tms mapping status: jq: cannot iterate over: null".
func (e *RunError) Error() string {
	return prefix(e.Partner, e.Mapping) + ": jq: " + e.Msg
}

// OutputError is an output of the program that is not an event object or
// an array of them, or a run that produced more events than the mapping's
// cap. Output is the 1-based index of the offending output.
type OutputError struct {
	Partner, Mapping string
	Output           int
	Msg              string
}

// Error reads "partner acme-tms mapping status: output 1: want an event
// object or an array of them, got string".
func (e *OutputError) Error() string {
	return fmt.Sprintf("%s: output %d: %s", prefix(e.Partner, e.Mapping), e.Output, e.Msg)
}

// TimeoutError is a run stopped by the mapping's time limit (Spec.Timeout).
// errors.Is(err, ErrTimeout) reports true for it.
type TimeoutError struct {
	Partner, Mapping string
	Limit            time.Duration
}

// Error reads "partner acme-tms mapping status: time limit of 100ms exceeded".
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s: time limit of %v exceeded", prefix(e.Partner, e.Mapping), e.Limit)
}

// Is reports whether target is ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// PayloadError is a body RunJSON cannot decode: empty, not JSON, or with
// data after the first JSON value. The mapping never ran.
type PayloadError struct {
	Partner, Mapping string
	Err              error
}

// Error reads "partner acme-tms mapping status: payload: unexpected end of
// JSON input".
func (e *PayloadError) Error() string {
	return prefix(e.Partner, e.Mapping) + ": payload: " + e.Err.Error()
}

// Unwrap returns the decoding error.
func (e *PayloadError) Unwrap() error { return e.Err }

func prefix(partner, mapping string) string {
	return "partner " + partner + " mapping " + mapping
}

// jqError is an error raised by a helper function. It implements
// gojq.ValueError so that "try ... catch ." sees the message as a string,
// like the message of error("...").
type jqError string

func (e jqError) Error() string { return string(e) }

func (e jqError) Value() any { return string(e) }
