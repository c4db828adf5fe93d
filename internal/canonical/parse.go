package canonical

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"sort"
	"strings"
	"time"
)

// Limits bound what ParseEvent and Validate accept.
type Limits struct {
	MaxIDLen     int           // ids, source, subject and id-like strings: 1..MaxIDLen bytes; default 256
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
	newData         func() any
	check           func(o obj)
}

var types = map[string]typeInfo{
	TypeOrderReleased:         {true, true, func() any { return new(OrderReleased) }, checkOrder},
	TypeRouteAssigned:         {true, true, func() any { return new(RouteAssigned) }, checkAssignment},
	TypeShipmentMilestone:     {true, true, func() any { return new(ShipmentMilestone) }, checkMilestone},
	TypeDeliveryCompleted:     {true, true, func() any { return new(DeliveryCompleted) }, checkPOD},
	TypeShipmentCancelled:     {true, true, func() any { return new(ShipmentCancelled) }, checkCancel},
	TypeTelemetryPosition:     {false, true, func() any { return new(TelemetryPosition) }, checkPosition},
	TypeFuelPurchased:         {false, true, func() any { return new(FuelPurchased) }, checkFuel},
	TypeTenderResponded:       {true, true, func() any { return new(TenderResponded) }, checkTender},
	TypeShipmentStatusChanged: {true, false, func() any { return new(StatusChanged) }, checkStatusChanged},
}

// InboundTypes lists the event types partners may send, sorted.
func InboundTypes() []string { return typeList(true) }

// DerivedTypes lists the event types only crossdock produces, sorted.
func DerivedTypes() []string { return typeList(false) }

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
// subject (false: a vehicle id, or an unknown type).
func ShipmentSubject(t string) bool { return types[t].shipmentSubject }

// SplitBatch inspects a request body: a JSON object is one item
// (batch=false), a JSON array yields its raw elements (batch=true).
// Anything else is a *ValidationError naming the problem.
func SplitBatch(body []byte) ([]json.RawMessage, bool, error) {
	b := bytes.TrimSpace(body)
	fail := func(format string, args ...any) ([]json.RawMessage, bool, error) {
		return nil, false, &ValidationError{Errors: []FieldError{{Message: fmt.Sprintf(format, args...)}}}
	}
	if len(b) == 0 {
		return fail("body is empty: send one CloudEvent (a JSON object) or an array of them")
	}
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v)
		return fail("body is not valid JSON: %v", err)
	}
	switch b[0] {
	case '{':
		return []json.RawMessage{b}, false, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return fail("body is not a JSON array: %v", err)
		}
		if len(items) == 0 {
			return nil, true, &ValidationError{Errors: []FieldError{{Message: "batch is empty: send at least one event"}}}
		}
		return items, true, nil
	}
	return fail("body must be a CloudEvent (a JSON object) or an array of them, not %s", jsonKind(b))
}

// ParseEvent decodes one event from raw JSON and validates envelope and
// data. It returns the event (Data holding the raw data member), its typed
// data (a pointer to the struct of its type, e.g. *OrderReleased), or a
// *ValidationError listing every violated rule.
func ParseEvent(raw []byte, now time.Time, lim Limits) (Event, any, error) {
	c := &checker{lim: lim.withDefaults()}
	root, ok := c.asObject("", raw)
	if !ok {
		c.errs[0].Message = "event " + c.errs[0].Message
		return Event{}, nil, &ValidationError{Errors: c.errs}
	}
	var ev Event
	if v, ok := root.str("specversion", true, 16); ok && v != SpecVersion {
		c.add("specversion", "must be %q (got %q)", SpecVersion, v)
	}
	ev.SpecVersion = SpecVersion
	ev.ID, _ = root.id("id", true)
	ev.Source, _ = root.id("source", true)
	ev.Subject, _ = root.id("subject", true)
	typ, typOK := root.str("type", true, c.lim.MaxIDLen)
	ev.Type = typ
	info, known := types[typ]
	if typOK && !known {
		c.add("type", "unknown event type %q; known types: %s", typ, strings.Join(append(InboundTypes(), DerivedTypes()...), ", "))
	}
	if t, ok := root.timestamp("time", true); ok {
		ev.Time = t
		checkTime(c, "time", t, now)
	}
	if ct, ok := root.str("datacontenttype", false, 128); ok && ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			c.add("datacontenttype", "must be application/json (got %q)", ct)
		}
		ev.DataContentType = ct
	}
	ev.CorrelationID, _ = root.id("correlationid", false)
	ev.CausationID, _ = root.id("causationid", false)
	data, hasData := root.present("data")
	switch {
	case !hasData:
		c.add("data", "is required")
	case len(data) > c.lim.MaxDataBytes:
		c.add("data", "is %d bytes; at most %d are accepted", len(data), c.lim.MaxDataBytes)
	default:
		ev.Data = append(json.RawMessage(nil), bytes.TrimSpace(data)...)
		if d, ok := c.asObject("data", data); ok && known {
			info.check(d)
		}
	}
	if len(c.errs) > 0 {
		return ev, nil, &ValidationError{Errors: c.errs}
	}
	typed, err := DecodeData(ev)
	if err != nil {
		return ev, nil, &ValidationError{Errors: []FieldError{{Field: "data", Message: err.Error()}}}
	}
	return ev, typed, nil
}

// checkTime rejects times before 1970 or too far in the future.
func checkTime(c *checker, field string, t, now time.Time) {
	if t.Before(time.Unix(0, 0)) {
		c.add(field, "must not be before 1970-01-01T00:00:00Z (got %s)", t.Format(time.RFC3339))
	}
	if !now.IsZero() && t.After(now.Add(c.lim.MaxFuture)) {
		c.add(field, "is %s in the future; at most %s ahead is accepted", t.Sub(now).Round(time.Second), c.lim.MaxFuture)
	}
}

// Validate validates an already-built Event with the same rules as
// ParseEvent, returning its typed data.
func Validate(ev Event, now time.Time, lim Limits) (any, error) {
	raw, err := json.Marshal(ev)
	if err != nil {
		return nil, &ValidationError{Errors: []FieldError{{Message: "event does not encode: " + err.Error()}}}
	}
	_, typed, err := ParseEvent(raw, now, lim)
	return typed, err
}

// DecodeData decodes ev.Data into the typed struct of ev.Type without
// validating it (for events read back from storage).
func DecodeData(ev Event) (any, error) {
	info, ok := types[ev.Type]
	if !ok {
		return nil, fmt.Errorf("unknown event type %q", ev.Type)
	}
	v := info.newData()
	if err := json.Unmarshal(ev.Data, v); err != nil {
		return nil, fmt.Errorf("decode %s data: %w", ev.Type, err)
	}
	return v, nil
}
