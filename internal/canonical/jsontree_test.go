package canonical

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestTreeAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, s := range []string{
		deep(maxDepth), deep(maxDepth + 1), `{"a":` + deep(maxDepth-1) + `}`, `{"a":` + deep(maxDepth) + `}`,
		`0`, `-0`, `-`, `01`, `1.`, `.1`, `1e`, `1e+`, `1E-7`, `-0.0e0`, `1x`, `tru`, `true `, ` nul`, `nulll`,
		`"\u12"`, `"\u123g"`, `"\x"`, `"\/\b\f\n\r\t\"\\"`, "\"\t\"", "\"\x7f\"", `"\ud800"`, `""`, `"`,
		`{"a" 1}`, `{"a":1,}`, `{,}`, `{"a":1 "b":2}`, `[1,]`, `[,1]`, `[1 2]`, `{1:2}`, `{"a":1}}`, `[[]`, "\v1",
	} {
		tr := &tree{record: maxDepth}
		if got, want := tr.parse(s) == nil, json.Valid([]byte(s)); got != want {
			t.Errorf("%.40q: tree says valid=%v, encoding/json %v", s, got, want)
		}
	}
}

func TestTreeRecordsOnlyToItsDepth(t *testing.T) {
	t.Parallel()
	tr := &tree{record: 1}
	if err := tr.parse(`[{"a":[1,2]}, "x", {"b":{"c":3}}]`); err != nil {
		t.Fatal(err)
	}
	if len(tr.nodes) != 4 || tr.nodes[0].count != 3 {
		t.Fatalf("%d nodes, root count %d", len(tr.nodes), tr.nodes[0].count)
	}
	var spans []string
	for n := tr.nodes[0].first; n >= 0; n = tr.nodes[n].next {
		spans = append(spans, tr.raw(n))
	}
	if want := []string{`{"a":[1,2]}`, `"x"`, `{"b":{"c":3}}`}; !reflect.DeepEqual(spans, want) {
		t.Fatalf("%q", spans)
	}
}

// TestParseEventConcurrent shares the tree pool between goroutines (run
// with -race).
func TestParseEventConcurrent(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	for _, typ := range allTypes() {
		raw := golden(t, typ)
		want := mustJSON(t, func() any { _, d, _ := ParseEvent(raw, now, DefaultLimits()); return d }())
		bad := mutate(t, typ, env("id", nil))
		wg.Go(func() {
			for range 200 {
				ev, d, err := ParseEvent(raw, now, DefaultLimits())
				if err != nil || ev.Type != typ {
					t.Errorf("%s: %v", typ, err)
					return
				}
				if got, _ := json.Marshal(d); string(got) != string(want) {
					t.Errorf("%s: %s", typ, got)
					return
				}
				if _, _, err := ParseEvent(bad, now, DefaultLimits()); err == nil || err.Error() != "id: is required" {
					t.Errorf("%s: %v", typ, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
