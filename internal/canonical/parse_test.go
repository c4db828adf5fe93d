package canonical

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func golden(t testing.TB, typ string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "valid", typ+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mutate parses a golden event, applies f to its generic form and re-encodes it.
func mutate(t testing.TB, typ string, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(golden(t, typ), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func data(m map[string]any) map[string]any { return m["data"].(map[string]any) }

func stop(m map[string]any, i int) map[string]any {
	return data(m)["stops"].([]any)[i].(map[string]any)
}

func TestGoldenEventsAreValid(t *testing.T) {
	t.Parallel()
	for _, typ := range InboundTypes() {
		ev, typed, err := ParseEvent(golden(t, typ), now, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if ev.Type != typ || typed == nil || reflect.TypeOf(typed) != reflect.TypeOf(types[typ].newData()) {
			t.Fatalf("%s: parsed %+v / %T", typ, ev, typed)
		}
	}
}

func TestRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, typ string
		f         func(m map[string]any)
		field     string // "" with ok: the event must pass
		ok        bool
	}{
		{"wrong specversion", "shipment.cancelled", func(m map[string]any) { m["specversion"] = "0.3" }, "specversion", false},
		{"missing id", "shipment.cancelled", func(m map[string]any) { delete(m, "id") }, "id", false},
		{"empty id", "shipment.cancelled", func(m map[string]any) { m["id"] = "" }, "id", false},
		{"id too long", "shipment.cancelled", func(m map[string]any) { m["id"] = strings.Repeat("x", 257) }, "id", false},
		{"id with control char", "shipment.cancelled", func(m map[string]any) { m["id"] = "a\nb" }, "id", false},
		{"id not a string", "shipment.cancelled", func(m map[string]any) { m["id"] = 7 }, "id", false},
		{"missing source", "shipment.cancelled", func(m map[string]any) { delete(m, "source") }, "source", false},
		{"missing subject", "shipment.cancelled", func(m map[string]any) { delete(m, "subject") }, "subject", false},
		{"unknown type", "shipment.cancelled", func(m map[string]any) { m["type"] = "shipment.lost" }, "type", false},
		{"missing time", "shipment.cancelled", func(m map[string]any) { delete(m, "time") }, "time", false},
		{"time not RFC 3339", "shipment.cancelled", func(m map[string]any) { m["time"] = "2026-11-22 10:00" }, "time", false},
		{"time far ahead", "shipment.cancelled", func(m map[string]any) { m["time"] = "2026-11-24T12:00:01Z" }, "time", false},
		{"time before 1970", "shipment.cancelled", func(m map[string]any) { m["time"] = "1969-12-31T23:59:59Z" }, "time", false},
		{"time with offset", "shipment.cancelled", func(m map[string]any) { m["time"] = "2026-11-22T11:00:00+02:00" }, "", true},
		{"bad datacontenttype", "shipment.cancelled", func(m map[string]any) { m["datacontenttype"] = "text/xml" }, "datacontenttype", false},
		{"json datacontenttype", "shipment.cancelled", func(m map[string]any) { m["datacontenttype"] = "application/json; charset=utf-8" }, "", true},
		{"extension attribute", "shipment.cancelled", func(m map[string]any) { m["partnerext"] = "x" }, "", true},
		{"missing data", "shipment.cancelled", func(m map[string]any) { delete(m, "data") }, "data", false},
		{"data not an object", "shipment.cancelled", func(m map[string]any) { m["data"] = []any{1} }, "data", false},
		{"order without stops", "order.released", func(m map[string]any) { delete(data(m), "stops") }, "data.stops", false},
		{"order with empty stops", "order.released", func(m map[string]any) { data(m)["stops"] = []any{} }, "data.stops", false},
		{"order without delivery", "order.released", func(m map[string]any) { stop(m, 1)["type"] = "pickup" }, "data.stops", false},
		{"stop type", "order.released", func(m map[string]any) { stop(m, 1)["type"] = "drop" }, "data.stops[1].type", false},
		{"duplicate stop id", "order.released", func(m map[string]any) { stop(m, 1)["id"] = "S1" }, "data.stops[1].id", false},
		{"latitude out of range", "order.released", func(m map[string]any) { stop(m, 1)["location"].(map[string]any)["lat"] = 91 }, "data.stops[1].location.lat", false},
		{"longitude out of range", "order.released", func(m map[string]any) { stop(m, 0)["location"].(map[string]any)["lon"] = -181 }, "data.stops[0].location.lon", false},
		{"latitude missing", "order.released", func(m map[string]any) { delete(stop(m, 0)["location"].(map[string]any), "lat") }, "data.stops[0].location.lat", false},
		{"latitude a string", "order.released", func(m map[string]any) { stop(m, 0)["location"].(map[string]any)["lat"] = "50" }, "data.stops[0].location.lat", false},
		{"radius too big", "order.released", func(m map[string]any) { stop(m, 0)["location"].(map[string]any)["radius_m"] = 60000 }, "data.stops[0].location.radius_m", false},
		{"window reversed", "order.released", func(m map[string]any) {
			stop(m, 0)["window"] = map[string]any{"from": "2026-11-22T10:00:00Z", "to": "2026-11-22T09:00:00Z"}
		}, "data.stops[0].window.to", false},
		{"negative weight", "order.released", func(m map[string]any) { data(m)["weight_kg"] = -1 }, "data.weight_kg", false},
		{"fractional pieces", "order.released", func(m map[string]any) { data(m)["pieces"] = 1.5 }, "data.pieces", false},
		{"empty accessorial", "order.released", func(m map[string]any) { data(m)["accessorials"] = []any{"liftgate", ""} }, "data.accessorials[1]", false},
		{"missing customer", "order.released", func(m map[string]any) { delete(data(m), "customer_id") }, "data.customer_id", false},
		{"assignment without driver", "route.assigned", func(m map[string]any) { delete(data(m), "driver_id") }, "data.driver_id", false},
		{"milestone code", "shipment.milestone", func(m map[string]any) { data(m)["code"] = "teleported" }, "data.code", false},
		{"milestone location", "shipment.milestone", func(m map[string]any) { data(m)["location"] = map[string]any{"lat": 1} }, "data.location.lon", false},
		{"POD without signer is valid", "delivery.completed", func(m map[string]any) { delete(data(m), "signed_by") }, "", true},
		{"POD without location", "delivery.completed", func(m map[string]any) { delete(data(m), "location") }, "data.location", false},
		{"POD exception without code", "delivery.completed", func(m map[string]any) { data(m)["exceptions"] = []any{map[string]any{"note": "x"}} }, "data.exceptions[0].code", false},
		{"position speed negative", "telemetry.position", func(m map[string]any) { data(m)["speed_kph"] = -3 }, "data.speed_kph", false},
		{"position heading", "telemetry.position", func(m map[string]any) { data(m)["heading"] = 361 }, "data.heading", false},
		{"position without lat", "telemetry.position", func(m map[string]any) { delete(data(m), "lat") }, "data.lat", false},
		{"fuel amount as number", "fuel.purchased", func(m map[string]any) { data(m)["amount"] = 84.2 }, "", true},
		{"fuel amount garbage", "fuel.purchased", func(m map[string]any) { data(m)["amount"] = "12,50" }, "data.amount", false},
		{"fuel liters zero", "fuel.purchased", func(m map[string]any) { data(m)["liters"] = 0 }, "data.liters", false},
		{"fuel currency", "fuel.purchased", func(m map[string]any) { data(m)["currency"] = "eur" }, "data.currency", false},
		{"fuel lat without lon", "fuel.purchased", func(m map[string]any) { delete(data(m), "lon") }, "data.lon", false},
		{"tender response", "tender.responded", func(m map[string]any) { data(m)["response"] = "maybe" }, "data.response", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, typed, err := ParseEvent(mutate(t, tt.typ, tt.f), now, DefaultLimits())
			if tt.ok {
				if err != nil || typed == nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a *ValidationError, got %v", err)
			}
			for _, fe := range ve.Errors {
				if fe.Field == tt.field && fe.Message != "" {
					return
				}
			}
			t.Fatalf("no error names %s: %v", tt.field, ve)
		})
	}
}

func TestAllErrorsAreReported(t *testing.T) {
	t.Parallel()
	raw := mutate(t, "order.released", func(m map[string]any) {
		delete(m, "id")
		m["time"] = "yesterday"
		stop(m, 0)["location"].(map[string]any)["lat"] = 100
		stop(m, 1)["type"] = "drop"
	})
	_, _, err := ParseEvent(raw, now, DefaultLimits())
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatal(err)
	}
	var fields []string
	for _, fe := range ve.Errors {
		fields = append(fields, fe.Field)
	}
	want := "id,time,data.stops[0].location.lat,data.stops[1].type"
	if got := strings.Join(fields, ","); got != want {
		t.Fatalf("fields %s, want %s", got, want)
	}
}

func TestSplitBatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body  string
		n     int
		batch bool
		bad   bool
	}{
		{`{"id":"x"}`, 1, false, false},
		{` [{"id":"x"}, {"id":"y"}] `, 2, true, false},
		{`[1, "a"]`, 2, true, false},
		{``, 0, false, true},
		{`   `, 0, false, true},
		{`[]`, 0, true, true},
		{`"event"`, 0, false, true},
		{`42`, 0, false, true},
		{`{"id":`, 0, false, true},
		{`{} {}`, 0, false, true},
	}
	for _, tt := range tests {
		items, batch, err := SplitBatch([]byte(tt.body))
		if (err != nil) != tt.bad || len(items) != tt.n || batch != tt.batch {
			t.Errorf("%q: %d items, batch %v, err %v", tt.body, len(items), batch, err)
		}
		var ve *ValidationError
		if err != nil && (!errors.As(err, &ve) || ve.Errors[0].Message == "") {
			t.Errorf("%q: error %v is not a ValidationError", tt.body, err)
		}
	}
}

func TestNonObjectEvent(t *testing.T) {
	t.Parallel()
	_, _, err := ParseEvent([]byte(`[1]`), now, DefaultLimits())
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Errors[0].Field != "" || !strings.Contains(ve.Errors[0].Message, "must be an object") {
		t.Fatalf("%v", err)
	}
}

