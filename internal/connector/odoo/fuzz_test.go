package odoo

import (
	"net/http"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseError: any answer, at any status, parses and classifies
// without panicking into a bounded, valid message. The seed corpus is
// testdata/fuzz/FuzzParseError, made from testdata/errors.
func FuzzParseError(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		e, ok := parseError(body)
		if !ok && (e.Name != "" || e.Message != "") {
			t.Fatalf("not parsed, yet %+v", e)
		}
		if len(e.Message) > maxKept+len("…") || len(e.Name) > 200+len("…") {
			t.Fatalf("unbounded: %d, %d bytes", len(e.Message), len(e.Name))
		}
		if !utf8.ValidString(e.Message) || !utf8.ValidString(e.Name) {
			t.Fatalf("invalid UTF-8 kept: %q %q", e.Name, e.Message)
		}
		if err := classify("op", status, http.Header{"Retry-After": {"1"}}, e, time.Now()); err == nil {
			t.Fatal("an error answer classified as success")
		}
	})
}
