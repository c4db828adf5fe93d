package canonical_test

import (
	"fmt"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
)

func ExampleParseEvent() {
	raw := []byte(`{"specversion":"1.0","id":"evt-1","source":"dispatch/acme","type":"shipment.milestone",
		"subject":"SHP-1001","time":"2026-11-22T10:00:00Z","data":{"code":"arrived","stop_id":"S1","location":{"lat":95,"lon":8}}}`)
	_, _, err := canonical.ParseEvent(raw, time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), canonical.DefaultLimits())
	fmt.Println(err)
	// Output: data.location.lat: must be between -90 and 90 (got 95)
}
