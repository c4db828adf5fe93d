package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/itchyny/gojq"
)

// normalizeTables turns the configured tables into $tables: a JSON object
// of JSON objects holding only the value types gojq works with (a table
// read from YAML may hold int64, uint64 or typed maps).
func normalizeTables(tables map[string]map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(tables))
	for name, t := range tables {
		b, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("code table %s: %w", name, err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v map[string]any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("code table %s: %w", name, err)
		}
		if v == nil {
			v = map[string]any{}
		}
		out[name] = v
	}
	return out, nil
}

func missingTable(name string) string {
	return fmt.Sprintf("no code table named %q", name)
}

// codeFunc implements code(table) and code(table; default): the input is
// the key (a string, or a number looked up by its JSON text); a key the
// table lacks is an error, or the default when one is given.
func codeFunc(tables map[string]any) func(any, []any) any {
	return func(key any, args []any) any {
		name, ok := args[0].(string)
		if !ok {
			return jqError("code table name must be a string, got " + gojq.TypeOf(args[0]))
		}
		table, ok := tables[name].(map[string]any)
		if !ok {
			return jqError(missingTable(name))
		}
		var k string
		switch key := key.(type) {
		case string:
			k, ok = key, true
		case int, float64, *big.Int, json.Number:
			b, err := gojq.Marshal(key)
			k, ok = string(b), err == nil
		}
		if ok {
			if v, found := table[k]; found {
				return v
			}
		}
		if len(args) == 2 {
			return args[1]
		}
		return jqError(fmt.Sprintf("code table %s has no entry for %s", name, gojq.Preview(key)))
	}
}

// decimalPattern is the text decimal accepts: a plain decimal number with
// an optional exponent of at most three digits.
var decimalPattern = regexp.MustCompile(`^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?$`)

// maxDecimalPlaces bounds the argument of decimal.
const maxDecimalPlaces = 18

// decimalFunc implements decimal(places): a number or numeric string as a
// decimal string with exactly places digits after the point, rounded half
// away from zero, computed on the decimal text so it never passes through
// a float ("84.2" → "84.20", 84.195 → "84.20").
func decimalFunc(v any, args []any) any {
	places, ok := gojq.ToInt(args[0])
	if !ok || places < 0 || places > maxDecimalPlaces {
		return jqError(fmt.Sprintf("decimal: places must be an integer from 0 to %d, got %s", maxDecimalPlaces, gojq.Preview(args[0])))
	}
	var text string
	switch v := v.(type) {
	case string:
		text = strings.TrimSpace(v)
	case json.Number:
		text = v.String()
	case int:
		text = strconv.Itoa(v)
	case *big.Int:
		text = v.String()
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return jqError("decimal: cannot format " + gojq.Preview(v))
		}
		text = strconv.FormatFloat(v, 'g', -1, 64)
	default:
		return jqError("decimal cannot be applied to " + gojq.TypeOf(v) + ": " + gojq.Preview(v))
	}
	if len(text) > 100 || !decimalPattern.MatchString(text) {
		return jqError("decimal: not a decimal number: " + gojq.Preview(v))
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return jqError("decimal: not a decimal number: " + gojq.Preview(v))
	}
	s := r.FloatString(places)
	if strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-") // no "-0.00"
	}
	return s
}

// unknownTable reports the first literal table name in a call code("name")
// or code("name"; default) that tables lack. It checks nothing when the
// program defines a function named code of its own.
func unknownTable(q *gojq.Query, tables map[string]any) (string, bool) {
	var missing string
	ownCode := false
	walk(reflect.ValueOf(q), func(v any) {
		switch v := v.(type) {
		case *gojq.FuncDef:
			if v.Name == "code" {
				ownCode = true
			}
		case *gojq.Func:
			if v.Name != "code" || len(v.Args) == 0 || len(v.Args) > 2 || missing != "" {
				return
			}
			if name, ok := literalString(v.Args[0]); ok {
				if _, found := tables[name]; !found {
					missing = name
				}
			}
		}
	})
	return missing, missing != "" && !ownCode
}

// walk calls f on every pointer reachable from v through exported fields
// and slices of the gojq syntax tree.
func walk(v reflect.Value, f func(any)) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		f(v.Interface())
		walk(v.Elem(), f)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				walk(v.Field(i), f)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			walk(v.Index(i), f)
		}
	}
}

// literalString reports whether q is a plain string literal.
func literalString(q *gojq.Query) (string, bool) {
	if q == nil || q.Left != nil || q.Right != nil || len(q.FuncDefs) > 0 || q.Term == nil {
		return "", false
	}
	t := q.Term
	if t.Type != gojq.TermTypeString || t.Str == nil || t.Str.Queries != nil || len(t.SuffixList) > 0 {
		return "", false
	}
	return t.Str.Str, true
}

// tableNameOffset finds the literal name in a call code("name" in src, or
// returns -1.
func tableNameOffset(src, name string) int {
	quoted, _ := json.Marshal(name)
	re := regexp.MustCompile(`\bcode\s*\(\s*` + regexp.QuoteMeta(string(quoted)))
	loc := re.FindStringIndex(src)
	if loc == nil {
		return -1
	}
	return loc[1] - len(quoted)
}
