package canonical

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The walker: typed reads of tree values that record every violated rule
// under the value's full path. A path is rebuilt from the tree's parent
// links only when a rule fails, so a valid event costs no path work.

// appendPath appends the path of node n ("data.stops[1].location").
func (t *tree) appendPath(b []byte, n int32) []byte {
	p := t.nodes[n].parent
	if p < 0 {
		return b // the event itself
	}
	b = t.appendPath(b, p)
	if t.nodes[p].kind == kindArray {
		i := 0
		for e := t.nodes[p].first; e != n; e = t.nodes[e].next {
			i++
		}
		return appendIndex(b, i)
	}
	return appendName(b, t.nodes[n].key)
}

func appendIndex(b []byte, i int) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(i), 10)
	return append(b, ']')
}

// appendName appends a member name; names that would make the path
// ambiguous are quoted (references["PO no."]).
func appendName(b []byte, name string) []byte {
	if !plainName(name) {
		b = append(b, '[')
		b = strconv.AppendQuote(b, name)
		return append(b, ']')
	}
	if len(b) > 0 {
		b = append(b, '.')
	}
	return append(b, name...)
}

// plainName reports whether a member name can stand in a path unquoted.
func plainName(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".[]\"' \t\r\n") && !hasControl(s)
}

// checker collects field errors while walking one event.
type checker struct {
	t    *tree
	lim  Limits
	errs []FieldError
}

// addf records a violation at node n, or at its member name if name is
// not empty (a missing member).
func (c *checker) addf(n int32, name string, format string, args ...any) {
	var buf [96]byte
	b := c.t.appendPath(buf[:0], n)
	if name != "" {
		b = appendName(b, name)
	}
	c.errs = append(c.errs, FieldError{Field: string(b), Message: fmt.Sprintf(format, args...)})
}

// val is one value of the tree.
type val struct {
	c *checker
	n int32
}

func (v val) node() *node { return &v.c.t.nodes[v.n] }

func (v val) errf(format string, args ...any) { v.c.addf(v.n, "", format, args...) }

// kindName names a value's JSON type for messages.
func kindName(k kind) string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "a boolean"
	case kindNumber:
		return "a number"
	case kindString:
		return "a string"
	case kindArray:
		return "an array"
	}
	return "an object"
}

func (v val) want(what string) { v.errf("must be %s, not %s", what, kindName(v.node().kind)) }

// string reads a string value.
func (v val) string() (string, bool) {
	if v.node().kind != kindString {
		v.want("a string")
		return "", false
	}
	return v.c.t.str(v.n), true
}

// id reads an identifier: 1..MaxIDLen bytes, no control characters.
func (v val) id() (string, bool) {
	s, ok := v.string()
	switch {
	case !ok:
		return "", false
	case s == "":
		v.errf("must not be empty")
	case len(s) > v.c.lim.MaxIDLen:
		v.errf("must be at most %d bytes long (got %d)", v.c.lim.MaxIDLen, len(s))
	case hasControl(s):
		v.errf("must not contain control characters")
	default:
		return s, true
	}
	return s, false
}

// hasControl reports whether s (valid UTF-8) holds a C0 or C1 control
// character or DEL.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == 0x7f:
			return true
		case c == 0xc2 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x9f: // U+0080..U+009F
			return true
		}
	}
	return false
}

// text reads a free-text string of at most maxChars characters.
func (v val) text(maxChars int) (string, bool) {
	s, ok := v.string()
	if !ok {
		return "", false
	}
	if n := utf8.RuneCountInString(s); n > maxChars {
		v.errf("must be at most %d characters long (got %d)", maxChars, n)
		return s, false
	}
	return s, true
}

// oneOf reads a string that must be one of allowed.
func (v val) oneOf(allowed []string) (string, bool) {
	s, ok := v.string()
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		if s == a {
			return s, true
		}
	}
	v.errf("must be one of %s (got %s)", quoteList(allowed), quoteClip(s))
	return s, false
}

func quoteList(xs []string) string {
	var b strings.Builder
	for i, x := range xs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(x))
	}
	return b.String()
}

