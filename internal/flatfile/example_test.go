package flatfile_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/crossdockhq/crossdock/internal/flatfile"
)

func Example() {
	spec := flatfile.Spec{
		Delimiter: ';',
		Columns: []flatfile.Column{
			{Name: "card", Header: "Kartennummer", Required: true},
			{Name: "time", Header: "Datum", Type: "time", Layout: "02.01.2006 15:04", Location: "Europe/Berlin", Required: true},
			{Name: "litres", Header: "Menge", Type: "number"},
			{Name: "amount", Header: "Betrag", Type: "decimal", Required: true},
		},
	}
	file := "Kartennummer;Datum;Menge;Betrag\n" +
		"7001;01.03.2024 08:15;52.3;84.20\n" +
		"7002;01.03.2024 09:40;;12,5x\n"
	sum, err := flatfile.Read(strings.NewReader(file), spec, func(row flatfile.Row) error {
		if len(row.Errs) > 0 {
			for _, e := range row.Errs {
				fmt.Println(e)
			}
			return nil
		}
		b, err := json.Marshal(row.Values)
		fmt.Printf("row %d (line %d): %s\n", row.Number, row.Line, b)
		return err
	})
	fmt.Printf("%+v %v\n", sum, err)
	// Output:
	// row 1 (line 2): {"amount":"84.20","card":"7001","litres":52.3,"time":"2024-03-01T07:15:00Z"}
	// row 2 column amount ("Betrag"): "12,5x" is not a decimal
	// {Rows:2 Good:1 Bad:1 Header:[Kartennummer Datum Menge Betrag]} <nil>
}
