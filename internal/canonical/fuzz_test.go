package canonical

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// addSeeds seeds a fuzz target with the golden events and a few edges.
func addSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "valid", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no golden events: %v", err)
	}
	var all [][]byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		all = append(all, bytes.TrimSpace(b))
	}
	f.Add(append(append([]byte("["), bytes.Join(all, []byte(","))...), ']'))
	for _, s := range []string{
		`{"specversion":"1.0","id":"a","source":"b","type":"telemetry.position","subject":"v","time":"2026-11-22T10:00:00Z","data":{"lat":-90,"lon":180}}`,
		`{"specversion":"1.0","id":"a","source":"b","type":"fuel.purchased","subject":"v","time":"2026-11-22T10:00:00.5+01:00","data":{"liters":1e-3,"amount":0.0001,"currency":"EUR","lat":null,"lon":null}}`,
		`{"specversion":"1.0","id":"a\u00e9","source":"b","type":"order.released","subject":"s","time":"1970-01-01T00:00:00Z","data":{"order_id":"o","customer_id":"c","stops":[{"id":"\u0053","type":"delivery","location":{"lat":-0,"lon":0,"radius_m":0}}],"pieces":0,"references":{"":"","a.b":"\ud83d\ude9a"}}}`,
		`{"data":{"stops":[{"location":{"lat":1e400}}]}}`,
		`{"id":"a","id":"b","data":{"Code":1,"code":2}}`,
		`[{"a":1},{"b":[2,{"c":"\u0000"}]},"x",-0.5e+7,true,false,null]`,
		`[]`, `{}`, ` "x" `, ``, `[`, `{"a":}`, "\xff",
	} {
		f.Add([]byte(s))
	}
}

// FuzzParseEvent: ParseEvent never panics and only fails with a
// *ValidationError; whatever it accepts is valid JSON and UTF-8, decodes
// the same through DecodeData, and re-encodes and re-parses to an equal
// event with equal data.
func FuzzParseEvent(f *testing.F) {
	addSeeds(f)
	f.Fuzz(checkParse)
}

func checkParse(t *testing.T, raw []byte) {
	ev, typed, err := ParseEvent(raw, now, DefaultLimits())
	if err != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Errors) == 0 {
			t.Fatalf("error %v of type %T", err, err)
		}
		for _, fe := range ve.Errors {
			if fe.Message == "" {
				t.Fatalf("empty message for %q", fe.Field)
			}
		}
		if typed != nil {
			t.Fatal("typed data with an error")
		}
		if !json.Valid(raw) && (len(ve.Errors) != 1 || ve.Errors[0].Field != "" || !strings.HasPrefix(ve.Errors[0].Message, "body is not valid JSON: ")) {
			t.Fatalf("invalid JSON reported as %v", err)
		}
		return
	}
	if !json.Valid(raw) || !utf8.Valid(raw) {
		t.Fatalf("accepted invalid JSON or UTF-8: %q", raw)
	}
	checkAccepted(t, ev, typed)
}

// FuzzParseEventMember sets one member of a golden event to a fuzzed
// value (JSON if it is JSON, else a string), so that far more of the
// inputs are events ParseEvent accepts than byte mutations reach; then it
// checks what FuzzParseEvent checks.
func FuzzParseEventMember(f *testing.F) {
	for i, v := range []string{`"x"`, `0`, `-0`, `1e-7`, `null`, `""`, `{}`, `[]`, `"2026-11-22T10:00:00+01:00"`, `"84.2000"`, `12.0`, `"\u00e9\u0000"`, "tab\t", `{"lat":1,"lon":2}`} {
		f.Add(uint8(i), uint8(3*i), []byte(v))
	}
	types := allTypes()
	goldens := make([][]byte, len(types))
	for i, typ := range types {
		goldens[i] = golden(f, typ)
	}
	f.Fuzz(func(t *testing.T, ti, mi uint8, value []byte) {
		typ := types[int(ti)%len(types)]
		d := json.NewDecoder(bytes.NewReader(goldens[int(ti)%len(types)]))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
		targets := memberTargets(typ)
		target := targets[int(mi)%len(targets)]
		var v any = string(value)
		if json.Valid(value) {
			v = json.RawMessage(value)
		}
		setPath(m, target, v)
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		checkParse(t, raw)
	})
}

