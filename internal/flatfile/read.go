package flatfile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Row is one data record of a file.
type Row struct {
	// Line is the 1-based line of the file the record starts at; quoted
	// newlines make a record span lines.
	Line int `json:"line"`
	// Number is the 1-based number of the data row (the header excluded).
	Number int `json:"number"`
	// Values holds the typed value of each non-empty cell by Column.Name
	// (and, with Extra "keep", undeclared cells by header). It is nil when
	// Errs is not empty.
	Values map[string]any `json:"values,omitempty"`
	// Raw is the record's cells exactly as read; nil when encoding/csv
	// could not split the record.
	Raw []string `json:"raw,omitempty"`
	// Errs lists every problem of the row; empty when the row is good.
	Errs []CellError `json:"errors,omitempty"`
}

// CellError is one problem of a row: a cell that does not convert, or the
// record as a whole (Column and Header empty).
type CellError struct {
	Row    int    `json:"row"`              // Row.Number
	Line   int    `json:"line"`             // Row.Line
	Column string `json:"column,omitempty"` // Column.Name; "" for an undeclared column or the whole record
	Header string `json:"header,omitempty"` // the header in the file
	Value  string `json:"value,omitempty"`  // the cell as read
	Reason string `json:"reason"`           // `"12,5x" is not a decimal`
}

// Error reads `row 17 column amount ("Betrag"): "12,5x" is not a decimal`,
// `row 4 column "Notes": is not valid UTF-8` for an undeclared column, and
// `row 9: has 5 cells, header has 7` for the whole record.
func (e CellError) Error() string {
	switch {
	case e.Column != "":
		return fmt.Sprintf("row %d column %s (%q): %s", e.Row, e.Column, e.Header, e.Reason)
	case e.Header != "":
		return fmt.Sprintf("row %d column %q: %s", e.Row, e.Header, e.Reason)
	}
	return fmt.Sprintf("row %d: %s", e.Row, e.Reason)
}

// FileError is a problem that makes the whole file unusable: its header,
// its encoding, its size. Read returns it before passing any row when the
// header is at fault.
type FileError struct {
	Line   int // 0 when not at one line
	Reason string
}

// Error reads `line 7: line longer than 1048576 bytes`, or just the reason
// when Line is 0: `missing required columns: lat ("Latitude")`.
func (e *FileError) Error() string {
	if e.Line == 0 {
		return e.Reason
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// Summary counts the rows Read passed on.
type Summary struct {
	Rows   int      `json:"rows"`
	Good   int      `json:"good"`
	Bad    int      `json:"bad"`
	Header []string `json:"header"` // the header cells, trimmed; nil if unreadable
}

// Read reads a CSV file described by s from r and calls fn with every data
// row, good or bad, in file order. It stops at the first error fn returns
// and returns it wrapped with the row number.
//
// Read returns a *FileError for a file it cannot read through (a bad
// header, a line too long, too many rows), an error wrapping the reader's
// error if r fails, and an error for an invalid spec; Summary counts the
// rows passed to fn until then.
func Read(r io.Reader, s Spec, fn func(Row) error) (Summary, error) {
	var sum Summary
	p, err := s.compile()
	if err != nil {
		return sum, fmt.Errorf("flatfile: spec: %w", err)
	}
	lr := &limitReader{r: r, max: p.maxLine}
	br := bufio.NewReaderSize(lr, bufSize)
	head, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		_, _ = br.Discard(3) // cannot fail: Peek buffered the 3 bytes
	case bytes.HasPrefix(head, []byte("\xff\xfe")), bytes.HasPrefix(head, []byte("\xfe\xff")):
		return sum, &FileError{Reason: "file is UTF-16; export it as UTF-8"}
	}
	cr := csv.NewReader(br) // br is big enough for csv to use as is
	cr.Comma = p.delim
	cr.FieldsPerRecord = -1
	rd := &reader{plan: p, lr: lr, cr: cr, next: 1}

	err = rd.header()
	sum.Header = rd.headers
	if err != nil {
		return sum, err
	}
	for {
		row, err := rd.row()
		if err == io.EOF {
			return sum, nil
		}
		if err != nil {
			return sum, err
		}
		if sum.Rows == p.maxRows {
			return sum, &FileError{Line: row.Line, Reason: fmt.Sprintf("more than %d rows", p.maxRows)}
		}
		sum.Rows++
		row.Number = sum.Rows
		for i := range row.Errs {
			row.Errs[i].Row, row.Errs[i].Line = row.Number, row.Line
		}
		if len(row.Errs) == 0 {
			sum.Good++
		} else {
			sum.Bad++
		}
		if err := fn(row); err != nil {
			return sum, fmt.Errorf("row %d: %w", row.Number, err)
		}
	}
}

// reader is the state of one Read.
type reader struct {
	*plan
	lr      *limitReader
	cr      *csv.Reader
	next    int      // the line after the last record read
	idx     []int    // column index of each of plan.cols; -1 if absent
	headers []string // the header cells, trimmed
	names   []string // the Column.Name of each header cell; "" if undeclared
	extra   []int    // indexes of the undeclared cells to keep
}

// read returns the next record and the line it starts at.
func (rd *reader) read() ([]string, int, error) {
	rd.lr.begin(rd.next)
	rec, err := rd.cr.Read()
	var pe *csv.ParseError
	switch {
	case err == nil:
		line, _ := rd.cr.FieldPos(0)
		last, _ := rd.cr.FieldPos(len(rec) - 1)
		rd.next = last + strings.Count(rec[len(rec)-1], "\n") + 1
		return rec, line, nil
	case errors.As(err, &pe):
		rd.next = pe.Line + 1
		return nil, pe.StartLine, err
	case err == io.EOF:
		return nil, 0, err
	}
	var fe *FileError
	if errors.As(err, &fe) {
		return nil, 0, fe
	}
	return nil, 0, fmt.Errorf("flatfile: read: %w", err)
}

// header reads and checks the header and maps the columns to it.
func (rd *reader) header() error {
	rec, line, err := rd.read()
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		return &FileError{Reason: "empty file"}
	case errors.As(err, &pe):
		return &FileError{Line: pe.Line, Reason: fmt.Sprintf("header: %v (column %d)", pe.Err, pe.Column)}
	case err != nil:
		return err
	}
	for i, h := range rec {
		if !utf8.ValidString(h) {
			return &FileError{Line: line, Reason: fmt.Sprintf("header %d is not valid UTF-8", i+1)}
		}
	}
	rd.headers = make([]string, len(rec))
	for i, h := range rec {
		rd.headers[i] = strings.TrimSpace(h)
	}
	at := map[string]int{}
	for i, h := range rec {
		key := normHeader(h)
		if key == "" {
			continue // an unnamed column, such as the one a trailing delimiter makes
		}
		if j, dup := at[key]; dup {
			return &FileError{Reason: fmt.Sprintf("duplicate header %q (columns %d and %d)", rd.headers[i], j+1, i+1)}
		}
		at[key] = i
	}
	var missing []string
	names := map[string]bool{}
	rd.idx = make([]int, len(rd.cols))
	rd.names = make([]string, len(rec))
	for k, c := range rd.cols {
		names[c.Name] = true
		i, ok := at[c.key]
		if !ok {
			rd.idx[k] = -1
			if c.Required {
				missing = append(missing, fmt.Sprintf("%s (%q)", c.Name, c.Header))
			}
			continue
		}
		rd.idx[k] = i
		rd.names[i] = c.Name
	}
	if len(missing) > 0 {
		return &FileError{Reason: "missing required columns: " + strings.Join(missing, ", ")}
	}
	if rd.keepRest {
		for i, h := range rd.headers {
			if h == "" || rd.names[i] != "" {
				continue
			}
			if names[h] {
				return &FileError{Reason: fmt.Sprintf("undeclared column %q has the name of a declared column", h)}
			}
			rd.extra = append(rd.extra, i)
		}
	}
	return nil
}

