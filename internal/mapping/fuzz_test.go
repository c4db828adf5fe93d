package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// fuzzSource is a realistic carrier mapping: optional members, nested
// arrays, a code table, string interpolation, time and number handling.
const fuzzSource = `.shipment as $s
| [.updates[]?
   | {type: "shipment.milestone",
      id: "\($s.tracking)-\(.seq)",
      subject: ($s.reference // "unknown"),
      time: (if (.timestamp_ms | type) == "number" then .timestamp_ms / 1000 | floor | todate else .time end),
      data: ({code: (.status | code("milestones"; "in_transit")),
              stop_id: .stop_ref,
              location: (.position | if type == "object" then {lat, lon: .lng} else null end),
              reason: (.note | if type == "string" then ascii_downcase else null end),
              charge: (.charge | if . == null then null else decimal(2) end)}
             | with_entries(select(.value != null)))}]`

func FuzzRunJSON(f *testing.F) {
	m, err := Compile(Spec{
		Partner: "fastfreight", Name: "tracking", Source: fuzzSource, Timeout: 10 * time.Second,
		Tables: map[string]map[string]any{"milestones": {"PU": "departed", "DL": "arrived", "DY": "delayed"}},
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"shipment": {"tracking": "FF1", "reference": "SHP-1"}, "updates": [{"seq": 1, "status": "PU", "timestamp_ms": 1795860000000, "stop_ref": "S1", "position": {"lat": 50.1, "lng": 8.6}, "charge": 12.5}]}`,
		`{"shipment": {"tracking": "FF1"}, "updates": [{"seq": 2, "status": "XX", "time": "2026-11-22T10:00:00Z", "note": "Traffic", "charge": "abc"}]}`,
		`{"updates": [{"timestamp_ms": 1e400}, {"timestamp_ms": -1e20}, {"charge": "1e999"}]}`,
		`{"updates": [1, "a", null, [], {}]}`,
		`{"updates": {"a": {"seq": 1}}}`,
		`[]`, `null`, `"x"`, `12345678901234567890123`, `{"a": 1} x`, ``, `{`, "\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := m.RunJSON(context.Background(), body)
		if err != nil {
			var (
				pe *PayloadError
				re *RunError
				oe *OutputError
			)
			if !errors.As(err, &pe) && !errors.As(err, &re) && !errors.As(err, &oe) && !errors.Is(err, ErrTimeout) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			if events != nil {
				t.Fatalf("events %v returned with error %v", events, err)
			}
			return
		}
		if _, err := json.Marshal(events); err != nil {
			t.Fatalf("events do not marshal: %v", err)
		}
	})
}
