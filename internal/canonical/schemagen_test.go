package canonical

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The published schemas under schemas/ are generated from the definitions
// below (go test ./internal/canonical/ -run TestSchemaFiles -update), so
// the envelope and the conventions stay the same in all of them;
// TestSchemasAgreeWithValidator holds them to ParseEvent.

var update = flag.Bool("update", false, "rewrite schemas/*.json from schemagen_test.go")

// js is a JSON object that keeps its key order.
type js []kv

type kv struct {
	k string
	v any
}

func (o js) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(e.k))
		b.WriteByte(':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (o js) get(k string) (any, bool) {
	for _, e := range o {
		if e.k == k {
			return e.v, true
		}
	}
	return nil, false
}

func (o js) set(k string, v any) js {
	for i, e := range o {
		if e.k == k {
			o[i].v = v
			return o
		}
	}
	return append(o, kv{k, v})
}

// field is one member of an object schema.
type field struct {
	name     string
	required bool
	schema   js
}

func req(name, desc string, s js) field { return field{name, true, describe(desc, s)} }
func opt(name, desc string, s js) field { return field{name, false, nullable(describe(desc, s))} }

func describe(desc string, s js) js { return append(js{{"description", desc}}, s...) }

// nullable lets an optional member be null, which ParseEvent treats as
// absent.
func nullable(s js) js {
	out := append(js(nil), s...)
	if t, ok := out.get("type"); ok {
		if t, ok := t.(string); ok {
			return out.set("type", []string{t, "null"})
		}
	}
	if e, ok := out.get("enum"); ok {
		return out.set("enum", append(append([]any(nil), e.([]any)...), nil))
	}
	if o, ok := out.get("oneOf"); ok {
		return out.set("oneOf", append(append([]any(nil), o.([]any)...), js{{"type", "null"}}))
	}
	panic("nullable: no type, enum or oneOf")
}

func object(fields ...field) js {
	props := js{}
	var required []string
	for _, f := range fields {
		props = append(props, kv{f.name, f.schema})
		if f.required {
			required = append(required, f.name)
		}
	}
	s := js{{"type", "object"}}
	if required != nil {
		s = append(s, kv{"required", required})
	}
	return append(s, kv{"properties", props})
}

// controlFree refuses C0 and C1 control characters and DEL.
const controlFree = `^[^\x00-\x1f\x7f-\x9f]*$`

func idSchema() js {
	// maxLength counts characters; ParseEvent bounds ids by bytes.
	return js{{"type", "string"}, {"minLength", 1}, {"maxLength", DefaultLimits().MaxIDLen}, {"pattern", controlFree}}
}

func textSchema(maxChars int) js { return js{{"type", "string"}, {"maxLength", maxChars}} }

