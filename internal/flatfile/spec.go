package flatfile

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // Column.Location must not depend on the host's zoneinfo
)

// Column types.
const (
	TypeString  = "string"
	TypeNumber  = "number"
	TypeInteger = "integer"
	TypeDecimal = "decimal"
	TypeTime    = "time"
	TypeBool    = "bool"
)

// Layouts for time columns holding a count since 1970-01-01T00:00:00Z.
const (
	LayoutUnix   = "unix"    // whole seconds
	LayoutUnixMS = "unix_ms" // whole milliseconds
)

// Values of Spec.Extra.
const (
	ExtraIgnore = "ignore"
	ExtraKeep   = "keep"
)

// Defaults of a Spec.
const (
	DefaultMaxRows      = 1_000_000
	DefaultMaxLineBytes = 1 << 20
)

// Column declares one column of a file.
type Column struct {
	// Name is the key of the value in Row.Values ("lat").
	Name string
	// Header is the column's header in the file ("Latitude"), matched
	// case-insensitively after trimming spaces. Default: Name.
	Header string
	// Type is one of "string" (default), "number", "integer", "decimal",
	// "time" and "bool"; see the package documentation for what each
	// accepts and the Go type of its values.
	Type string
	// Layout is for time columns only: a Go time layout ("02.01.2006
	// 15:04"), "unix" or "unix_ms". Default: RFC 3339.
	Layout string
	// Location is for time columns with a Layout only: the IANA zone
	// ("Europe/Berlin") of times written without an offset. Default: UTC.
	Location string
	// Required makes a file without the column a file error and an empty
	// cell a row error.
	Required bool
}

// Spec describes a file: its columns, found by header, and its dialect.
type Spec struct {
	Columns []Column
	// Delimiter is ',' (default), ';', '\t' or '|'.
	Delimiter rune
	// MaxRows bounds the data rows of a file (default 1,000,000); the row
	// passing it is a file error.
	MaxRows int
	// MaxLineBytes bounds a line, and a record that quoted newlines make
	// span lines (default 1 MiB); a longer one is a file error. A record
	// is caught within 64 KiB past the bound (the read buffer), a line
	// exactly.
	MaxLineBytes int
	// Extra says what to do with columns the file has but Columns does not
	// declare: "ignore" them (default) or "keep" them in Row.Values as
	// strings, keyed by their header.
	Extra string
}

// plan is a validated Spec with its defaults applied.
type plan struct {
	cols     []column
	delim    rune
	maxRows  int
	maxLine  int
	keepRest bool
}

// column is a validated Column.
type column struct {
	Column
	key    string // normalised header
	layout string // time layout, time.RFC3339 by default
	loc    *time.Location
}

// Validate reports every problem of the spec, each naming its column:
// `columns[2] (amount): unknown type "money"`.
func (s Spec) Validate() error {
	_, err := s.compile()
	return err
}

func (s Spec) compile() (*plan, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	p := &plan{delim: s.Delimiter, maxRows: s.MaxRows, maxLine: s.MaxLineBytes}
	switch s.Delimiter {
	case 0:
		p.delim = ','
	case ',', ';', '\t', '|':
	default:
		bad(`delimiter %q: want ',', ';', '\t' or '|'`, s.Delimiter)
	}
	if s.MaxRows < 0 {
		bad("max rows: must not be negative (got %d)", s.MaxRows)
	} else if s.MaxRows == 0 {
		p.maxRows = DefaultMaxRows
	}
	if s.MaxLineBytes < 0 {
		bad("max line bytes: must not be negative (got %d)", s.MaxLineBytes)
	} else if s.MaxLineBytes == 0 {
		p.maxLine = DefaultMaxLineBytes
	}
	switch s.Extra {
	case "", ExtraIgnore:
	case ExtraKeep:
		p.keepRest = true
	default:
		bad(`extra %q: want "ignore" or "keep"`, s.Extra)
	}
	if len(s.Columns) == 0 && !p.keepRest {
		bad("columns: none declared")
	}
	names := map[string]int{}
	headers := map[string]int{}
	for i, c := range s.Columns {
		at := fmt.Sprintf("columns[%d] (%s)", i, c.Name)
		if c.Name == "" {
			at = fmt.Sprintf("columns[%d]", i)
			bad("%s: name is required", at)
		} else if j, dup := names[c.Name]; dup {
			bad("%s: name also used by columns[%d]", at, j)
		} else {
			names[c.Name] = i
		}
		col := column{Column: c}
		if col.Header == "" {
			col.Header = c.Name
		}
		col.key = normHeader(col.Header)
		if j, dup := headers[col.key]; dup && col.key != "" {
			bad("%s: header %q also used by columns[%d]", at, col.Header, j)
		} else {
			headers[col.key] = i
		}
		if col.Type == "" {
			col.Type = TypeString
		}
		switch col.Type {
		case TypeString, TypeNumber, TypeInteger, TypeDecimal, TypeBool:
			if c.Layout != "" || c.Location != "" {
				bad("%s: layout and location are for time columns only", at)
			}
		case TypeTime:
			if err := col.compileTime(); err != nil {
				bad("%s: %w", at, err)
			}
		default:
			bad("%s: unknown type %q", at, c.Type)
		}
		p.cols = append(p.cols, col)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// compileTime checks Layout and Location and loads the location.
func (c *column) compileTime() error {
	c.layout, c.loc = c.Layout, time.UTC
	switch c.Layout {
	case "":
		c.layout = time.RFC3339
	case LayoutUnix, LayoutUnixMS:
	default:
		ref := time.Date(2024, 11, 28, 19, 37, 58, 0, time.UTC)
		if _, err := time.Parse(c.Layout, ref.Format(c.Layout)); err != nil || ref.Format(c.Layout) == c.Layout {
			return fmt.Errorf("layout %q: not a Go time layout (like \"02.01.2006 15:04\")", c.Layout)
		}
	}
	if c.Location == "" {
		return nil
	}
	if c.Layout == "" || c.Layout == LayoutUnix || c.Layout == LayoutUnixMS {
		return fmt.Errorf("location %q: needs a layout without an offset (RFC 3339 and Unix times are absolute)", c.Location)
	}
	loc, err := time.LoadLocation(c.Location)
	if err != nil || c.Location == "Local" {
		return fmt.Errorf("location %q: unknown time zone", c.Location)
	}
	c.loc = loc
	return nil
}

// normHeader is the form headers are matched in.
func normHeader(h string) string { return strings.ToLower(strings.TrimSpace(h)) }
