package web

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("Mon 2 Jan 15:04 UTC")
	},
}).ParseFS(templateFS, "templates/*.html"))

// The tracking page needs no key, so each client address gets a budget:
// a burst of trackBurst pages, then one per trackEvery.
const (
	trackBurst   = 30
	trackEvery   = 500 * time.Millisecond
	trackClients = 10000
)

// Track serves GET /track/{shipment_id} from st. A shipment that does not
// exist, is not yet visible or has a malformed id gets the same 404 page,
// so ids cannot be probed; a client asking too fast gets 429.
func Track(st store.Store, log *slog.Logger) http.Handler {
	limits := newClientLimits(trackEvery, trackBurst, trackClients)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Type", "text/html; charset=utf-8")
		if !limits.allow(clientAddr(r), time.Now()) {
			h.Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			render(w, log, "busy.html", nil)
			return
		}
		id := r.PathValue("shipment_id")
		page, err := trackingPage(r, st, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			w.WriteHeader(http.StatusNotFound)
			render(w, log, "notfound.html", nil)
			return
		case err != nil:
			log.ErrorContext(r.Context(), "tracking page", "err", err)
			w.WriteHeader(http.StatusInternalServerError)
			render(w, log, "error.html", nil)
			return
		}
		render(w, log, "track.html", page)
	})
}

func render(w http.ResponseWriter, log *slog.Logger, name string, data any) {
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		log.Error("render page", "page", name, "err", err)
	}
}

// page is what the tracking template shows.
type page struct {
	ID, Status, StatusText string
	Delayed                bool
	ETA                    *time.Time
	NextStop               string
	Stops                  []stopRow
	Map                    *mapView
	UpdatedAt              time.Time
}

type stopRow struct {
	N                             int
	Kind, Status, StatusText      string
	WindowFrom, WindowTo          *time.Time
	ArrivedAt, DepartedAt, DoneAt *time.Time
	Next                          bool
}

// statusText is what a consignee reads for a status; invoiced is a
// billing state, shown as delivered.
var statusText = map[string]string{
	"released": "Order received", "planned": "Scheduled", "in_transit": "On its way",
	"delivered": "Delivered", "invoiced": "Delivered", "cancelled": "Cancelled",
}

var stopText = map[string]string{"pending": "To come", "arrived": "Arrived", "departed": "Departed", "completed": "Done"}

func trackingPage(r *http.Request, st store.Store, id string) (*page, error) {
	if id == "" || len(id) > 256 || strings.ContainsAny(id, "/\\") {
		return nil, store.ErrNotFound
	}
	rec, err := st.Shipment(r.Context(), id)
	if err != nil {
		return nil, err
	}
	s := &shipment.State{ID: rec.ID}
	if err := json.Unmarshal(rec.State, s); err != nil {
		return nil, fmt.Errorf("shipment %s: %w", rec.ID, err)
	}
	v := s.View(rec.UpdatedAt)
	p := &page{ID: v.ID, Status: v.Status, StatusText: statusText[v.Status], Delayed: v.Delay != nil, ETA: v.ETA, UpdatedAt: v.UpdatedAt}
	for i, sv := range v.Stops {
		row := stopRow{N: i + 1, Kind: map[string]string{"pickup": "Pickup", "delivery": "Delivery"}[sv.Type], Status: sv.Status,
			StatusText: stopText[sv.Status], ArrivedAt: sv.ArrivedAt, DepartedAt: sv.DepartedAt, DoneAt: sv.CompletedAt}
		if sv.Window != nil {
			row.WindowFrom, row.WindowTo = &sv.Window.From, &sv.Window.To
		}
		if v.NextStopID != nil && *v.NextStopID == sv.ID {
			row.Next, p.NextStop = true, fmt.Sprintf("stop %d", i+1)
		}
		p.Stops = append(p.Stops, row)
	}
	p.Map = drawMap(v.Stops)
	return p, nil
}

// mapView is the route as SVG coordinates in a 320×180 box.
type mapView struct {
	Line   string // polyline points
	Points []mapPoint
}

type mapPoint struct {
	X, Y   float64
	N      int
	Status string
}

// drawMap projects the stops (equirectangular, longitude scaled by the
// cosine of the mean latitude) into the box with a margin; nil without
// two distinct places.
func drawMap(stops []shipment.StopView) *mapView {
	if len(stops) < 2 {
		return nil
	}
	const w, h, pad = 320.0, 180.0, 18.0
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	var latSum float64
	for _, s := range stops {
		latSum += s.Location.Lat
	}
	k := math.Cos(latSum / float64(len(stops)) * math.Pi / 180)
	xy := make([][2]float64, len(stops))
	for i, s := range stops {
		x, y := s.Location.Lon*k, -s.Location.Lat
		xy[i] = [2]float64{x, y}
		minX, maxX, minY, maxY = math.Min(minX, x), math.Max(maxX, x), math.Min(minY, y), math.Max(maxY, y)
	}
	span := math.Max(maxX-minX, maxY-minY)
	if span == 0 || math.IsNaN(span) {
		return nil
	}
	scale := math.Min((w-2*pad)/math.Max(maxX-minX, 1e-9), (h-2*pad)/math.Max(maxY-minY, 1e-9))
	offX := (w - (maxX-minX)*scale) / 2
	offY := (h - (maxY-minY)*scale) / 2
	m := &mapView{}
	var line []string
	for i, p := range xy {
		x, y := offX+(p[0]-minX)*scale, offY+(p[1]-minY)*scale
		line = append(line, fmt.Sprintf("%.1f,%.1f", x, y))
		m.Points = append(m.Points, mapPoint{X: math.Round(x*10) / 10, Y: math.Round(y*10) / 10, N: i + 1, Status: stops[i].Status})
	}
	m.Line = strings.Join(line, " ")
	return m
}
