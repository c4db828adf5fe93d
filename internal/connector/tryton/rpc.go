package tryton

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/crossdockhq/crossdock/internal/outbox"
)

// maxKept bounds how much of an ERP's answer is kept in an error.
const maxKept = 2 << 10

// maxAnswer bounds how much of an answer is read at all.
const maxAnswer = 32 << 20

// rpc is a JSON-RPC 1.0 client of one trytond database, safe for
// concurrent use: one session shared by every call, logged in again (once
// per expiry, whoever notices it) when trytond answers 401 or 403.
type rpc struct {
	url      string // http://host:8000/<database>/
	user     string
	password string
	timeout  time.Duration
	client   *http.Client
	ids      atomic.Int64

	mu      sync.Mutex
	session string // the Authorization header's value; "" before a login
	logins  singleflight.Group
}

// request is a JSON-RPC 1.0 body: trytond answers errors in the body (with
// 200) only when these three keys are all there is.
type request struct {
	ID     int64  `json:"id"`
	Method string `json:"method"`
	Params []any  `json:"params"`
}

type answer struct {
	ID     int64           `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// call runs method with params and decodes its result into result (nil to
// drop it). Errors are classified for the outbox: see classify.
func (r *rpc) call(ctx context.Context, method string, result any, params ...any) error {
	session, err := r.currentSession(ctx)
	if err != nil {
		return err
	}
	raw, status, err := r.post(ctx, method, session, params)
	if err == nil && (status == http.StatusUnauthorized || status == http.StatusForbidden) {
		// Expired, or not fresh enough for a fresh_session call (post):
		// trytond deleted it. One new login for everyone, then once more.
		if session, err = r.relogin(ctx, session); err != nil {
			return err
		}
		raw, status, err = r.post(ctx, method, session, params)
	}
	if err != nil {
		return err
	}
	return decode(method, status, raw, result)
}

// post sends one request and returns the answer's body and status; the
// error is a transport failure (retryable).
func (r *rpc) post(ctx context.Context, method, session string, params []any) ([]byte, int, error) {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(request{ID: r.ids.Add(1), Method: method, Params: params})
	if err != nil {
		return nil, 0, outbox.Permanent(fmt.Errorf("encode %s: %w", method, err))
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, outbox.Permanent(fmt.Errorf("%s: %w", method, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if session != "" {
		req.Header.Set("Authorization", session)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", method, redact(err, r.password))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: read answer: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		return raw, resp.StatusCode, retryHint(method, resp)
	}
	return raw, resp.StatusCode, nil
}

// retryHint turns a 429 or 503 with Retry-After into outbox.RetryAfter;
// nil otherwise (the status is classified by decode).
func retryHint(method string, resp *http.Response) error {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return nil
	}
	d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now())
	if !ok {
		return nil
	}
	return outbox.RetryAfter(d, fmt.Errorf("%s: tryton answered %d, retry after %s", method, resp.StatusCode, d))
}

// currentSession is the shared session, logging in first if there is none.
func (r *rpc) currentSession(ctx context.Context) (string, error) {
	r.mu.Lock()
	s := r.session
	r.mu.Unlock()
	if s != "" {
		return s, nil
	}
	return r.relogin(ctx, "")
}

// relogin replaces the session stale: unless someone already did, one
// login (shared by every caller waiting for it) makes a new one.
func (r *rpc) relogin(ctx context.Context, stale string) (string, error) {
	r.mu.Lock()
	if r.session != stale {
		s := r.session
		r.mu.Unlock()
		return s, nil
	}
	r.mu.Unlock()
	ch := r.logins.DoChan("login", func() (any, error) {
		// The login outlives a caller that gives up: the others wait on it.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
		defer cancel()
		s, err := r.login(lctx)
		if err != nil {
			return "", err
		}
		r.mu.Lock()
		r.session = s
		r.mu.Unlock()
		return s, nil
	})
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("login: %w", ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	}
}

// login runs common.db.login and returns the Authorization header of the
// new session. A refused login is retryable: credentials can be fixed.
func (r *rpc) login(ctx context.Context) (string, error) {
	const method = "common.db.login"
	raw, status, err := r.post(ctx, method, "", []any{r.user, map[string]string{"password": r.password}})
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	switch status {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		return "", fmt.Errorf("login as %q refused (%d): check the username and password", r.user, status)
	default:
		return "", fmt.Errorf("login: %w", decode(method, status, raw, nil))
	}
	var got []json.RawMessage
	if err := decode(method, status, raw, &got); err != nil {
		if outbox.IsPermanent(err) {
			// Nothing in a login is the delivery's fault.
			err = errors.Unwrap(err)
		}
		return "", fmt.Errorf("login: %w", err)
	}
	var uid int64
	var key string
	if len(got) != 2 || json.Unmarshal(got[0], &uid) != nil || json.Unmarshal(got[1], &key) != nil {
		return "", errors.New("login: trytond answered no [user id, session]")
	}
	token := base64.StdEncoding.EncodeToString([]byte(r.user + ":" + strconv.FormatInt(uid, 10) + ":" + key))
	return "Session " + token, nil
}

// decode reads an answer of method. Classification:
//   - 200 with "result": decoded into result;
//   - 200 with "error" of a UserError or a UserWarning: the ERP refuses the
//     payload for good, outbox.Permanent with its message;
//   - 200 with any other error (ConcurrencyException, RateLimitException,
//     LoginException, a server error): retryable;
//   - 400, 413 and other 4xx: permanent (the request is wrong);
//   - 401, 403 (after the login again), 404 (no such database), 408, 429,
//     5xx: retryable.
func decode(method string, status int, raw []byte, result any) error {
	if status != http.StatusOK {
		err := fmt.Errorf("%s: tryton answered %d: %s", method, status, kept(raw))
		switch {
		case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound,
			status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
			return err
		case status >= 400:
			return outbox.Permanent(err)
		}
		return err
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return fmt.Errorf("%s: answer is not JSON-RPC: %w: %s", method, err, kept(raw))
	}
	if len(a.Error) > 0 && string(a.Error) != "null" {
		return rpcFailure(method, a.Error)
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(a.Result, result); err != nil {
		return fmt.Errorf("%s: unexpected result: %w: %s", method, err, kept(a.Result))
	}
	return nil
}

// rpcFailure classifies a JSON-RPC error: ["UserError", [message,
// description, domain]] and the like for Tryton's exceptions, [text,
// traceback] for any other.
func rpcFailure(method string, raw json.RawMessage) error {
	var parts []json.RawMessage
	if json.Unmarshal(raw, &parts) != nil || len(parts) == 0 {
		return fmt.Errorf("%s: tryton error %s", method, kept(raw))
	}
	var kind string
	_ = json.Unmarshal(parts[0], &kind)
	switch kind {
	case "UserError", "UserWarning":
		msg := message(parts[1:])
		if kind == "UserWarning" {
			msg = "warning: " + msg
		}
		return outbox.Permanent(fmt.Errorf("%s: tryton refused: %s", method, msg))
	case "ConcurrencyException", "RateLimitException", "LoginException", "MissingDependenciesException":
		return fmt.Errorf("%s: tryton %s: %s", method, kind, message(parts[1:]))
	}
	// A server error: the first element is its text, the second a traceback.
	return fmt.Errorf("%s: tryton server error: %s", method, kept([]byte(kind)))
}

// message is the text of a Tryton exception's arguments: a string, or a
// list whose strings are message and description.
func message(args []json.RawMessage) string {
	var texts []string
	for _, a := range args {
		var s string
		if json.Unmarshal(a, &s) == nil {
			if s != "" {
				texts = append(texts, s)
			}
			continue
		}
		var list []any
		if json.Unmarshal(a, &list) == nil {
			for _, v := range list {
				if s, ok := v.(string); ok && s != "" {
					texts = append(texts, s)
				}
			}
		}
	}
	return kept([]byte(strings.Join(texts, ": ")))
}

// kept is b trimmed and bounded for an error message.
func kept(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > maxKept {
		s = s[:maxKept] + "…"
	}
	return s
}

// redact removes secret from err's text (a URL error quotes the URL).
func redact(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redacted{msg: strings.ReplaceAll(err.Error(), secret, "***"), err: err}
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

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
