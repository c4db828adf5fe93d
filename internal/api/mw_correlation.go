package api

import (
	"net/http"

	"github.com/crossdockhq/crossdock/internal/obs"
)

const headerCorrelationID = "X-Correlation-ID"

// correlation gives every request a correlation id — from X-Correlation-ID,
// else a W3C traceparent, else a new one — puts it in the request context
// for logs and events, and echoes it in the response header.
func correlation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := obs.CorrelationFromHeaders(r.Header.Get(headerCorrelationID), r.Header.Get("traceparent"))
		if id == "" {
			id = obs.NewCorrelationID()
		}
		w.Header().Set(headerCorrelationID, id)
		next.ServeHTTP(w, r.WithContext(obs.WithCorrelation(r.Context(), id)))
	})
}
