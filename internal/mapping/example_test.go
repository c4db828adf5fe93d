package mapping_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/crossdockhq/crossdock/internal/mapping"
)

func ExampleCompile() {
	m, err := mapping.Compile(mapping.Spec{
		Partner: "acme-tms",
		Name:    "status",
		Source: `{type: "shipment.milestone", id: .eventId, subject: .load, time: .ts,
		          data: {code: (.code | code("status_codes")), stop_id: .stop}}`,
		Tables: map[string]map[string]any{"status_codes": {"DEP": "departed", "ARR": "arrived"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	body := []byte(`{"eventId": "acme-77812", "load": "SHP-1001", "ts": "2026-11-22T10:00:00Z", "code": "ARR", "stop": "S2"}`)
	events, err := m.RunJSON(context.Background(), body)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ev := range events {
		ev["source"] = "partner/acme-tms" // the caller's job, as is validation
		b, _ := json.Marshal(ev)
		fmt.Println(string(b))
	}

	_, err = m.RunJSON(context.Background(), []byte(`{"eventId": "acme-77813", "code": "XYZ"}`))
	var re *mapping.RunError
	fmt.Println(errors.As(err, &re), err)

	_, err = mapping.Compile(mapping.Spec{Partner: "acme-tms", Name: "status", Source: "{type: \"x\",\n id: .eventId}}"})
	fmt.Println(err)
	// Output:
	// {"data":{"code":"arrived","stop_id":"S2"},"id":"acme-77812","source":"partner/acme-tms","subject":"SHP-1001","time":"2026-11-22T10:00:00Z","type":"shipment.milestone"}
	// true partner acme-tms mapping status: jq: code table status_codes has no entry for "XYZ"
	// partner acme-tms mapping status: line 2 column 15: unexpected token "}"
}
