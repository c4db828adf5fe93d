package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/crossdockhq/crossdock/internal/api"
)

// Cookie names. The session cookie holds only a random id; the API key
// it stands for stays in this process's memory.
const (
	sessionCookie = "crossdock_session"
	loginCookie   = "crossdock_login" // the login form's CSRF token (double submit)
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

// session is one logged-in console user.
type session struct {
	id        string
	key       string // the API key, used for every API call the console makes
	principal api.Principal
	csrf      string
	created   time.Time
	seen      time.Time
	// flash and flashProblem are shown once, on the next page (guarded
	// by sessions.mu).
	flash, flashProblem string
}

// sessions holds the console's sessions in memory: a restart logs every
// user out, and nothing secret is ever written to disk or to a cookie.
type sessions struct {
	idle, max time.Duration
	limit     int
	now       func() time.Time

	mu   sync.Mutex
	byID map[string]*session
}

func newSessions(idle, max time.Duration, limit int, now func() time.Time) *sessions {
	return &sessions{idle: idle, max: max, limit: limit, now: now, byID: map[string]*session{}}
}

// create starts a session for an authenticated key, evicting the oldest
// session when the table is full.
func (ss *sessions) create(key string, p api.Principal) *session {
	now := ss.now()
	s := &session{id: token(), key: key, principal: p, csrf: token(), created: now, seen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.sweep(now)
	if len(ss.byID) >= ss.limit {
		var oldest *session
		for _, o := range ss.byID {
			if oldest == nil || o.seen.Before(oldest.seen) {
				oldest = o
			}
		}
		delete(ss.byID, oldest.id)
	}
	ss.byID[s.id] = s
	return s
}

// get returns the live session named by the request's cookie and marks
// it seen; nil when there is none, it is unknown (forged) or expired.
func (ss *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) != tokenLen {
		return nil
	}
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[c.Value]
	if s == nil {
		return nil
	}
	if ss.expired(s, now) {
		delete(ss.byID, s.id)
		return nil
	}
	s.seen = now
	return s
}

func (ss *sessions) end(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, id)
}

func (ss *sessions) expired(s *session, now time.Time) bool {
	return now.Sub(s.seen) > ss.idle || now.Sub(s.created) > ss.max
}

// sweep drops expired sessions; the caller holds mu.
func (ss *sessions) sweep(now time.Time) {
	for id, s := range ss.byID {
		if ss.expired(s, now) {
			delete(ss.byID, id)
		}
	}
}

// tokenLen is the length of a token: 32 random bytes, base64url.
const tokenLen = 43

func token() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// sameToken compares tokens in constant time.
func sameToken(a, b string) bool {
	return len(a) == tokenLen && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// validCSRF reports whether a state-changing request carries the
// session's token, in the form or (htmx) in the header.
func (s *session) validCSRF(r *http.Request) bool {
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return sameToken(got, s.csrf)
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge.Seconds())})
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}
