package mapping

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// Defaults for the zero values of Spec.Timeout and Spec.MaxEvents.
const (
	DefaultTimeout   = 100 * time.Millisecond
	DefaultMaxEvents = 1000
)

// Spec is one partner mapping as configured.
type Spec struct {
	Partner   string                    // partner id, for error messages
	Name      string                    // mapping name, for error messages
	Source    string                    // the jq program
	Tables    map[string]map[string]any // code tables: table name → key → value
	Timeout   time.Duration             // per-run limit; 0 means DefaultTimeout
	MaxEvents int                       // events per run; 0 means DefaultMaxEvents
}

// Mapping is a compiled Spec. It is safe for concurrent use.
type Mapping struct {
	partner, name string
	code          *gojq.Code
	tables        map[string]any // $tables: JSON values only
	timeout       time.Duration
	maxEvents     int
}

// Compile parses and compiles s. Every error is a *CompileError naming the
// partner, the mapping and, for syntax errors and unknown literal code
// table names, the line and column in s.Source.
func Compile(s Spec) (*Mapping, error) {
	fail := func(line, col int, format string, args ...any) error {
		return &CompileError{Partner: s.Partner, Mapping: s.Name, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case strings.TrimSpace(s.Source) == "":
		return nil, fail(0, 0, "jq program is empty")
	case s.Timeout < 0:
		return nil, fail(0, 0, "timeout must not be negative (got %v)", s.Timeout)
	case s.MaxEvents < 0:
		return nil, fail(0, 0, "max events must not be negative (got %d)", s.MaxEvents)
	}
	q, err := gojq.Parse(s.Source)
	if err != nil {
		line, col := 0, 0
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			line, col = position(s.Source, tokenStart(s.Source, pe))
		}
		return nil, fail(line, col, "%s", err.Error())
	}
	tables, err := normalizeTables(s.Tables)
	if err != nil {
		return nil, fail(0, 0, "%s", err.Error())
	}
	if name, ok := unknownTable(q, tables); ok {
		line, col := 0, 0
		if off := tableNameOffset(s.Source, name); off >= 0 {
			line, col = position(s.Source, off)
		}
		return nil, fail(line, col, "%s", missingTable(name))
	}
	code, err := gojq.Compile(q,
		gojq.WithEnvironLoader(func() []string { return nil }),
		gojq.WithVariables([]string{"$tables"}),
		gojq.WithFunction("code", 1, 2, codeFunc(tables)),
		gojq.WithFunction("decimal", 1, 1, decimalFunc),
	)
	if err != nil {
		return nil, fail(0, 0, "%s", err.Error())
	}
	m := &Mapping{partner: s.Partner, name: s.Name, code: code, tables: tables, timeout: s.Timeout, maxEvents: s.MaxEvents}
	if m.timeout == 0 {
		m.timeout = DefaultTimeout
	}
	if m.maxEvents == 0 {
		m.maxEvents = DefaultMaxEvents
	}
	return m, nil
}

// Run runs the mapping on input and returns the events it produced, in
// order: each output of the program is one event (an object) or an array
// of events. A program without outputs, or whose outputs are empty arrays,
// yields no events and no error.
//
// input must hold JSON values only, as encoding/json decodes them into an
// any (with or without UseNumber): nil, bool, float64, json.Number, string,
// []any and map[string]any; gojq also accepts int and *big.Int.
//
// Each returned event is a new top-level map the caller may change; the
// values inside it may be shared with input and with Spec.Tables and must
// not be modified. Numbers in events are float64, int, *big.Int or
// json.Number, all of which encoding/json marshals exactly.
//
// Errors: *RunError (the program failed), *OutputError (an output that is
// not an event or an array of them, a NaN or infinite number, or more than
// MaxEvents events), *TimeoutError (errors.Is ErrTimeout) when Spec.Timeout
// passes, and ctx's error, wrapped, when ctx ends first.
func (m *Mapping) Run(ctx context.Context, input any) ([]map[string]any, error) {
	runCtx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	iter := m.code.RunWithContext(runCtx, input, m.tables)
	var events []map[string]any
	for n := 1; ; n++ {
		v, ok := iter.Next()
		if !ok {
			return events, nil
		}
		if err, ok := v.(error); ok {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				return events, nil // halt: stop without error
			}
			return nil, m.runError(ctx, runCtx, err)
		}
		var err error
		if events, err = m.appendEvents(events, n, v); err != nil {
			return nil, err
		}
	}
}