// quoteClip quotes s for a message, cut to 64 bytes.
func quoteClip(s string) string {
	if len(s) <= 64 {
		return strconv.Quote(s)
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

// number reads a finite number.
func (v val) number() (float64, bool) {
	if v.node().kind != kindNumber {
		v.want("a number")
		return 0, false
	}
	lit := v.c.t.raw(v.n)
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) {
		v.errf("must be a finite number (got %s)", clip(lit))
		return 0, false
	}
	return f, true
}

func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// between reads a number in [lo, hi].
func (v val) between(lo, hi float64) (float64, bool) {
	f, ok := v.number()
	if ok && (f < lo || f > hi) {
		v.errf("must be between %v and %v (got %v)", lo, hi, f)
		return f, false
	}
	return f, ok
}

// nonNegative reads a number >= 0.
func (v val) nonNegative() (float64, bool) {
	f, ok := v.number()
	if ok && f < 0 {
		v.errf("must not be negative (got %v)", f)
		return f, false
	}
	return f, ok
}

// maxCount bounds whole-number counts such as pieces.
const maxCount = 1_000_000_000

// count reads a whole number in [0, maxCount], written without fraction or
// exponent (so it decodes into an int exactly as encoding/json would).
func (v val) count() (int, bool) {
	if v.node().kind != kindNumber {
		v.want("a whole number")
		return 0, false
	}
	lit := v.c.t.raw(v.n)
	if strings.ContainsAny(lit, ".eE") {
		v.errf("must be a whole number written without fraction or exponent, such as 12 (got %s)", clip(lit))
		return 0, false
	}
	n, err := strconv.ParseInt(lit, 10, 64)
	switch {
	case lit[0] == '-' && (err != nil || n < 0):
		v.errf("must not be negative (got %s)", clip(lit))
	case err != nil || n > maxCount:
		v.errf("must be at most %d (got %s)", maxCount, clip(lit))
	default:
		return int(n), true
	}
	return 0, false
}

// timeExample is the shape every time must have.
const timeExample = "2026-11-22T10:00:00Z"

// timestamp reads an RFC 3339 time. Escaped strings are refused: the
// stored data is decoded by time.Time's UnmarshalJSON, which reads the
// text between the quotes as is.
func (v val) timestamp() (time.Time, bool) {
	nd := v.node()
	if nd.kind != kindString {
		v.want("an RFC 3339 time string such as " + timeExample)
		return time.Time{}, false
	}
	s := v.c.t.src[nd.start+1 : nd.end-1]
	if !nd.escaped {
		if t, ok := parseTime(s); ok {
			return t, true
		}
	}
	v.errf("must be an RFC 3339 time such as %s or 2026-11-22T11:00:00.250+01:00 (got %s)", timeExample, quoteClip(v.c.t.str(v.n)))
	return time.Time{}, false
}

// parseTime parses YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM).
func parseTime(s string) (time.Time, bool) {
	if len(s) < 20 || !digitsAt(s, 0, 4) || s[4] != '-' || !digitsAt(s, 5, 2) || s[7] != '-' || !digitsAt(s, 8, 2) ||
		s[10] != 'T' || !digitsAt(s, 11, 2) || s[13] != ':' || !digitsAt(s, 14, 2) || s[16] != ':' || !digitsAt(s, 17, 2) {
		return time.Time{}, false
	}
	rest := s[19:]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return time.Time{}, false
		}
		rest = rest[n:]
	}
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && digitsAt(rest, 1, 2) && rest[3] == ':' && digitsAt(rest, 4, 2):
		if rest[1:3] > "23" || rest[4:6] > "59" {
			return time.Time{}, false
		}
	default:
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

