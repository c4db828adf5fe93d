package osmand

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/crossdockhq/crossdock/internal/ingest"
)

// Input is the input name handed to the Sink.
const Input = "osmand"

// Config configures the handler.
type Config struct {
	// MaxBody bounds a request body; larger ones answer 413. Default 64 KiB.
	MaxBody int64
	// Now is the clock for positions without a timestamp. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.MaxBody <= 0 {
		c.MaxBody = 64 << 10
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Handler answers OsmAnd devices. Every path is accepted (clients post to
// "/" or to a path of their own); GET and POST only.
//
// Answers: 200 (empty) once the position is durable — accepted, or a
// duplicate of one already stored; 400 text naming the field when the
// request cannot be decoded (kept in quarantine) or the hub rejected the
// position (unknown device, out-of-range values; kept in quarantine too);
// 503 with Retry-After when nothing could be committed; 413, 405.
type Handler struct {
	cfg  Config
	sink ingest.Sink
	log  *slog.Logger
}

// NewHandler returns the OsmAnd handler over sink. A nil log discards.
func NewHandler(cfg Config, sink ingest.Sink, log *slog.Logger) (*Handler, error) {
	if sink == nil {
		return nil, errors.New("osmand: sink: required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg.withDefaults(), sink: sink, log: log.With("input", Input)}, nil
}

// NewServer returns an http.Server for h with timeouts fit for devices on
// mobile networks.
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "only GET and POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.cfg.MaxBody+1))
	if err != nil {
		http.Error(w, "reading the body failed", http.StatusBadRequest)
		return
	}
	if int64(len(body)) > h.cfg.MaxBody {
		http.Error(w, fmt.Sprintf("body over %d bytes", h.cfg.MaxBody), http.StatusRequestEntityTooLarge)
		return
	}
	raw := rawRequest(r, body)
	pos, err := h.decode(r, body)
	if err != nil {
		h.reject(w, r.Context(), raw, err.Error())
		return
	}
	pos.Raw = raw
	res, err := h.sink.Positions(r.Context(), Input, []ingest.Position{pos})
	if err != nil {
		h.unavailable(w, err)
		return
	}
	switch res[0].Status {
	case ingest.Accepted, ingest.Duplicate:
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, res[0].Reason, http.StatusBadRequest)
	}
}

func (h *Handler) decode(r *http.Request, body []byte) (ingest.Position, error) {
	now := h.cfg.Now()
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.Method == http.MethodPost && ct == "application/json" {
		return DecodeJSON(body, now)
	}
	q := r.URL.Query()
	if len(q) == 0 && len(body) > 0 {
		// No query: the parameters are in a form-encoded body.
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return ingest.Position{}, bad("body", "not form-encoded: %v", err)
		}
		q = form
	}
	return DecodeQuery(q, now)
}

// reject keeps an undecodable request in quarantine and answers 400, or
// 503 when even the quarantine could not be written.
func (h *Handler) reject(w http.ResponseWriter, ctx context.Context, raw []byte, reason string) {
	if _, err := h.sink.Quarantine(ctx, Input, "text/plain; charset=utf-8", raw, reason); err != nil {
		h.unavailable(w, err)
		return
	}
	http.Error(w, reason, http.StatusBadRequest)
}

func (h *Handler) unavailable(w http.ResponseWriter, err error) {
	h.log.Warn("position not committed", "err", err)
	w.Header().Set("Retry-After", "1")
	http.Error(w, "not stored; retry", http.StatusServiceUnavailable)
}

// rawRequest is what quarantine keeps of a request: its request line and
// content type, then the body.
func rawRequest(r *http.Request, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL.RequestURI())
	if ct := r.Header.Get("Content-Type"); ct != "" {
		fmt.Fprintf(&b, "Content-Type: %s\n", ct)
	}
	b.WriteByte('\n')
	b.Write(body)
	return b.Bytes()
}
