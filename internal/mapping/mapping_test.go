package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func compile(t *testing.T, s Spec) *Mapping {
	t.Helper()
	if s.Partner == "" {
		s.Partner, s.Name = "acme-tms", "status"
	}
	if s.Timeout == 0 {
		s.Timeout = 10 * time.Second // no spurious timeouts on a busy test machine
	}
	m, err := Compile(s)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return m
}

func TestCompileErrors(t *testing.T) {
	tables := map[string]map[string]any{"status_codes": {"DEP": "departed"}}
	tests := []struct {
		name, src string
		want      string
		line, col int
	}{
		{"stray brace on line 2", "{type: \"x\",\n id: .eventId}}", `unexpected token "}"`, 2, 15},
		{"contract example with a typo", "{type: \"shipment.milestone\", id: .eventId, subject: .load, time: .ts,\n data: {code: ({\"DEP\": \"departed\"}[.code]), stop_id: .stop}}}\n", `unexpected token "}"`, 2, 61},
		{"unexpected eof", "{type: \"x\",\n id: (.a", "unexpected EOF", 2, 9},
		{"unterminated string", "{a:\n  \"abc}", "unterminated string literal", 2, 8},
		{"unexpected token", ".a | ` ", "unexpected token \"`\"", 1, 6},
		{"invalid escape", "{a: \"\\x\"}", `invalid escape sequence "\x" in string literal`, 1, 6},
		{"column counts characters", "{\"größe\": 1, b: ]}", `unexpected token "]"`, 1, 17},
		{"unknown function", "{type: foo(1)}", "function not defined: foo/1", 0, 0},
		{"unknown variable", "{type: $carrier}", "variable not defined: $carrier", 0, 0},
		{"input is not allowed", "input", "input(s)/0 is not allowed", 0, 0},
		{"inputs is not allowed", "[inputs]", "input(s)/0 is not allowed", 0, 0},
		{"no modules", `import "lib" as lib; .`, `cannot load module: "lib"`, 0, 0},
		{"debug does not exist", "debug", "function not defined: debug/0", 0, 0},
		{"unknown code table", "{a: 1,\n b: (.s | code(\"reasons\"; \"x\"))}", `no code table named "reasons"`, 2, 16},
		{"empty program", " \n ", "jq program is empty", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(Spec{Partner: "acme-tms", Name: "status", Source: tt.src, Tables: tables})
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v (%T), want *CompileError", err, err)
			}
			if ce.Msg != tt.want || ce.Line != tt.line || ce.Column != tt.col {
				t.Errorf("got %q at %d:%d, want %q at %d:%d", ce.Msg, ce.Line, ce.Column, tt.want, tt.line, tt.col)
			}
			if !strings.HasPrefix(err.Error(), "partner acme-tms mapping status: ") {
				t.Errorf("error %q does not name partner and mapping", err)
			}
		})
	}
}

func TestCompileErrorText(t *testing.T) {
	_, err := Compile(Spec{Partner: "acme-tms", Name: "status", Source: "{type: \"x\",\n id: .eventId}}"})
	if want := `partner acme-tms mapping status: line 2 column 15: unexpected token "}"`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	_, err = Compile(Spec{Partner: "acme-tms", Name: "status", Source: "foo(1)"})
	if want := "partner acme-tms mapping status: function not defined: foo/1"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestCompileSpecErrors(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"negative timeout", Spec{Source: ".", Timeout: -time.Second}, "timeout must not be negative (got -1s)"},
		{"negative max events", Spec{Source: ".", MaxEvents: -1}, "max events must not be negative (got -1)"},
		{"table not JSON", Spec{Source: ".", Tables: map[string]map[string]any{"t": {"k": func() {}}}}, "code table t: json: unsupported type: func()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.spec)
			var ce *CompileError
			if !errors.As(err, &ce) || ce.Msg != tt.want {
				t.Errorf("got %v, want *CompileError %q", err, tt.want)
			}
		})
	}
}

