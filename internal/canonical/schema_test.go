package canonical

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func compileSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	compiled := map[string]*jsonschema.Schema{}
	for _, typ := range allTypes() {
		b, ok := Schema(typ)
		if !ok {
			t.Fatalf("no schema for %s", typ)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		url := "https://crossdock.dev/schemas/v1/" + typ + ".json"
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
		if compiled[typ], err = c.Compile(url); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	return compiled
}

func TestSchema(t *testing.T) {
	t.Parallel()
	for _, typ := range allTypes() {
		b, ok := Schema(typ)
		if !ok {
			t.Fatalf("no schema for %s", typ)
		}
		var s struct {
			ID         string                     `json:"$id"`
			Schema     string                     `json:"$schema"`
			Title      string                     `json:"title"`
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		if s.ID != "https://crossdock.dev/schemas/v1/"+typ+".json" || s.Schema != "https://json-schema.org/draft/2020-12/schema" || s.Title != typ {
			t.Errorf("%s: $id %q, $schema %q, title %q", typ, s.ID, s.Schema, s.Title)
		}
		undescribed(t, typ, s.Properties)
	}
	for _, typ := range []string{"", "x", "../parse.go", "schemas/order.released"} {
		if _, ok := Schema(typ); ok {
			t.Errorf("Schema(%q) found", typ)
		}
	}
}

// undescribed reports properties without a description, at any depth.
func undescribed(t *testing.T, at string, props map[string]json.RawMessage) {
	for name, raw := range props {
		var p struct {
			Description string                     `json:"description"`
			Properties  map[string]json.RawMessage `json:"properties"`
			Items       struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"items"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		if p.Description == "" {
			t.Errorf("%s.%s has no description", at, name)
		}
		undescribed(t, at+"."+name, p.Properties)
		undescribed(t, at+"."+name+"[]", p.Items.Properties)
	}
}

// TestSchemasAgreeWithValidator checks that every published schema
// compiles and gives ParseEvent's verdict on every case of TestRules and
// TestRawBodies. What the schemas cannot express is skipped, each case
// naming why (ruleCase.noSchema): the time bounds (24h ahead of the hub's
// clock, not before 1970), unique stop ids, window from <= to, numbers
// written with a fraction or exponent where ParseEvent wants a plain
// integer or decimal literal, ids bounded in bytes rather than characters,
// finite float64 numbers, escapes inside time strings, member names
// repeated or differing from a known one only in case, the configurable
// data size bound and UTF-8 validity (the schema sees decoded JSON).
func TestSchemasAgreeWithValidator(t *testing.T) {
	t.Parallel()
	compiled := compileSchemas(t)
	check := func(name, typ string, raw []byte) {
		t.Helper()
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		serr := compiled[typ].Validate(doc)
		_, _, perr := ParseEvent(raw, now, DefaultLimits())
		if (serr == nil) != (perr == nil) {
			t.Errorf("%s: schema says %v; ParseEvent says %v", name, serr, perr)
		}
	}
	checked := 0
	for _, tc := range ruleCases {
		if tc.noSchema == "" {
			check(tc.name, tc.typ, mutate(t, tc.typ, tc.f))
			checked++
		}
	}
	for _, typ := range allTypes() {
		check("golden "+typ, typ, golden(t, typ))
	}
	// Cases only the schema test needs.
	extra := []struct {
		name, typ string
		f         func(m map[string]any)
	}{
		{"stop without type and a delivery", TypeOrderReleased, func(m map[string]any) { delete(stop(m, 0), "type") }},
		{"only pickups, one without type", TypeOrderReleased, func(m map[string]any) { delete(stop(m, 0), "type"); stop(m, 1)["type"] = "pickup" }},
		{"fuel amount 0", TypeFuelPurchased, set("amount", 0)},
		{"fuel amount 0.0001", TypeFuelPurchased, set("amount", json.RawMessage("0.0001"))},
		{"fuel amount 0.00001", TypeFuelPurchased, set("amount", json.RawMessage("0.00001"))},
		{"fuel amount of 15 digits", TypeFuelPurchased, set("amount", json.RawMessage("999999999999999.9999"))},
		{"fuel amount of 16 digits", TypeFuelPurchased, set("amount", json.RawMessage("1000000000000000"))},
		{"fuel amount null", TypeFuelPurchased, set("amount", null)},
		{"fuel position both null", TypeFuelPurchased, func(m map[string]any) { data(m)["lat"], data(m)["lon"] = null, null }},
		{"fuel lat a string without lon", TypeFuelPurchased, func(m map[string]any) { data(m)["lat"] = "x"; delete(data(m), "lon") }},
		{"pieces 1000000000", TypeOrderReleased, set("pieces", 1000000000)},
		{"pieces 1000000001", TypeOrderReleased, set("pieces", 1000000001)},
		{"references empty", TypeOrderReleased, set("references", map[string]any{})},
		{"reference of 1024 characters", TypeOrderReleased, set("references", map[string]any{"x": strings.Repeat("ü", 1024)})},
		{"reference of 1025 characters", TypeOrderReleased, set("references", map[string]any{"x": strings.Repeat("ü", 1025)})},
		{"reference null", TypeOrderReleased, set("references", map[string]any{"x": null})},
		{"accessorial null", TypeOrderReleased, set("accessorials", []any{null})},
		{"stops null", TypeOrderReleased, set("stops", null)},
		{"exceptions null", TypeDeliveryCompleted, set("exceptions", null)},
		{"exception note null", TypeDeliveryCompleted, set("exceptions", []any{map[string]any{"code": "x", "note": null}})},
		{"status from null", TypeShipmentStatusChanged, set("from", null)},
		{"status to of 33 characters", TypeShipmentStatusChanged, set("to", strings.Repeat("t", 33))},
		{"datacontenttype with spaces", TypeShipmentCancelled, env("datacontenttype", " application/json ;charset=utf-8")},
		{"datacontenttype with a bad parameter", TypeShipmentCancelled, env("datacontenttype", "application/json; charset")},
		{"time with a long fraction", TypeShipmentCancelled, env("time", "2026-11-22T10:00:00.1234567891234Z")},
		{"time zone -00:00", TypeShipmentCancelled, env("time", "2026-11-22T10:00:00-00:00")},
		{"time zone +23:59", TypeShipmentCancelled, env("time", "2026-11-22T10:00:00+23:59")},
		{"time zone +05:60", TypeShipmentCancelled, env("time", "2026-11-22T10:00:00+05:60")},
		{"time minute 60", TypeShipmentCancelled, env("time", "2026-11-22T10:60:00Z")},
		{"time 29 February 2024", TypeShipmentCancelled, env("time", "2024-02-29T10:00:00Z")},
		{"time 29 February 2025", TypeShipmentCancelled, env("time", "2025-02-29T10:00:00Z")},
		{"time leap second", TypeShipmentCancelled, env("time", "2016-12-31T23:59:60Z")},
		{"specversion null", TypeShipmentCancelled, env("specversion", null)},
		{"type of another schema", TypeShipmentCancelled, env("type", TypeRouteAssigned)},
	}
	for _, tc := range extra {
		check(tc.name, tc.typ, mutate(t, tc.typ, tc.f))
	}
	if checked < 150 {
		t.Fatalf("only %d rule cases checked against the schemas", checked)
	}
}
