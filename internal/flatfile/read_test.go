package flatfile

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads file with spec and returns the rows passed on.
func readAll(t *testing.T, file string, spec Spec) ([]Row, Summary, error) {
	t.Helper()
	var rows []Row
	sum, err := Read(strings.NewReader(file), spec, func(r Row) error {
		rows = append(rows, r)
		return nil
	})
	return rows, sum, err
}

func cols(cs ...Column) Spec { return Spec{Columns: cs} }

func TestValidate(t *testing.T) {
	ok := Column{Name: "a"}
	tests := []struct {
		name string
		spec Spec
		want string // "" for valid
	}{
		{"minimal", cols(ok), ""},
		{"all types", cols(
			Column{Name: "s", Type: TypeString}, Column{Name: "n", Type: TypeNumber},
			Column{Name: "i", Type: TypeInteger}, Column{Name: "d", Type: TypeDecimal},
			Column{Name: "b", Type: TypeBool}, Column{Name: "t", Type: TypeTime},
			Column{Name: "t2", Type: TypeTime, Layout: "02.01.2006 15:04", Location: "Europe/Berlin"},
			Column{Name: "t3", Type: TypeTime, Layout: LayoutUnix}, Column{Name: "t4", Type: TypeTime, Layout: LayoutUnixMS},
		), ""},
		{"keep without columns", Spec{Extra: ExtraKeep}, ""},
		{"dialect", Spec{Columns: []Column{ok}, Delimiter: '\t', MaxRows: 5, MaxLineBytes: 100, Extra: ExtraIgnore}, ""},
		{"unknown type", cols(ok, Column{Name: "b"}, Column{Name: "amount", Type: "money"}), `columns[2] (amount): unknown type "money"`},
		{"no name", cols(Column{Header: "X"}), "columns[0]: name is required"},
		{"duplicate name", cols(ok, ok), "columns[1] (a): name also used by columns[0]\ncolumns[1] (a): header \"a\" also used by columns[0]"},
		{"duplicate header", cols(Column{Name: "a", Header: "Lat"}, Column{Name: "b", Header: " lat "}), `columns[1] (b): header " lat " also used by columns[0]`},
		{"header equals other name", cols(Column{Name: "lat"}, Column{Name: "b", Header: "LAT"}), `columns[1] (b): header "LAT" also used by columns[0]`},
		{"layout on number", cols(Column{Name: "a", Type: TypeNumber, Layout: "2006"}), "columns[0] (a): layout and location are for time columns only"},
		{"bad layout", cols(Column{Name: "a", Type: TypeTime, Layout: "dd.mm.yyyy"}), `columns[0] (a): layout "dd.mm.yyyy": not a Go time layout (like "02.01.2006 15:04")`},
		{"location without layout", cols(Column{Name: "a", Type: TypeTime, Location: "Europe/Berlin"}), `columns[0] (a): location "Europe/Berlin": needs a layout without an offset (RFC 3339 and Unix times are absolute)`},
		{"location with unix", cols(Column{Name: "a", Type: TypeTime, Layout: LayoutUnix, Location: "UTC"}), `columns[0] (a): location "UTC": needs a layout without an offset (RFC 3339 and Unix times are absolute)`},
		{"unknown location", cols(Column{Name: "a", Type: TypeTime, Layout: "2006-01-02", Location: "Mars/Base"}), `columns[0] (a): location "Mars/Base": unknown time zone`},
		{"local location", cols(Column{Name: "a", Type: TypeTime, Layout: "2006-01-02", Location: "Local"}), `columns[0] (a): location "Local": unknown time zone`},
		{"delimiter", Spec{Columns: []Column{ok}, Delimiter: '"'}, `delimiter '"': want ',', ';', '\t' or '|'`},
		{"negative", Spec{Columns: []Column{ok}, MaxRows: -1, MaxLineBytes: -2}, "max rows: must not be negative (got -1)\nmax line bytes: must not be negative (got -2)"},
		{"extra", Spec{Columns: []Column{ok}, Extra: "drop"}, `extra "drop": want "ignore" or "keep"`},
		{"no columns", Spec{}, "columns: none declared"},
		{"all at once", cols(Column{Name: "x", Type: "money"}, Column{Name: "x", Type: TypeBool, Location: "UTC"}),
			"columns[0] (x): unknown type \"money\"\ncolumns[1] (x): name also used by columns[0]\ncolumns[1] (x): header \"x\" also used by columns[0]\ncolumns[1] (x): layout and location are for time columns only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("Validate() = %v, want %s", err, tt.want)
			}
		})
	}
}

