package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"path"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/crossdockhq/crossdock/internal/billing"
	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/credit"
	"github.com/crossdockhq/crossdock/internal/obs"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/reconcile"
	"github.com/crossdockhq/crossdock/internal/store"
)

// Version is the API's version string in the OpenAPI description.
const Version = "1.0.0"

// Options are the API's dependencies and limits.
type Options struct {
	Store      store.Store
	Pipeline   *pipeline.Pipeline
	Keys       *KeyRing
	Partners   []config.Partner       // declared partners: limits, signing, mappings
	Ownership  config.Ownership       // systems of record
	Mappings   *Mappings              // compiled partner mappings (CompileMappings)
	Billing    *billing.Engine        // rate cards for quotes; nil when none are configured
	RoadFactor float64                // planned distance: straight lines times this; default 1.3
	Wake       func()                 // wakes the job scheduler (a retried delivery); nil for none
	Connectors func() []ConnectorInfo // the configured connectors; nil for none
	Credit     *credit.Cache          // ERP credit lookups; nil when no connector answers them
	// Resumed is told a connector was resumed, to wake the deliveries
	// its pause put off; nil for none.
	Resumed func(ctx context.Context, connector string) error
	Metrics *obs.Metrics
	Tracing *obs.Tracing // a span per request; nil: none
	// Reconcile starts reconciliation runs; nil leaves the endpoints out.
	Reconcile *reconcile.Runner
	// WakeReconcile makes the scheduler look for a new run at once.
	WakeReconcile  func()
	Logger         *slog.Logger
	MaxBodyBytes   int64 // request body limit; default 4 MiB
	MaxBatchEvents int   // events per POST; default 1000
	Limits         canonical.Limits
	Now            func() time.Time
	// Ready reports whether storage is open and migrated (for /readyz).
	Ready func(ctx context.Context) error
	// Pages are HTML pages served beside the API (pattern → handler,
	// e.g. the public tracking page), behind the same middleware.
	Pages map[string]http.Handler
}

// Server serves the hub's HTTP surface: /api/v1, /healthz, /readyz, /metrics.
type Server struct {
	opt      Options
	partners *partnerSet
	api      huma.API
	mux      *http.ServeMux
	rates    rateWindow
}

// New builds the handler tree.
func New(opt Options) *Server {
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = 4 << 20
	}
	if opt.MaxBatchEvents <= 0 {
		opt.MaxBatchEvents = 1000
	}
	if opt.RoadFactor <= 0 {
		opt.RoadFactor = 1.3
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	s := &Server{opt: opt, mux: http.NewServeMux(), partners: newPartnerSet(opt.Partners)}

	cfg := huma.DefaultConfig("crossdock API", Version)
	cfg.Components.Schemas = huma.NewMapRegistry("#/components/schemas/", schemaName)
	cfg.Info.Description = "crossdock logistics integration hub: canonical events in, trusted shipment status out."
	cfg.OpenAPIPath = "/api/v1/openapi"
	cfg.DocsPath = ""
	cfg.SchemasPath = ""
	cfg.CreateHooks = nil // no $schema links injected into responses
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "API key: Authorization: Bearer <key>"},
	}
	s.api = humago.New(s.mux, cfg)
	s.api.UseMiddleware(s.authorize)

	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if opt.Metrics != nil {
		s.mux.Handle("GET /metrics", opt.Metrics.Handler())
	}
	s.registerEvents()
	s.registerShipments()
	s.registerVehicles()
	s.registerQuarantine()
	s.registerSchemas()
	s.registerPartners()
	s.registerMasterData()
	s.registerPartnerChannels()
	s.registerCases()
	s.registerInvoices()
	s.registerDeliveries()
	s.registerBulkRetry()
	s.registerReplay()
	s.registerCredit()
	s.registerConnectors()
	s.registerInsights()
	s.registerReconciliations()
	for pattern, h := range opt.Pages {
		s.mux.Handle(pattern, h)
	}
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, newProblem(http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path))
	})
	return s
}

// Handler returns the root handler with the middleware chain applied.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.mux
	h = httpMetricsOrNil(s.opt.Metrics, h)
	h = traced(s.opt.Tracing)(h)
	h = correlation(h)
	h = recoverer(s.opt.Logger)(h)
	return h
}

// schemaName names schemas of other crossdock packages after their package
// (shipment.View → ShipmentView) so equally named types cannot collide.
func schemaName(t reflect.Type, hint string) string {
	name := huma.DefaultSchemaNamer(t, hint)
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	pkg := t.PkgPath()
	if !strings.HasPrefix(pkg, "github.com/crossdockhq/crossdock/") || strings.HasSuffix(pkg, "/api") || t.Name() == "" {
		return name
	}
	base := path.Base(pkg)
	return strings.ToUpper(base[:1]) + base[1:] + name
}

