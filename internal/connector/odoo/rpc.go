package odoo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"time"

	"github.com/crossdockhq/crossdock/internal/outbox"
)

// maxAnswer bounds how much of a successful answer is read.
const maxAnswer = 16 << 20

type correlationKey struct{}

// call runs model.method on Odoo through the configured API. named holds
// the method's parameters by name (JSON-2 sends them so); the jsonrpc API
// sends ids, then the parameters listed in positional, as positional
// arguments and the rest as keyword arguments.
func (c *Connector) call(ctx context.Context, model, method string, ids []int64, named map[string]any, positional ...string) (json.RawMessage, error) {
	op := model + "/" + method
	if c.cfg.Options["api"] == APIJSON2 {
		body := maps.Clone(named)
		if body == nil {
			body = map[string]any{}
		}
		if ids != nil {
			body["ids"] = ids
		}
		return c.post(ctx, op, "/json/2/"+model+"/"+method, body, func(h http.Header) {
			h.Set("Authorization", "bearer "+c.cfg.Password)
			if db := c.cfg.Options["database"]; db != "" {
				h.Set("X-Odoo-Database", db)
			}
		})
	}
	var args []any
	if ids != nil {
		args = append(args, ids)
	}
	kwargs := maps.Clone(named)
	if kwargs == nil {
		kwargs = map[string]any{}
	}
	for _, p := range positional {
		args = append(args, named[p])
		delete(kwargs, p)
	}
	if args == nil {
		args = []any{}
	}
	for attempt := 1; ; attempt++ {
		uid, err := c.session(ctx)
		if err != nil {
			return nil, err
		}
		res, err := c.rpc(ctx, op, "object", "execute_kw",
			[]any{c.cfg.Options["database"], uid, c.cfg.Password, model, method, args, kwargs})
		if errors.Is(err, errAuth) && attempt == 1 {
			// Refused before the method ran: log in again (the user may
			// have been recreated under a new id) and try once more.
			c.uid.CompareAndSwap(uid, 0)
			continue
		}
		return res, err
	}
}

// rpc is one legacy JSON-RPC call; errors come back as HTTP 200 with an
// error member.
func (c *Connector) rpc(ctx context.Context, op, service, method string, args []any) (json.RawMessage, error) {
	env := map[string]any{"jsonrpc": "2.0", "method": "call", "id": c.seq.Add(1),
		"params": map[string]any{"service": service, "method": method, "args": args}}
	res, err := c.post(ctx, op, "/jsonrpc", env, nil)
	if err != nil {
		return nil, err
	}
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(res, &out); err != nil {
		return nil, fmt.Errorf("%s: answer is not JSON-RPC: %w", op, err)
	}
	if len(out.Error) > 0 && string(out.Error) != "null" {
		e, _ := parseError(res)
		return nil, classify(op, http.StatusOK, nil, e, c.cfg.Now())
	}
	return out.Result, nil
}

// post sends body to path within the connector's timeout and returns a
// 200 answer's body; any other answer is classified.
func (c *Connector) post(ctx context.Context, op, path string, body any, auth func(http.Header)) (json.RawMessage, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, outbox.Permanent(fmt.Errorf("%s: encode: %w", op, err))
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL+path, bytes.NewReader(b))
	if err != nil {
		return nil, outbox.Permanent(fmt.Errorf("%s: %w", op, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "crossdock")
	if id, _ := ctx.Value(correlationKey{}).(string); id != "" {
		req.Header.Set("X-Correlation-ID", id)
	}
	if auth != nil {
		auth(req.Header)
	}
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("%s: read answer: %w", op, err)
	}
	if resp.StatusCode == http.StatusOK {
		return data, nil
	}
	e, ok := parseError(data)
	if !ok {
		e = rpcError{Message: bound(string(data), maxKept)}
	}
	return nil, classify(op, resp.StatusCode, resp.Header, e, c.cfg.Now())
}

// session returns the jsonrpc user id, logging in when there is none.
// One login runs at a time; callers that waited for a login that failed
// share its error instead of trying again at once.
func (c *Connector) session(ctx context.Context) (int64, error) {
	if uid := c.uid.Load(); uid != 0 {
		return uid, nil
	}
	asked := time.Now()
	select {
	case c.loginSem <- struct{}{}:
	case <-ctx.Done():
		return 0, fmt.Errorf("common/login: %w", ctx.Err())
	}
	defer func() { <-c.loginSem }()
	if uid := c.uid.Load(); uid != 0 {
		return uid, nil
	}
	if c.loginErr != nil && c.loginFailed.After(asked) {
		return 0, c.loginErr
	}
	uid, err := c.login(ctx)
	if err != nil {
		c.loginErr, c.loginFailed = err, time.Now()
		return 0, err
	}
	c.uid.Store(uid)
	return uid, nil
}

func (c *Connector) login(ctx context.Context) (int64, error) {
	db, user := c.cfg.Options["database"], c.cfg.Username
	res, err := c.rpc(ctx, "common/login", "common", "login", []any{db, user, c.cfg.Password})
	if err != nil {
		return 0, err
	}
	var uid int64
	if json.Unmarshal(res, &uid) != nil || uid <= 0 {
		return 0, fmt.Errorf("common/login: %w (user %q on database %q)", errAuth, user, db)
	}
	return uid, nil
}