// TestConvert checks each type on one cell, read through a whole file.
func TestConvert(t *testing.T) {
	tests := []struct {
		typ, layout, loc string
		cell             string
		want             any    // nil: left out
		reason           string // "" for a good cell
	}{
		{TypeString, "", "", "  Hamburg Hbf ", "Hamburg Hbf", ""},
		{TypeString, "", "", "   ", nil, ""},
		{TypeNumber, "", "", "12.5", 12.5, ""},
		{TypeNumber, "", "", " -3 ", -3.0, ""},
		{TypeNumber, "", "", "1e3", 1000.0, ""},
		{TypeNumber, "", "", "+1.5E-2", 0.015, ""},
		{TypeNumber, "", "", ".5", 0.5, ""},
		{TypeNumber, "", "", "5.", 5.0, ""},
		{TypeNumber, "", "", "12,5", nil, `"12,5" is not a number (use . as the decimal separator)`},
		{TypeNumber, "", "", "1,234.5", nil, `"1,234.5" is not a number`},
		{TypeNumber, "", "", "NaN", nil, `"NaN" is not a number`},
		{TypeNumber, "", "", "-Inf", nil, `"-Inf" is not a number`},
		{TypeNumber, "", "", "infinity", nil, `"infinity" is not a number`},
		{TypeNumber, "", "", "0x1p4", nil, `"0x1p4" is not a number`},
		{TypeNumber, "", "", "1_000", nil, `"1_000" is not a number`},
		{TypeNumber, "", "", "1e400", nil, `"1e400" is out of range for a number`},
		{TypeNumber, "", "", "1.2.3", nil, `"1.2.3" is not a number`},
		{TypeNumber, "", "", ".", nil, `"." is not a number`},
		{TypeNumber, "", "", "1e", nil, `"1e" is not a number`},
		{TypeNumber, "", "", "e5", nil, `"e5" is not a number`},
		{TypeNumber, "", "", "--1", nil, `"--1" is not a number`},
		{TypeInteger, "", "", "42", 42, ""},
		{TypeInteger, "", "", "-7", -7, ""},
		{TypeInteger, "", "", "+7", 7, ""},
		{TypeInteger, "", "", "1.0", nil, `"1.0" is not an integer`},
		{TypeInteger, "", "", "1e3", nil, `"1e3" is not an integer`},
		{TypeInteger, "", "", "9223372036854775808", nil, `"9223372036854775808" is out of range for an integer`},
		{TypeDecimal, "", "", "84.20", "84.20", ""},
		{TypeDecimal, "", "", "-0.5", "-0.5", ""},
		{TypeDecimal, "", "", "+5", "5", ""},
		{TypeDecimal, "", "", "007", "007", ""},
		{TypeDecimal, "", "", "12,5", nil, `"12,5" is not a decimal (use . as the decimal separator)`},
		{TypeDecimal, "", "", "12,5x", nil, `"12,5x" is not a decimal`},
		{TypeDecimal, "", "", "1.", nil, `"1." is not a decimal`},
		{TypeDecimal, "", "", ".5", nil, `".5" is not a decimal`},
		{TypeDecimal, "", "", "1e3", nil, `"1e3" is not a decimal`},
		{TypeDecimal, "", "", "€12", nil, `"€12" is not a decimal`},
		{TypeTime, "", "", "2024-03-01T08:15:00+01:00", "2024-03-01T07:15:00Z", ""},
		{TypeTime, "", "", "2024-03-01T08:15:00.123456Z", "2024-03-01T08:15:00.123456Z", ""},
		{TypeTime, "", "", "2024-03-01 08:15:00", nil, `"2024-03-01 08:15:00" is not an RFC 3339 time (like 2024-03-01T08:15:00+01:00)`},
		{TypeTime, "", "", "2024-03-01T08:15:00", nil, `"2024-03-01T08:15:00" is not an RFC 3339 time (like 2024-03-01T08:15:00+01:00)`},
		{TypeTime, "02.01.2006 15:04", "", "01.03.2024 08:15", "2024-03-01T08:15:00Z", ""},
		{TypeTime, "02.01.2006 15:04", "Europe/Berlin", "01.03.2024 08:15", "2024-03-01T07:15:00Z", ""},
		{TypeTime, "02.01.2006 15:04", "Europe/Berlin", "01.07.2024 08:15", "2024-07-01T06:15:00Z", ""},
		{TypeTime, "2006-01-02 15:04 -0700", "Europe/Berlin", "2024-07-01 08:15 +0000", "2024-07-01T08:15:00Z", ""},
		{TypeTime, "02.01.2006 15:04", "", "2024-03-01", nil, `"2024-03-01" is not a time in layout "02.01.2006 15:04"`},
		{TypeTime, LayoutUnix, "", "1709280900", "2024-03-01T08:15:00Z", ""},
		{TypeTime, LayoutUnixMS, "", "1709280900250", "2024-03-01T08:15:00.25Z", ""},
		{TypeTime, LayoutUnix, "", "1709280900.5", nil, `"1709280900.5" is not a Unix time in whole seconds`},
		{TypeTime, LayoutUnixMS, "", "+-1", nil, `"+-1" is not a Unix time in whole milliseconds`},
		{TypeTime, LayoutUnix, "", "99999999999999", nil, `"99999999999999" is out of range for a time`},
		{TypeBool, "", "", "TRUE", true, ""},
		{TypeBool, "", "", "Yes", true, ""},
		{TypeBool, "", "", "1", true, ""},
		{TypeBool, "", "", "false", false, ""},
		{TypeBool, "", "", "NO", false, ""},
		{TypeBool, "", "", "0", false, ""},
		{TypeBool, "", "", "ja", nil, `"ja" is not a bool (true/false, 1/0 or yes/no)`},
		{TypeString, "", "", strings.Repeat("x", 100), strings.Repeat("x", 100), ""},
		{TypeNumber, "", "", strings.Repeat("9", 60) + "ä€x", nil, `"` + strings.Repeat("9", 60) + `ä"… is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.cell, func(t *testing.T) {
			spec := cols(Column{Name: "v", Type: tt.typ, Layout: tt.layout, Location: tt.loc}, Column{Name: "k"})
			file := "v,k\n\"" + strings.ReplaceAll(tt.cell, `"`, `""`) + "\",x\n"
			rows, _, err := readAll(t, file, spec)
			if err != nil || len(rows) != 1 {
				t.Fatalf("Read: %d rows, %v", len(rows), err)
			}
			r := rows[0]
			if tt.reason != "" {
				want := []CellError{{Row: 1, Line: 2, Column: "v", Header: "v", Value: tt.cell, Reason: tt.reason}}
				if !reflect.DeepEqual(r.Errs, want) || r.Values != nil {
					t.Fatalf("got errs %+v values %v, want %+v", r.Errs, r.Values, want)
				}
				return
			}
			if len(r.Errs) > 0 {
				t.Fatalf("unexpected errors %v", r.Errs)
			}
			got, ok := r.Values["v"]
			if tt.want == nil {
				if ok {
					t.Fatalf("Values[v] = %#v, want it left out", got)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("Values[v] = %#v (%T), want %#v (%T)", got, got, tt.want, tt.want)
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	pos := cols(Column{Name: "lat", Header: "Latitude", Type: TypeNumber, Required: true},
		Column{Name: "time", Header: "Timestamp", Type: TypeTime, Required: true},
		Column{Name: "note"})
	long := strings.Repeat("x", 200)
	tests := []struct {
		name, file string
		spec       Spec
		want       string
		line       int
		rows       int // rows passed before the error
	}{
		{"empty", "", pos, "empty file", 0, 0},
		{"bom only", "\ufeff", pos, "empty file", 0, 0},
		{"blank lines only", "\n\r\n\n", pos, "empty file", 0, 0},
		{"missing required", "note,speed\n1,2\n", pos, `missing required columns: lat ("Latitude"), time ("Timestamp")`, 0, 0},
		{"missing one", "LATITUDE,note\n1,2\n", pos, `missing required columns: time ("Timestamp")`, 0, 0},
		{"duplicate", "Latitude,Timestamp,x, latitude \n", pos, `duplicate header "latitude" (columns 1 and 4)`, 0, 0},
		{"duplicate undeclared", "Latitude,Timestamp,x,X\n", pos, `duplicate header "X" (columns 3 and 4)`, 0, 0},
		{"utf16", "\xff\xfeL\x00a\x00", pos, "file is UTF-16; export it as UTF-8", 0, 0},
		{"header utf8", "Latitude,Timestamp,\xc4rger\n", pos, "line 1: header 3 is not valid UTF-8", 1, 0},
		{"header quote", "Latitude,Time\"stamp\n", pos, `line 1: header: bare " in non-quoted-field (column 14)`, 1, 0},
		{"keep clashes", "Latitude,Timestamp,lat\n", Spec{Columns: pos.Columns, Extra: ExtraKeep}, `undeclared column "lat" has the name of a declared column`, 0, 0},
		{"long line", "Latitude,Timestamp\n1,2024-03-01T08:15:00Z\n1," + long + "\n", Spec{Columns: pos.Columns, MaxLineBytes: 100}, "line 3: line longer than 100 bytes", 3, 0},
		{"long last line", "Latitude,Timestamp\n" + long, Spec{Columns: pos.Columns, MaxLineBytes: 100}, "line 2: line longer than 100 bytes", 2, 0},
		{"long header", long + "\n", Spec{Columns: pos.Columns, MaxLineBytes: 100}, "line 1: line longer than 100 bytes", 1, 0},
		{"unclosed quote", "Latitude,Timestamp\n1,2024-03-01T08:15:00Z\n1,\"never closed\n" + strings.Repeat("short line\n", 20000), Spec{Columns: pos.Columns, MaxLineBytes: 100},
			"line 3: record longer than 100 bytes (an unclosed quote?)", 3, 1},
		{"max rows", "Latitude,Timestamp\n1,2024-03-01T08:15:00Z\n\n2,2024-03-01T08:15:00Z\n3,2024-03-01T08:15:00Z\n", Spec{Columns: pos.Columns, MaxRows: 2}, "line 5: more than 2 rows", 5, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, sum, err := readAll(t, tt.file, tt.spec)
			var fe *FileError
			if !errors.As(err, &fe) || err.Error() != tt.want || fe.Line != tt.line {
				t.Fatalf("Read() = %#v, want FileError %q at line %d", err, tt.want, tt.line)
			}
			if len(rows) != tt.rows || sum.Rows != tt.rows {
				t.Fatalf("%d rows passed, summary %+v, want %d", len(rows), sum, tt.rows)
			}
		})
	}
}

func TestReadHeaderOnly(t *testing.T) {
	for _, file := range []string{"Latitude", "Latitude\n", "\ufeffLatitude\r\n\r\n", " latitude ;extra;\n;;\n"} {
		rows, sum, err := readAll(t, file, Spec{Delimiter: ';', Columns: []Column{{Name: "lat", Header: "Latitude", Required: true}}})
		if err != nil || len(rows) != 0 || sum.Rows != 0 || sum.Header[0] != "Latitude" && sum.Header[0] != "latitude" {
			t.Errorf("%q: rows %v, summary %+v, err %v", file, rows, sum, err)
		}
	}
}

func TestReadRows(t *testing.T) {
	spec := cols(Column{Name: "id", Required: true}, Column{Name: "n", Header: "Count", Type: TypeInteger}, Column{Name: "note"})
	tests := []struct {
		name string
		file string
		spec Spec
		want []Row
	}{
		{"bom crlf semicolon", "\ufeffid;count;note\r\nA;1;x\r\nB;;\r\n\r\n", Spec{Columns: spec.Columns, Delimiter: ';'}, []Row{
			{Line: 2, Number: 1, Values: map[string]any{"id": "A", "n": 1, "note": "x"}, Raw: []string{"A", "1", "x"}},
			{Line: 3, Number: 2, Values: map[string]any{"id": "B"}, Raw: []string{"B", "", ""}},
		}},
		{"tab and header order", " Note\tID \tCOUNT\nhi\tA\t7\n", Spec{Columns: spec.Columns, Delimiter: '\t'}, []Row{
			{Line: 2, Number: 1, Values: map[string]any{"id": "A", "n": 7, "note": "hi"}, Raw: []string{"hi", "A", "7"}},
		}},
		{"pipe, optional column absent", "id|other\nA|z\n", Spec{Columns: spec.Columns, Delimiter: '|'}, []Row{
			{Line: 2, Number: 1, Values: map[string]any{"id": "A"}, Raw: []string{"A", "z"}},
		}},
		{"quoted", "id,count,note\n\"A,1\",\"2\",\"say \"\"hi\"\"\nbye\"\nB,3,\n", spec, []Row{
			{Line: 2, Number: 1, Values: map[string]any{"id": "A,1", "n": 2, "note": "say \"hi\"\nbye"}, Raw: []string{"A,1", "2", "say \"hi\"\nbye"}},
			{Line: 4, Number: 2, Values: map[string]any{"id": "B", "n": 3}, Raw: []string{"B", "3", ""}},
		}},
		{"cell counts", "id,count,note\nA,1\nB,2,x,y\n,,,\n", spec, []Row{
			{Line: 2, Number: 1, Raw: []string{"A", "1"}, Errs: []CellError{{Row: 1, Line: 2, Reason: "has 2 cells, header has 3"}}},
			{Line: 3, Number: 2, Raw: []string{"B", "2", "x", "y"}, Errs: []CellError{{Row: 2, Line: 3, Reason: "has 4 cells, header has 3"}}},
		}},
		{"bare quote, then more", "id,count,note\nA,1,5\" screen\nB,2,\"x\"y\nC,3,\"open\nstill\"\n", spec, []Row{
			{Line: 2, Number: 1, Errs: []CellError{{Row: 1, Line: 2, Reason: `bare " in non-quoted-field (line 2, column 6)`}}},
			{Line: 3, Number: 2, Errs: []CellError{{Row: 2, Line: 3, Reason: `extraneous or missing " in quoted-field (line 3, column 7)`}}},
			{Line: 4, Number: 3, Values: map[string]any{"id": "C", "n": 3, "note": "open\nstill"}, Raw: []string{"C", "3", "open\nstill"}},
		}},
		{"unclosed quote at end", "id,count,note\nA,1,\"open\n", spec, []Row{
			{Line: 2, Number: 1, Errs: []CellError{{Row: 1, Line: 2, Reason: `extraneous or missing " in quoted-field (line 2, column 11)`}}},
		}},
		{"invalid utf8 everywhere", "id,count,note,other\n\xff,x,\xfe,\xfd\n", spec, []Row{
			{Line: 2, Number: 1, Raw: []string{"\xff", "x", "\xfe", "\xfd"}, Errs: []CellError{
				{Row: 1, Line: 2, Column: "id", Header: "id", Value: "\xff", Reason: "is not valid UTF-8"},
				{Row: 1, Line: 2, Column: "note", Header: "note", Value: "\xfe", Reason: "is not valid UTF-8"},
				{Row: 1, Line: 2, Header: "other", Value: "\xfd", Reason: "is not valid UTF-8"},
				{Row: 1, Line: 2, Column: "n", Header: "count", Value: "x", Reason: `"x" is not an integer`},
			}},
		}},
		{"required empty", "id,count\n  ,1\n", spec, []Row{
			{Line: 2, Number: 1, Raw: []string{"  ", "1"}, Errs: []CellError{{Row: 1, Line: 2, Column: "id", Header: "id", Value: "  ", Reason: "is required"}}},
		}},
		{"keep extra", "id,Depot, Fahrer ,\nA, HH ,,\n", Spec{Columns: spec.Columns, Extra: ExtraKeep}, []Row{
			{Line: 2, Number: 1, Values: map[string]any{"id": "A", "Depot": "HH"}, Raw: []string{"A", " HH ", "", ""}},
		}},
		{"keep only", "a,b\n1,2\n", Spec{Extra: ExtraKeep}, []Row{
			{Line: 2, Number: 1, Values: map[string]any{"a": "1", "b": "2"}, Raw: []string{"1", "2"}},
		}},
		{"blank and empty rows between", "id\n\nA\n\"\"\n  \nB\n", spec, []Row{
			{Line: 3, Number: 1, Values: map[string]any{"id": "A"}, Raw: []string{"A"}},
			{Line: 6, Number: 2, Values: map[string]any{"id": "B"}, Raw: []string{"B"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, sum, err := readAll(t, tt.file, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rows, tt.want) {
				t.Fatalf("rows:\n got %+v\nwant %+v", rows, tt.want)
			}
			good := 0
			for _, r := range rows {
				if len(r.Errs) == 0 {
					good++
				}
			}
			if sum.Rows != len(rows) || sum.Good != good || sum.Bad != len(rows)-good {
				t.Fatalf("summary %+v for %d rows, %d good", sum, len(rows), good)
			}
		})
	}
}

func TestCellErrorFormat(t *testing.T) {
	tests := []struct {
		e    CellError
		want string
	}{
		{CellError{Row: 17, Column: "amount", Header: "Betrag", Value: "12,5x", Reason: `"12,5x" is not a decimal`}, `row 17 column amount ("Betrag"): "12,5x" is not a decimal`},
		{CellError{Row: 4, Header: "Notes", Reason: "is not valid UTF-8"}, `row 4 column "Notes": is not valid UTF-8`},
		{CellError{Row: 9, Reason: "has 5 cells, header has 7"}, `row 9: has 5 cells, header has 7`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %s, want %s", got, tt.want)
		}
	}
}

func TestReadStops(t *testing.T) {
	stop := errors.New("store down")
	calls := 0
	sum, err := Read(strings.NewReader("id\nA\nB\nC\n"), cols(Column{Name: "id"}), func(r Row) error {
		calls++
		if r.Number == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || err.Error() != "row 2: store down" || calls != 2 || sum.Rows != 2 || sum.Good != 2 {
		t.Fatalf("Read() = %+v, %v after %d calls", sum, err, calls)
	}
}

func TestReadReaderFails(t *testing.T) {
	boom := errors.New("connection reset")
	file := "id\nA\n" + strings.Repeat("B\n", 100000)
	r := io.MultiReader(strings.NewReader(file), iotest.ErrReader(boom))
	rows := 0
	_, err := Read(r, cols(Column{Name: "id"}), func(Row) error { rows++; return nil })
	var fe *FileError
	if !errors.Is(err, boom) || errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "flatfile: read: ") {
		t.Fatalf("Read() = %v", err)
	}
	if rows == 0 || rows > 100001 {
		t.Fatalf("%d rows before the error", rows)
	}
	_, err = Read(iotest.ErrReader(boom), cols(Column{Name: "id"}), func(Row) error { return nil })
	if !errors.Is(err, boom) {
		t.Fatalf("Read() = %v", err)
	}
}

func TestReadInvalidSpec(t *testing.T) {
	_, err := Read(strings.NewReader("a\n1\n"), Spec{}, func(Row) error { t.Fatal("fn called"); return nil })
	var fe *FileError
	if err == nil || errors.As(err, &fe) || err.Error() != "flatfile: spec: columns: none declared" {
		t.Fatalf("Read() = %v", err)
	}
}
