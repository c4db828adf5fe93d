package billing

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

const docPath = "../../docs/billing.md"

// docBlock returns the fenced block of the given language that follows
// marker (or the first such block when marker is empty).
func docBlock(t *testing.T, doc, marker, lang string) []byte {
	t.Helper()
	at := 0
	if marker != "" {
		at = strings.Index(doc, marker)
		if at < 0 {
			t.Fatalf("%s has no %s", docPath, marker)
		}
	}
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```").FindStringSubmatch(doc[at:])
	if m == nil {
		t.Fatalf("%s: no ```%s block after %q", docPath, lang, marker)
	}
	return []byte(m[1])
}

// TestBillingDocExample rates the worked example of docs/billing.md with the
// YAML card at the top of the page and compares the result with the quote
// block and the table there.
func TestBillingDocExample(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	var file struct {
		Billing Config `yaml:"billing"`
	}
	if err := yaml.Unmarshal(docBlock(t, doc, "", "yaml"), &file); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	e, err := Compile(file.Billing)
	if err != nil {
		t.Fatalf("the card of the doc does not compile: %v", err)
	}
	var s Shipment
	strict(t, docBlock(t, doc, "<!-- billing-example:shipment -->", "json"), &s)
	var want Quote
	strict(t, docBlock(t, doc, "<!-- billing-example:quote -->", "json"), &want)
	got, err := e.Rate(s)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the doc's quote differs from Rate:\n%s", marshalIndent(t, got))
	}
	for _, l := range got.Lines {
		row := "| " + l.Code + " | " + l.Quantity + " | " + l.UnitPrice + " | " + l.Amount + " |"
		if !strings.Contains(doc, row) {
			t.Errorf("the doc's table lacks the row %q", row)
		}
	}
	for name, v := range map[string]string{"subtotal": got.Subtotal, "tax": got.Tax, "total": got.Total} {
		if row := "| " + name + " | | | " + v + " |"; !strings.Contains(doc, row) {
			t.Errorf("the doc's table lacks the row %q", row)
		}
	}
}

func strict(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", docPath, err)
	}
}
