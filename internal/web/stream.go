package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/api"
)

// panels are the live parts of each view, in page order; each is a
// template of that name and an element with sse-swap of that name.
var panels = map[string][]string{
	"ops":       {"ops-status", "ops-late", "ops-cases", "ops-map", "ops-reconcile"},
	"finance":   {"fin-invoices", "fin-revenue", "fin-lists", "fin-reconcile"},
	"platform":  {"plat-pipeline", "plat-connectors", "plat-dead", "plat-quarantine"},
	"shipment":  {"sh-head", "sh-timeline"},
	"reconcile": {"rec-runs", "rec-run"},
}

// panelCtx is what a panel template sees.
type panelCtx struct {
	Data any
	CSRF string
	Back string // the page's own path, where forms return
}

// stream is one open server-sent event stream.
type stream struct{ cancel context.CancelFunc }

// stream serves GET /console/stream?view=…: every StreamEvery it reads
// the view again and sends each panel whose HTML changed as an event
// named after the panel (htmx's SSE extension swaps it in). An ended
// session gets an "expired" event and the stream closes.
func (c *Console) stream(w http.ResponseWriter, r *http.Request) {
	s := c.current(r)
	if s == nil {
		http.Error(w, "log in again", http.StatusUnauthorized)
		return
	}
	q := r.URL.Query()
	name := q.Get("view")
	names, ok := panels[name]
	if !ok {
		http.Error(w, "no such view", http.StatusNotFound)
		return
	}
	scope := api.ScopeRead
	for _, v := range views {
		if v.Name == name {
			scope = v.Scope
		}
	}
	if !s.principal.HasAny(scope) {
		http.Error(w, "this key lacks the "+scope+" scope", http.StatusForbidden)
		return
	}
	params := url.Values{"id": {q.Get("id")}, "cid": {q.Get("cid")}}
	back := "/console/" + name
	switch {
	case name == "shipment":
		back = "/console/shipments/" + url.PathEscape(q.Get("id"))
	case name == "reconcile" && q.Get("id") != "":
		back += "?run=" + url.QueryEscape(q.Get("id"))
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	st := &stream{cancel: cancel}
	if !c.addStream(st) {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer c.dropStream(st)

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // the server's write timeout would cut the stream
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, "retry: 5000\n\n")
	if rc.Flush() != nil {
		return
	}
	last := map[string]string{}
	tick := time.NewTicker(c.opt.StreamEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if c.current(r) == nil {
			var b bytes.Buffer
			_ = consolePages.ExecuteTemplate(&b, "expired", nil)
			writeEvent(w, "expired", b.String())
			_ = rc.Flush()
			return
		}
		data, err := c.load(ctx, c.client(s), name, params)
		if err != nil {
			c.opt.Logger.DebugContext(ctx, "console stream", "view", name, "err", err)
			_, _ = fmt.Fprint(w, ": unavailable\n\n")
		} else {
			for _, p := range names {
				var b bytes.Buffer
				if err := consolePages.ExecuteTemplate(&b, p, panelCtx{Data: data, CSRF: s.csrf, Back: back}); err != nil {
					c.opt.Logger.Error("render console panel", "panel", p, "err", err)
					continue
				}
				if html := b.String(); html != last[p] {
					last[p] = html
					writeEvent(w, p, html)
				}
			}
			_, _ = fmt.Fprint(w, ": ok\n\n")
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// writeEvent writes one server-sent event; each line of data goes on its
// own data: line.
func writeEvent(w http.ResponseWriter, name, data string) {
	var b strings.Builder
	b.WriteString("event: " + name + "\n")
	for line := range strings.SplitSeq(data, "\n") {
		b.WriteString("data: " + strings.TrimRight(line, "\r") + "\n")
	}
	b.WriteString("\n")
	_, _ = w.Write([]byte(b.String()))
}

func (c *Console) addStream(s *stream) bool {
	c.streamMu.Lock()
	defer c.streamMu.Unlock()
	if c.closed {
		return false
	}
	c.streams[s] = struct{}{}
	return true
}

func (c *Console) dropStream(s *stream) {
	c.streamMu.Lock()
	defer c.streamMu.Unlock()
	delete(c.streams, s)
}