func digitsAt(s string, i, n int) bool {
	for _, c := range []byte(s[i : i+n]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// obj is an object being walked.
type obj struct {
	c *checker
	n int32
}

// object reads an object value. Known lists the member names of its type:
// a member differing from one of them only in case is refused
// (encoding/json would decode it into that field).
func (v val) object(known []string) (obj, bool) {
	if v.node().kind != kindObject {
		v.want("an object")
		return obj{}, false
	}
	o := obj(v)
	o.checkMembers(known)
	return o, true
}

// first returns the first member or element of a container.
func (c *checker) first(n int32) int32 { return c.t.nodes[n].first }
func (c *checker) next(n int32) int32  { return c.t.nodes[n].next }

// checkMembers refuses repeated member names and case variants of known
// names.
func (o obj) checkMembers(known []string) {
	t := o.c.t
	cnt := t.nodes[o.n].count
	var seen map[string]int
	if cnt > 16 {
		seen = make(map[string]int, cnt)
	}
	for m := o.c.first(o.n); m >= 0; m = o.c.next(m) {
		key := t.nodes[m].key
		dups := 0
		if seen != nil {
			seen[key]++
			dups = seen[key] - 1
		} else {
			for e := o.c.first(o.n); e != m; e = o.c.next(e) {
				if t.nodes[e].key == key {
					dups++
				}
			}
		}
		if dups == 1 {
			o.c.addf(m, "", "appears more than once; each member may appear only once")
		}
		if known != nil && dups == 0 {
			if k, ok := caseVariant(key, known); ok {
				o.c.addf(m, "", "is not a known member; names are case-sensitive: did you mean %q?", k)
			}
		}
	}
}

// caseVariant returns the known name that key equals up to case, if key is
// not itself known.
func caseVariant(key string, known []string) (string, bool) {
	for _, k := range known {
		if key == k {
			return "", false
		}
	}
	for _, k := range known {
		if strings.EqualFold(key, k) {
			return k, true
		}
	}
	return "", false
}

// get returns member name (the last one, as encoding/json would), treating
// null like absence.
func (o obj) get(name string) (val, bool) {
	found := int32(-1)
	for m := o.c.first(o.n); m >= 0; m = o.c.next(m) {
		if o.c.t.nodes[m].key == name {
			found = m
		}
	}
	if found < 0 || o.c.t.nodes[found].kind == kindNull {
		return val{}, false
	}
	return val{c: o.c, n: found}, true
}

// has reports whether member name is present and not null.
func (o obj) has(name string) bool {
	_, ok := o.get(name)
	return ok
}

// need returns member name, recording "is required" when it is missing.
func (o obj) need(name string, required bool) (val, bool) {
	v, ok := o.get(name)
	if !ok && required {
		o.c.addf(o.n, name, "is required")
	}
	return v, ok
}

// The member readers below return the zero value when the member is
// missing or breaks a rule (the rule is recorded).

func (o obj) id(name string, required bool) string {
	if v, ok := o.need(name, required); ok {
		s, _ := v.id()
		return s
	}
	return ""
}

func (o obj) text(name string, required bool, maxChars int) string {
	if v, ok := o.need(name, required); ok {
		s, _ := v.text(maxChars)
		return s
	}
	return ""
}

func (o obj) oneOf(name string, required bool, allowed []string) string {
	if v, ok := o.need(name, required); ok {
		s, _ := v.oneOf(allowed)
		return s
	}
	return ""
}

func (o obj) between(name string, required bool, lo, hi float64) float64 {
	if v, ok := o.need(name, required); ok {
		f, _ := v.between(lo, hi)
		return f
	}
	return 0
}

// The optional readers below store a valid value in *dst and return dst,
// or nil when the member is absent or breaks a rule. Callers point dst
// into the allocation of the typed data, so optional members cost no
// allocation of their own.

// optBetween reads an optional number in [lo, hi].
func (o obj) optBetween(name string, lo, hi float64, dst *float64) *float64 {
	if v, ok := o.get(name); ok {
		if f, ok := v.between(lo, hi); ok {
			*dst = f
			return dst
		}
	}
	return nil
}

// optNonNegative reads an optional number >= 0.
func (o obj) optNonNegative(name string, dst *float64) *float64 {
	if v, ok := o.get(name); ok {
		if f, ok := v.nonNegative(); ok {
			*dst = f
			return dst
		}
	}
	return nil
}

// optCount reads an optional whole number >= 0.
func (o obj) optCount(name string, dst *int) *int {
	if v, ok := o.get(name); ok {
		if n, ok := v.count(); ok {
			*dst = n
			return dst
		}
	}
	return nil
}

func (o obj) timestamp(name string, required bool) (time.Time, bool) {
	if v, ok := o.need(name, required); ok {
		return v.timestamp()
	}
	return time.Time{}, false
}

func (o obj) object(name string, required bool, known []string) (obj, bool) {
	if v, ok := o.need(name, required); ok {
		return v.object(known)
	}
	return obj{}, false
}

// arr is an array being walked.
type arr struct {
	c   *checker
	n   int32
	len int
}

func (o obj) array(name string, required bool) (arr, bool) {
	v, ok := o.need(name, required)
	if !ok {
		return arr{}, false
	}
	if v.node().kind != kindArray {
		v.want("an array")
		return arr{}, false
	}
	return arr{c: o.c, n: v.n, len: int(v.node().count)}, true
}

// elem returns the element at node n of a.
func (a arr) elem(n int32) val { return val{c: a.c, n: n} }

// errf records a violation of the array as a whole.
func (a arr) errf(format string, args ...any) { a.c.addf(a.n, "", format, args...) }

// point reads lat and lon members.
func (o obj) point(required bool) Point {
	return Point{Lat: o.between("lat", required, -90, 90), Lon: o.between("lon", required, -180, 180)}
}

var pointFields = []string{"lat", "lon"}
