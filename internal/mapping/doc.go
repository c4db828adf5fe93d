// Package mapping compiles and runs partner mappings: the jq programs,
// one per partner and mapping name, that turn a partner's own JSON (a
// webhook body, or a CSV row decoded into an object elsewhere) into
// canonical events.
//
//	m, err := mapping.Compile(mapping.Spec{Partner: "acme-tms", Name: "status", Source: src, Tables: tables})
//	events, err := m.RunJSON(ctx, body)
//
// # Outputs
//
// The program may emit any number of values; each must be an event (a JSON
// object) or an array of events, and the events of all outputs are returned
// in order. No output, or only empty arrays, gives no events and no error.
// Anything else — a string, a number, null, an array holding a non-object,
// an event holding a NaN or infinite number — is an *OutputError naming
// the 1-based output ("output 1: want an event object or an array of them,
// got string"). A run may produce at most Spec.MaxEvents events
// (DefaultMaxEvents, 1000, when 0).
//
// Events are returned as they come out of the program: the package does
// not fill specversion or source and does not check the canonical model;
// the caller does.
//
// # Numbers
//
// RunJSON decodes numbers as json.Number, which gojq keeps as written until
// arithmetic touches them: a 19-digit id passes through exactly, and
// tostring on 84.20 gives "84.20". Arithmetic works in float64 (or big
// integers for integers), so amounts that must stay exact should go
// through decimal. RunJSON has its own decoder, twice as fast as
// json.Decoder; it accepts exactly the bodies json.Valid accepts and gives
// the values json.Decoder with UseNumber gives (a test and a fuzz target
// compare the two).
//
// # Functions available to mappings
//
// Besides jq's builtins (as implemented by gojq, including now, todate,
// fromdate, strptime, strftime, ascii_downcase, test, sub), a program has:
//
//   - $tables: the code tables of Spec.Tables, an object of objects:
//     $tables.status_codes[.code] gives null for a missing key.
//   - code("t"): the input (a string, or a number looked up by its JSON
//     text, 7 → "7") mapped through table t; a missing key is the error
//     `code table t has no entry for "XYZ"`, a table that is not configured
//     the error `no code table named "t"` — caught at compile time when
//     the name is a string literal.
//   - code("t"; default): the same, but a missing key gives default.
//   - decimal(places): a number or numeric string as a decimal string with
//     exactly places (0..18) digits after the point, rounded half away from
//     zero, computed on the decimal text without a float: 84.2 → "84.20".
//     Money amounts use it: {amount: (.amount | decimal(2))}.
//
// Epoch seconds become RFC 3339 with todate (1732269600 | todate); epoch
// milliseconds with (./1000 | floor | todate).
//
// # Safety
//
// Programs are written by the operator but run on untrusted payloads, so a
// mapping cannot reach outside its input: $ENV and env are the empty
// object (the process environment is never loaded), input and inputs are
// compile errors (there is no input iterator), import and include fail (no
// module loader), and debug, stderr and input_filename do not exist. Only
// the input, the tables and the clock are visible (localtime, mktime and
// strflocaltime use the process's time zone).
//
// Each run stops after Spec.Timeout (DefaultTimeout, 100ms, when 0) with a
// *TimeoutError (errors.Is ErrTimeout), or when the caller's ctx ends, with
// ctx's error wrapped. gojq checks the deadline before every instruction,
// so loops and recursion (def f: f; f, repeat(1), [range(1e12)]) stop on
// time. A single builtin call is not interrupted, though: string
// repetition ("x" * n, up to 2 GiB), sort, group_by, tojson and the like
// run to completion over the value they are given, and the limit is seen
// right after; their cost is bounded by gojq's limits and the payload
// size, not by Timeout. The event cap stops programs that emit without
// end before the time limit does. The limit is wall-clock time: on an
// overloaded host, time a run waits for a CPU counts against it (a typical
// mapping runs in a few microseconds, far below the default).
//
// # Errors
//
// Every error names the partner and the mapping ("partner acme-tms mapping
// status: ..."). Compile returns *CompileError, with the line and column
// in Source for syntax errors (lines of the jq program, not of the YAML
// file that holds it). Run and RunJSON return *RunError (the program
// failed: error(...), a type error, halt_error, a failed code lookup),
// *OutputError, *TimeoutError, a wrapped ctx error, and for RunJSON
// *PayloadError (the body is not exactly one JSON value). halt ends a run
// early without error.
//
// # Scope
//
// The package owns compiling and running mappings, the code tables and the
// limits. It does no I/O: no HTTP, no store, no configuration loading, and
// no validation against the canonical model.
package mapping
