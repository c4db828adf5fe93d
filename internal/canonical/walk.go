package canonical

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// checker collects field errors while walking raw JSON.
type checker struct {
	errs []FieldError
	lim  Limits
}

func (c *checker) add(field, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// obj is a JSON object under a path.
type obj struct {
	c    *checker
	path string
	m    map[string]json.RawMessage
}

func (o obj) at(name string) string {
	if o.path == "" {
		return name
	}
	return o.path + "." + name
}

// jsonKind names a raw value's JSON type for messages.
func jsonKind(raw json.RawMessage) string {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// present returns the raw member, treating null like absence.
func (o obj) present(name string) (json.RawMessage, bool) {
	raw, ok := o.m[name]
	if !ok || isNull(raw) {
		return nil, false
	}
	return raw, true
}

// str reads a string member. max 0 means no length bound.
func (o obj) str(name string, required bool, max int) (string, bool) {
	raw, ok := o.present(name)
	if !ok {
		if required {
			o.c.add(o.at(name), "is required")
		}
		return "", false
	}
	s, ok := decodeString(raw)
	if !ok {
		o.c.add(o.at(name), "must be a string, not %s", jsonKind(raw))
		return "", false
	}
	if max > 0 && len(s) > max {
		o.c.add(o.at(name), "must be at most %d bytes long (got %d)", max, len(s))
		return s, false
	}
	return s, true
}

// id reads an identifier: a non-empty string of printable characters,
// bounded by Limits.MaxIDLen.
func (o obj) id(name string, required bool) (string, bool) {
	s, ok := o.str(name, required, o.c.lim.MaxIDLen)
	if !ok {
		return s, false
	}
	if s == "" {
		if required {
			o.c.add(o.at(name), "must not be empty")
		}
		return s, !required
	}
	if !utf8.ValidString(s) {
		o.c.add(o.at(name), "must be valid UTF-8")
		return s, false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			o.c.add(o.at(name), "must not contain control characters")
			return s, false
		}
	}
	return s, true
}

// num reads a finite number member.
func (o obj) num(name string, required bool) (float64, bool) {
	raw, ok := o.present(name)
	if !ok {
		if required {
			o.c.add(o.at(name), "is required")
		}
		return 0, false
	}
	b := bytes.TrimSpace(raw)
	if c := b[0]; c != '-' && (c < '0' || c > '9') {
		o.c.add(o.at(name), "must be a number, not %s", jsonKind(raw))
		return 0, false
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		o.c.add(o.at(name), "must be a finite number")
		return 0, false
	}
	return f, true
}

// rng checks a present number is within [lo, hi].
func (o obj) rng(name string, required bool, lo, hi float64) {
	if f, ok := o.num(name, required); ok && (f < lo || f > hi) {
		o.c.add(o.at(name), "must be between %v and %v (got %v)", lo, hi, f)
	}
}

// nonNeg checks a present number is >= 0, and an integer if integer is set.
func (o obj) nonNeg(name string, integer bool) {
	f, ok := o.num(name, false)
	if !ok {
		return
	}
	if f < 0 {
		o.c.add(o.at(name), "must not be negative (got %v)", f)
	} else if integer && f != math.Trunc(f) {
		o.c.add(o.at(name), "must be a whole number (got %v)", f)
	}
}

// timestamp reads an RFC 3339 time member.
func (o obj) timestamp(name string, required bool) (time.Time, bool) {
	s, ok := o.str(name, required, 64)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		o.c.add(o.at(name), "must be an RFC 3339 time such as 2026-11-22T10:00:00Z (got %q)", s)
		return time.Time{}, false
	}
	return t, true
}

// object reads an object member.
func (o obj) object(name string, required bool) (obj, bool) {
	raw, ok := o.present(name)
	if !ok {
		if required {
			o.c.add(o.at(name), "is required")
		}
		return obj{}, false
	}
	return o.c.asObject(o.at(name), raw)
}

func (c *checker) asObject(path string, raw json.RawMessage) (obj, bool) {
	var m map[string]json.RawMessage
	if b := bytes.TrimSpace(raw); len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &m) != nil {
		c.add(path, "must be an object, not %s", jsonKind(raw))
		return obj{}, false
	}
	return obj{c: c, path: path, m: m}, true
}

// array reads an array member.
func (o obj) array(name string, required bool) ([]json.RawMessage, bool) {
	raw, ok := o.present(name)
	if !ok {
		if required {
			o.c.add(o.at(name), "is required")
		}
		return nil, false
	}
	var a []json.RawMessage
	if b := bytes.TrimSpace(raw); b[0] != '[' || json.Unmarshal(b, &a) != nil {
		o.c.add(o.at(name), "must be an array, not %s", jsonKind(raw))
		return nil, false
	}
	return a, true
}

// oneOf checks a string member against allowed values.
func (o obj) oneOf(name string, required bool, allowed ...string) (string, bool) {
	s, ok := o.str(name, required, 64)
	if !ok {
		return s, false
	}
	for _, a := range allowed {
		if s == a {
			return s, true
		}
	}
	o.c.add(o.at(name), "must be one of %s (got %q)", quoteList(allowed), s)
	return s, false
}

func quoteList(xs []string) string {
	var b bytes.Buffer
	for i, x := range xs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(x))
	}
	return b.String()
}

// point checks {lat, lon} members of o.
func (o obj) point(required bool) {
	o.rng("lat", required, -90, 90)
	o.rng("lon", required, -180, 180)
}

// decodeString decodes a JSON string value. Strings without escapes (the
// common case) are sliced directly: the enclosing document was already
// checked to be valid JSON.
func decodeString(raw json.RawMessage) (string, bool) {
	b := bytes.TrimSpace(raw)
	if len(b) < 2 || b[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b[1 : len(b)-1]), true
	}
	var s string
	if json.Unmarshal(b, &s) != nil {
		return "", false
	}
	return s, true
}
