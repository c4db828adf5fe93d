package flatfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

var fuzzSpec = Spec{
	Delimiter:    ';',
	MaxRows:      50,
	MaxLineBytes: 200,
	Extra:        ExtraKeep,
	Columns: []Column{
		{Name: "id", Required: true},
		{Name: "n", Type: TypeNumber},
		{Name: "i", Header: "Int", Type: TypeInteger},
		{Name: "d", Type: TypeDecimal},
		{Name: "t", Type: TypeTime},
		{Name: "lt", Type: TypeTime, Layout: "02.01.2006 15:04", Location: "Europe/Berlin"},
		{Name: "u", Type: TypeTime, Layout: LayoutUnixMS},
		{Name: "b", Type: TypeBool},
	},
}

// FuzzRead reads arbitrary bytes: Read must not panic, must number rows
// and lines in order, and must keep its contract on Values and Errs.
func FuzzRead(f *testing.F) {
	f.Add([]byte("id;n;Int;d;t;lt;u;b\nA;1.5;2;3.40;2024-03-01T08:15:00Z;01.03.2024 08:15;1709280900250;yes\n"))
	f.Add([]byte("\ufeffid;n\r\n\"a;\"\"b\"\"\nc\";1e3\r\n;;\r\nx;12,5\r\n"))
	f.Add([]byte("id;x;x\n"))
	f.Add([]byte("id;b\nA;\"open\n"))
	f.Add([]byte("id;b\nA;b\"c\nB;\xff\n"))
	if files, _ := filepath.Glob("testdata/*.csv"); len(files) > 0 {
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		line, number := 0, 0
		sum, err := Read(bytes.NewReader(data), fuzzSpec, func(r Row) error {
			if r.Number != number+1 || r.Line <= line {
				t.Fatalf("row %d at line %d follows row %d at line %d", r.Number, r.Line, number, line)
			}
			number, line = r.Number, r.Line
			if (len(r.Errs) == 0) != (r.Values != nil) {
				t.Fatalf("row %d: %d errors, values %v", r.Number, len(r.Errs), r.Values)
			}
			for _, e := range r.Errs {
				if e.Row != r.Number || e.Line != r.Line || e.Reason == "" {
					t.Fatalf("row %d line %d: error %+v", r.Number, r.Line, e)
				}
			}
			for k, v := range r.Values {
				switch v.(type) {
				case string, float64, int, bool:
				default:
					t.Fatalf("row %d: Values[%q] is %T", r.Number, k, v)
				}
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("row %d: %v", r.Number, err)
			}
			return nil
		})
		var fe *FileError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("Read() = %v, want nil or a *FileError", err)
		}
		if sum.Rows != number || sum.Good+sum.Bad != sum.Rows || sum.Rows > fuzzSpec.MaxRows {
			t.Fatalf("summary %+v after %d rows", sum, number)
		}
	})
}
