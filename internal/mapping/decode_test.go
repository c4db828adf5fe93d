package mapping

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// stdDecode is what decodePayload must agree with: json.Valid for what is
// accepted, json.Decoder with UseNumber for the value.
func stdDecode(body []byte) (any, bool) {
	if !json.Valid(body) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

var decodeSeeds = []string{
	`{"a": 1, "b": [true, false, null, -0.5e+10, 0, -0, 1E3, 12345678901234567890123], "c": {}}`,
	`"plain"`, `"esc \" \\ \/ \b \f \n \r \t \u00e9 \u20AC \ud83d\ude00"`,
	`"lone \ud800 high"`, `"lone \udc00 low"`, `"\ud800\u0041"`, `"\ud800\uzzzz"`, `"\ud800\"`,
	"\"bad utf8 \xff\xfe and \xe2\x82\"", "\"größe ✓\"", `{"a": 1, "a": 2}`, `[]`, `[[[]]]`, ` 7 `,
	`{"a" 1}`, `{"a": 1,}`, `[1,]`, `[1 2]`, `01`, `1.`, `.5`, `1e`, `-`, `+1`, `nul`, `"\x"`, "\"\t\"",
	`"abc`, `{"a": "b"`, `[`, ``, `  `, `{} {}`, `"\u12"`, `"\u"`, `"\`, `1e+`, `-01`, `[-]`,
}

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	seeds := append(decodeSeeds, strings.Repeat("[", 10000)+strings.Repeat("]", 10000), strings.Repeat("[", 10001)+strings.Repeat("]", 10001))
	for _, s := range seeds {
		checkDecode(t, []byte(s))
	}
}

func checkDecode(t *testing.T, body []byte) {
	t.Helper()
	want, wantOK := stdDecode(body)
	got, err := decodePayload(body)
	if (err == nil) != wantOK {
		t.Fatalf("decodePayload(%q): error %v, encoding/json accepts: %v", body, err, wantOK)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decodePayload(%q) = %#v, encoding/json: %#v", body, got, want)
	}
}

func FuzzDecodePayload(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecode(t, body)
	})
}

func BenchmarkDecodePayload(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(contractPayload)))
	for b.Loop() {
		if _, err := decodePayload(contractPayload); err != nil {
			b.Fatal(err)
		}
	}
}