// memberTargets lists the paths FuzzParseEventMember may set.
func memberTargets(typ string) []string {
	out := []string{"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "correlationid", "causationid", "data", "ext"}
	for _, f := range types[typ].fields {
		out = append(out, "data."+f)
	}
	if typ == TypeOrderReleased {
		for _, f := range stopFields {
			out = append(out, "data.stops.0."+f)
		}
		for _, f := range locationFields {
			out = append(out, "data.stops.1.location."+f)
		}
		out = append(out, "data.stops.0.window.from", "data.stops.0.window.to", "data.stops.1", "data.references.po")
	}
	if typ == TypeDeliveryCompleted {
		out = append(out, "data.location.lat", "data.exceptions.0.code", "data.exceptions.0.note", "data.exceptions.0")
	}
	return out
}

// setPath sets a dotted path (numbers index arrays) in a generic value.
func setPath(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	var cur any = m
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[p] = v
				return
			}
			cur = c[p]
		case []any:
			n := int(p[0] - '0')
			if n >= len(c) {
				return
			}
			if last {
				c[n] = v
				return
			}
			cur = c[n]
		default:
			return
		}
	}
}

// FuzzSplitBatch: SplitBatch never panics, agrees with encoding/json on
// what is JSON, and returns exactly the elements encoding/json sees.
func FuzzSplitBatch(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		items, batch, err := SplitBatch(body)
		trimmed := bytes.TrimLeft(body, " \t\r\n")
		valid := json.Valid(body)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0].Field != "" || ve.Errors[0].Message == "" {
				t.Fatalf("error %#v", err)
			}
			if valid && len(trimmed) > 0 && trimmed[0] == '{' {
				t.Fatalf("object refused: %v", err)
			}
			if valid && len(trimmed) > 0 && trimmed[0] == '[' && !batch {
				t.Fatalf("array error without batch: %v", err)
			}
			return
		}
		if !valid {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if !batch {
			if len(items) != 1 || !bytes.Equal(items[0], bytes.TrimRight(trimmed, " \t\r\n")) || items[0][0] != '{' {
				t.Fatalf("single item %q of %q", items, body)
			}
			return
		}
		var want []json.RawMessage
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("batch that encoding/json does not read as an array: %v", err)
		}
		if len(items) == 0 || !reflect.DeepEqual(items, want) {
			t.Fatalf("items %q, encoding/json sees %q", items, want)
		}
	})
}

// FuzzJSONTree holds the tree parser to encoding/json: the same documents
// are valid, and a valid one yields the same sequence of tokens.
func FuzzJSONTree(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		tr := &tree{record: maxDepth}
		err := tr.parse(string(b))
		if (err == nil) != json.Valid(b) {
			t.Fatalf("tree parse error %v, json.Valid %v, for %q", err, json.Valid(b), b)
		}
		if err != nil || !utf8.Valid(b) {
			return // encoding/json replaces invalid UTF-8 in tokens
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var want []any
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, tok)
		}
		got := tr.tokens(nil, 0)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("tokens\n got %q\nwant %q", got, want)
		}
	})
}

// tokens lists node n and its descendants as json.Decoder tokens.
func (t *tree) tokens(out []any, n int32) []any {
	nd := t.nodes[n]
	switch nd.kind {
	case kindObject, kindArray:
		open, closer := json.Delim('['), json.Delim(']')
		if nd.kind == kindObject {
			open, closer = '{', '}'
		}
		out = append(out, open)
		for c := nd.first; c >= 0; c = t.nodes[c].next {
			if nd.kind == kindObject {
				out = append(out, t.nodes[c].key)
			}
			out = t.tokens(out, c)
		}
		return append(out, closer)
	case kindString:
		return append(out, t.str(n))
	case kindNumber:
		return append(out, json.Number(t.raw(n)))
	case kindBool:
		return append(out, t.raw(n) == "true")
	}
	return append(out, nil)
}
