package web

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/crossdockhq/crossdock/internal/api"
)

// Authenticator resolves an Authorization header to its principal (the
// API's key ring).
type Authenticator interface {
	Authenticate(ctx context.Context, header string) (api.Principal, error)
}

// ConsoleOptions are the console's dependencies.
type ConsoleOptions struct {
	// API is the hub's API handler; the console calls it in process.
	API    http.Handler
	Keys   Authenticator
	Logger *slog.Logger
	Now    func() time.Time
	// SessionIdle logs a user out after this long without a request
	// (default 2 h); SessionMax after this long in any case (default 12 h).
	SessionIdle, SessionMax time.Duration
	// StreamEvery is how often live panels are refreshed (default 2 s).
	StreamEvery time.Duration
}

// Console is the web console: login with an API key, then the
// dashboards the key's scopes open.
type Console struct {
	opt      ConsoleOptions
	sessions *sessions
	mux      *http.ServeMux

	logins *clientLimits // failed logins by client address

	streamMu sync.Mutex
	closed   bool
	streams  map[*stream]struct{}
}

// view is one dashboard and the scope it needs.
type view struct {
	Name, Title, Path, Scope string
}

var views = []view{
	{"ops", "Operations", "/console/ops", api.ScopeOps},
	{"finance", "Finance", "/console/finance", api.ScopeFinance},
	{"support", "Support", "/console/support", api.ScopeRead},
	{"platform", "Platform", "/console/platform", api.ScopeAdmin},
	{"reconcile", "Reconciliation", "/console/reconcile", api.ScopeFinance + "|" + api.ScopeOps},
}

// Limits of the login form: a client address gets loginBurst failed
// attempts, then one per loginEvery.
const (
	loginBurst    = 10
	loginEvery    = 6 * time.Second
	loginClients  = 10000
	maxSessions   = 10000
	maxFormBytes  = 16 << 10
	loginTokenTTL = time.Hour
)

// NewConsole builds the console. Its Handler serves GET / and /console/.
func NewConsole(opt ConsoleOptions) *Console {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.SessionIdle <= 0 {
		opt.SessionIdle = 2 * time.Hour
	}
	if opt.SessionMax <= 0 {
		opt.SessionMax = 12 * time.Hour
	}
	if opt.StreamEvery <= 0 {
		opt.StreamEvery = 2 * time.Second
	}
	c := &Console{opt: opt, sessions: newSessions(opt.SessionIdle, opt.SessionMax, maxSessions, opt.Now), mux: http.NewServeMux(),
		logins: newClientLimits(loginEvery, loginBurst, loginClients), streams: map[*stream]struct{}{}}
	assets, _ := fs.Sub(assetFS, "assets")
	c.mux.Handle("GET /console/assets/", http.StripPrefix("/console/assets/", assetHandler(assets)))
	c.mux.HandleFunc("GET /{$}", c.root)
	c.mux.HandleFunc("GET /console/{$}", c.root)
	c.mux.HandleFunc("GET /console/login", c.loginForm)
	c.mux.HandleFunc("POST /console/login", c.login)
	c.mux.HandleFunc("POST /console/logout", c.logout)
	for _, v := range views {
		c.mux.HandleFunc("GET "+v.Path, c.dashboard(v))
	}
	c.mux.HandleFunc("GET /console/shipments/{id}", c.shipmentPage)
	c.mux.HandleFunc("GET /console/stream", c.stream)
	c.mux.HandleFunc("POST /console/cases/{id}/resolve", c.resolveCase)
	c.mux.HandleFunc("POST /console/deliveries/{id}/retry", c.retryDelivery)
	c.mux.HandleFunc("POST /console/quarantine/{id}/replay", c.replayQuarantine)
	c.mux.HandleFunc("POST /console/reconciliations", c.startReconciliation)
	c.mux.HandleFunc("POST /console/reconciliations/{run}/findings/{id}/redeliver", c.redeliverFinding)
	return c
}

// Patterns are the routes to mount beside the API.
func (c *Console) Patterns() []string {
	return []string{"GET /{$}", "/console/"}
}

