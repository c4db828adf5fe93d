package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/crossdockhq/crossdock/internal/canonical"
)

// ProblemBase prefixes the type URI of every problem crossdock answers.
const ProblemBase = "https://crossdock.dev/problems/"

// Problem is an RFC 9457 problem detail. Errors names each offending field
// for validation failures.
type Problem struct {
	Type          string                 `json:"type"`
	Title         string                 `json:"title"`
	Status        int                    `json:"status"`
	Detail        string                 `json:"detail,omitempty"`
	Instance      string                 `json:"instance,omitempty"`
	Errors        []canonical.FieldError `json:"errors,omitempty"`
	QuarantineID  string                 `json:"quarantine_id,omitempty"`
	CorrelationID string                 `json:"correlation_id,omitempty"`
}

// Error implements error.
func (p *Problem) Error() string { return p.Detail }

// GetStatus implements huma.StatusError.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType implements huma.ContentTypeFilter: problems are always problem+json.
func (p *Problem) ContentType(string) string { return "application/problem+json" }

// problemTypes is the catalog: one stable type slug per status we answer.
var problemTypes = map[int]string{
	http.StatusBadRequest:            "bad-request",
	http.StatusUnauthorized:          "unauthenticated",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not-found",
	http.StatusMethodNotAllowed:      "method-not-allowed",
	http.StatusRequestEntityTooLarge: "body-too-large",
	http.StatusUnsupportedMediaType:  "unsupported-media-type",
	http.StatusUnprocessableEntity:   "invalid-event",
	http.StatusTooManyRequests:       "rate-limited",
	http.StatusInternalServerError:   "internal",
	http.StatusServiceUnavailable:    "unavailable",
}

// newProblem builds a problem from the catalog.
func newProblem(status int, detail string, errs ...canonical.FieldError) *Problem {
	slug, ok := problemTypes[status]
	if !ok {
		slug = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "-"))
	}
	return &Problem{Type: ProblemBase + slug, Title: http.StatusText(status), Status: status, Detail: detail, Errors: errs}
}

// writeProblem answers p from a plain net/http handler.
func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.CorrelationID == "" {
		p.CorrelationID = w.Header().Get(headerCorrelationID)
	}
	p.Instance = r.URL.Path
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(p)
}

// init routes huma's own errors (bad parameters, body too large, …)
// through the same catalog so every error from /api/ looks the same.
func init() {
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		p := newProblem(status, msg)
		for _, err := range errs {
			if err == nil {
				continue
			}
			var d huma.ErrorDetailer
			if errors.As(err, &d) {
				det := d.ErrorDetail()
				p.Errors = append(p.Errors, canonical.FieldError{Field: det.Location, Message: det.Message})
				continue
			}
			p.Errors = append(p.Errors, canonical.FieldError{Message: err.Error()})
		}
		return p
	}
}

func fieldErr(field, msg string) canonical.FieldError {
	return canonical.FieldError{Field: field, Message: msg}
}

// fieldProblem is a 422 naming one invalid request field.
func fieldProblem(field, msg string) *Problem {
	return newProblem(http.StatusUnprocessableEntity, field+" "+msg, canonical.FieldError{Field: field, Message: msg})
}
