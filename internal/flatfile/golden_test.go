package flatfile

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

var positionsSpec = Spec{Columns: []Column{
	{Name: "vehicle", Required: true},
	{Name: "time", Header: "Timestamp", Type: TypeTime, Required: true},
	{Name: "lat", Header: "Latitude", Type: TypeNumber, Required: true},
	{Name: "lon", Header: "Longitude", Type: TypeNumber, Required: true},
	{Name: "speed", Header: "speed_kmh", Type: TypeNumber},
	{Name: "heading", Type: TypeInteger},
	{Name: "ignition", Type: TypeBool},
}}

// goldenSpecs gives the spec of each testdata/<name>.csv.
var goldenSpecs = map[string]Spec{
	"orders": {Columns: []Column{
		{Name: "order_id", Required: true},
		{Name: "stop_seq", Type: TypeInteger, Required: true},
		{Name: "stop_type", Required: true},
		{Name: "name", Required: true},
		{Name: "street"},
		{Name: "city"},
		{Name: "postcode"},
		{Name: "country", Required: true},
		{Name: "window_from", Type: TypeTime},
		{Name: "window_to", Type: TypeTime},
		{Name: "weight_kg", Type: TypeNumber},
		{Name: "pallets", Type: TypeInteger},
		{Name: "hazmat", Type: TypeBool},
		{Name: "reference"},
	}},
	"positions":       positionsSpec,
	"bad_cells":       positionsSpec,
	"missing_columns": positionsSpec,
	"fuelcard_eu": {Delimiter: ';', Extra: ExtraKeep, Columns: []Column{
		{Name: "card", Header: "Kartennummer", Required: true},
		{Name: "plate", Header: "Kennzeichen"},
		{Name: "time", Header: "Buchungsdatum", Type: TypeTime, Layout: "02.01.2006 15:04:05", Location: "Europe/Berlin", Required: true},
		{Name: "station", Header: "Tankstelle"},
		{Name: "product", Header: "Produkt", Required: true},
		{Name: "quantity", Header: "Menge", Type: TypeDecimal, Required: true},
		{Name: "amount", Header: "Betrag", Type: TypeDecimal, Required: true},
		{Name: "currency", Header: "währung", Required: true},
	}},
	"quoted_newlines": {Columns: []Column{
		{Name: "order_id", Required: true},
		{Name: "stop_seq", Type: TypeInteger, Required: true},
		{Name: "name"},
		{Name: "notes"},
		{Name: "weight_kg", Type: TypeNumber},
	}},
}

// golden is what a golden file holds: the rows passed on, the summary and
// the error of Read.
type golden struct {
	Summary Summary `json:"summary"`
	Error   string  `json:"error,omitempty"`
	Rows    []Row   `json:"rows"`
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.csv")
	if err != nil || len(files) != len(goldenSpecs) {
		t.Fatalf("testdata has %d CSV files, goldenSpecs %d (%v)", len(files), len(goldenSpecs), err)
	}
	for _, file := range files {
		name := file[len("testdata/") : len(file)-len(".csv")]
		t.Run(name, func(t *testing.T) {
			spec, ok := goldenSpecs[name]
			if !ok {
				t.Fatalf("no spec for %s", file)
			}
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			g := golden{Rows: []Row{}}
			g.Summary, err = Read(f, spec, func(r Row) error {
				g.Rows = append(g.Rows, r)
				return nil
			})
			if err != nil {
				g.Error = err.Error()
			}
			got, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s; got:\n%s", file, path, got)
			}
		})
	}
}