func TestCodeTableNameCheck(t *testing.T) {
	tables := map[string]map[string]any{"status_codes": {"DEP": "departed"}}
	// A name computed at run time cannot be checked when compiling; the
	// lookup fails clearly instead.
	m := compile(t, Spec{Source: `.table as $t | {type: (.code | code($t))}`, Tables: tables})
	_, err := m.Run(context.Background(), map[string]any{"code": "DEP", "table": "reasons"})
	if want := `partner acme-tms mapping status: jq: no code table named "reasons"`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	// A program with its own code function is not checked against the tables.
	m = compile(t, Spec{Source: `def code(t): "x"; {type: (.code | code("reasons"))}`, Tables: tables})
	assertEvents(t, m, `{"code": "DEP"}`, `[{"type":"x"}]`)
	// A literal name inside a string interpolation is still found.
	_, err = Compile(Spec{Partner: "p", Name: "m", Source: `{type: "\(.c | code("nope"))"}`, Tables: tables})
	if want := `partner p mapping m: line 1 column 21: no code table named "nope"`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func assertEvents(t *testing.T, m *Mapping, payload, want string) {
	t.Helper()
	events, err := m.RunJSON(context.Background(), []byte(payload))
	if err != nil {
		t.Fatalf("RunJSON(%s): %v", payload, err)
	}
	if events == nil {
		events = []map[string]any{}
	}
	got, err := json.Marshal(events)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	if string(got) != want {
		t.Errorf("RunJSON(%s) = %s, want %s", payload, got, want)
	}
}

func TestOutputShapes(t *testing.T) {
	tests := []struct {
		src, want, err string
	}{
		{`{type: "a"}`, `[{"type":"a"}]`, ""},
		{`[{type: "a"}, {type: "b"}]`, `[{"type":"a"},{"type":"b"}]`, ""},
		{`{type: "a"}, [{type: "b"}], [], {type: "c"}`, `[{"type":"a"},{"type":"b"},{"type":"c"}]`, ""},
		{`empty`, `[]`, ""},
		{`[]`, `[]`, ""},
		{`{type: "a"}, halt, {type: "b"}`, `[{"type":"a"}]`, ""},
		{`"x"`, "", "output 1: want an event object or an array of them, got string"},
		{`{type: "a"}, 42`, "", "output 2: want an event object or an array of them, got number"},
		{`null`, "", "output 1: want an event object or an array of them, got null"},
		{`true`, "", "output 1: want an event object or an array of them, got boolean"},
		{`[{type: "a"}, null]`, "", "output 1: item 2 of 2: want an event object, got null"},
		{`[[{type: "a"}]]`, "", "output 1: item 1 of 1: want an event object, got array"},
		{`{type: "a", data: {amount: (-1 | sqrt)}}`, "", "output 1: .data.amount is NaN or infinite"},
		{`[{}, {stops: [{lat: 1}, {lat: (1e308 * 10)}]}]`, "", "output 1: item 2 of 2: .stops[1].lat is NaN or infinite"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			m := compile(t, Spec{Source: tt.src})
			if tt.err == "" {
				assertEvents(t, m, `{}`, tt.want)
				return
			}
			_, err := m.RunJSON(context.Background(), []byte(`{}`))
			var oe *OutputError
			if !errors.As(err, &oe) || err.Error() != "partner acme-tms mapping status: "+tt.err {
				t.Errorf("got %v, want *OutputError %q", err, tt.err)
			}
		})
	}
}

