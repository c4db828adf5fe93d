package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// envOverrides are the contract's environment variables, in the order they
// are applied, with the key each one replaces.
var envOverrides = []struct {
	env, key string
	field    func(*Config) *string
}{
	{"CROSSDOCK_HTTP_ADDR", "http.addr", func(c *Config) *string { return &c.HTTP.Addr }},
	{"CROSSDOCK_DATA_DIR", "store.data_dir", func(c *Config) *string { return &c.Store.DataDir }},
	{"CROSSDOCK_DATABASE_URL", "store.database_url", func(c *Config) *string { return &c.Store.DatabaseURL }},
	{"CROSSDOCK_ADMIN_KEY", "auth.admin_key", func(c *Config) *string { return &c.Auth.AdminKey }},
	{"CROSSDOCK_OSMAND_ADDR", "inputs.osmand.addr", func(c *Config) *string { return &c.Inputs.OsmAnd.Addr }},
	{"CROSSDOCK_TELTONIKA_ADDR", "inputs.teltonika.addr", func(c *Config) *string { return &c.Inputs.Teltonika.Addr }},
	{"CROSSDOCK_MQTT_URL", "inputs.mqtt.url", func(c *Config) *string { return &c.Inputs.MQTT.URL }},
}

// Load reads the YAML file at path (path "" means no file: defaults only),
// applies defaults for unset fields (keys absent or null keep their
// default), then the environment overrides from getenv (pass os.Getenv; a
// variable overrides only when non-empty; nil reads none), then Validate.
//
// The file is strict: an unknown key, a key given twice, a value of the
// wrong type or a second YAML document is an error naming the dotted key
// path and the line, e.g. "http.adress: unknown key (line 3)". Every error
// about the content is an *Error carrying the file name; a file that cannot
// be read is the os error wrapped. On error Load returns the zero Config.
func Load(path string, getenv func(string) string) (Config, error) {
	cfg := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if e := decode(b, &cfg); e != nil {
			e.File = path
			return Config{}, e
		}
	}
	fromEnv := map[string]string{}
	if getenv != nil {
		for _, o := range envOverrides {
			if v := getenv(o.env); v != "" {
				*o.field(&cfg) = v
				fromEnv[o.key] = o.env
			}
		}
	}
	cfg.withPartnerDefaults()
	cfg.resolveSecrets(getenv)
	cfg.withConnectorDefaults(getenv)
	cfg.withMonitorDefaults()
	if err := cfg.Validate(); err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return Config{}, err
		}
		for i, p := range e.Problems {
			if env, ok := fromEnv[p.Key]; ok {
				e.Problems[i].Message += " (set by " + env + ")"
			}
		}
		e.File = path
		return Config{}, e
	}
	return cfg, nil
}

// decode parses src strictly over cfg. It reports every problem prepare
// finds, and then the decoder's first error unless it names a key already
// reported.
func decode(src []byte, cfg *Config) *Error {
	f, err := parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return &Error{Problems: []Problem{syntaxProblem(err)}}
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue // empty, or only comments
		}
		if body != nil {
			return &Error{Problems: []Problem{{Message: fmt.Sprintf(
				"the file must hold one YAML document; a second one starts (line %d)", lineOf(doc.Body.GetToken()))}}}
		}
		body = doc.Body
	}
	if body == nil || body.Type() == ast.NullType {
		return nil // all defaults
	}
	ps := prepare(body)
	if err := yaml.NodeToValue(body, cfg, yaml.Strict()); err != nil {
		p := decodeProblem(body, err)
		if !slices.ContainsFunc(ps, func(q Problem) bool { return q.Key == p.Key }) {
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return &Error{Problems: ps}
	}
	return nil
}

// prepare walks the document before the decoder does and reports, in
// document order, every unknown key (the decoder stops at one, picked at
// random), every key given twice in one mapping (the parser would stop at
// the first, without a key path) and every fraction where a whole number
// goes (the decoder would truncate it). It also turns the scalars that land
// in string fields into strings as written: the decoder would print a
// number back in Go's form (an admin key 0123456789012345678 would become
// 123456789012345678, a SHA-256 of digits "0").
func prepare(n ast.Node) []Problem {
	var ps []Problem
	switch n := n.(type) {
	case *ast.MappingNode:
		t := typeAt(n.GetPath())
		first := map[string]int{}
		for _, v := range n.Values {
			if v.Key != nil && v.Key.Type() != ast.MergeKeyType {
				name, line := keyName(v.Key), lineOf(v.Key.GetToken())
				if p, ok := unknownKey(t, v.Key); ok {
					ps = append(ps, p)
				} else if l, ok := first[name]; ok {
					ps = append(ps, Problem{Key: keyPath(v.Key.GetPath()),
						Message: fmt.Sprintf("key given twice, first on line %d (line %d)", l, line)})
				} else {
					first[name] = line
				}
			}
			v.Value = asWritten(v.Value)
			ps = append(ps, prepare(v.Value)...)
		}
	case *ast.MappingValueNode:
		if p, ok := unknownKey(typeAt(parentPath(n.GetPath())), n.Key); ok {
			ps = append(ps, p)
		}
		n.Value = asWritten(n.Value)
		ps = append(ps, prepare(n.Value)...)
	case *ast.SequenceNode:
		for i := range n.Values {
			n.Values[i] = asWritten(n.Values[i])
			ps = append(ps, prepare(n.Values[i])...)
		}
	case *ast.AnchorNode:
		n.Value = asWritten(n.Value)
		ps = append(ps, prepare(n.Value)...)
	case *ast.FloatNode:
		if t := typeAt(n.GetPath()); t != nil && isInt(t) && n.Value != math.Trunc(n.Value) {
			ps = append(ps, Problem{Key: keyPath(n.GetPath()),
				Message: fmt.Sprintf("must be a whole number, got %s (line %d)", describe(n), lineOf(n.GetToken()))})
		}
	}
	return ps
}

