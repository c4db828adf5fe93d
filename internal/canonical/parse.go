package canonical

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits bound what ParseEvent and Validate accept. A zero or negative
// field takes its default.
type Limits struct {
	MaxIDLen     int           // ids, source, subject, type and other id-like strings: 1..MaxIDLen bytes; default 256
	MaxDataBytes int           // size of the raw data member; default 256 KiB
	MaxFuture    time.Duration // event time at most this far ahead of now; default 24h
	MaxStops     int           // stops per order; default 200
}

// DefaultLimits returns the limits crossdock runs with unless configured.
func DefaultLimits() Limits {
	return Limits{MaxIDLen: 256, MaxDataBytes: 256 << 10, MaxFuture: 24 * time.Hour, MaxStops: 200}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxIDLen <= 0 {
		l.MaxIDLen = d.MaxIDLen
	}
	if l.MaxDataBytes <= 0 {
		l.MaxDataBytes = d.MaxDataBytes
	}
	if l.MaxFuture <= 0 {
		l.MaxFuture = d.MaxFuture
	}
	if l.MaxStops <= 0 {
		l.MaxStops = d.MaxStops
	}
	return l
}

// typeInfo describes one event type.
type typeInfo struct {
	shipmentSubject bool
	inbound         bool
	fields          []string // data member names
	newData         func() any
}

var types = map[string]typeInfo{
	TypeOrderReleased:         {true, true, orderFields, func() any { return new(OrderReleased) }},
	TypeRouteAssigned:         {true, true, assignFields, func() any { return new(RouteAssigned) }},
	TypeShipmentMilestone:     {true, true, milestoneFields, func() any { return new(ShipmentMilestone) }},
	TypeDeliveryCompleted:     {true, true, podFields, func() any { return new(DeliveryCompleted) }},
	TypeShipmentCancelled:     {true, true, cancelFields, func() any { return new(ShipmentCancelled) }},
	TypeTelemetryPosition:     {false, true, positionFields, func() any { return new(TelemetryPosition) }},
	TypeFuelPurchased:         {false, true, fuelFields, func() any { return new(FuelPurchased) }},
	TypeTenderResponded:       {true, true, tenderFields, func() any { return new(TenderResponded) }},
	TypeShipmentStatusChanged: {true, false, statusFields, func() any { return new(StatusChanged) }},
	TypeShipmentException:     {true, false, exceptionDataFields, func() any { return new(ShipmentException) }},
}

// parseData applies the data rules of typ. A switch rather than a function
// in typeInfo: an indirect call would move the walker to the heap.
func parseData(typ string, o obj) any {
	switch typ {
	case TypeOrderReleased:
		return parseOrder(o)
	case TypeRouteAssigned:
		return parseAssignment(o)
	case TypeShipmentMilestone:
		return parseMilestone(o)
	case TypeDeliveryCompleted:
		return parsePOD(o)
	case TypeShipmentCancelled:
		return parseCancel(o)
	case TypeTelemetryPosition:
		return parsePosition(o)
	case TypeFuelPurchased:
		return parseFuel(o)
	case TypeTenderResponded:
		return parseTender(o)
	case TypeShipmentStatusChanged:
		return parseStatusChanged(o)
	case TypeShipmentException:
		return parseException(o)
	}
	return nil
}

var (
	inboundTypes = typeList(true)
	derivedTypes = typeList(false)
	knownTypes   = strings.Join(append(typeList(true), derivedTypes...), ", ")
)

// InboundTypes lists the event types partners may send, sorted. The
// caller owns the returned slice.
func InboundTypes() []string { return append([]string(nil), inboundTypes...) }

// DerivedTypes lists the event types only crossdock produces, sorted. The
// caller owns the returned slice.
func DerivedTypes() []string { return append([]string(nil), derivedTypes...) }

