package web

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed assets
var assetFS embed.FS

//go:embed console/*.html
var consoleFS embed.FS

var consolePages = template.Must(template.New("").Funcs(template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		d := time.Since(t)
		switch {
		case d < time.Minute:
			return "just now"
		case d < time.Hour:
			return itoa(int(d.Minutes())) + " min ago"
		case d < 48*time.Hour:
			return itoa(int(d.Hours())) + " h ago"
		}
		return itoa(int(d.Hours()/24)) + " days ago"
	},
	"period": period,
	"count": func(n int64, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.FormatInt(n, 10) + " " + many
	},
	"at": func(t any) string {
		switch x := t.(type) {
		case time.Time:
			if x.IsZero() {
				return "—"
			}
			return x.UTC().Format("2 Jan 15:04:05")
		case *time.Time:
			if x == nil || x.IsZero() {
				return "—"
			}
			return x.UTC().Format("2 Jan 15:04:05")
		}
		return ""
	},
	"secs": func(count int, f float64) string {
		switch {
		case count == 0:
			return "—"
		case f < 0.001:
			return "< 1 ms"
		case f < 1:
			return itoa(int(f*1000)) + " ms"
		case f < 120:
			return trim1(f) + " s"
		case f < 7200:
			return trim1(f/60) + " min"
		}
		return trim1(f/3600) + " h"
	},
	"num": func(p *float64) string {
		if p == nil {
			return "—"
		}
		return strconv.FormatFloat(*p, 'f', 0, 64)
	},
	"str": func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	},
	"panel": func(data any, csrf, back string) panelCtx { return panelCtx{Data: data, CSRF: csrf, Back: back} },
}).ParseFS(consoleFS, "console/*.html"))

// assetHandler serves the vendored scripts and the stylesheet; anything
// else is 404 (no directory listings).
func assetHandler(assets fs.FS) http.Handler {
	files := http.FileServerFS(assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ext := path.Ext(r.URL.Path)
		if strings.Contains(r.URL.Path, "/") || (ext != ".js" && ext != ".css") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

// trim1 writes f with one decimal, without a trailing ".0".
func trim1(f float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(f, 'f', 1, 64), ".0")
}

// period shows [from, to) for people: whole days as dates ("27 Nov –
// 3 Dec 2026", the last day included), anything else to the minute.
func period(from, to time.Time) string {
	from, to = from.UTC(), to.UTC()
	midnight := func(t time.Time) bool { return t.Equal(t.Truncate(24 * time.Hour)) }
	if midnight(from) && midnight(to) {
		last := to.AddDate(0, 0, -1)
		if last.Equal(from) {
			return from.Format("2 Jan 2006")
		}
		return from.Format("2 Jan") + " – " + last.Format("2 Jan 2006")
	}
	if from.YearDay() == to.YearDay() && from.Year() == to.Year() {
		return from.Format("2 Jan 15:04") + " – " + to.Format("15:04")
	}
	return from.Format("2 Jan 15:04") + " – " + to.Format("2 Jan 15:04")
}