// row reads the next data record, skipping records whose cells are all
// empty (the ";;;" lines spreadsheets leave below the data). Number and
// the Row and Line of Errs are left for Read to fill in.
func (rd *reader) row() (Row, error) {
	for {
		rec, line, err := rd.read()
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			return Row{Line: line, Errs: []CellError{{Reason: parseReason(pe)}}}, nil
		case err != nil:
			return Row{}, err
		case allEmpty(rec):
			continue
		}
		row := Row{Line: line, Raw: rec}
		rd.convert(&row)
		return row, nil
	}
}

// convert fills in row.Values, or row.Errs.
func (rd *reader) convert(row *Row) {
	rec := row.Raw
	if len(rec) != len(rd.headers) {
		row.Errs = []CellError{{Reason: fmt.Sprintf("has %d cells, header has %d", len(rec), len(rd.headers))}}
		return
	}
	var invalid map[int]bool
	for i, v := range rec {
		if !utf8.ValidString(v) {
			if invalid == nil {
				invalid = map[int]bool{}
			}
			invalid[i] = true
			row.Errs = append(row.Errs, CellError{Column: rd.names[i], Header: rd.headers[i], Value: v, Reason: "is not valid UTF-8"})
		}
	}
	values := make(map[string]any, len(rd.cols)+len(rd.extra))
	for k := range rd.cols {
		c, i := &rd.cols[k], rd.idx[k]
		if i < 0 || invalid[i] {
			continue
		}
		v := strings.TrimSpace(rec[i])
		if v == "" {
			if c.Required {
				row.Errs = append(row.Errs, CellError{Column: c.Name, Header: rd.headers[i], Value: rec[i], Reason: "is required"})
			}
			continue
		}
		val, reason := c.convert(v)
		if reason != "" {
			row.Errs = append(row.Errs, CellError{Column: c.Name, Header: rd.headers[i], Value: rec[i], Reason: reason})
			continue
		}
		values[c.Name] = val
	}
	for _, i := range rd.extra {
		if v := strings.TrimSpace(rec[i]); v != "" && !invalid[i] {
			values[rd.headers[i]] = v
		}
	}
	if len(row.Errs) == 0 {
		row.Values = values
	}
}

// parseReason describes a record encoding/csv could not split.
func parseReason(pe *csv.ParseError) string {
	return fmt.Sprintf("%v (line %d, column %d)", pe.Err, pe.Line, pe.Column)
}

func allEmpty(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}