func typeList(inbound bool) []string {
	var out []string
	for t, info := range types {
		if info.inbound == inbound {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// IsInbound reports whether partners may send events of type t.
func IsInbound(t string) bool { return types[t].inbound }

// ShipmentSubject reports whether events of type t have a shipment id as
// subject. It is false for the vehicle-subject types telemetry.position and
// fuel.purchased, and for unknown types.
func ShipmentSubject(t string) bool { return types[t].shipmentSubject }

func invalid(format string, args ...any) *ValidationError {
	return &ValidationError{Errors: []FieldError{{Message: fmt.Sprintf(format, args...)}}}
}

// SplitBatch inspects a request body: a JSON object is one item
// (batch=false), a JSON array yields its raw elements (batch=true), which
// share body's memory and are not checked further: ParseEvent judges each.
// Anything else — an empty body, invalid JSON, a string, number, boolean,
// null or an empty array — is a *ValidationError with Field "".
func SplitBatch(body []byte) (items []json.RawMessage, batch bool, err error) {
	t := getTree(1)
	defer putTree(t)
	if err := t.parse(string(body)); err != nil {
		if len(strings.TrimLeft(string(body), " \t\r\n")) == 0 {
			return nil, false, invalid("body is empty: send one CloudEvent (a JSON object) or a JSON array of them")
		}
		return nil, false, invalid("body is not valid JSON: %s", syntaxError(body))
	}
	root := t.nodes[0]
	switch root.kind {
	case kindObject:
		return []json.RawMessage{body[root.start:root.end:root.end]}, false, nil
	case kindArray:
		if root.count == 0 {
			return nil, true, invalid("batch is empty: send at least one event")
		}
		items = make([]json.RawMessage, 0, root.count)
		for n := root.first; n >= 0; n = t.nodes[n].next {
			nd := &t.nodes[n]
			items = append(items, body[nd.start:nd.end:nd.end])
		}
		return items, true, nil
	}
	return nil, false, invalid("body must be a CloudEvent (a JSON object) or a JSON array of them, not %s", kindName(root.kind))
}

// ParseEvent decodes one event from raw JSON and validates envelope and
// data fully. It returns the event (Data holding the raw data member as
// sent), its typed data (a pointer to the struct of its type, e.g.
// *OrderReleased), or a *ValidationError listing every violated rule in
// the order of the fields in the contract. On error the returned Event
// still holds whatever envelope attributes could be read, so the caller
// can name the rejected event.
//
// A zero now skips the future-time bound. Members set to null count as
// absent. Envelope attributes it does not know (CloudEvents extensions) are
// ignored; so are unknown data members, except those differing from a
// known one only in case. Repeated member names are refused.
func ParseEvent(raw []byte, now time.Time, lim Limits) (Event, any, error) {
	c := checker{lim: lim.withDefaults(), t: getTree(maxDepth)}
	defer putTree(c.t)
	if err := c.t.parse(string(raw)); err != nil {
		return Event{}, nil, invalid("body is not valid JSON: %s", syntaxError(raw))
	}
	if !utf8.Valid(raw) {
		return Event{}, nil, invalid("body is not valid UTF-8 (first bad byte at offset %d)", badUTF8(raw))
	}
	root := val{c: &c, n: 0}
	if root.node().kind != kindObject {
		return Event{}, nil, invalid("event must be a JSON object, not %s", kindName(root.node().kind))
	}
	env, _ := root.object(nil)
	var ev Event
	if v, ok := env.need("specversion", true); ok {
		if s, ok := v.string(); ok {
			ev.SpecVersion = s
			if s != SpecVersion {
				v.errf("must be %q (got %s)", SpecVersion, quoteClip(s))
			}
		}
	}
	ev.ID = env.id("id", true)
	ev.Source = env.id("source", true)
	var info typeInfo
	known := false
	if v, ok := env.need("type", true); ok {
		var valid bool
		if ev.Type, valid = v.id(); valid {
			if info, known = types[ev.Type]; !known {
				v.errf("unknown event type %s; known types: %s", quoteClip(ev.Type), knownTypes)
			}
		}
	}
	ev.Subject = env.id("subject", true)
	if v, ok := env.need("time", true); ok {
		if t, ok := v.timestamp(); ok {
			ev.Time = t
			if t.Before(unixEpoch) {
				v.errf("must not be before 1970-01-01T00:00:00Z (got %s)", t.Format(time.RFC3339Nano))
			} else if !now.IsZero() && t.After(now.Add(c.lim.MaxFuture)) {
				v.errf("is %s ahead of the hub's clock; at most %s ahead is accepted", t.Sub(now).Round(time.Second), c.lim.MaxFuture)
			}
		}
	}
	if v, ok := env.get("datacontenttype"); ok {
		if s, ok := v.string(); ok {
			ev.DataContentType = s
			if !isJSONMediaType(s) {
				v.errf("must be application/json, optionally with parameters (got %s)", quoteClip(s))
			}
		}
	}
	ev.CorrelationID = env.id("correlationid", false)
	ev.CausationID = env.id("causationid", false)
	var typed any
	if v, ok := env.get("data"); !ok {
		if env.has("data_base64") {
			c.addf(0, "data", "is required: data_base64 is not accepted, send data as a JSON object")
		} else {
			c.addf(0, "data", "is required")
		}
	} else {
		nd := v.node()
		ev.Data = append(json.RawMessage(nil), raw[nd.start:nd.end]...)
		switch {
		case nd.end-nd.start > c.lim.MaxDataBytes:
			v.errf("is %d bytes; at most %d are accepted", nd.end-nd.start, c.lim.MaxDataBytes)
		case !known:
			if nd.kind != kindObject {
				v.want("an object")
			}
		default:
			if d, ok := v.object(info.fields); ok {
				typed = parseData(ev.Type, d)
			}
		}
	}
	if len(c.errs) > 0 {
		return ev, nil, &ValidationError{Errors: c.errs}
	}
	return ev, typed, nil
}

var unixEpoch = time.Unix(0, 0)

// isJSONMediaType reports whether s is application/json in any case,
// optionally with parameters (which are not checked).
func isJSONMediaType(s string) bool {
	base, _, _ := strings.Cut(s, ";")
	return strings.EqualFold(strings.Trim(base, " \t"), "application/json")
}

func badUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// Validate validates an already-built Event (a derived event, a replay)
// with the same rules as ParseEvent and returns its typed data. It encodes
// ev and parses the result, so a zero now again skips the future-time
// bound, and a zero Time is refused as before 1970.
func Validate(ev Event, now time.Time, lim Limits) (any, error) {
	raw, err := json.Marshal(ev)
	if err != nil {
		// Only a time outside years 0..9999 or invalid raw data fail to encode.
		field := "time"
		if len(ev.Data) > 0 && !json.Valid(ev.Data) {
			field = "data"
		}
		return nil, &ValidationError{Errors: []FieldError{{Field: field, Message: "does not encode as JSON: " + err.Error()}}}
	}
	_, typed, err := ParseEvent(raw, now, lim)
	return typed, err
}

// DecodeData decodes ev.Data into the typed struct of ev.Type (a pointer,
// as ParseEvent returns it) without validating it, for events read back
// from storage. Data that ParseEvent accepted decodes to the same value.
func DecodeData(ev Event) (any, error) {
	info, ok := types[ev.Type]
	if !ok {
		return nil, fmt.Errorf("decode data: unknown event type %q", ev.Type)
	}
	v := info.newData()
	if err := json.Unmarshal(ev.Data, v); err != nil {
		return nil, fmt.Errorf("decode %s data: %w", ev.Type, err)
	}
	return v, nil
}
