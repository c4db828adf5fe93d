package odata

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crossdockhq/crossdock/internal/outbox"
)

// maxKept bounds how much of an answer an error keeps.
const maxKept = 2 << 10

// errAuth marks an answer that refused our credentials or rights:
// retried, as an operator can fix them; meanwhile the breaker opens.
var errAuth = errors.New("authentication or authorization refused")

// odataError is an OData error body: V2 (SAP Gateway) {"error":{"code",
// "message":{"lang","value"},"innererror":{"errordetails":[…]}}}, V4
// {"error":{"code","message","details":[…]}}, or the XML form of V2.
type odataError struct {
	Code    string
	Message string
	Details []detail
}

type detail struct {
	Code, Message, Target, Severity string
}

type jsonError struct {
	Error *struct {
		Code       json.RawMessage `json:"code"`
		Message    json.RawMessage `json:"message"`
		Details    []jsonDetail    `json:"details"`
		InnerError *struct {
			ErrorDetails []jsonDetail `json:"errordetails"`
		} `json:"innererror"`
	} `json:"error"`
}

type jsonDetail struct {
	Code     json.RawMessage `json:"code"`
	Message  json.RawMessage `json:"message"`
	Target   json.RawMessage `json:"target"`
	Severity json.RawMessage `json:"severity"`
}

type xmlError struct {
	XMLName xml.Name `xml:"error"`
	Code    string   `xml:"code"`
	Message string   `xml:"message"`
	Details []struct {
		Code     string `xml:"code"`
		Message  string `xml:"message"`
		Target   string `xml:"target"`
		Severity string `xml:"severity"`
	} `xml:"innererror>errordetails>errordetail"`
}

// maxDetails bounds the details kept.
const maxDetails = 20

// parseError reads an OData error answer; ok is false when body is not
// one (an HTML logon page, a proxy's error).
func parseError(body []byte) (e odataError, ok bool) {
	var j jsonError
	if json.Unmarshal(body, &j) == nil && j.Error != nil {
		e.Code, e.Message = text(j.Error.Code), text(j.Error.Message)
		ds := j.Error.Details
		if j.Error.InnerError != nil {
			ds = append(ds, j.Error.InnerError.ErrorDetails...)
		}
		for _, d := range ds {
			e.Details = append(e.Details, detail{text(d.Code), text(d.Message), text(d.Target), text(d.Severity)})
		}
		return e.bounded(), true
	}
	var x xmlError
	if xml.Unmarshal(body, &x) == nil {
		e.Code, e.Message = x.Code, x.Message
		for _, d := range x.Details {
			e.Details = append(e.Details, detail{d.Code, d.Message, d.Target, d.Severity})
		}
		return e.bounded(), true
	}
	return e, false
}

// text is a JSON string's value; V2's message object gives its "value".
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var m struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(raw, &m) == nil && m.Value != "" {
		return m.Value
	}
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	return string(raw)
}

// bounded drops the details that repeat the message (SAP lists the
// main message again) and bounds every field.
func (e odataError) bounded() odataError {
	e.Code, e.Message = bound(e.Code, 100), bound(e.Message, maxKept)
	var kept []detail
	for _, d := range e.Details {
		d = detail{bound(d.Code, 100), bound(d.Message, 500), bound(d.Target, 100), bound(d.Severity, 20)}
		if (d.Message == e.Message && d.Code == e.Code) || d.Message == "" || len(kept) == maxDetails {
			continue
		}
		kept = append(kept, d)
	}
	e.Details = kept
	return e
}

// bound cuts s to at most n bytes on a rune boundary.
func bound(s string, n int) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "?")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// String is "code: message (details: code message [target]; …)",
// bounded to maxKept.
func (e odataError) String() string {
	var b strings.Builder
	if e.Code != "" {
		b.WriteString(e.Code + ": ")
	}
	b.WriteString(e.Message)
	for i, d := range e.Details {
		if i == 0 {
			b.WriteString(" (details: ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(strings.TrimSpace(d.Code + " " + d.Message))
		if d.Target != "" {
			b.WriteString(" [" + d.Target + "]")
		}
		if i == len(e.Details)-1 {
			b.WriteString(")")
		}
	}
	return bound(b.String(), maxKept)
}

// classify turns a non-2xx answer into an error for the outbox:
//   - 401 and 403 (logon failed, a missing authorization): retryable,
//     wrapping errAuth;
//   - 429 and 503 honour Retry-After; 408 and 5xx retry;
//   - 400 and the other 4xx: permanent, SAP's message kept.
func classify(op string, status int, h http.Header, body []byte, now time.Time) error {
	msg := ""
	if e, ok := parseError(body); ok {
		msg = e.String()
	} else {
		msg = bound(string(body), maxKept)
	}
	err := fmt.Errorf("%s: %d %s", op, status, msg)
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("%s: %w (%d %s)", op, errAuth, status, msg)
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		if d, ok := retryAfter(h.Get("Retry-After"), now); ok {
			return outbox.RetryAfter(d, err)
		}
		return err
	case status == http.StatusRequestTimeout || status >= 500:
		return err
	case status >= 400:
		return outbox.Permanent(err)
	}
	return err
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}