func TestEventCap(t *testing.T) {
	tests := []struct {
		src  string
		max  int
		want string // "" when the run succeeds with max events
	}{
		{`[range(3) | {n: .}]`, 3, ""},
		{`range(3) | {n: .}`, 3, ""},
		{`[range(4) | {n: .}]`, 3, "output 1: more than 3 events"},
		{`range(4) | {n: .}`, 3, "output 4: more than 3 events"},
		{`{n: 0}, [range(3) | {n: .}]`, 3, "output 2: more than 3 events"},
		{`repeat({n: 1})`, 0, "output 1001: more than 1000 events"},
		{`[limit(1001; repeat({n: 1}))]`, 0, "output 1: more than 1000 events"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			m := compile(t, Spec{Source: tt.src, MaxEvents: tt.max})
			events, err := m.Run(context.Background(), nil)
			if tt.want == "" {
				if err != nil || len(events) != tt.max {
					t.Errorf("got %d events, %v; want %d", len(events), err, tt.max)
				}
				return
			}
			var oe *OutputError
			if !errors.As(err, &oe) || err.Error() != "partner acme-tms mapping status: "+tt.want {
				t.Errorf("got %v, want *OutputError %q", err, tt.want)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`.updates[]`, "cannot iterate over: null"},
		{`{type: (.a | keys)}`, "keys cannot be applied to: null"},
		{`error("no load number")`, "error: no load number"},
		{`error({code: 7})`, `error: {"code":7}`},
		{`halt_error`, "halt error: {}"},
		{`.x | code("t")`, `code table t has no entry for null`},
		{`{a: 1} | code("t")`, `code table t has no entry for {"a":1}`},
		{`"DEP" | code(7)`, "code table name must be a string, got number"},
		{`"abc" | decimal(2)`, `decimal: not a decimal number: "abc"`},
		{`"0x10" | decimal(2)`, `decimal: not a decimal number: "0x10"`},
		{`"1/3" | decimal(2)`, `decimal: not a decimal number: "1/3"`},
		{`"1e999999" | decimal(2)`, `decimal: not a decimal number: "1e999999"`},
		{`null | decimal(2)`, "decimal cannot be applied to null: null"},
		{`1 | decimal(19)`, "decimal: places must be an integer from 0 to 18, got 19"},
		{`1 | decimal("2")`, `decimal: places must be an integer from 0 to 18, got "2"`},
	}
	tables := map[string]map[string]any{"t": {"DEP": "departed"}}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			m := compile(t, Spec{Source: tt.src, Tables: tables})
			_, err := m.Run(context.Background(), map[string]any{})
			var re *RunError
			if !errors.As(err, &re) || re.Msg != tt.want || re.Partner != "acme-tms" || re.Mapping != "status" {
				t.Fatalf("got %v (%T), want *RunError %q", err, err, tt.want)
			}
			if want := "partner acme-tms mapping status: jq: " + tt.want; err.Error() != want {
				t.Errorf("got %q, want %q", err, want)
			}
		})
	}
}