func TestDataSizeLimit(t *testing.T) {
	t.Parallel()
	lim := DefaultLimits()
	lim.MaxDataBytes = 100
	raw := mutate(t, "shipment.cancelled", func(m map[string]any) { data(m)["reason"] = strings.Repeat("x", 200) })
	if _, _, err := ParseEvent(raw, now, lim); err == nil || !strings.Contains(err.Error(), "data:") {
		t.Fatalf("%v", err)
	}
}

func TestValidateAndDecodeData(t *testing.T) {
	t.Parallel()
	ev, typed, err := ParseEvent(golden(t, "order.released"), now, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	again, err := Validate(ev, now, DefaultLimits())
	if err != nil || !reflect.DeepEqual(again, typed) {
		t.Fatalf("Validate: %v %+v", err, again)
	}
	dec, err := DecodeData(ev)
	if err != nil || !reflect.DeepEqual(dec, typed) {
		t.Fatalf("DecodeData: %v", err)
	}
	o := typed.(*OrderReleased)
	if o.Stops[1].Location.RadiusM != 250 || *o.Pieces != 12 || o.References["po"] != "PO-9" {
		t.Fatalf("decoded %+v", o)
	}
	if _, err := DecodeData(Event{Type: "nope"}); err == nil {
		t.Fatal("unknown type decoded")
	}
}

func TestDecimal(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`"84.20"`: "84.20", `84.2`: "84.2", `0`: "0"} {
		var d Decimal
		if err := json.Unmarshal([]byte(in), &d); err != nil || string(d) != want {
			t.Errorf("%s → %q %v", in, d, err)
		}
		b, _ := json.Marshal(d)
		if b[0] != '"' {
			t.Errorf("%s marshals as %s", in, b)
		}
	}
	for s, ok := range map[string]bool{"1": true, "1.5": true, "1.2345": true, "1.23456": false, "-1": false, "1.": false, ".5": false, "": false, "1e3": false} {
		if validDecimal(s, 4) != ok {
			t.Errorf("validDecimal(%q) != %v", s, ok)
		}
	}
}

