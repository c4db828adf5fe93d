package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMappingTestCommand(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "crossdock.yaml")
	if err := os.WriteFile(cfg, []byte(`partners:
  - id: acme-tms
    tables:
      codes: {DEP: departed}
    inbound:
      - name: status
        jq: |
          {type: "shipment.milestone", id: .eventId, subject: .load, time: .ts,
           data: {code: (.code | code("codes")), stop_id: .stop}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, payload string
		args          []string
		ok            bool
		out, err      string
	}{
		{"valid", `{"eventId":"e1","load":"SHP-1","ts":"2026-11-22T10:00:00Z","code":"DEP","stop":"S1"}`, nil, true,
			`"source": "partner/acme-tms"`, ""},
		{"jq error", `{"eventId":"e1","load":"SHP-1","ts":"2026-11-22T10:00:00Z","code":"XXX"}`, nil, false,
			"", `partner acme-tms mapping status: jq: code table codes has no entry for "XXX"`},
		{"invalid event", `{"eventId":"e1","load":"SHP-1","ts":"yesterday","code":"DEP"}`, nil, false,
			`"time": "yesterday"`, "event 1: time: must be an RFC 3339 time"},
		{"not JSON", `{"eventId":`, nil, false, "", "partner acme-tms mapping status: payload:"},
		{"unknown mapping", `{}`, []string{"--mapping", "nope"}, false, "", `no partner "acme-tms" with an inbound mapping "nope"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"test", "--config", cfg, "--partner", "acme-tms", "--mapping", "status"}
			args = append(args, c.args...)
			var out, errb bytes.Buffer
			err := mappingTest(args, strings.NewReader(c.payload), &out, &errb)
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v; stderr %s", err, c.ok, errb.String())
			}
			msg := errb.String()
			if err != nil {
				msg += err.Error()
			}
			if !strings.Contains(out.String(), c.out) || !strings.Contains(msg, c.err) {
				t.Fatalf("stdout %s\nstderr/err %s", out.String(), msg)
			}
		})
	}
}