// unknownKey reports key when the struct type t has no such field.
func unknownKey(t reflect.Type, key ast.MapKeyNode) (Problem, bool) {
	if t == nil || t.Kind() != reflect.Struct || key == nil || key.Type() == ast.MergeKeyType {
		return Problem{}, false
	}
	name := keyName(key)
	if slices.Contains(fieldNames(t), name) {
		return Problem{}, false
	}
	return Problem{Key: keyPath(key.GetPath()),
		Message: fmt.Sprintf("unknown key (line %d)%s", lineOf(key.GetToken()), suggest(name, t))}, true
}

// asWritten turns a number or boolean headed for a string field into a
// string node holding its text as written.
func asWritten(n ast.Node) ast.Node {
	if n == nil {
		return n
	}
	switch n.Type() {
	case ast.IntegerType, ast.FloatType, ast.BoolType, ast.InfinityType, ast.NanType:
		if t := typeAt(n.GetPath()); t != nil && t.Kind() == reflect.String {
			s := ast.String(n.GetToken())
			s.SetPath(n.GetPath())
			return s
		}
	}
	return n
}

// decodeProblem turns the decoder's error into a Problem naming the key
// path of the node it points at.
func decodeProblem(body ast.Node, err error) Problem {
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil {
		return Problem{Message: err.Error()}
	}
	tok := ye.GetToken()
	var unknown *yaml.UnknownFieldError
	isUnknown := errors.As(err, &unknown)
	// An unknown key's token is the key's own; a bad value's is its first
	// token, which a mapping value shares with its first key.
	n := nodeOf(body, tok, isUnknown)
	key := ""
	if n != nil {
		key = keyPath(n.GetPath())
	}
	got := strconv.Quote(shorten(tok.Value))
	if n != nil {
		got = describe(n)
	}
	var (
		msg      string
		typ      *yaml.TypeError
		overflow *yaml.OverflowError
		kind     *yaml.UnexpectedNodeTypeError
		value    *valueError
	)
	switch {
	case isUnknown:
		msg = fmt.Sprintf("unknown key (line %d)", lineOf(tok))
		if n != nil {
			msg += suggest(tok.Value, typeAt(parentPath(n.GetPath())))
		}
		return Problem{Key: key, Message: msg}
	case errors.As(err, &typ):
		msg = "must be " + want(typ.DstType) + ", got " + got
		if typ.DstType != nil && typ.DstType.Kind() == reflect.String && n != nil && n.Type() == ast.MappingType {
			msg += `; inside [...] or {...} quote a value with a colon: "events:write"`
		}
	case errors.As(err, &overflow):
		msg = "number out of range, got " + got
	case errors.As(err, &kind):
		msg = "must be " + nodeKind(kind.Expected) + ", got " + got
		if key == "" && kind.Expected == ast.MappingType {
			msg = "the file must be a mapping of the sections " + strings.Join(fieldNames(configType), ", ") + ", got " + got
		}
	case errors.As(err, &value):
		msg = value.msg
	default:
		msg = ye.GetMessage()
	}
	return Problem{Key: key, Message: fmt.Sprintf("%s (line %d)", msg, lineOf(tok))}
}

// syntaxProblem reports a document the YAML parser rejects.
func syntaxProblem(err error) Problem {
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil {
		return Problem{Message: "invalid YAML: " + err.Error()}
	}
	msg := ye.GetMessage()
	if strings.Contains(msg, "\t") {
		msg = strings.ReplaceAll(msg, "\t", `\t`) + "; indent with spaces"
	}
	return Problem{Message: fmt.Sprintf("invalid YAML: %s (line %d)", msg, lineOf(ye.GetToken()))}
}

// valueError is a bad value found by a field's own UnmarshalYAML. It
// implements yaml.Error so that it carries its position like the decoder's.
type valueError struct {
	tok *token.Token
	msg string
}

