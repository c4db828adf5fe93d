package canonical

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// now is the hub clock of every test: the golden events are two hours old.
var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func golden(t testing.TB, typ string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "valid", typ+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func allTypes() []string { return append(InboundTypes(), DerivedTypes()...) }

// mutate parses a golden event, applies f to its generic form and
// re-encodes it.
func mutate(t testing.TB, typ string, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(golden(t, typ), &m); err != nil {
		t.Fatal(err)
	}
	if f != nil {
		f(m)
	}
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

func loc(m map[string]any, i int) map[string]any { return stop(m, i)["location"].(map[string]any) }

// set returns a mutation setting data member k (nil: delete it).
func set(k string, v any) func(m map[string]any) {
	return func(m map[string]any) {
		if v == nil {
			delete(data(m), k)
		} else {
			data(m)[k] = v
		}
	}
}

// env returns a mutation setting envelope attribute k (nil: delete it).
func env(k string, v any) func(m map[string]any) {
	return func(m map[string]any) {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
}

// null is an explicit JSON null (nil deletes).
var null = json.RawMessage("null")

// ruleCase is one mutation of a golden event and the exact fields of the
// errors it must produce (none: the event must be valid). noSchema says
// why the JSON Schema cannot give the same verdict, if it cannot.
type ruleCase struct {
	name     string
	typ      string
	f        func(m map[string]any)
	want     []string
	noSchema string
}

func f(fields ...string) []string { return fields }

// Reasons a schema cannot express a rule.
const (
	schemaClock     = "the time bounds depend on the hub's clock or the epoch in UTC"
	schemaUnique    = "JSON Schema cannot compare members of different items"
	schemaOrder     = "JSON Schema cannot compare two times"
	schemaLiteral   = "JSON Schema sees values, not how a number was written"
	schemaBytes     = "maxLength counts characters; ids are bounded in bytes"
	schemaFinite    = "JSON Schema numbers are unbounded rationals"
	schemaRawString = "the schema sees the decoded string, not its escapes"
	schemaSize      = "the data size bound depends on configuration"
)

var ruleCases = []ruleCase{
	// Envelope.
	{"valid cancellation", TypeShipmentCancelled, nil, nil, ""},
	{"specversion 0.3", TypeShipmentCancelled, env("specversion", "0.3"), f("specversion"), ""},
	{"specversion a number", TypeShipmentCancelled, env("specversion", 1.0), f("specversion"), ""},
	{"specversion missing", TypeShipmentCancelled, env("specversion", nil), f("specversion"), ""},
	{"id missing", TypeShipmentCancelled, env("id", nil), f("id"), ""},
	{"id null", TypeShipmentCancelled, env("id", null), f("id"), ""},
	{"id empty", TypeShipmentCancelled, env("id", ""), f("id"), ""},
	{"id of 256 bytes", TypeShipmentCancelled, env("id", strings.Repeat("x", 256)), nil, ""},
	{"id of 257 bytes", TypeShipmentCancelled, env("id", strings.Repeat("x", 257)), f("id"), ""},
	{"id of 200 two-byte characters", TypeShipmentCancelled, env("id", strings.Repeat("é", 200)), f("id"), schemaBytes},
	{"id with a newline", TypeShipmentCancelled, env("id", "a\nb"), f("id"), ""},
	{"id with DEL", TypeShipmentCancelled, env("id", "a\x7fb"), f("id"), ""},
	{"id with a C1 control", TypeShipmentCancelled, env("id", "a\u0085b"), f("id"), ""},
	{"id with NUL", TypeShipmentCancelled, env("id", "a\x00b"), f("id"), ""},
	{"id with spaces and unicode", TypeShipmentCancelled, env("id", "Lieferung Nr. 7 – München"), nil, ""},
	{"id a number", TypeShipmentCancelled, env("id", 7), f("id"), ""},
	{"source missing", TypeShipmentCancelled, env("source", nil), f("source"), ""},
	{"source empty", TypeShipmentCancelled, env("source", ""), f("source"), ""},
	{"type missing", TypeShipmentCancelled, env("type", nil), f("type"), ""},
	{"type unknown", TypeShipmentCancelled, env("type", "shipment.lost"), f("type"), ""},
	{"type an object", TypeShipmentCancelled, env("type", map[string]any{}), f("type"), ""},
	{"subject missing", TypeShipmentCancelled, env("subject", nil), f("subject"), ""},
	{"subject too long", TypeShipmentCancelled, env("subject", strings.Repeat("s", 300)), f("subject"), ""},
	{"time missing", TypeShipmentCancelled, env("time", nil), f("time"), ""},
	{"time a number", TypeShipmentCancelled, env("time", 1764000000), f("time"), ""},
	{"time without T", TypeShipmentCancelled, env("time", "2026-11-22 10:00:00Z"), f("time"), ""},
	{"time without zone", TypeShipmentCancelled, env("time", "2026-11-22T10:00:00"), f("time"), ""},
	{"time with lowercase t", TypeShipmentCancelled, env("time", "2026-11-22t10:00:00Z"), f("time"), ""},
	{"time without seconds", TypeShipmentCancelled, env("time", "2026-11-22T10:00Z"), f("time"), ""},
	{"time February 30", TypeShipmentCancelled, env("time", "2026-02-30T10:00:00Z"), f("time"), ""},
	{"time hour 24", TypeShipmentCancelled, env("time", "2026-11-22T24:00:00Z"), f("time"), ""},
	{"time zone +24:00", TypeShipmentCancelled, env("time", "2026-11-22T10:00:00+24:00"), f("time"), ""},
	{"time with offset", TypeShipmentCancelled, env("time", "2026-11-22T11:00:00+02:00"), nil, ""},
	{"time with fraction", TypeShipmentCancelled, env("time", "2026-11-22T10:00:00.123456789Z"), nil, ""},
	{"time 24h ahead", TypeShipmentCancelled, env("time", "2026-11-23T12:00:00Z"), nil, ""},
	{"time 24h and 1s ahead", TypeShipmentCancelled, env("time", "2026-11-23T12:00:01Z"), f("time"), schemaClock},
	{"time in 1970", TypeShipmentCancelled, env("time", "1970-01-01T00:00:00Z"), nil, ""},
	{"time before 1970", TypeShipmentCancelled, env("time", "1969-12-31T23:59:59Z"), f("time"), schemaClock},
	{"datacontenttype json", TypeShipmentCancelled, env("datacontenttype", "application/json"), nil, ""},
	{"datacontenttype with parameters", TypeShipmentCancelled, env("datacontenttype", "Application/JSON; charset=utf-8"), nil, ""},
	{"datacontenttype null", TypeShipmentCancelled, env("datacontenttype", null), nil, ""},
	{"datacontenttype xml", TypeShipmentCancelled, env("datacontenttype", "text/xml"), f("datacontenttype"), ""},
	{"datacontenttype empty", TypeShipmentCancelled, env("datacontenttype", ""), f("datacontenttype"), ""},
	{"datacontenttype json-seq", TypeShipmentCancelled, env("datacontenttype", "application/json-seq"), f("datacontenttype"), ""},
	{"correlationid empty", TypeShipmentCancelled, env("correlationid", ""), f("correlationid"), ""},
	{"correlationid too long", TypeShipmentCancelled, env("correlationid", strings.Repeat("c", 257)), f("correlationid"), ""},
	{"correlationid a number", TypeShipmentCancelled, env("correlationid", 5), f("correlationid"), ""},
	{"causationid with a tab", TypeShipmentCancelled, env("causationid", "a\tb"), f("causationid"), ""},
	{"causationid", TypeShipmentCancelled, env("causationid", "evt-1"), nil, ""},
	{"extension attributes", TypeShipmentCancelled, func(m map[string]any) {
		m["partnerext"], m["traceparent"], m["nested"] = "x", "00-abc-01", map[string]any{"Data": 1}
	}, nil, ""},
	{"data missing", TypeShipmentCancelled, env("data", nil), f("data"), ""},
	{"data null", TypeShipmentCancelled, env("data", null), f("data"), ""},
	{"data an array", TypeShipmentCancelled, env("data", []any{1}), f("data"), ""},
	{"data a string", TypeShipmentCancelled, env("data", `{"reason":"x"}`), f("data"), ""},
	{"data_base64 instead of data", TypeShipmentCancelled, func(m map[string]any) { delete(m, "data"); m["data_base64"] = "e30=" }, f("data"), ""},
	{"data an array for an unknown type", TypeShipmentCancelled, func(m map[string]any) { m["type"], m["data"] = "x.y", []any{} }, f("type", "data"), ""},
	{"every envelope error at once", TypeShipmentCancelled, func(m map[string]any) {
		m["data"], m["time"], m["subject"], m["type"], m["id"], m["specversion"] = 1, "now", "", 5, nil, "2"
		m["datacontenttype"], m["correlationid"], m["causationid"], m["source"] = "text/plain", 1, false, strings.Repeat("s", 999)
	}, f("specversion", "id", "source", "type", "subject", "time", "datacontenttype", "correlationid", "causationid", "data"), ""},

	// order.released
	{"valid order", TypeOrderReleased, nil, nil, ""},
	{"order_id missing", TypeOrderReleased, set("order_id", nil), f("data.order_id"), ""},
	{"customer_id empty", TypeOrderReleased, set("customer_id", ""), f("data.customer_id"), ""},
	{"stops missing", TypeOrderReleased, set("stops", nil), f("data.stops"), ""},
	{"stops empty", TypeOrderReleased, set("stops", []any{}), f("data.stops"), ""},
	{"stops an object", TypeOrderReleased, set("stops", map[string]any{}), f("data.stops"), ""},
	{"201 stops", TypeOrderReleased, func(m map[string]any) {
		stops := make([]any, 201)
		for i := range stops {
			stops[i] = map[string]any{"id": "S" + strings.Repeat("x", i), "type": "delivery", "location": map[string]any{"lat": 1, "lon": 1}}
		}
		data(m)["stops"] = stops
	}, f("data.stops"), ""},
	{"no delivery stop", TypeOrderReleased, func(m map[string]any) { stop(m, 1)["type"] = "pickup" }, f("data.stops"), ""},
	{"only a delivery stop", TypeOrderReleased, func(m map[string]any) { data(m)["stops"] = data(m)["stops"].([]any)[1:] }, nil, ""},
	{"stop a string", TypeOrderReleased, func(m map[string]any) { data(m)["stops"].([]any)[1] = "S2" }, f("data.stops[1]"), ""},
	{"stop id missing", TypeOrderReleased, func(m map[string]any) { delete(stop(m, 0), "id") }, f("data.stops[0].id"), ""},
	{"duplicate stop id", TypeOrderReleased, func(m map[string]any) { stop(m, 1)["id"] = "S1" }, f("data.stops[1].id"), schemaUnique},
	{"stop type unknown", TypeOrderReleased, func(m map[string]any) { stop(m, 1)["type"] = "drop" }, f("data.stops[1].type"), ""},
	{"stop type missing", TypeOrderReleased, func(m map[string]any) { delete(stop(m, 1), "type") }, f("data.stops[1].type"), ""},
	{"location missing", TypeOrderReleased, func(m map[string]any) { delete(stop(m, 0), "location") }, f("data.stops[0].location"), ""},
	{"location null", TypeOrderReleased, func(m map[string]any) { stop(m, 0)["location"] = null }, f("data.stops[0].location"), ""},
	{"latitude 91", TypeOrderReleased, func(m map[string]any) { loc(m, 1)["lat"] = 91 }, f("data.stops[1].location.lat"), ""},
	{"latitude -90", TypeOrderReleased, func(m map[string]any) { loc(m, 1)["lat"] = -90 }, nil, ""},
	{"longitude -181", TypeOrderReleased, func(m map[string]any) { loc(m, 0)["lon"] = -181 }, f("data.stops[0].location.lon"), ""},
	{"longitude 180", TypeOrderReleased, func(m map[string]any) { loc(m, 0)["lon"] = 180 }, nil, ""},
	{"latitude missing", TypeOrderReleased, func(m map[string]any) { delete(loc(m, 0), "lat") }, f("data.stops[0].location.lat"), ""},
	{"latitude null", TypeOrderReleased, func(m map[string]any) { loc(m, 0)["lat"] = null }, f("data.stops[0].location.lat"), ""},
	{"latitude 0 is not missing", TypeOrderReleased, func(m map[string]any) { loc(m, 0)["lat"], loc(m, 0)["lon"] = 0, 0 }, nil, ""},
	{"latitude a string", TypeOrderReleased, func(m map[string]any) { loc(m, 0)["lat"] = "50.1" }, f("data.stops[0].location.lat"), ""},
	{"location id empty", TypeOrderReleased, func(m map[string]any) { loc(m, 0)["id"] = "" }, f("data.stops[0].location.id"), ""},
	{"radius negative", TypeOrderReleased, func(m map[string]any) { loc(m, 0)["radius_m"] = -1 }, f("data.stops[0].location.radius_m"), ""},
	{"radius 50000", TypeOrderReleased, func(m map[string]any) { loc(m, 0)["radius_m"] = 50000 }, nil, ""},
	{"radius 50001", TypeOrderReleased, func(m map[string]any) { loc(m, 0)["radius_m"] = 50001 }, f("data.stops[0].location.radius_m"), ""},
	{"window reversed", TypeOrderReleased, func(m map[string]any) {
		stop(m, 0)["window"] = map[string]any{"from": "2026-11-22T10:00:00Z", "to": "2026-11-22T09:00:00Z"}
	}, f("data.stops[0].window.to"), schemaOrder},
	{"window of one instant across zones", TypeOrderReleased, func(m map[string]any) {
		stop(m, 0)["window"] = map[string]any{"from": "2026-11-22T10:00:00Z", "to": "2026-11-22T11:00:00+01:00"}
	}, nil, ""},
	{"window without from", TypeOrderReleased, func(m map[string]any) { delete(stop(m, 0)["window"].(map[string]any), "from") }, f("data.stops[0].window.from"), ""},
	{"window to malformed", TypeOrderReleased, func(m map[string]any) { stop(m, 0)["window"].(map[string]any)["to"] = "10:00" }, f("data.stops[0].window.to"), ""},
	{"window null", TypeOrderReleased, func(m map[string]any) { stop(m, 0)["window"] = null }, nil, ""},
	{"accessorial empty", TypeOrderReleased, set("accessorials", []any{"liftgate", ""}), f("data.accessorials[1]"), ""},
	{"accessorial a number", TypeOrderReleased, set("accessorials", []any{7}), f("data.accessorials[0]"), ""},
	{"accessorials a string", TypeOrderReleased, set("accessorials", "liftgate"), f("data.accessorials"), ""},
	{"accessorials empty", TypeOrderReleased, set("accessorials", []any{}), nil, ""},
	{"weight negative", TypeOrderReleased, set("weight_kg", -1), f("data.weight_kg"), ""},
	{"weight a string", TypeOrderReleased, set("weight_kg", "12"), f("data.weight_kg"), ""},
	{"weight beyond float64", TypeOrderReleased, set("weight_kg", json.RawMessage("1e400")), f("data.weight_kg"), schemaFinite},
	{"pieces fractional", TypeOrderReleased, set("pieces", 1.5), f("data.pieces"), ""},
	{"pieces negative", TypeOrderReleased, set("pieces", -1), f("data.pieces"), ""},
	{"pieces written 12.0", TypeOrderReleased, set("pieces", json.RawMessage("12.0")), f("data.pieces"), schemaLiteral},
	{"pieces written 1e3", TypeOrderReleased, set("pieces", json.RawMessage("1e3")), f("data.pieces"), schemaLiteral},
	{"pieces too many", TypeOrderReleased, set("pieces", 2000000000), f("data.pieces"), ""},
	{"pieces zero", TypeOrderReleased, set("pieces", 0), nil, ""},
	{"reference not a string", TypeOrderReleased, set("references", map[string]any{"po": 5}), f("data.references.po"), ""},
	{"reference name with a space", TypeOrderReleased, set("references", map[string]any{"PO no.": 5}), f(`data.references["PO no."]`), ""},
	{"references an array", TypeOrderReleased, set("references", []any{"PO-1"}), f("data.references"), ""},
	{"temperature range", TypeOrderReleased, set("temperature", map[string]any{"min_c": 2, "max_c": 8}), nil, ""},
	{"temperature of one degree", TypeOrderReleased, set("temperature", map[string]any{"min_c": -18, "max_c": -18}), nil, ""},
	{"temperature reversed", TypeOrderReleased, set("temperature", map[string]any{"min_c": 8, "max_c": 2}), f("data.temperature.max_c"), schemaOrder},
	{"temperature without max", TypeOrderReleased, set("temperature", map[string]any{"min_c": 2}), f("data.temperature.max_c"), ""},
	{"temperature beyond a reefer", TypeOrderReleased, set("temperature", map[string]any{"min_c": -200, "max_c": 8}), f("data.temperature.min_c"), ""},
	{"unknown data member", TypeOrderReleased, set("priority", "high"), nil, ""},
	{"data member in another case", TypeOrderReleased, set("Order_ID", "SO-2"), f("data.Order_ID"), schemaRawString},
	{"many order errors in order", TypeOrderReleased, func(m map[string]any) {
		delete(data(m), "customer_id")
		loc(m, 0)["lat"] = 100
		stop(m, 1)["type"] = "drop"
		data(m)["pieces"] = -2
	}, f("data.customer_id", "data.stops[0].location.lat", "data.stops[1].type", "data.pieces"), ""},

	// route.assigned
	{"valid assignment", TypeRouteAssigned, nil, nil, ""},
	{"vehicle missing", TypeRouteAssigned, set("vehicle_id", nil), f("data.vehicle_id"), ""},
	{"driver a number", TypeRouteAssigned, set("driver_id", 3), f("data.driver_id"), ""},
	{"planned departure malformed", TypeRouteAssigned, set("planned_departure", "tomorrow"), f("data.planned_departure"), ""},
	{"planned departure absent", TypeRouteAssigned, set("planned_departure", nil), nil, ""},
	{"planned departure null", TypeRouteAssigned, set("planned_departure", null), nil, ""},
	{"route", TypeRouteAssigned, set("route", map[string]any{"type": "LineString", "coordinates": []any{[]any{8.68, 50.11}, []any{11.58, 48.14, 520}}}), nil, ""},
	{"route of one point", TypeRouteAssigned, set("route", map[string]any{"type": "LineString", "coordinates": []any{[]any{8.68, 50.11}}}), f("data.route.coordinates"), ""},
	{"route lat and lon swapped", TypeRouteAssigned, set("route", map[string]any{"type": "LineString", "coordinates": []any{[]any{8.68, 50.11}, []any{50.11, 181}}}), f("data.route.coordinates[1][1]"), ""},
	{"route position a pair object", TypeRouteAssigned, set("route", map[string]any{"type": "LineString", "coordinates": []any{[]any{8.68, 50.11}, map[string]any{"lat": 1, "lon": 2}}}), f("data.route.coordinates[1]"), ""},
	{"route a polygon", TypeRouteAssigned, set("route", map[string]any{"type": "Polygon", "coordinates": []any{[]any{8.68, 50.11}, []any{11.58, 48.14}}}), f("data.route.type"), ""},

	// shipment.milestone
	{"valid milestone", TypeShipmentMilestone, nil, nil, ""},
	{"milestone code unknown", TypeShipmentMilestone, set("code", "teleported"), f("data.code"), ""},
	{"milestone code missing", TypeShipmentMilestone, set("code", nil), f("data.code"), ""},
	{"milestone each code", TypeShipmentMilestone, set("code", MilestoneInTransit), nil, ""},
	{"milestone stop id empty", TypeShipmentMilestone, set("stop_id", ""), f("data.stop_id"), ""},
	{"milestone without stop", TypeShipmentMilestone, set("stop_id", nil), nil, ""},
	{"milestone location without lon", TypeShipmentMilestone, set("location", map[string]any{"lat": 1}), f("data.location.lon"), ""},
	{"milestone location a string", TypeShipmentMilestone, set("location", "Frankfurt"), f("data.location"), ""},
	{"milestone reason of 1000 characters", TypeShipmentMilestone, set("reason", strings.Repeat("é", 1000)), nil, ""},
	{"milestone reason of 1001 characters", TypeShipmentMilestone, set("reason", strings.Repeat("x", 1001)), f("data.reason"), ""},

	// delivery.completed
	{"valid POD", TypeDeliveryCompleted, nil, nil, ""},
	{"POD without signed_by", TypeDeliveryCompleted, set("signed_by", nil), nil, ""},
	{"POD with empty signed_by", TypeDeliveryCompleted, set("signed_by", ""), nil, ""},
	{"POD with null signed_by", TypeDeliveryCompleted, set("signed_by", null), nil, ""},
	{"POD signed_by a number", TypeDeliveryCompleted, set("signed_by", 5), f("data.signed_by"), ""},
	{"POD signature an object", TypeDeliveryCompleted, set("signature", map[string]any{}), f("data.signature"), ""},
	{"POD without stop", TypeDeliveryCompleted, set("stop_id", nil), f("data.stop_id"), ""},
	{"POD without location", TypeDeliveryCompleted, set("location", nil), f("data.location"), ""},
	{"POD location without lat", TypeDeliveryCompleted, set("location", map[string]any{"lon": 1}), f("data.location.lat"), ""},
	{"POD pieces negative", TypeDeliveryCompleted, set("pieces", -1), f("data.pieces"), ""},
	{"POD exception without code", TypeDeliveryCompleted, set("exceptions", []any{map[string]any{"note": "x"}}), f("data.exceptions[0].code"), ""},
	{"POD exception code empty", TypeDeliveryCompleted, set("exceptions", []any{map[string]any{"code": "damaged"}, map[string]any{"code": ""}}), f("data.exceptions[1].code"), ""},
	{"POD exception a string", TypeDeliveryCompleted, set("exceptions", []any{"damaged"}), f("data.exceptions[0]"), ""},
	{"POD exceptions an object", TypeDeliveryCompleted, set("exceptions", map[string]any{"code": "damaged"}), f("data.exceptions"), ""},
	{"POD exception note too long", TypeDeliveryCompleted, set("exceptions", []any{map[string]any{"code": "x", "note": strings.Repeat("n", 2001)}}), f("data.exceptions[0].note"), ""},

	// shipment.cancelled
	{"cancellation without reason", TypeShipmentCancelled, set("reason", nil), nil, ""},
	{"cancellation reason a number", TypeShipmentCancelled, set("reason", 5), f("data.reason"), ""},

	// telemetry.position
	{"valid position", TypeTelemetryPosition, nil, nil, ""},
	{"position without lat", TypeTelemetryPosition, set("lat", nil), f("data.lat"), ""},
	{"position without lat and lon", TypeTelemetryPosition, func(m map[string]any) { delete(data(m), "lat"); delete(data(m), "lon") }, f("data.lat", "data.lon"), ""},
	{"position at 0,0", TypeTelemetryPosition, func(m map[string]any) { data(m)["lat"], data(m)["lon"] = 0, 0 }, nil, ""},
	{"position lat a string", TypeTelemetryPosition, set("lat", "49.5"), f("data.lat"), ""},
	{"position speed negative", TypeTelemetryPosition, set("speed_kph", -3), f("data.speed_kph"), ""},
	{"position heading 360", TypeTelemetryPosition, set("heading", 360), nil, ""},
	{"position heading 361", TypeTelemetryPosition, set("heading", 361), f("data.heading"), ""},
	{"position heading negative", TypeTelemetryPosition, set("heading", -0.5), f("data.heading"), ""},
	{"position odometer negative", TypeTelemetryPosition, set("odometer_km", -1), f("data.odometer_km"), ""},
	{"position temperature 101", TypeTelemetryPosition, set("temperature_c", 101), f("data.temperature_c"), ""},
	{"position temperature -100", TypeTelemetryPosition, set("temperature_c", -100), nil, ""},
	{"position optional members null", TypeTelemetryPosition, func(m map[string]any) {
		for _, k := range []string{"speed_kph", "heading", "odometer_km", "temperature_c"} {
			data(m)[k] = null
		}
	}, nil, ""},

	// fuel.purchased
	{"valid fuel", TypeFuelPurchased, nil, nil, ""},
	{"fuel amount a number", TypeFuelPurchased, set("amount", 84.2), nil, ""},
	{"fuel amount an integer", TypeFuelPurchased, set("amount", 84), nil, ""},
	{"fuel amount with trailing zeros", TypeFuelPurchased, set("amount", "84.20000"), nil, ""},
	{"fuel amount with 4 places", TypeFuelPurchased, set("amount", json.RawMessage("84.1234")), nil, ""},
	{"fuel amount with 5 places", TypeFuelPurchased, set("amount", "84.12345"), f("data.amount"), ""},
	{"fuel amount number with 5 places", TypeFuelPurchased, set("amount", json.RawMessage("84.12345")), f("data.amount"), ""},
	{"fuel amount with a comma", TypeFuelPurchased, set("amount", "12,50"), f("data.amount"), ""},
	{"fuel amount negative", TypeFuelPurchased, set("amount", -1), f("data.amount"), ""},
	{"fuel amount negative string", TypeFuelPurchased, set("amount", "-1.00"), f("data.amount"), ""},
	{"fuel amount with exponent", TypeFuelPurchased, set("amount", json.RawMessage("1e3")), f("data.amount"), schemaLiteral},
	{"fuel amount of 16 digits", TypeFuelPurchased, set("amount", "1234567890123456"), f("data.amount"), ""},
	{"fuel amount a boolean", TypeFuelPurchased, set("amount", true), f("data.amount"), ""},
	{"fuel amount missing", TypeFuelPurchased, set("amount", nil), f("data.amount"), ""},
	{"fuel amount empty", TypeFuelPurchased, set("amount", ""), f("data.amount"), ""},
	{"fuel liters zero", TypeFuelPurchased, set("liters", 0), f("data.liters"), ""},
	{"fuel liters missing", TypeFuelPurchased, set("liters", nil), f("data.liters"), ""},
	{"fuel liters a string", TypeFuelPurchased, set("liters", "310"), f("data.liters"), ""},
	{"fuel currency lowercase", TypeFuelPurchased, set("currency", "eur"), f("data.currency"), ""},
	{"fuel currency of 4 letters", TypeFuelPurchased, set("currency", "EURO"), f("data.currency"), ""},
	{"fuel currency numeric", TypeFuelPurchased, set("currency", 978), f("data.currency"), ""},
	{"fuel currency missing", TypeFuelPurchased, set("currency", nil), f("data.currency"), ""},
	{"fuel lat without lon", TypeFuelPurchased, set("lon", nil), f("data.lon"), ""},
	{"fuel lon without lat", TypeFuelPurchased, set("lat", nil), f("data.lat"), ""},
	{"fuel lat null and lon", TypeFuelPurchased, set("lat", null), f("data.lat"), ""},
	{"fuel without position", TypeFuelPurchased, func(m map[string]any) { delete(data(m), "lat"); delete(data(m), "lon") }, nil, ""},
	{"fuel lat out of range", TypeFuelPurchased, set("lat", 91), f("data.lat"), ""},
	{"fuel station too long", TypeFuelPurchased, set("station", strings.Repeat("s", 257)), f("data.station"), ""},

	// tender.responded
	{"valid tender", TypeTenderResponded, nil, nil, ""},
	{"tender without carrier", TypeTenderResponded, set("carrier", nil), f("data.carrier"), ""},
	{"tender response unknown", TypeTenderResponded, set("response", "maybe"), f("data.response"), ""},
	{"tender response missing", TypeTenderResponded, set("response", nil), f("data.response"), ""},
	{"tender conditional with reason", TypeTenderResponded, func(m map[string]any) { data(m)["response"], data(m)["reason"] = "conditional", "+1 day" }, nil, ""},
	{"tender reason a number", TypeTenderResponded, set("reason", 1), f("data.reason"), ""},

	// shipment.status_changed
	{"valid status change", TypeShipmentStatusChanged, nil, nil, ""},
	{"first status", TypeShipmentStatusChanged, set("from", ""), nil, ""},
	{"status from absent", TypeShipmentStatusChanged, set("from", nil), nil, ""},
	{"status to empty", TypeShipmentStatusChanged, set("to", ""), f("data.to"), ""},
	{"status to missing", TypeShipmentStatusChanged, set("to", nil), f("data.to"), ""},
	{"status to a number", TypeShipmentStatusChanged, set("to", 3), f("data.to"), ""},
}

func fieldsOf(err error) []string {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	out := make([]string, len(ve.Errors))
	for i, fe := range ve.Errors {
		out[i] = fe.Field
	}
	return out
}

func TestRules(t *testing.T) {
	t.Parallel()
	for _, tc := range ruleCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := mutate(t, tc.typ, tc.f)
			ev, typed, err := ParseEvent(raw, now, DefaultLimits())
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				checkAccepted(t, ev, typed)
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a *ValidationError, got %v (%T)", err, err)
			}
			if typed != nil {
				t.Errorf("typed data %T returned with an error", typed)
			}
			if got := fieldsOf(err); !slices.Equal(got, tc.want) {
				t.Fatalf("error fields %q, want %q: %v", got, tc.want, err)
			}
			for _, fe := range ve.Errors {
				if fe.Message == "" || strings.Contains(fe.Message, "json:") || strings.Contains(fe.Message, "Go ") {
					t.Errorf("message %q of %s", fe.Message, fe.Field)
				}
			}
		})
	}
}

