package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/api"
)

// act runs a console action: the session's CSRF token is required, the
// API decides (scope, state, validation), and the user lands back on the
// page the form came from with the outcome shown once.
func (c *Console) act(scope string, do func(ctx context.Context, cl client, r *http.Request) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.current(r)
		if s == nil {
			needSession(w, r)
			return
		}
		if !s.validCSRF(r) {
			c.refuse(w, r, http.StatusForbidden, "The form did not carry this session's token. Reload the page and try again.")
			return
		}
		if !s.principal.HasAny(scope) {
			c.refuse(w, r, http.StatusForbidden, "Your key lacks the "+strings.ReplaceAll(scope, "|", " or ")+" scope this action needs.")
			return
		}
		msg, err := do(r.Context(), c.client(s), r)
		c.sessions.mu.Lock()
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				s.flashProblem = ae.Detail
			} else {
				s.flashProblem = err.Error()
			}
		} else {
			s.flash = msg
		}
		c.sessions.mu.Unlock()
		http.Redirect(w, r, backTo(r.PostFormValue("back")), http.StatusSeeOther)
	}
}

// backTo accepts only the console's own pages as a place to return to.
func backTo(back string) string {
	u, err := url.Parse(back)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/console/") || strings.Contains(u.Path, "//") {
		return "/console/"
	}
	return u.RequestURI()
}

func (c *Console) resolveCase(w http.ResponseWriter, r *http.Request) {
	c.act(api.ScopeOps, func(ctx context.Context, cl client, r *http.Request) (string, error) {
		id := r.PathValue("id")
		body := api.CaseResolve{Resolution: strings.TrimSpace(r.PostFormValue("resolution")), Note: strings.TrimSpace(r.PostFormValue("note"))}
		if body.Resolution == "" {
			return "", errors.New("say how the case was resolved")
		}
		if err := cl.post(ctx, "/api/v1/cases/"+url.PathEscape(id)+"/resolve", body, nil); err != nil {
			return "", err
		}
		return fmt.Sprintf("Case %s resolved.", id), nil
	})(w, r)
}

func (c *Console) retryDelivery(w http.ResponseWriter, r *http.Request) {
	c.act(api.ScopeOps, func(ctx context.Context, cl client, r *http.Request) (string, error) {
		id := r.PathValue("id")
		if err := cl.post(ctx, "/api/v1/deliveries/"+url.PathEscape(id)+"/retry", nil, nil); err != nil {
			return "", err
		}
		return fmt.Sprintf("Delivery %s queued again.", id), nil
	})(w, r)
}

func (c *Console) replayQuarantine(w http.ResponseWriter, r *http.Request) {
	c.act(api.ScopeOps, func(ctx context.Context, cl client, r *http.Request) (string, error) {
		id := r.PathValue("id")
		var out api.ReplayResult
		if err := cl.post(ctx, "/api/v1/quarantine/"+url.PathEscape(id)+"/replay", nil, &out); err != nil {
			return "", err
		}
		return fmt.Sprintf("Quarantine item %s replayed: %s.", id, out.State), nil
	})(w, r)
}

func (c *Console) startReconciliation(w http.ResponseWriter, r *http.Request) {
	c.act(api.ScopeFinance+"|"+api.ScopeOps, func(ctx context.Context, cl client, r *http.Request) (string, error) {
		from, err := time.Parse(time.DateOnly, r.PostFormValue("from"))
		if err != nil {
			return "", errors.New("give the first day of the period as a date")
		}
		to, err := time.Parse(time.DateOnly, r.PostFormValue("to"))
		if err != nil {
			return "", errors.New("give the last day of the period as a date")
		}
		body := api.ReconciliationRequest{Kind: r.PostFormValue("kind"), From: from, To: to.AddDate(0, 0, 1)}
		var out api.ReconciliationStarted
		if err := cl.post(ctx, "/api/v1/reconciliations", body, &out); err != nil {
			return "", err
		}
		return fmt.Sprintf("Reconciliation of %s from %s to %s started (run %s).", body.Kind, from.Format(time.DateOnly), to.Format(time.DateOnly), out.ID), nil
	})(w, r)
}

func (c *Console) redeliverFinding(w http.ResponseWriter, r *http.Request) {
	c.act(api.ScopeFinance+"|"+api.ScopeOps, func(ctx context.Context, cl client, r *http.Request) (string, error) {
		var out api.Redelivered
		path := "/api/v1/reconciliations/" + url.PathEscape(r.PathValue("run")) + "/findings/" + url.PathEscape(r.PathValue("id")) + "/redeliver"
		if err := cl.post(ctx, path, nil, &out); err != nil {
			return "", err
		}
		if !out.Queued {
			return fmt.Sprintf("Invoice %s is already on its way to %s.", out.InvoiceID, out.Connector), nil
		}
		return fmt.Sprintf("Invoice %s queued for delivery to %s again.", out.InvoiceID, out.Connector), nil
	})(w, r)
}