// RunJSON decodes body, which must hold exactly one JSON value, keeping
// every number exact (a 19-digit id stays that id), and runs the mapping
// on it. A body that is empty, invalid or followed by more than white space
// is a *PayloadError; the other errors are Run's.
func (m *Mapping) RunJSON(ctx context.Context, body []byte) ([]map[string]any, error) {
	input, err := decodePayload(body)
	if err != nil {
		return nil, &PayloadError{Partner: m.partner, Mapping: m.name, Err: err}
	}
	return m.Run(ctx, input)
}

// runError classifies an error the program's iterator yielded.
func (m *Mapping) runError(ctx, runCtx context.Context, err error) error {
	if runCtx.Err() != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: run stopped: %w", prefix(m.partner, m.name), ctx.Err())
		}
		return &TimeoutError{Partner: m.partner, Mapping: m.name, Limit: m.timeout}
	}
	return &RunError{Partner: m.partner, Mapping: m.name, Msg: err.Error()}
}

// appendEvents checks output n (1-based) and appends its events.
func (m *Mapping) appendEvents(events []map[string]any, n int, v any) ([]map[string]any, error) {
	fail := func(format string, args ...any) error {
		return &OutputError{Partner: m.partner, Mapping: m.name, Output: n, Msg: fmt.Sprintf(format, args...)}
	}
	switch v := v.(type) {
	case map[string]any:
		if len(events) >= m.maxEvents {
			return nil, fail("more than %d events", m.maxEvents)
		}
		if path, bad := nonFinite(v); bad {
			return nil, fail("%s is NaN or infinite", path)
		}
		return append(events, maps.Clone(v)), nil
	case []any:
		if len(events)+len(v) > m.maxEvents {
			return nil, fail("more than %d events", m.maxEvents)
		}
		for i, item := range v {
			ev, ok := item.(map[string]any)
			if !ok {
				return nil, fail("item %d of %d: want an event object, got %s", i+1, len(v), gojq.TypeOf(item))
			}
			if path, bad := nonFinite(ev); bad {
				return nil, fail("item %d of %d: %s is NaN or infinite", i+1, len(v), path)
			}
			events = append(events, maps.Clone(ev))
		}
		return events, nil
	}
	return nil, fail("want an event object or an array of them, got %s", gojq.TypeOf(v))
}

// nonFinite finds a NaN or infinite float64, which JSON cannot carry, and
// returns its path (".data.amount", ".stops[2].lat").
func nonFinite(v any) (string, bool) {
	switch v := v.(type) {
	case float64:
		return "", math.IsNaN(v) || math.IsInf(v, 0)
	case map[string]any:
		for k, x := range v {
			if p, bad := nonFinite(x); bad {
				return "." + k + p, true
			}
		}
	case []any:
		for i, x := range v {
			if p, bad := nonFinite(x); bad {
				return "[" + strconv.Itoa(i) + "]" + p, true
			}
		}
	}
	return "", false
}

// tokenStart returns the byte offset where the token of a parse error
// starts: gojq reports the offset after it.
func tokenStart(src string, pe *gojq.ParseError) int {
	off := min(max(pe.Offset, 0), len(src))
	if t := pe.Token; t != "" && off >= len(t) && src[off-len(t):off] == t {
		return off - len(t)
	}
	return off
}

// position converts a byte offset in src into a 1-based line and a 1-based
// column counted in characters.
func position(src string, off int) (line, col int) {
	off = min(max(off, 0), len(src))
	before := src[:off]
	start := strings.LastIndexByte(before, '\n') + 1
	return strings.Count(before, "\n") + 1, utf8.RuneCountInString(before[start:]) + 1
}