// TestSchemasAgreeWithValidator checks every published schema compiles and
// gives the same verdict as ParseEvent on the golden events and on the
// mutations of TestRules that a schema can express. Not expressible in the
// schemas: the future-time bound, unique stop ids, window from <= to, the
// data size bound and control characters' exact set in ids.
func TestSchemasAgreeWithValidator(t *testing.T) {
	t.Parallel()
	c := jsonschema.NewCompiler()
	compiled := map[string]*jsonschema.Schema{}
	for _, typ := range append(InboundTypes(), DerivedTypes()...) {
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
	check := func(name, typ string, raw []byte) {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		schemaOK := compiled[typ].Validate(doc) == nil
		_, _, perr := ParseEvent(raw, now, DefaultLimits())
		if schemaOK != (perr == nil) {
			t.Errorf("%s: schema says valid=%v, validator says %v", name, schemaOK, perr)
		}
	}
	for _, typ := range InboundTypes() {
		check("golden "+typ, typ, golden(t, typ))
	}
	skip := map[string]bool{"time far ahead": true, "duplicate stop id": true, "window reversed": true, "time before 1970": true, "unknown type": true}
	mutations := []struct {
		name, typ string
		f         func(m map[string]any)
	}{
		{"latitude out of range", "order.released", func(m map[string]any) { stop(m, 1)["location"].(map[string]any)["lat"] = 91 }},
		{"order without delivery", "order.released", func(m map[string]any) { stop(m, 1)["type"] = "pickup" }},
		{"fractional pieces", "order.released", func(m map[string]any) { data(m)["pieces"] = 1.5 }},
		{"missing id", "shipment.cancelled", func(m map[string]any) { delete(m, "id") }},
		{"POD without signer", "delivery.completed", func(m map[string]any) { delete(data(m), "signed_by") }},
		{"fuel amount as number", "fuel.purchased", func(m map[string]any) { data(m)["amount"] = 84.2 }},
		{"fuel lat without lon", "fuel.purchased", func(m map[string]any) { delete(data(m), "lon") }},
		{"fuel currency", "fuel.purchased", func(m map[string]any) { data(m)["currency"] = "eur" }},
		{"milestone code", "shipment.milestone", func(m map[string]any) { data(m)["code"] = "x" }},
		{"heading", "telemetry.position", func(m map[string]any) { data(m)["heading"] = 400 }},
		{"tender", "tender.responded", func(m map[string]any) { data(m)["response"] = "maybe" }},
	}
	for _, m := range mutations {
		if !skip[m.name] {
			check(m.name, m.typ, mutate(t, m.typ, m.f))
		}
	}
}

func BenchmarkParseEvent(b *testing.B) {
	raw := golden(b, "shipment.milestone")
	lim := DefaultLimits()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, _, err := ParseEvent(raw, now, lim); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseOrder(b *testing.B) {
	raw := golden(b, "order.released")
	lim := DefaultLimits()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, _, err := ParseEvent(raw, now, lim); err != nil {
			b.Fatal(err)
		}
	}
}