// ServeHTTP serves the console with its security headers; state-changing
// requests from another origin are refused before any handler runs.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/console/assets/") {
		h.Set("Cache-Control", "no-store")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	crossOrigin.Handler(c.mux).ServeHTTP(w, r)
}

// crossOrigin refuses non-safe requests whose Sec-Fetch-Site or Origin
// names another site: a second wall behind the CSRF tokens.
var crossOrigin = http.NewCrossOriginProtection()

// Close ends the live streams so a graceful shutdown does not wait on
// them (register it with http.Server.RegisterOnShutdown).
func (c *Console) Close() {
	c.streamMu.Lock()
	defer c.streamMu.Unlock()
	c.closed = true
	for s := range c.streams {
		s.cancel()
	}
}

// shell is what every console page shows around its content.
type shell struct {
	Title   string
	Active  string
	Views   []view
	User    string
	CSRF    string
	Flash   string
	Problem string
	Stream  string // the SSE URL of the page's live panels; "" for none
	Back    string // the page's own path, where its forms return
}

func (c *Console) shellFor(s *session, title, active string) shell {
	sh := shell{Title: title, Active: active, User: s.principal.Name, CSRF: s.csrf}
	for _, v := range views {
		if s.principal.HasAny(v.Scope) {
			sh.Views = append(sh.Views, v)
		}
	}
	c.sessions.mu.Lock()
	sh.Problem, sh.Flash = s.flashProblem, s.flash
	s.flash, s.flashProblem = "", ""
	c.sessions.mu.Unlock()
	return sh
}

// current returns the request's session with its key checked again (a
// revoked key ends the session at once); nil when there is none.
func (c *Console) current(r *http.Request) *session {
	s := c.sessions.get(r)
	if s == nil {
		return nil
	}
	p, err := c.opt.Keys.Authenticate(r.Context(), "Bearer "+s.key)
	if err != nil {
		c.sessions.end(s.id)
		return nil
	}
	s.principal = p
	return s
}

func (c *Console) client(s *session) client { return client{api: c.opt.API, key: s.key} }

func (c *Console) root(w http.ResponseWriter, r *http.Request) {
	s := c.current(r)
	if s == nil {
		c.loginForm(w, r)
		return
	}
	for _, v := range views {
		if s.principal.HasAny(v.Scope) {
			http.Redirect(w, r, v.Path, http.StatusSeeOther)
			return
		}
	}
	w.WriteHeader(http.StatusForbidden)
	c.render(w, "forbidden.html", struct {
		shell
		Need string
	}{c.shellFor(s, "No dashboard", ""), "ops, finance, read or admin"})
}

