package api

import (
	"log/slog"
	"net/http"
	"runtime/debug"
)

// recoverer turns a handler panic into a 500 problem and a logged stack
// instead of a dropped connection. http.ErrAbortHandler passes through.
func recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "handler panic", "panic", v, "path", r.URL.Path, "stack", string(debug.Stack()))
				writeProblem(w, r, newProblem(http.StatusInternalServerError, "internal error; the correlation id identifies it in the logs"))
			}()
			next.ServeHTTP(w, r)
		})
	}
}
