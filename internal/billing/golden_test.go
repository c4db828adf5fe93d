package billing

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenCase is one file under testdata/golden: the input (config and
// shipment) and what Rate gives for it (a quote, or an error and the case
// the workflow would open).
type goldenCase struct {
	About    string   `json:"about"`
	Config   Config   `json:"config"`
	Shipment Shipment `json:"shipment"`
	Quote    *Quote   `json:"quote,omitempty"`
	Error    string   `json:"error,omitempty"`
	Case     string   `json:"case,omitempty"`
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 12 {
		t.Fatalf("found %d golden files, want at least 12", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var in goldenCase
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				t.Fatalf("decode: %v", err)
			}
			e, err := Compile(in.Config)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			got := goldenCase{About: in.About, Config: in.Config, Shipment: in.Shipment}
			if q, err := e.Rate(in.Shipment); err != nil {
				got.Error, got.Case = err.Error(), CaseCode(err)
			} else {
				got.Quote = &q
				checkQuote(t, in.Config.TaxRate, q)
			}
			out := marshalIndent(t, got)
			if *update {
				if err := os.WriteFile(file, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !bytes.Equal(raw, out) {
				t.Errorf("Rate differs from %s (run go test ./internal/billing/ -run TestGolden -update and review the diff):\n%s", file, out)
			}
		})
	}
}

func marshalIndent(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