// loginPage is the login form's data.
type loginPage struct {
	CSRF  string
	Error string
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	tok := token()
	setCookie(w, r, loginCookie, tok, loginTokenTTL)
	c.render(w, "login.html", loginPage{CSRF: tok})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(r.PostFormValue(csrfField), ck.Value) {
		c.refuse(w, r, http.StatusForbidden, "The login form expired or did not come from this console. Reload it and try again.")
		return
	}
	addr := clientAddr(r)
	if !c.logins.has(addr, c.opt.Now()) {
		w.Header().Set("Retry-After", "6")
		c.loginFailed(w, r, http.StatusTooManyRequests, "Too many failed logins from your address. Wait a minute and try again.")
		return
	}
	key := strings.TrimSpace(r.PostFormValue("key"))
	p, err := c.opt.Keys.Authenticate(r.Context(), "Bearer "+key)
	if err != nil || key == "" {
		c.logins.spend(addr, c.opt.Now())
		c.opt.Logger.InfoContext(r.Context(), "console login refused", "client", addr)
		c.loginFailed(w, r, http.StatusUnauthorized, "That key was not accepted.")
		return
	}
	s := c.sessions.create(key, p)
	clearCookie(w, r, loginCookie)
	setCookie(w, r, sessionCookie, s.id, c.opt.SessionMax)
	c.opt.Logger.InfoContext(r.Context(), "console login", "principal", p.Name, "client", addr)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

func (c *Console) loginFailed(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok := token()
	setCookie(w, r, loginCookie, tok, loginTokenTTL)
	w.WriteHeader(status)
	c.render(w, "login.html", loginPage{CSRF: tok, Error: msg})
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if s := c.sessions.get(r); s != nil {
		if !s.validCSRF(r) {
			c.refuse(w, r, http.StatusForbidden, "The form did not carry this session's token. Reload the page and try again.")
			return
		}
		c.sessions.end(s.id)
	}
	clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// refuse answers a plain error page.
func (c *Console) refuse(w http.ResponseWriter, _ *http.Request, status int, msg string) {
	w.WriteHeader(status)
	c.render(w, "refused.html", struct{ Status, Message string }{http.StatusText(status), msg})
}

// needSession sends a request without a live session to the login page
// (htmx requests are told to reload it).
func needSession(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", "/")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (c *Console) dashboard(v view) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.current(r)
		if s == nil {
			needSession(w, r)
			return
		}
		if !s.principal.HasAny(v.Scope) {
			c.forbidden(w, s, v)
			return
		}
		params := url.Values{}
		if run := r.URL.Query().Get("run"); run != "" && v.Name == "reconcile" && len(run) <= 64 {
			params.Set("id", run)
		}
		if q := strings.TrimSpace(r.URL.Query().Get("q")); q != "" && v.Name == "support" {
			found, err := c.findShipment(r.Context(), c.client(s), q)
			if err == nil && found {
				http.Redirect(w, r, "/console/shipments/"+url.PathEscape(q), http.StatusSeeOther)
				return
			}
			params.Set("q", q)
		}
		data, err := c.load(r.Context(), c.client(s), v.Name, params)
		if errors.Is(err, errForbidden) {
			c.forbidden(w, s, v)
			return
		}
		sh := c.shellFor(s, v.Title, v.Name)
		sh.Back = v.Path
		if v.Name != "support" {
			sh.Stream = "/console/stream?view=" + v.Name
			if id := params.Get("id"); id != "" {
				sh.Stream += "&id=" + url.QueryEscape(id)
				sh.Back += "?run=" + url.QueryEscape(id)
			}
		}
		c.page(w, r, sh, v.Name, data, err)
	}
}

func (c *Console) shipmentPage(w http.ResponseWriter, r *http.Request) {
	s := c.current(r)
	if s == nil {
		needSession(w, r)
		return
	}
	v := views[2]
	if !s.principal.Has(v.Scope) {
		c.forbidden(w, s, v)
		return
	}
	id := r.PathValue("id")
	params := url.Values{"id": {id}}
	if cid := r.URL.Query().Get("cid"); cid != "" && len(cid) <= 256 {
		params.Set("cid", cid)
	}
	data, err := c.load(r.Context(), c.client(s), "shipment", params)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		w.WriteHeader(http.StatusNotFound)
	}
	sh := c.shellFor(s, "Shipment "+id, "support")
	sh.Back = "/console/shipments/" + url.PathEscape(id)
	params.Set("view", "shipment")
	sh.Stream = "/console/stream?" + params.Encode()
	c.page(w, r, sh, "shipment", data, err)
}

func (c *Console) forbidden(w http.ResponseWriter, s *session, v view) {
	w.WriteHeader(http.StatusForbidden)
	c.render(w, "forbidden.html", struct {
		shell
		Need string
	}{c.shellFor(s, v.Title, v.Name), v.Scope})
}

// page renders a dashboard page with its panels.
func (c *Console) page(w http.ResponseWriter, r *http.Request, sh shell, name string, data any, err error) {
	if err != nil {
		c.opt.Logger.WarnContext(r.Context(), "console view", "view", name, "err", err)
		sh.Problem = "Some figures could not be read: " + err.Error()
	}
	c.render(w, "dashboard.html", struct {
		shell
		View string
		Data any
	}{sh, name, data})
}

func (c *Console) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := consolePages.ExecuteTemplate(w, name, data); err != nil {
		c.opt.Logger.Error("render console page", "page", name, "err", err)
	}
}
