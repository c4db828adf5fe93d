package canonical

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// A small JSON parser that builds a flat tree of spans over the source
// text. Validation walks that tree, so every value is reached by its path
// without decoding the document into maps, and unescaped strings are
// substrings of the source (no copy). It accepts exactly what
// encoding/json accepts (RFC 8259 grammar, the same nesting limit);
// FuzzJSONTree holds it to that.

type kind uint8

const (
	kindNull kind = iota + 1
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// node is one value. Containers link their children through first/next.
type node struct {
	key     string // member name when the parent is an object (unescaped)
	start   int    // value span in the source; strings include their quotes
	end     int
	parent  int32 // enclosing container, or -1 for the root
	first   int32 // first child, or -1
	next    int32 // next sibling, or -1
	count   int32 // number of children
	kind    kind
	escaped bool // a string value containing backslash escapes
}

// tree is a parsed document; node 0 is the root.
type tree struct {
	src   string
	nodes []node
	// record is the deepest nesting level whose values get nodes (0: the
	// root only); deeper values are checked for syntax and skipped.
	record int
}

var errSyntax = errors.New("invalid JSON")

// parse reads src into t. On a syntax error it returns errSyntax; the
// caller asks encoding/json for the precise message.
func (t *tree) parse(src string) error {
	t.src = src
	t.nodes = t.nodes[:0]
	i, _, ok := t.value(skipSpace(src, 0), 0, -1)
	if !ok || skipSpace(src, i) != len(src) {
		return errSyntax
	}
	return nil
}

func skipSpace(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value parses the value at s[i:] at nesting level depth and returns the
// index after it and its node (-1 when not recorded).
func (t *tree) value(i, depth int, parent int32) (int, int32, bool) {
	s := t.src
	if i >= len(s) {
		return i, -1, false
	}
	idx := int32(-1)
	if depth <= t.record {
		idx = int32(len(t.nodes))
		t.nodes = append(t.nodes, node{start: i, parent: parent, first: -1, next: -1})
	}
	var k kind
	esc := false
	ok := true
	start := i
	switch c := s[i]; {
	case c == '{':
		k = kindObject
		i, ok = t.container(i, depth, idx, '}')
	case c == '[':
		k = kindArray
		i, ok = t.container(i, depth, idx, ']')
	case c == '"':
		k = kindString
		i, esc, ok = scanString(s, i)
	case c == '-' || (c >= '0' && c <= '9'):
		k = kindNumber
		i, ok = scanNumber(s, i)
	case c == 't':
		k, i, ok = kindBool, i+4, hasPrefixAt(s, start, "true")
	case c == 'f':
		k, i, ok = kindBool, i+5, hasPrefixAt(s, start, "false")
	case c == 'n':
		k, i, ok = kindNull, i+4, hasPrefixAt(s, start, "null")
	default:
		ok = false
	}
	if !ok {
		return i, -1, false
	}
	if idx >= 0 {
		n := &t.nodes[idx]
		n.kind, n.end, n.escaped = k, i, esc
	}
	return i, idx, true
}

func hasPrefixAt(s string, i int, lit string) bool {
	return len(s)-i >= len(lit) && s[i:i+len(lit)] == lit
}

// container parses an object or array opening at s[i] and links its
// children under idx.
func (t *tree) container(i, depth int, idx int32, closer byte) (int, bool) {
	s := t.src
	if depth+1 > maxDepth {
		return i, false
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == closer {
		return i + 1, true
	}
	prev := int32(-1)
	count := int32(0)
	for {
		var key string
		if closer == '}' {
			if i >= len(s) || s[i] != '"' {
				return i, false
			}
			end, esc, ok := scanString(s, i)
			if !ok {
				return i, false
			}
			if idx >= 0 && depth+1 <= t.record {
				key = s[i+1 : end-1]
				if esc {
					key = unquote(s[i:end])
				}
			}
			i = skipSpace(s, end)
			if i >= len(s) || s[i] != ':' {
				return i, false
			}
			i = skipSpace(s, i+1)
		}
		var child int32
		var ok bool
		i, child, ok = t.value(i, depth+1, idx)
		if !ok {
			return i, false
		}
		if child >= 0 {
			t.nodes[child].key = key
			if prev < 0 {
				t.nodes[idx].first = child
			} else {
				t.nodes[prev].next = child
			}
			prev = child
		}
		count++
		i = skipSpace(s, i)
		if i >= len(s) {
			return i, false
		}
		switch s[i] {
		case ',':
			i = skipSpace(s, i+1)
		case closer:
			if idx >= 0 {
				t.nodes[idx].count = count
			}
			return i + 1, true
		default:
			return i, false
		}
	}
}

// strSpecial marks the bytes scanString must look at: the closing quote,
// the escape character and the control characters JSON forbids in strings.
var strSpecial = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// scanString scans the string opening at s[i] and returns the index after
// its closing quote and whether it holds escapes.
func scanString(s string, i int) (int, bool, bool) {
	esc := false
	for i++; i < len(s); i++ {
		c := s[i]
		if !strSpecial[c] {
			continue
		}
		switch {
		case c == '"':
			return i + 1, esc, true
		case c == '\\':
			esc = true
			i++
			if i >= len(s) {
				return i, esc, false
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(s)-i < 5 || !isHex(s[i+1]) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) {
					return i, esc, false
				}
				i += 4
			default:
				return i, esc, false
			}
		default: // a control character
			return i, esc, false
		}
	}
	return i, esc, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(s string, i int) (int, bool) {
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = digits(s, i)
	default:
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		j := digits(s, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(s, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func digits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// unquote decodes a JSON string literal holding escapes exactly as
// encoding/json does (the rare path: most strings are sliced directly).
func unquote(lit string) string {
	var s string
	if err := json.Unmarshal([]byte(lit), &s); err != nil {
		return ""
	}
	return s
}

// str returns the string value of node n (which must be a string).
func (t *tree) str(n int32) string {
	nd := &t.nodes[n]
	if nd.escaped {
		return unquote(t.src[nd.start:nd.end])
	}
	return t.src[nd.start+1 : nd.end-1]
}

// raw returns the source text of node n.
func (t *tree) raw(n int32) string { return t.src[t.nodes[n].start:t.nodes[n].end] }

// syntaxError describes why src is not JSON, in encoding/json's words.
func syntaxError(src []byte) string {
	var v any
	err := json.Unmarshal(src, &v)
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	case err != nil:
		return err.Error()
	}
	return "unexpected input"
}

var treePool = sync.Pool{New: func() any { return new(tree) }}

func getTree(record int) *tree {
	t := treePool.Get().(*tree)
	t.record = record
	return t
}

// putTree recycles t unless it grew large; it drops every reference into
// the parsed source first.
func putTree(t *tree) {
	if cap(t.nodes) > 4096 {
		return
	}
	clear(t.nodes)
	t.nodes, t.src = t.nodes[:0], ""
	treePool.Put(t)
}