// timePattern narrows date-time to what ParseEvent (and Go's time
// package) accepts: upper-case T and Z, no leap second.
const timePattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`

func timeSchema() js {
	return js{{"type", "string"}, {"format", "date-time"}, {"pattern", timePattern}}
}

func numSchema(bounds ...kv) js { return append(js{{"type", "number"}}, bounds...) }

func enumSchema(values []string) js {
	e := make([]any, len(values))
	for i, v := range values {
		e[i] = v
	}
	return js{{"enum", e}}
}

func countSchema() js {
	return js{{"type", "integer"}, {"minimum", 0}, {"maximum", maxCount}}
}

func latSchema() js { return numSchema(kv{"minimum", -90}, kv{"maximum", 90}) }
func lonSchema() js { return numSchema(kv{"minimum", -180}, kv{"maximum", 180}) }

func pointSchema() js {
	return object(req("lat", "Latitude in degrees (WGS 84)", latSchema()), req("lon", "Longitude in degrees (WGS 84)", lonSchema()))
}

// schemaDef is one event type's schema source.
type schemaDef struct {
	description string
	subject     string
	data        js
}

var schemaDefs = map[string]schemaDef{
	TypeOrderReleased: {
		"An order released for execution: what to move, for whom, through which stops.",
		"The shipment id",
		object(
			req("order_id", "The order id in the ordering system (ERP, TMS)", idSchema()),
			req("customer_id", "The customer the shipment is for; picks the rate card", idSchema()),
			req("stops", "The stops in route order, at least one of type delivery; stop ids unique within the order",
				js{{"type", "array"}, {"minItems", 1}, {"maxItems", DefaultLimits().MaxStops},
					{"contains", js{{"type", "object"}, {"required", []string{"type"}}, {"properties", js{{"type", js{{"const", StopDelivery}}}}}}},
					{"items", object(
						req("id", "Stop id, unique within the order", idSchema()),
						req("type", "What happens at the stop", enumSchema(stopTypes)),
						req("location", "Where the stop is and its geofence", object(
							opt("id", "Location (address) id in the ordering system", idSchema()),
							req("lat", "Latitude in degrees (WGS 84)", latSchema()),
							req("lon", "Longitude in degrees (WGS 84)", lonSchema()),
							opt("radius_m", "Geofence radius in metres; entering it marks the stop arrived", numSchema(kv{"minimum", 0}, kv{"maximum", maxRadiusM})),
						)),
						opt("window", "Agreed time window; from must not be after to", object(
							req("from", "Start of the window (RFC 3339)", timeSchema()),
							req("to", "End of the window (RFC 3339)", timeSchema()),
						)),
					)}}),
			opt("accessorials", "Requested accessorial service codes (liftgate, …), billed from the rate card",
				js{{"type", "array"}, {"items", idSchema()}}),
			opt("weight_kg", "Gross weight in kilograms", numSchema(kv{"minimum", 0})),
			opt("pieces", "Number of pieces (a whole number)", countSchema()),
			opt("references", "Free reference numbers (PO, BOL, …) by name",
				js{{"type", "object"}, {"additionalProperties", textSchema(maxRefValue)}}),
			opt("temperature", "Cargo temperature to keep (reefer); readings outside it raise temperature_excursion", object(
				req("min_c", "Lowest allowed temperature in °C; not above max_c", numSchema(kv{"minimum", minTempC}, kv{"maximum", maxTempC})),
				req("max_c", "Highest allowed temperature in °C", numSchema(kv{"minimum", minTempC}, kv{"maximum", maxTempC})),
			)),
		),
	},
	TypeRouteAssigned: {
		"A vehicle and driver assigned to a shipment; the vehicle's positions then drive the shipment's stops.",
		"The shipment id",
		object(
			req("vehicle_id", "The vehicle (truck) id", idSchema()),
			req("driver_id", "The driver id", idSchema()),
			opt("planned_departure", "Planned departure from the first stop (RFC 3339)", timeSchema()),
			opt("route", "Planned route as a GeoJSON LineString; leaving it raises route_deviation", object(
				req("type", "Always LineString", enumSchema([]string{"LineString"})),
				req("coordinates", "[lon, lat] positions in driving order",
					js{{"type", "array"}, {"minItems", 2}, {"maxItems", maxRoute}, {"items", js{
						{"type", "array"}, {"minItems", 2}, {"maxItems", 3},
						{"prefixItems", []js{lonSchema(), latSchema()}}, {"items", js{{"type", "number"}}},
					}}}),
			)),
		),
	},
	TypeShipmentMilestone: {
		"A milestone reported for a shipment or one of its stops.",
		"The shipment id",
		object(
			req("code", "What happened", enumSchema(milestoneCodes)),
			opt("stop_id", "The stop it happened at", idSchema()),
			opt("location", "Where it was reported", pointSchema()),
			opt("reason", "Free-text reason, e.g. for a delay", textSchema(maxReason)),
		),
	},
	TypeDeliveryCompleted: {
		"A proof of delivery (POD) for one stop. A POD without signed_by, with exceptions or outside the stop's geofence opens a case.",
		"The shipment id",
		object(
			req("stop_id", "The stop delivered", idSchema()),
			opt("signed_by", "Name of the person who signed; may be empty or absent (opens a missing_signature case)", textSchema(maxName)),
			opt("signature", "Signature image or a reference to it", textSchema(maxSignature)),
			req("location", "Where the POD was taken", pointSchema()),
			opt("pieces", "Pieces delivered (a whole number)", countSchema()),
			opt("exceptions", "Exceptions noted on delivery; each opens a case with its code",
				js{{"type", "array"}, {"items", object(
					req("code", "Exception code, e.g. damaged, short", idSchema()),
					opt("note", "Free-text note", textSchema(maxNote)),
				)}}),
		),
	},
	TypeShipmentCancelled: {
		"A shipment cancelled by the ordering system.",
		"The shipment id",
		object(
			opt("reason", "Free-text reason", textSchema(maxReason)),
		),
	},
	TypeTelemetryPosition: {
		"A vehicle position with optional speed, heading, odometer and reefer temperature.",
		"The vehicle id",
		object(
			req("lat", "Latitude in degrees (WGS 84)", latSchema()),
			req("lon", "Longitude in degrees (WGS 84)", lonSchema()),
			opt("speed_kph", "Speed in km/h", numSchema(kv{"minimum", 0})),
			opt("heading", "Heading in degrees clockwise from north", numSchema(kv{"minimum", 0}, kv{"maximum", 360})),
			opt("odometer_km", "Odometer reading in km", numSchema(kv{"minimum", 0})),
			opt("temperature_c", "Cargo (reefer) temperature in °C", numSchema(kv{"minimum", -100}, kv{"maximum", 100})),
			opt("altitude_m", "Altitude in metres above sea level", numSchema(kv{"minimum", -1000}, kv{"maximum", 20000})),
			opt("accuracy_m", "Horizontal accuracy in metres", numSchema(kv{"minimum", 0})),
			opt("battery_pct", "Tracker battery in percent", numSchema(kv{"minimum", 0}, kv{"maximum", 100})),
		),
	},
	TypeFuelPurchased: {
		"A fuel-card transaction of a vehicle. lat and lon are optional but come together.",
		"The vehicle id",
		append(object(
			req("liters", "Litres bought, more than 0", numSchema(kv{"exclusiveMinimum", 0})),
			req("amount", "Amount paid: a decimal string (\"84.20\", preferred) or a number; at most 4 decimal places, no exponent", js{{"oneOf", []any{
				js{{"type", "string"}, {"pattern", `^[0-9]{1,15}(\.[0-9]{1,4}0*)?$`}},
				js{{"type", "number"}, {"minimum", 0}, {"exclusiveMaximum", 1e15}, {"multipleOf", 0.0001}},
			}}}),
			req("currency", "ISO 4217 currency code", js{{"type", "string"}, {"pattern", "^[A-Z]{3}$"}}),
			opt("lat", "Latitude of the station in degrees (WGS 84)", latSchema()),
			opt("lon", "Longitude of the station in degrees (WGS 84)", lonSchema()),
			opt("station", "Station name", textSchema(maxName)),
		), kv{"allOf", []any{pairedWith("lat", "lon"), pairedWith("lon", "lat")}}),
	},
	TypeTenderResponded: {
		"A carrier's answer to a load tender (X12 990).",
		"The shipment id",
		object(
			req("carrier", "The carrier's id (SCAC or partner id)", idSchema()),
			req("response", "The answer", enumSchema(tenderAnswers)),
			opt("reason", "Free-text reason or conditions", textSchema(maxReason)),
		),
	},
	TypeShipmentStatusChanged: {
		"Derived by crossdock: a shipment's status moved. Never accepted from partners.",
		"The shipment id",
		object(
			opt("from", "The previous status; empty or absent for the first", textSchema(maxStatusLen)),
			req("to", "The new status", js{{"type", "string"}, {"minLength", 1}, {"maxLength", maxStatusLen}}),
		),
	},
	TypeShipmentException: {
		"Derived by crossdock: a business exception on a shipment (temperature_excursion, route_deviation, …). Never accepted from partners.",
		"The shipment id",
		object(
			req("code", "What kind of exception", idSchema()),
			req("detail", "One human-readable line", textSchema(maxReason)),
			opt("vehicle_id", "The vehicle whose readings showed it", idSchema()),
			opt("stop_id", "The stop it concerns", idSchema()),
			opt("since", "When the condition began (RFC 3339)", timeSchema()),
			opt("reading_c", "temperature_excursion: the reading that raised it, °C", numSchema(kv{"minimum", -1000}, kv{"maximum", 1000})),
			opt("min_c", "temperature_excursion: lowest allowed, °C", numSchema(kv{"minimum", minTempC}, kv{"maximum", maxTempC})),
			opt("max_c", "temperature_excursion: highest allowed, °C", numSchema(kv{"minimum", minTempC}, kv{"maximum", maxTempC})),
			opt("distance_m", "route_deviation: distance from the planned route, metres", numSchema(kv{"minimum", 0})),
			opt("location", "Where the vehicle was", object(
				req("lat", "Latitude in degrees (WGS 84)", latSchema()),
				req("lon", "Longitude in degrees (WGS 84)", lonSchema()),
			)),
		),
	},
}

// pairedWith requires b (not null) whenever a is present and not null.
func pairedWith(a, b string) js {
	return js{
		{"if", js{{"required", []string{a}}, {"properties", js{{a, js{{"not", js{{"type", "null"}}}}}}}}},
		{"then", js{{"required", []string{b}}, {"properties", js{{b, js{{"type", "number"}}}}}}},
	}
}

// genSchema builds the schema of a whole event of type typ.
func genSchema(typ string) ([]byte, error) {
	d := schemaDefs[typ]
	env := object(
		req("specversion", "CloudEvents version", js{{"type", "string"}, {"const", SpecVersion}}),
		req("id", "Event id, unique per source: (source, id) is the idempotency key", idSchema()),
		req("source", "Who emitted the event, e.g. dispatch/acme-tms; crossdock/… is reserved for derived events", idSchema()),
		req("type", "The event type", js{{"type", "string"}, {"const", typ}}),
		req("subject", d.subject, idSchema()),
		req("time", "When it happened (RFC 3339), not when it was sent; not before 1970 nor more than 24h ahead of the hub's clock", timeSchema()),
		opt("datacontenttype", "Media type of data; application/json, parameters allowed",
			js{{"type", "string"}, {"pattern", `^[ \t]*[Aa][Pp][Pp][Ll][Ii][Cc][Aa][Tt][Ii][Oo][Nn]/[Jj][Ss][Oo][Nn][ \t]*(;[\s\S]*)?$`}}),
		opt("correlationid", "Correlation id shared by everything one business flow causes; generated when absent", idSchema()),
		opt("causationid", "Id of the event that caused this one", idSchema()),
		req("data", "The "+typ+" payload (at most 256 KiB)", d.data),
	)
	head := js{
		{"$schema", "https://json-schema.org/draft/2020-12/schema"},
		{"$id", "https://crossdock.dev/schemas/v1/" + typ + ".json"},
		{"title", typ},
		{"description", d.description + " A CloudEvents 1.0 event in structured JSON mode; other attributes (extensions) are allowed and ignored, and so are unknown data members. Members set to null count as absent."},
	}
	b, err := json.Marshal(append(head, env...))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func TestSchemaFilesUpToDate(t *testing.T) {
	for _, typ := range append(InboundTypes(), DerivedTypes()...) {
		if _, ok := schemaDefs[typ]; !ok {
			t.Fatalf("no schema definition for %s", typ)
		}
		want, err := genSchema(typ)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join("schemas", typ+".json")
		if *update {
			if err := os.WriteFile(file, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, _ := Schema(typ); !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go test ./internal/canonical/ -run TestSchemaFiles -update", file)
		}
	}
}
