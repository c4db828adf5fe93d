package mapping

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenSpec is the optional spec.json of a golden case.
type goldenSpec struct {
	Timeout   string `json:"timeout"`    // time.ParseDuration text; default 10s
	MaxEvents int    `json:"max_events"` // 0: default
}

// TestGolden runs every case under testdata/golden: mapping.jq on
// payload.json with the optional tables.json and spec.json, and compares
// the events (or {"error": "..."}) with want.json.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			got := runGolden(t, dir)
			wantFile := filepath.Join(dir, "want.json")
			if *update {
				if err := os.WriteFile(wantFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", wantFile, got, want)
			}
		})
	}
}

func runGolden(t *testing.T, dir string) []byte {
	t.Helper()
	src := mustRead(t, filepath.Join(dir, "mapping.jq"))
	spec := Spec{Partner: "acme-tms", Name: filepath.Base(dir), Source: string(src), Timeout: 10 * time.Second}
	if b, ok := readOptional(t, filepath.Join(dir, "tables.json")); ok {
		if err := json.Unmarshal(b, &spec.Tables); err != nil {
			t.Fatalf("tables.json: %v", err)
		}
	}
	if b, ok := readOptional(t, filepath.Join(dir, "spec.json")); ok {
		var gs goldenSpec
		if err := json.Unmarshal(b, &gs); err != nil {
			t.Fatalf("spec.json: %v", err)
		}
		if gs.Timeout != "" {
			d, err := time.ParseDuration(gs.Timeout)
			if err != nil {
				t.Fatalf("spec.json: %v", err)
			}
			spec.Timeout = d
		}
		spec.MaxEvents = gs.MaxEvents
	}
	var out any
	m, err := Compile(spec)
	if err == nil {
		var events []map[string]any
		events, err = m.RunJSON(context.Background(), mustRead(t, filepath.Join(dir, "payload.json")))
		out = events
		if events == nil {
			out = []any{}
		}
	}
	if err != nil {
		out = map[string]string{"error": err.Error()}
		if filepath.Base(dir) == "timeout" && !errors.Is(err, ErrTimeout) {
			t.Errorf("error %v is not ErrTimeout", err)
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return append(b, '\n')
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readOptional(t *testing.T, path string) ([]byte, bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}
