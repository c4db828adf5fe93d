package canonical_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
)

func ExampleParseEvent() {
	raw := []byte(`{"specversion":"1.0","id":"evt-1","source":"dispatch/acme","type":"shipment.milestone",
		"subject":"SHP-1001","time":"2026-11-22T10:00:00Z","data":{"code":"arrived","stop_id":"S1","location":{"lat":50.1,"lon":8.6}}}`)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	ev, data, err := canonical.ParseEvent(raw, now, canonical.DefaultLimits())
	if err != nil {
		fmt.Println(err)
		return
	}
	m := data.(*canonical.ShipmentMilestone)
	fmt.Println(ev.Type, ev.Subject, m.Code, m.StopID, m.Location.Lat, string(ev.Data))
	// Output: shipment.milestone SHP-1001 arrived S1 50.1 {"code":"arrived","stop_id":"S1","location":{"lat":50.1,"lon":8.6}}
}

func ExampleParseEvent_invalid() {
	raw := []byte(`{"specversion":"1.0","id":"evt-2","source":"erp","type":"order.released","subject":"SHP-1002",
		"time":"22.11.2026","data":{"order_id":"SO-2","stops":[{"id":"S1","type":"pickup","location":{"lat":50,"lon":8}},
		{"id":"S1","type":"delivery","location":{"lat":95}}]}}`)
	_, _, err := canonical.ParseEvent(raw, time.Now(), canonical.DefaultLimits())
	var ve *canonical.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Errors {
			fmt.Printf("%s: %s\n", fe.Field, fe.Message)
		}
	}
	// Output:
	// time: must be an RFC 3339 time such as 2026-11-22T10:00:00Z or 2026-11-22T11:00:00.250+01:00 (got "22.11.2026")
	// data.customer_id: is required
	// data.stops[1].id: duplicate stop id "S1": stops[0] has it too; stop ids must be unique within the order
	// data.stops[1].location.lat: must be between -90 and 90 (got 95)
	// data.stops[1].location.lon: is required
}

func ExampleSplitBatch() {
	items, batch, err := canonical.SplitBatch([]byte(`[{"id":"a"}, {"id":"b"}]`))
	fmt.Println(len(items), batch, err, string(items[1]))
	_, _, err = canonical.SplitBatch([]byte(`"hello"`))
	fmt.Println(err)
	// Output:
	// 2 true <nil> {"id":"b"}
	// body must be a CloudEvent (a JSON object) or a JSON array of them, not a string
}