// checkAccepted checks what every accepted event must satisfy: typed data
// of its type, equal to what DecodeData reads from the raw data, and the
// event and data survive a re-encoding.
func checkAccepted(t testing.TB, ev Event, typed any) {
	t.Helper()
	if typed == nil || reflect.TypeOf(typed) != reflect.TypeOf(types[ev.Type].newData()) {
		t.Fatalf("typed data %T for %s", typed, ev.Type)
	}
	dec, err := DecodeData(ev)
	if err != nil {
		t.Fatalf("DecodeData of accepted data %s: %v", ev.Data, err)
	}
	if a, b := mustJSON(t, typed), mustJSON(t, dec); !bytes.Equal(a, b) {
		t.Fatalf("ParseEvent data %s, DecodeData %s", a, b)
	}
	again, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	ev2, typed2, err := ParseEvent(again, time.Time{}, DefaultLimits())
	if err != nil {
		t.Fatalf("re-parse of %s: %v", again, err)
	}
	if !sameEvent(ev, ev2) {
		t.Fatalf("event changed on re-encoding:\n%+v\n%+v", ev, ev2)
	}
	if a, b := mustJSON(t, typed), mustJSON(t, typed2); !bytes.Equal(a, b) {
		t.Fatalf("data changed on re-encoding: %s vs %s", a, b)
	}
	// Typed data marshals to data that validates to the same value: what
	// a producer building events from the structs relies on.
	ev3 := ev
	ev3.Data = mustJSON(t, typed)
	typed3, err := Validate(ev3, time.Time{}, DefaultLimits())
	if err != nil {
		t.Fatalf("typed data %s does not validate: %v", ev3.Data, err)
	}
	if a, b := mustJSON(t, typed), mustJSON(t, typed3); !bytes.Equal(a, b) {
		t.Fatalf("typed data changed: %s vs %s", a, b)
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameEvent compares events: times as instants with the same offset, data
// as JSON values (encoding/json escapes <, > and & when it re-encodes).
func sameEvent(a, b Event) bool {
	_, offA := a.Time.Zone()
	_, offB := b.Time.Zone()
	return a.SpecVersion == b.SpecVersion && a.ID == b.ID && a.Source == b.Source && a.Type == b.Type &&
		a.Subject == b.Subject && a.Time.Equal(b.Time) && offA == offB && a.DataContentType == b.DataContentType &&
		a.CorrelationID == b.CorrelationID && a.CausationID == b.CausationID && sameJSON(a.Data, b.Data)
}

func sameJSON(a, b []byte) bool {
	decode := func(b []byte) (any, error) {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var v any
		return v, d.Decode(&v)
	}
	va, errA := decode(a)
	vb, errB := decode(b)
	return errA == nil && errB == nil && reflect.DeepEqual(va, vb)
}

func TestGoldenEvents(t *testing.T) {
	t.Parallel()
	for _, typ := range allTypes() {
		raw := golden(t, typ)
		ev, typed, err := ParseEvent(raw, now, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if ev.Type != typ || ev.SpecVersion != SpecVersion || ev.ID == "" || !ev.Time.Equal(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)) {
			t.Fatalf("%s: envelope %+v", typ, ev)
		}
		checkAccepted(t, ev, typed)
		if ShipmentSubject(typ) != strings.HasPrefix(ev.Subject, "SHP-") {
			t.Errorf("%s: subject %s", typ, ev.Subject)
		}
	}
}

// TestGoldenData pins the typed data of the golden events field by field.
func TestGoldenData(t *testing.T) {
	t.Parallel()
	parse := func(typ string) any {
		_, typed, err := ParseEvent(golden(t, typ), now, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		return typed
	}
	ptr := func(f float64) *float64 { return &f }
	pieces := 12
	at := func(h int) time.Time { return time.Date(2026, 11, 22, h, 0, 0, 0, time.UTC) }
	dep := at(9)
	since := time.Date(2026, 11, 22, 9, 48, 0, 0, time.UTC)
	want := map[string]any{
		TypeOrderReleased: &OrderReleased{OrderID: "SO-1001", CustomerID: "CUST-7", Stops: []Stop{
			{ID: "S1", Type: StopPickup, Location: Location{ID: "WH-FRA", Lat: 50.11, Lon: 8.68, RadiusM: 200}, Window: &Window{From: at(8), To: at(10)}},
			{ID: "S2", Type: StopDelivery, Location: Location{Lat: 48.14, Lon: 11.58, RadiusM: 250}},
		}, Accessorials: []string{"liftgate"}, WeightKg: ptr(1200.5), Pieces: &pieces, References: map[string]string{"po": "PO-9"}},
		TypeRouteAssigned:     &RouteAssigned{VehicleID: "TRK-12", DriverID: "DRV-3", PlannedDeparture: &dep},
		TypeShipmentMilestone: &ShipmentMilestone{Code: MilestoneDeparted, StopID: "S1", Location: &Point{Lat: 50.1, Lon: 8.6}},
		TypeDeliveryCompleted: &DeliveryCompleted{StopID: "S2", SignedBy: "Jane Doe", Signature: "sig-ref-1", Location: Point{Lat: 48.14, Lon: 11.58},
			Pieces: &pieces, Exceptions: []PODException{{Code: "damaged", Note: "1 carton crushed"}}},
		TypeShipmentCancelled:     &ShipmentCancelled{Reason: "customer request"},
		TypeTelemetryPosition:     &TelemetryPosition{Lat: 49.5, Lon: 9.9, SpeedKph: ptr(82.5), Heading: ptr(135), OdometerKm: ptr(120344.2), TemperatureC: ptr(4.5)},
		TypeFuelPurchased:         &FuelPurchased{Liters: 310.4, Amount: "512.16", Currency: "EUR", Lat: ptr(49.4), Lon: ptr(9.8), Station: "Aral Würzburg"},
		TypeTenderResponded:       &TenderResponded{Carrier: "ACME", Response: TenderAccepted},
		TypeShipmentStatusChanged: &StatusChanged{From: "planned", To: "in_transit"},
		TypeShipmentException: &ShipmentException{Code: ExceptionTemperature, Detail: "cargo at 9.4 °C since 09:48, outside 2..8 °C",
			VehicleID: "TRK-12", Since: &since, ReadingC: ptr(9.4), MinC: ptr(2), MaxC: ptr(8), Location: &Point{Lat: 50.11, Lon: 8.68}},
	}
	for _, typ := range allTypes() {
		if got := parse(typ); !reflect.DeepEqual(got, want[typ]) {
			t.Errorf("%s:\n got %#v\nwant %#v", typ, got, want[typ])
		}
	}
}

// TestRawBodies covers what a generic map cannot produce: broken JSON,
// repeated and escaped member names, invalid UTF-8.
func TestRawBodies(t *testing.T) {
	t.Parallel()
	ok := string(golden(t, TypeShipmentCancelled))
	body := func(old, new string) string {
		if !strings.Contains(ok, old) {
			t.Fatalf("golden has no %s", old)
		}
		return strings.Replace(ok, old, new, 1)
	}
	tests := []struct {
		name, raw string
		fields    []string // nil: valid
		msg       string   // in the first message
	}{
		{"empty", "", f(""), "body is not valid JSON: unexpected end of JSON input"},
		{"blank", " \n", f(""), "body is not valid JSON"},
		{"truncated", ok[:40], f(""), "body is not valid JSON: unexpected end of JSON input"},
		{"trailing garbage", ok + "x", f(""), "body is not valid JSON: invalid character 'x' after top-level value"},
		{"two events", ok + ok, f(""), "body is not valid JSON"},
		{"single quotes", "{'id':'x'}", f(""), "(at byte 2)"},
		{"an array", "[" + ok + "]", f(""), "event must be a JSON object, not an array"},
		{"a string", `"event"`, f(""), "event must be a JSON object, not a string"},
		{"null", `null`, f(""), "event must be a JSON object, not null"},
		{"invalid UTF-8", body(`"customer request"`, "\"customer \xff request\""), f(""), "body is not valid UTF-8 (first bad byte at offset"},
		{"repeated id", body(`"id":"e5"`, `"id":"e5","id":"e6"`), f("id"), "appears more than once"},
		{"repeated data member", body(`"reason":"customer request"`, `"reason":5,"reason":"x"`), f("data.reason"), "appears more than once"},
		{"member name in another case", body(`"reason":"customer request"`, `"Reason":"x"`), f("data.Reason"), `did you mean "reason"?`},
		{"member name folding to a known one", body(`"reason":"customer request"`, `"reaſon":"x"`), f("data.reaſon"), `did you mean "reason"?`},
		{"escaped member name", body(`"reason"`, `"re\u0061son"`), nil, ""},
		{"escaped string", body(`"customer request"`, `"customer \"urgent\"\n request \ud83d\ude9a"`), nil, ""},
		{"escaped control in an id", body(`"id":"e5"`, `"id":"e\u00005"`), f("id"), "must not contain control characters"},
		{"escaped time", body(`"time":"2026-11-22T10:00:00Z"`, `"time":"2026-11-22T10:00:00\u005a"`), f("time"), "RFC 3339"},
		{"whitespace around", "\n\t " + ok + " \r\n", nil, ""},
		{"deep extension", body(`{"specversion"`, `{"x":`+strings.Repeat("[", 9990)+strings.Repeat("]", 9990)+`,"specversion"`), nil, ""},
		{"too deep", body(`{"specversion"`, `{"x":`+strings.Repeat("[", 10000)+strings.Repeat("]", 10000)+`,"specversion"`), f(""), "exceeded max depth"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, typed, err := ParseEvent([]byte(tc.raw), now, DefaultLimits())
			if tc.fields == nil {
				if err != nil {
					t.Fatal(err)
				}
				checkAccepted(t, ev, typed)
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a *ValidationError, got %v", err)
			}
			if got := fieldsOf(err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %q, want %q: %v", got, tc.fields, err)
			}
			if !strings.Contains(ve.Errors[0].Message, tc.msg) {
				t.Fatalf("message %q does not contain %q", ve.Errors[0].Message, tc.msg)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ   string
		f     func(m map[string]any)
		field string
		msg   string
	}{
		{TypeShipmentCancelled, env("id", 7), "id", "must be a string, not a number"},
		{TypeShipmentCancelled, env("id", nil), "id", "is required"},
		{TypeShipmentCancelled, env("id", strings.Repeat("x", 300)), "id", "must be at most 256 bytes long (got 300)"},
		{TypeShipmentCancelled, env("specversion", "0.3"), "specversion", `must be "1.0" (got "0.3")`},
		{TypeShipmentCancelled, env("type", "shipment.lost"), "type", `unknown event type "shipment.lost"; known types: ` + strings.Join(allTypes(), ", ")},
		{TypeShipmentCancelled, env("time", "22.11.2026 10:00"), "time", `must be an RFC 3339 time such as 2026-11-22T10:00:00Z or 2026-11-22T11:00:00.250+01:00 (got "22.11.2026 10:00")`},
		{TypeShipmentCancelled, env("time", "2026-11-24T12:00:00Z"), "time", "is 48h0m0s ahead of the hub's clock; at most 24h0m0s ahead is accepted"},
		{TypeShipmentCancelled, env("time", "1970-01-01T01:00:00+02:00"), "time", "must not be before 1970-01-01T00:00:00Z (got 1970-01-01T01:00:00+02:00)"},
		{TypeShipmentCancelled, env("data", []any{}), "data", "must be an object, not an array"},
		{TypeShipmentCancelled, env("datacontenttype", "text/xml"), "datacontenttype", `must be application/json, optionally with parameters (got "text/xml")`},
		{TypeOrderReleased, func(m map[string]any) { loc(m, 1)["lat"] = 91 }, "data.stops[1].location.lat", "must be between -90 and 90 (got 91)"},
		{TypeOrderReleased, func(m map[string]any) { delete(loc(m, 1), "lat") }, "data.stops[1].location.lat", "is required"},
		{TypeOrderReleased, func(m map[string]any) { stop(m, 1)["id"] = "S1" }, "data.stops[1].id", `duplicate stop id "S1": stops[0] has it too; stop ids must be unique within the order`},
		{TypeOrderReleased, func(m map[string]any) { stop(m, 1)["type"] = "pickup" }, "data.stops", `must include at least one stop of type "delivery"`},
		{TypeOrderReleased, func(m map[string]any) { stop(m, 1)["type"] = "drop" }, "data.stops[1].type", `must be one of "pickup", "delivery" (got "drop")`},
		{TypeOrderReleased, set("pieces", json.RawMessage("12.0")), "data.pieces", "must be a whole number written without fraction or exponent, such as 12 (got 12.0)"},
		{TypeOrderReleased, func(m map[string]any) {
			stop(m, 0)["window"] = map[string]any{"from": "2026-11-22T10:00:00Z", "to": "2026-11-22T09:00:00Z"}
		}, "data.stops[0].window.to", "must not be before window.from (2026-11-22T10:00:00Z)"},
		{TypeFuelPurchased, set("amount", "12,50"), "data.amount", `must be a non-negative decimal with at most 4 decimal places and no exponent, such as "84.20" (got "12,50")`},
		{TypeFuelPurchased, set("liters", 0), "data.liters", "must be greater than 0 (got 0)"},
		{TypeFuelPurchased, set("currency", "eur"), "data.currency", `must be an ISO 4217 code of 3 uppercase letters such as "EUR" (got "eur")`},
		{TypeShipmentMilestone, set("reason", strings.Repeat("x", 1001)), "data.reason", "must be at most 1000 characters long (got 1001)"},
		{TypeShipmentMilestone, set("Code", "x"), "data.Code", `is not a known member; names are case-sensitive: did you mean "code"?`},
	}
	for _, tc := range tests {
		_, _, err := ParseEvent(mutate(t, tc.typ, tc.f), now, DefaultLimits())
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Errors) != 1 {
			t.Errorf("%s: want one error, got %v", tc.field, err)
			continue
		}
		if got := ve.Errors[0]; got.Field != tc.field || got.Message != tc.msg {
			t.Errorf("got  %s: %s\nwant %s: %s", got.Field, got.Message, tc.field, tc.msg)
		}
	}
}

func TestValidationErrorText(t *testing.T) {
	t.Parallel()
	err := &ValidationError{Errors: []FieldError{
		{Field: "data.stops[1].location.lat", Message: "must be between -90 and 90"},
		{Field: "", Message: "body is not valid JSON"},
		{Field: "time", Message: "is required"},
	}}
	want := "data.stops[1].location.lat: must be between -90 and 90; body is not valid JSON; time: is required"
	if err.Error() != want {
		t.Fatalf("%q", err.Error())
	}
	b, _ := json.Marshal(err.Errors[0])
	if string(b) != `{"field":"data.stops[1].location.lat","message":"must be between -90 and 90"}` {
		t.Fatalf("%s", b)
	}
}

func TestPartialEventOnError(t *testing.T) {
	t.Parallel()
	raw := mutate(t, TypeShipmentMilestone, set("code", "x"))
	ev, typed, err := ParseEvent(raw, now, DefaultLimits())
	if err == nil || typed != nil {
		t.Fatal("accepted")
	}
	if ev.ID != "e3" || ev.Source != "tms/acme" || ev.Type != TypeShipmentMilestone || ev.Subject != "SHP-1001" || ev.CorrelationID != "c-1" || len(ev.Data) == 0 {
		t.Fatalf("partial event %+v", ev)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	if d := DefaultLimits(); d != (Limits{MaxIDLen: 256, MaxDataBytes: 256 << 10, MaxFuture: 24 * time.Hour, MaxStops: 200}) {
		t.Fatalf("defaults %+v", d)
	}
	order := golden(t, TypeOrderReleased)
	tests := []struct {
		name  string
		lim   Limits
		raw   []byte
		now   time.Time
		field string // "": valid
	}{
		{"zero limits are the defaults", Limits{}, order, now, ""},
		{"one stop at most", Limits{MaxStops: 1}, order, now, "data.stops"},
		{"ids of 4 bytes at most", Limits{MaxIDLen: 4}, order, now, "source"},
		{"data of 100 bytes at most", Limits{MaxDataBytes: 100}, order, now, "data"},
		{"data of its own size", Limits{MaxDataBytes: 500}, mutate(t, TypeShipmentCancelled, nil), now, ""},
		{"an hour ahead at most", Limits{MaxFuture: time.Hour}, mutate(t, TypeShipmentCancelled, env("time", "2026-11-22T13:00:01Z")), now, "time"},
		{"zero now skips the future bound", Limits{}, mutate(t, TypeShipmentCancelled, env("time", "2099-01-01T00:00:00Z")), time.Time{}, ""},
	}
	for _, tc := range tests {
		_, _, err := ParseEvent(tc.raw, tc.now, tc.lim)
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if got := fieldsOf(err); len(got) == 0 || got[0] != tc.field {
			t.Errorf("%s: fields %q, want %s first", tc.name, got, tc.field)
		}
	}
}

func TestSplitBatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body  string
		items []string
		batch bool
		msg   string // the error message starts with it; "" for none
	}{
		{`{"id":"x"}`, []string{`{"id":"x"}`}, false, ""},
		{" \n{\"id\":\"x\"}\t", []string{`{"id":"x"}`}, false, ""},
		{` [{"id":"x"} , {"id":"y"}] `, []string{`{"id":"x"}`, `{"id":"y"}`}, true, ""},
		{`[1, "a", null, [{}]]`, []string{`1`, `"a"`, `null`, `[{}]`}, true, ""},
		{``, nil, false, "body is empty: send one CloudEvent"},
		{"  \r\n", nil, false, "body is empty"},
		{`[]`, nil, true, "batch is empty: send at least one event"},
		{`[ ]`, nil, true, "batch is empty"},
		{`"event"`, nil, false, "body must be a CloudEvent (a JSON object) or a JSON array of them, not a string"},
		{`42`, nil, false, "body must be a CloudEvent (a JSON object) or a JSON array of them, not a number"},
		{`true`, nil, false, "body must be a CloudEvent (a JSON object) or a JSON array of them, not a boolean"},
		{`null`, nil, false, "body must be a CloudEvent (a JSON object) or a JSON array of them, not null"},
		{`{"id":`, nil, false, "body is not valid JSON: unexpected end of JSON input"},
		{`{} {}`, nil, false, "body is not valid JSON: invalid character '{' after top-level value (at byte 4)"},
		{`[{"id":1},]`, nil, false, "body is not valid JSON"},
		{"x", nil, false, "body is not valid JSON"},
	}
	for _, tc := range tests {
		items, batch, err := SplitBatch([]byte(tc.body))
		var got []string
		for _, it := range items {
			got = append(got, string(it))
		}
		if !slices.Equal(got, tc.items) || batch != tc.batch {
			t.Errorf("%q: items %q batch %v", tc.body, got, batch)
		}
		if tc.msg == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.body, err)
			}
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0].Field != "" || !strings.HasPrefix(ve.Errors[0].Message, tc.msg) {
			t.Errorf("%q: error %v, want %q", tc.body, err, tc.msg)
		}
	}
	// Items cannot be grown into the rest of the body.
	body := []byte(`[{"a":1},{"b":2}]`)
	items, _, _ := SplitBatch(body)
	_ = append(items[0], 'x')
	if string(body) != `[{"a":1},{"b":2}]` {
		t.Fatalf("body overwritten: %s", body)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	sc := mustJSON(t, StatusChanged{From: "", To: "planned"})
	ev := Event{SpecVersion: SpecVersion, ID: "d-1", Source: "crossdock/status", Type: TypeShipmentStatusChanged,
		Subject: "SHP-1", Time: now, CausationID: "e1", CorrelationID: "c-1", Data: sc}
	typed, err := Validate(ev, now, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got := typed.(*StatusChanged); got.To != "planned" || got.From != "" {
		t.Fatalf("%+v", got)
	}
	tests := []struct {
		name   string
		f      func(e *Event)
		fields []string
	}{
		{"zero time", func(e *Event) { e.Time = time.Time{} }, f("time")},
		{"year 10000", func(e *Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, f("time")},
		{"no data", func(e *Event) { e.Data = nil }, f("data")},
		{"broken data", func(e *Event) { e.Data = json.RawMessage(`{"to":`) }, f("data")},
		{"data of the wrong type", func(e *Event) { e.Data = mustJSON(t, ShipmentCancelled{}) }, f("data.to")},
		{"no specversion", func(e *Event) { e.SpecVersion = "" }, f("specversion")},
		{"no id and source", func(e *Event) { e.ID, e.Source = "", "" }, f("id", "source")},
		{"unknown type", func(e *Event) { e.Type = "x" }, f("type")},
	}
	for _, tc := range tests {
		e := ev
		tc.f(&e)
		if _, err := Validate(e, now, DefaultLimits()); !slices.Equal(fieldsOf(err), tc.fields) {
			t.Errorf("%s: %v, want fields %q", tc.name, err, tc.fields)
		}
	}
}

func TestDecodeData(t *testing.T) {
	t.Parallel()
	for _, typ := range allTypes() {
		ev, typed, err := ParseEvent(golden(t, typ), now, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		dec, err := DecodeData(ev)
		if err != nil || !reflect.DeepEqual(dec, typed) {
			t.Fatalf("%s: DecodeData %#v, %v", typ, dec, err)
		}
	}
	if _, err := DecodeData(Event{Type: "nope", Data: json.RawMessage(`{}`)}); err == nil {
		t.Fatal("unknown type decoded")
	}
	if _, err := DecodeData(Event{Type: TypeShipmentMilestone, Data: json.RawMessage(`{"code":1}`)}); err == nil {
		t.Fatal("mistyped data decoded")
	}
	// Without validation: a milestone with an unknown code decodes as is.
	d, err := DecodeData(Event{Type: TypeShipmentMilestone, Data: json.RawMessage(`{"code":"teleported"}`)})
	if err != nil || d.(*ShipmentMilestone).Code != "teleported" {
		t.Fatalf("%#v %v", d, err)
	}
}

func TestDecimal(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`"84.20"`: "84.20", `84.2`: "84.2", `0`: "0", `"1e3"`: "1e3", ` 12.50 `: "12.50"} {
		var d Decimal
		if err := json.Unmarshal([]byte(in), &d); err != nil || string(d) != want || d.String() != want {
			t.Errorf("%s → %q %v", in, d, err)
		}
		if b := mustJSON(t, d); string(b) != `"`+want+`"` {
			t.Errorf("%s marshals as %s", in, b)
		}
	}
	d := Decimal("5")
	if err := json.Unmarshal([]byte(`null`), &d); err != nil || d != "5" {
		t.Errorf("null: %q %v", d, err)
	}
	for _, in := range []string{`true`, `{}`, `"x`} {
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("%s decoded", in)
		}
	}
	for s, ok := range map[string]bool{
		"0": true, "1": true, "1.5": true, "1.2345": true, "1.23450000": true, "007.5": true, "123456789012345": true,
		"1.23456": false, "-1": false, "1.": false, ".5": false, "": false, "1e3": false, "1,5": false, " 1": false,
		"1234567890123456": false, "1.2.3": false, "+1": false,
	} {
		if validDecimal(s, maxDecimalPlaces) != ok {
			t.Errorf("validDecimal(%q) != %v", s, ok)
		}
	}
}

func TestTypes(t *testing.T) {
	t.Parallel()
	inbound := []string{"delivery.completed", "fuel.purchased", "order.released", "route.assigned", "shipment.cancelled",
		"shipment.milestone", "telemetry.position", "tender.responded"}
	if got := InboundTypes(); !slices.Equal(got, inbound) {
		t.Fatalf("InboundTypes %q", got)
	}
	if got := DerivedTypes(); !slices.Equal(got, []string{"shipment.exception", "shipment.status_changed"}) {
		t.Fatalf("DerivedTypes %q", got)
	}
	InboundTypes()[0] = "changed"
	if InboundTypes()[0] != "delivery.completed" {
		t.Fatal("InboundTypes shares its slice")
	}
	for _, typ := range inbound {
		if !IsInbound(typ) {
			t.Errorf("IsInbound(%s)", typ)
		}
	}
	for _, typ := range []string{"shipment.status_changed", "", "x"} {
		if IsInbound(typ) || (typ != "shipment.status_changed" && ShipmentSubject(typ)) {
			t.Errorf("%q", typ)
		}
	}
	for _, typ := range allTypes() {
		vehicle := typ == TypeTelemetryPosition || typ == TypeFuelPurchased
		if ShipmentSubject(typ) == vehicle {
			t.Errorf("ShipmentSubject(%s) = %v", typ, !vehicle)
		}
	}
}

func BenchmarkParseEvent(b *testing.B) {
	raw := golden(b, TypeShipmentMilestone)
	lim := DefaultLimits()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, _, err := ParseEvent(raw, now, lim); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePosition(b *testing.B) {
	raw := golden(b, TypeTelemetryPosition)
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
	raw := golden(b, TypeOrderReleased)
	lim := DefaultLimits()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, _, err := ParseEvent(raw, now, lim); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseInvalid(b *testing.B) {
	raw := mutate(b, TypeOrderReleased, func(m map[string]any) { loc(m, 1)["lat"] = 91; delete(m, "id") })
	lim := DefaultLimits()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseEvent(raw, now, lim); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkSplitBatch(b *testing.B) {
	one := golden(b, TypeTelemetryPosition)
	body := append([]byte("["), one...)
	for range 99 {
		body = append(append(body, ','), one...)
	}
	body = append(body, ']')
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if items, _, err := SplitBatch(body); err != nil || len(items) != 100 {
			b.Fatal(err)
		}
	}
}