func TestCodeTables(t *testing.T) {
	tables := map[string]map[string]any{
		"status_codes": {"DEP": "departed", "ARR": "arrived", "7": "delayed"},
		"weights":      {"pallet": int64(450), "crate": uint64(80), "box": 12.5},
		"empty":        nil,
	}
	tests := []struct{ src, payload, want string }{
		{`{c: (.code | code("status_codes"))}`, `{"code": "ARR"}`, `[{"c":"arrived"}]`},
		{`{c: (.code | code("status_codes"))}`, `{"code": 7}`, `[{"c":"delayed"}]`},
		{`{c: (.code | code("status_codes"; "unknown"))}`, `{"code": "XYZ"}`, `[{"c":"unknown"}]`},
		{`{c: (.code | code("status_codes"; null))}`, `{}`, `[{"c":null}]`},
		{`{c: $tables.status_codes[.code]}`, `{"code": "DEP"}`, `[{"c":"departed"}]`},
		{`{c: $tables.status_codes[.code]}`, `{"code": "XYZ"}`, `[{"c":null}]`},
		{`{c: ($tables | keys)}`, `{}`, `[{"c":["empty","status_codes","weights"]}]`},
		{`{kg: ((.unit | code("weights")) * .n)}`, `{"unit": "pallet", "n": 2}`, `[{"kg":900}]`},
		{`{kg: [.units[] | code("weights")] | add}`, `{"units": ["crate", "box"]}`, `[{"kg":92.5}]`},
		{`{e: (.code | try code("status_codes") catch .)}`, `{"code": "XYZ"}`, `[{"e":"code table status_codes has no entry for \"XYZ\""}]`},
		{`{c: (.code | code("empty"; "none"))}`, `{"code": "x"}`, `[{"c":"none"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.src+" "+tt.payload, func(t *testing.T) {
			assertEvents(t, compile(t, Spec{Source: tt.src, Tables: tables}), tt.payload, tt.want)
		})
	}
}

func TestDecimal(t *testing.T) {
	tests := []struct{ payload, places, want string }{
		{`84.2`, "2", `"84.20"`},
		{`84.20`, "2", `"84.20"`},
		{`"84.2"`, "2", `"84.20"`},
		{`" 84.2 "`, "2", `"84.20"`},
		{`84.195`, "2", `"84.20"`},
		{`84.194999`, "2", `"84.19"`},
		{`-2.5`, "0", `"-3"`},
		{`-0.004`, "2", `"0.00"`},
		{`1234567890123456789.125`, "2", `"1234567890123456789.13"`},
		{`8.42e1`, "2", `"84.20"`},
		{`12`, "3", `"12.000"`},
		{`".5"`, "1", `"0.5"`},
	}
	m := compile(t, Spec{Source: `.p as $p | {amount: (.v | decimal($p))}`})
	for _, tt := range tests {
		assertEvents(t, m, `{"v": `+tt.payload+`, "p": `+tt.places+`}`, `[{"amount":`+tt.want+`}]`)
	}
	// Float results of arithmetic use their shortest text.
	assertEvents(t, compile(t, Spec{Source: `{amount: (.a * .b | decimal(2))}`}), `{"a": 1.601, "b": 52.61}`, `[{"amount":"84.23"}]`)
	assertEvents(t, compile(t, Spec{Source: `{amount: (.a + 1 | decimal(2))}`}), `{"a": 12345678901234567890}`, `[{"amount":"12345678901234567891.00"}]`)
}

func TestNumbersStayExact(t *testing.T) {
	m := compile(t, Spec{Source: `{id: .id, s: (.id | tostring), big: .big, amount: .amount, keys: .ids}`})
	assertEvents(t, m,
		`{"id": 1234567890123456789, "big": 123456789012345678901234567890, "amount": 84.20, "ids": [9007199254740993, 1e400]}`,
		`[{"amount":84.20,"big":123456789012345678901234567890,"id":1234567890123456789,"keys":[9007199254740993,1e400],"s":"1234567890123456789"}]`)
}

func TestEnvironmentHidden(t *testing.T) {
	t.Setenv("CROSSDOCK_TEST_SECRET", "hunter2")
	for _, src := range []string{`{env: $ENV}`, `{env: env}`, `{s: $ENV.CROSSDOCK_TEST_SECRET}`, `{s: env.CROSSDOCK_TEST_SECRET}`, `{s: ($ENV | length)}`} {
		events, err := compile(t, Spec{Source: src}).Run(context.Background(), nil)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		b, _ := json.Marshal(events)
		if s := string(b); strings.Contains(s, "hunter2") || strings.Contains(s, "PATH") {
			t.Errorf("%s revealed the environment: %s", src, s)
		}
		if s := string(b); s != `[{"env":{}}]` && s != `[{"s":null}]` && s != `[{"s":0}]` {
			t.Errorf("%s = %s, want an empty environment", src, s)
		}
	}
}

func TestTimeLimit(t *testing.T) {
	for _, src := range []string{
		`def f: f; f`,
		`def f: 1 + f; f`,
		`repeat(1) | empty`,
		`[repeat(1)]`,
		`[range(1e12)]`,
		`last(range(1e12))`,
		`reduce range(1e12) as $i (0; . + $i)`,
		`[limit(1e12; repeat({}))] | empty`,
		`until(false; .)`,
		`[recurse(. + 1)] | empty`,
	} {
		t.Run(src, func(t *testing.T) {
			m := compile(t, Spec{Source: src, Timeout: 20 * time.Millisecond})
			_, err := m.Run(context.Background(), 0)
			var te *TimeoutError
			if !errors.Is(err, ErrTimeout) || !errors.As(err, &te) {
				t.Fatalf("got %v, want ErrTimeout", err)
			}
			if want := "partner acme-tms mapping status: time limit of 20ms exceeded"; err.Error() != want {
				t.Errorf("got %q, want %q", err, want)
			}
		})
	}
}

func TestCallerContext(t *testing.T) {
	m := compile(t, Spec{Source: `def f: f; f`, Timeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.Run(ctx, nil)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Errorf("got %v, want context.Canceled and not ErrTimeout", err)
	}
	if want := "partner acme-tms mapping status: run stopped: context canceled"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = m.Run(ctx, nil)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) {
		t.Errorf("got %v, want context.DeadlineExceeded and not ErrTimeout", err)
	}
}

func TestPayloadErrors(t *testing.T) {
	m := compile(t, Spec{Source: `{type: "x"}`})
	tests := []struct{ body, want string }{
		{``, "body is empty"},
		{" \n\t", "body is empty"},
		{`{"a": 1`, "invalid JSON at offset 7: unexpected end of input after an object member"},
		{`{"a": }`, "invalid JSON at offset 6: unexpected character '}' looking for a value"},
		{`{"a": tru}`, "invalid JSON at offset 9: unexpected character '}' in literal true"},
		{`{"a": "b\x"}`, `invalid JSON at offset 9: invalid escape character 'x' in string`},
		{"{\"a\": \"b\n\"}", `invalid JSON at offset 8: control character '\n' in string`},
		{`{"a": 01}`, "invalid JSON at offset 7: unexpected character '1' after an object member"},
		{`[1.]`, "invalid JSON at offset 3: unexpected character ']' after decimal point in number"},
		{`{a: 1}`, "invalid JSON at offset 1: unexpected character 'a' looking for a member name"},
		{strings.Repeat("[", 10001), "invalid JSON at offset 10000: nested deeper than 10000"},
		{`{"a": 1} {"a": 2}`, "unexpected data after the JSON value at offset 9"},
		{`{"a": 1}]`, "unexpected data after the JSON value at offset 8"},
		{`1 2`, "unexpected data after the JSON value at offset 2"},
	}
	for _, tt := range tests {
		_, err := m.RunJSON(context.Background(), []byte(tt.body))
		var pe *PayloadError
		if !errors.As(err, &pe) || err.Error() != "partner acme-tms mapping status: payload: "+tt.want {
			t.Errorf("RunJSON(%q) = %v, want *PayloadError %q", tt.body, err, tt.want)
		}
	}
	// Trailing white space is fine, and so is any JSON value as input.
	assertEvents(t, m, "{}\n\n", `[{"type":"x"}]`)
	assertEvents(t, m, `[1, "a"]`, `[{"type":"x"}]`)
}

func TestEventsAreOwnedByCaller(t *testing.T) {
	tables := map[string]map[string]any{"templates": {"dep": map[string]any{"type": "shipment.milestone"}}}
	m := compile(t, Spec{Source: `$tables.templates.dep, .`, Tables: tables})
	input := map[string]any{"type": "order.released"}
	for range 2 {
		events, err := m.Run(context.Background(), input)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range events {
			if _, ok := ev["specversion"]; ok {
				t.Fatalf("event %v was changed by an earlier caller", ev)
			}
			ev["specversion"] = "1.0"
		}
	}
	if _, ok := input["specversion"]; ok {
		t.Error("changing an event changed the input")
	}
}

func TestConcurrentRuns(t *testing.T) {
	m := compile(t, Spec{
		Source: `{type: "shipment.milestone", id: .id, data: {code: (.code | code("c"))}}`,
		Tables: map[string]map[string]any{"c": {"DEP": "departed"}},
	})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := fmt.Sprintf("e-%d-%d", g, i)
				events, err := m.RunJSON(context.Background(), []byte(`{"id": "`+id+`", "code": "DEP"}`))
				if err != nil || len(events) != 1 || events[0]["id"] != id {
					errs <- fmt.Errorf("run %s: %v %v", id, events, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDefaults(t *testing.T) {
	m, err := Compile(Spec{Source: "."})
	if err != nil {
		t.Fatal(err)
	}
	if m.timeout != DefaultTimeout || m.maxEvents != DefaultMaxEvents {
		t.Errorf("timeout %v, max events %d; want %v, %d", m.timeout, m.maxEvents, DefaultTimeout, DefaultMaxEvents)
	}
}

func TestPosition(t *testing.T) {
	tests := []struct {
		src       string
		off       int
		line, col int
	}{
		{"abc", 0, 1, 1},
		{"abc", 3, 1, 4},
		{"a\nbc", 2, 2, 1},
		{"a\nbc", 3, 2, 2},
		{"ä\nöü", 6, 2, 3},
		{"abc", 99, 1, 4},
		{"abc", -1, 1, 1},
	}
	for _, tt := range tests {
		if line, col := position(tt.src, tt.off); line != tt.line || col != tt.col {
			t.Errorf("position(%q, %d) = %d:%d, want %d:%d", tt.src, tt.off, line, col, tt.line, tt.col)
		}
	}
}
