package canonical

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func addGolden(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "valid", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseEvent: never panics; whatever it accepts re-encodes and parses
// to the same event and data.
func FuzzParseEvent(f *testing.F) {
	addGolden(f)
	f.Add([]byte(`{"specversion":"1.0","id":"a","source":"b","type":"telemetry.position","subject":"v","time":"2026-11-22T10:00:00Z","data":{"lat":-90,"lon":180}}`))
	f.Add([]byte(`{"data":{"stops":[{"location":{"lat":1e400}}]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, typed, err := ParseEvent(raw, now, DefaultLimits())
		if err != nil {
			if _, ok := err.(*ValidationError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		ev2, typed2, err := ParseEvent(again, now, DefaultLimits())
		if err != nil {
			t.Fatalf("re-parse of %s: %v", again, err)
		}
		if !ev.Time.Equal(ev2.Time) || ev.ID != ev2.ID || ev.Source != ev2.Source || ev.Type != ev2.Type || ev.Subject != ev2.Subject {
			t.Fatalf("envelope changed: %+v vs %+v", ev, ev2)
		}
		if !reflect.DeepEqual(typed, typed2) {
			t.Fatalf("data changed: %+v vs %+v", typed, typed2)
		}
	})
}

// FuzzSplitBatch: never panics; a batch's items are each valid JSON.
func FuzzSplitBatch(f *testing.F) {
	addGolden(f)
	f.Add([]byte(`[{"a":1},{"b":2}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(` "x" `))
	f.Fuzz(func(t *testing.T, body []byte) {
		items, _, err := SplitBatch(body)
		if err != nil {
			if _, ok := err.(*ValidationError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		for _, it := range items {
			if !json.Valid(it) {
				t.Fatalf("item %q is not JSON", it)
			}
		}
	})
}