func (e *valueError) Error() string          { return yaml.FormatErrorWithToken(e.msg, e.tok, false, false) }
func (e *valueError) GetToken() *token.Token { return e.tok }
func (e *valueError) GetMessage() string     { return e.msg }
func (e *valueError) FormatError(c, s bool) string {
	return yaml.FormatErrorWithToken(e.msg, e.tok, c, s)
}

type visitor func(ast.Node)

func (v visitor) Visit(n ast.Node) ast.Visitor {
	v(n)
	return v
}

// nodeOf finds the node of body that starts at tok: the innermost one, or
// the outermost.
func nodeOf(body ast.Node, tok *token.Token, innermost bool) ast.Node {
	var found ast.Node
	ast.Walk(visitor(func(n ast.Node) {
		if n.GetToken() == tok && (found == nil || innermost) {
			found = n
		}
	}), body)
	return found
}

// keyPath turns a YAML path ("$.auth.keys[1].name") into the key path
// people read ("auth.keys[1].name"); the document root is "".
func keyPath(p string) string {
	return strings.TrimPrefix(strings.TrimPrefix(p, "$"), ".")
}

// parentPath drops the last key of a YAML path.
func parentPath(p string) string {
	if i := strings.LastIndexAny(p, ".["); i > 0 {
		return p[:i]
	}
	return "$"
}

func lineOf(tok *token.Token) int {
	if tok == nil || tok.Position == nil {
		return 0
	}
	return tok.Position.Line
}

// keyName is a mapping key's text; an explicit key ("? name") is its value's.
func keyName(k ast.MapKeyNode) string {
	switch k := k.(type) {
	case *ast.StringNode:
		return k.Value
	case *ast.MappingKeyNode:
		if s, ok := k.Value.(*ast.StringNode); ok {
			return s.Value
		}
	}
	return k.GetToken().Value
}

// describe says what a node holds, for "got …".
func describe(n ast.Node) string {
	switch n := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode:
		return "nothing"
	case *ast.AnchorNode:
		return describe(n.Value)
	case *ast.TagNode:
		return describe(n.Value)
	case *ast.StringNode:
		return strconv.Quote(shorten(n.Value))
	case *ast.LiteralNode:
		return strconv.Quote(shorten(n.Value.Value))
	}
	return strconv.Quote(shorten(n.GetToken().Value))
}

func shorten(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:40]) + "…"
}

var durationType = reflect.TypeFor[Duration]()

// want names what a Go type takes in YAML.
func want(t reflect.Type) string {
	switch {
	case t == nil:
		return "another type"
	case t == durationType:
		return "a duration such as 1.5s or 20m"
	case isInt(t):
		return "a whole number"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a mapping"
	}
	return t.String()
}

func nodeKind(t ast.NodeType) string {
	switch t {
	case ast.MappingType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.IntegerType:
		return "a whole number"
	}
	return "a " + strings.ToLower(t.String())
}

func isInt(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return t != durationType
	}
	return false
}

var configType = reflect.TypeFor[Config]()

// typeAt resolves a YAML path against Config: the Go type its value
// decodes into, or nil when the path names nothing in Config.
func typeAt(path string) reflect.Type {
	t := configType
	p, ok := strings.CutPrefix(path, "$")
	if !ok {
		return nil
	}
	for p != "" {
		switch p[0] {
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 || t.Kind() != reflect.Slice {
				return nil
			}
			t, p = t.Elem(), p[end+1:]
		case '.':
			p = p[1:]
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			name := p[:end]
			p = p[end:]
			if t.Kind() != reflect.Struct {
				return nil
			}
			var next reflect.Type
			for i := range t.NumField() {
				if yamlName(t.Field(i)) == name {
					next = t.Field(i).Type
				}
			}
			if next == nil {
				return nil
			}
			t = next
		default:
			return nil
		}
	}
	return t
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// fieldNames lists the YAML keys of a struct type, in declaration order.
func fieldNames(t reflect.Type) []string {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := range t.NumField() {
		if n := yamlName(t.Field(i)); n != "" && n != "-" {
			names = append(names, n)
		}
	}
	return names
}

// suggest points at the known key closest to an unknown one, or lists the
// known keys when none is close.
func suggest(unknown string, parent reflect.Type) string {
	names := fieldNames(parent)
	if len(names) == 0 {
		return ""
	}
	u := strings.ToLower(unknown)
	best, bestDist := "", math.MaxInt
	for _, n := range names {
		d := editDistance(u, n)
		near := d <= max(2, len(u)/2) ||
			(min(len(u), len(n)) >= 3 && (strings.HasPrefix(u, n) || strings.HasPrefix(n, u)))
		if near && d < bestDist {
			best, bestDist = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf("; did you mean %s?", best)
	}
	return "; known keys: " + strings.Join(names, ", ")
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
