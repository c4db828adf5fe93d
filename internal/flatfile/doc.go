// Package flatfile turns a partner's CSV file (orders, GPS positions,
// fuel-card transactions) into one JSON-able object per row with typed
// values, and reports every problem precisely: per file (the header, the
// encoding, the size) or per row, naming the row, line, column and reason.
//
// A Spec declares the columns by header; Read streams the file and passes
// every data row, good or bad, to a callback. The package owns only that
// conversion: it does no HTTP, touches no store, applies no jq mapping and
// decides nothing about bad rows — the hub maps good rows to canonical
// events and keeps bad ones in quarantine.
//
// # Files
//
// The first record is the header; headers are matched to Column.Header
// case-insensitively after trimming spaces. A missing required column,
// two equal headers, an empty file, a line or record longer than
// Spec.MaxLineBytes and more rows than Spec.MaxRows are a *FileError. A
// header without data rows is a file of zero rows. A UTF-8 byte order mark,
// CRLF line endings, quoted cells holding delimiters, quotes ("") and
// newlines, and blank lines are read as usual; so are records whose cells
// are all empty (";;;"), which are skipped like blank lines. Header cells
// that are empty (a trailing delimiter) name no column.
//
// # Rows
//
// A row is bad when it has another number of cells than the header, when
// encoding/csv cannot split it (a bare quote: reading goes on with the
// next record), when a cell is not valid UTF-8, when a required cell is
// empty, or when a cell does not convert to its column's type. A bad row
// carries every CellError found and no Values; Raw keeps its cells for
// quarantine.
//
// # Values
//
// Cells are trimmed of surrounding white space. A cell empty after
// trimming is left out of Values (neither "" nor nil); undeclared columns
// are left out unless Spec.Extra is "keep". Values hold only types
// encoding/json and gojq both take:
//
//   - string: the trimmed cell, a string;
//   - number: "12.5", "-3", "1e3", ".5" as float64; "12,5" is refused with
//     a hint to use '.', and so are NaN, infinities and hexadecimal;
//   - integer: "-42" as int (64 bits), no fraction or exponent;
//   - decimal: "84.20" or "-3" as a string kept as written (less a leading
//     '+') so that amounts never pass through a float; no exponent;
//   - time: RFC 3339, or Column.Layout ("02.01.2006 15:04" read in
//     Column.Location, default UTC; "unix" and "unix_ms" for whole seconds
//     or milliseconds since 1970), as an RFC 3339 string in UTC
//     ("2024-03-01T07:15:00Z", fractional seconds only when present);
//   - bool: true/false, 1/0, yes/no in any case, as bool.
package flatfile
