package odata

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
		if !ok && (e.Code != "" || e.Message != "" || len(e.Details) > 0) {
			t.Fatalf("not parsed, yet %+v", e)
		}
		if len(e.Details) > maxDetails {
			t.Fatalf("%d details kept", len(e.Details))
		}
		s := e.String()
		if len(s) > maxKept+len("…") || !utf8.ValidString(s) {
			t.Fatalf("message of %d bytes, valid UTF-8 %v", len(s), utf8.ValidString(s))
		}
		if status < 300 {
			return // classify sees only failures
		}
		err := classify("op", status, http.Header{"Retry-After": {"1"}}, body, time.Now())
		if err == nil || len(err.Error()) > 2*maxKept {
			t.Fatalf("classified as %v", err)
		}
	})
}