// OpenAPI returns the generated description (for tests and docs).
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

func httpMetricsOrNil(m *obs.Metrics, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	return httpMetrics(m)(h)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.opt.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.opt.Ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ready\n"))
}

// authorize is the huma middleware enforcing each operation's scope, named
// in its Metadata["scope"]: "" is public, "any" needs a valid key of any scope.
func (s *Server) authorize(ctx huma.Context, next func(huma.Context)) {
	scope, _ := ctx.Operation().Metadata["scope"].(string)
	if scope == "" {
		next(ctx)
		return
	}
	p, err := s.authenticate(ctx.Context(), ctx.Header("Authorization"), scope)
	if err != nil {
		pr := s.authProblem(err, func(k, v string) { ctx.SetHeader(k, v) })
		pr.CorrelationID = obs.Correlation(ctx.Context())
		pr.Instance = ctx.URL().Path
		ctx.SetHeader("Content-Type", "application/problem+json")
		ctx.SetStatus(pr.Status)
		_ = json.NewEncoder(ctx.BodyWriter()).Encode(pr)
		return
	}
	next(huma.WithValue(ctx, principalKey{}, p))
}

// authError is a failed authentication or authorization: the status to
// answer and, for 429, when to come back.
type authError struct {
	status     int
	retryAfter time.Duration
	err        error
}

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// authenticate checks a header against the key ring and a required scope,
// then the partner's rate limit. Errors are *authError.
func (s *Server) authenticate(ctx context.Context, header, scope string) (Principal, error) {
	p, err := s.opt.Keys.Authenticate(ctx, header)
	if err != nil {
		switch {
		case errors.Is(err, errNoKey):
			s.countAuthFailure("missing")
		case errors.Is(err, errUnknownKey):
			s.countAuthFailure("unknown")
		default:
			s.opt.Logger.ErrorContext(ctx, "authenticate", "err", err)
			return Principal{}, &authError{status: http.StatusServiceUnavailable, retryAfter: time.Second,
				err: errors.New("the key store did not answer; retry")}
		}
		return Principal{}, &authError{status: http.StatusUnauthorized, err: err}
	}
	if scope != "any" && !p.HasAny(scope) {
		s.countAuthFailure("scope")
		return Principal{}, &authError{status: http.StatusForbidden, err: &scopeError{scope}}
	}
	if wait := s.partners.allow(p.Partner, s.opt.Now()); wait > 0 {
		s.countRateLimited(p.Partner)
		return Principal{}, &authError{status: http.StatusTooManyRequests, retryAfter: wait,
			err: fmt.Errorf("rate limit of partner %s exceeded; retry after %s", p.Partner, wait.Round(time.Millisecond))}
	}
	return p, nil
}

// authProblem turns an authenticate error into its problem, setting the
// headers that go with it.
func (s *Server) authProblem(err error, setHeader func(k, v string)) *Problem {
	var ae *authError
	if !errors.As(err, &ae) {
		return newProblem(http.StatusInternalServerError, "authentication failed")
	}
	switch ae.status {
	case http.StatusUnauthorized:
		setHeader("WWW-Authenticate", `Bearer realm="crossdock"`)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		setHeader("Retry-After", strconv.Itoa(int(max(1, math.Ceil(ae.retryAfter.Seconds())))))
	}
	return newProblem(ae.status, ae.Error())
}

type scopeError struct{ scope string }

func (e *scopeError) Error() string {
	if strings.Contains(e.scope, "|") {
		return "this API key lacks every one of the scopes " + strings.ReplaceAll(e.scope, "|", ", ") + "; it needs one"
	}
	return "this API key lacks the " + e.scope + " scope"
}

func (s *Server) countRateLimited(partner string) {
	if s.opt.Metrics != nil {
		s.opt.Metrics.RateLimited.WithLabelValues(partner).Inc()
	}
}

func (s *Server) countAuthFailure(reason string) {
	if s.opt.Metrics != nil {
		s.opt.Metrics.AuthFailures.WithLabelValues(reason).Inc()
	}
}

// op builds a huma operation with crossdock's defaults.
func (s *Server) op(id, method, path, summary, scope string) huma.Operation {
	o := huma.Operation{
		OperationID:  id,
		Method:       method,
		Path:         path,
		Summary:      summary,
		MaxBodyBytes: s.opt.MaxBodyBytes,
		Metadata:     map[string]any{"scope": scope},
	}
	if scope != "" {
		o.Security = []map[string][]string{{"bearer": {}}}
		o.Errors = []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests}
	}
	return o
}
