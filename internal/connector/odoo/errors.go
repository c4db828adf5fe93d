package odoo

import (
	"encoding/json"
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

// errAuth marks an answer that refused our credentials: retried (an
// operator can fix the key, and the breaker opens meanwhile), and for the
// jsonrpc API a cue to log in again.
var errAuth = errors.New("authentication refused")

// rpcError is Odoo's error, from either API: the JSON-2 body
// {"name","message","arguments","context","debug"} or the JSON-RPC
// envelope {"error":{"code","message","data":{"name","message",…}}}.
type rpcError struct {
	Code    int    // JSON-RPC error code (200 server error, 100 session expired); 0 for JSON-2
	Name    string // the exception's qualified name, "odoo.exceptions.ValidationError"
	Message string
}

// parseError reads an error answer; ok is false when body is neither
// shape (an HTML page from a proxy, say).
func parseError(body []byte) (e rpcError, ok bool) {
	var v struct {
		Name    string          `json:"name"`
		Message json.RawMessage `json:"message"`
		Error   *struct {
			Code    json.RawMessage `json:"code"`
			Message json.RawMessage `json:"message"`
			Data    *struct {
				Name    string          `json:"name"`
				Message json.RawMessage `json:"message"`
			} `json:"data"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil {
		return e, false
	}
	switch {
	case v.Error != nil:
		e.Code, _ = strconv.Atoi(string(v.Error.Code))
		e.Message = text(v.Error.Message)
		if v.Error.Data != nil {
			e.Name = v.Error.Data.Name
			if m := text(v.Error.Data.Message); m != "" {
				e.Message = m
			}
		}
	case v.Name != "":
		e.Name, e.Message = v.Name, text(v.Message)
	default:
		return e, false
	}
	e.Name, e.Message = bound(e.Name, 200), bound(e.Message, maxKept)
	return e, true
}

// text is a JSON string's value, or the raw JSON of anything else.
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
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

func (e rpcError) String() string {
	switch {
	case e.Name == "":
		return e.Message
	case e.Message == "":
		return e.Name
	}
	return e.Name + ": " + e.Message
}

// Exceptions that say the payload is wrong: the same call would fail
// again, so the delivery is dead at once with Odoo's message kept.
var refusals = map[string]bool{
	"odoo.exceptions.UserError":       true,
	"odoo.exceptions.ValidationError": true,
	"odoo.exceptions.RedirectWarning": true,
	"builtins.ValueError":             true, // an unknown field or a malformed value
	"builtins.TypeError":              true, // a wrong parameter
	"werkzeug.exceptions.BadRequest":  true,
}

// Exceptions that name our credentials or session.
var authFailures = map[string]bool{
	"odoo.exceptions.AccessDenied":      true,
	"werkzeug.exceptions.Unauthorized":  true,
	"odoo.http.SessionExpiredException": true,
}

// classify turns an answer into an error for the outbox. status is the
// HTTP status (200 for a JSON-RPC error envelope), e what the body said.
//
//   - credentials refused (401, AccessDenied, a JSON-RPC session expiry):
//     retryable, wrapping errAuth;
//   - UserError, ValidationError, RedirectWarning, ValueError, TypeError:
//     permanent, whatever the status: the ERP refused the payload;
//   - AccessError and MissingError: retryable (rights an operator grants;
//     a record deleted under us, which the next attempt searches again);
//   - otherwise by status: 429 and 503 honour Retry-After, 408 and 5xx
//     retry, other 4xx are permanent, and a JSON-RPC error (HTTP 200) of
//     another kind (a database error) is retried.
func classify(op string, status int, h http.Header, e rpcError, now time.Time) error {
	detail := e.String()
	if status != http.StatusOK {
		detail = strconv.Itoa(status) + " " + detail
	}
	err := fmt.Errorf("%s: %s", op, detail)
	switch {
	case status == http.StatusUnauthorized || authFailures[e.Name] || e.Code == 100:
		return fmt.Errorf("%s: %w (%s)", op, errAuth, detail)
	case refusals[e.Name]:
		return outbox.Permanent(err)
	case strings.HasSuffix(e.Name, ".AccessError") || strings.HasSuffix(e.Name, ".MissingError"):
		return err
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		if d, ok := retryAfter(h.Get("Retry-After"), now); ok {
			return outbox.RetryAfter(d, err)
		}
		return err
	case status == http.StatusRequestTimeout || status >= 500 || status == http.StatusOK:
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
