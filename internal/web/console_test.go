package web_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so each answer can be checked.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, header map[string]string) answer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(out)}
}

func (b *browser) get(path string) answer { return b.do(http.MethodGet, path, nil, nil) }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf token in %s", body)
	}
	return m[1]
}

// login logs in with key and returns the page it lands on.
func (b *browser) login(key string) answer {
	b.t.Helper()
	form := b.get("/")
	a := b.do(http.MethodPost, "/console/login", url.Values{"key": {key}, "csrf": {csrfOf(b.t, form.body)}}, nil)
	for range 3 {
		if a.status != http.StatusSeeOther {
			break
		}
		a = b.get(a.header.Get("Location"))
	}
	return a
}

func TestConsoleLogin(t *testing.T) {
	t.Parallel()
	h := newHub(t, hubOptions{})
	b := newBrowser(t, h.srv.URL)

	first := b.get("/")
	if first.status != http.StatusOK || !strings.Contains(first.body, `action="/console/login"`) {
		t.Fatalf("login form: %d %s", first.status, first.body)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"} {
		if first.header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if csp := first.header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows unsafe sources: %s", csp)
	}

	bad := b.do(http.MethodPost, "/console/login", url.Values{"key": {"not-a-key"}, "csrf": {csrfOf(t, first.body)}}, nil)
	if bad.status != http.StatusUnauthorized || !strings.Contains(bad.body, "That key was not accepted") {
		t.Fatalf("wrong key: %d %s", bad.status, bad.body)
	}
	if strings.Contains(bad.body, "not-a-key") {
		t.Error("the refused key is echoed back")
	}

	form := b.get("/")
	ok := b.do(http.MethodPost, "/console/login", url.Values{"key": {adminKey}, "csrf": {csrfOf(t, form.body)}}, nil)
	if ok.status != http.StatusSeeOther {
		t.Fatalf("login: %d %s", ok.status, ok.body)
	}
	cookie := ""
	for _, c := range ok.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "crossdock_session=") {
			cookie = c
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, adminKey) {
		t.Fatal("the session cookie carries the API key")
	}
	// The admin key opens every view; / sends it to the first.
	root := b.get("/")
	if root.status != http.StatusSeeOther || root.header.Get("Location") != "/console/ops" {
		t.Fatalf("root with a session: %d %s", root.status, root.header.Get("Location"))
	}
	for _, v := range []string{"ops", "finance", "support", "platform"} {
		if a := b.get("/console/" + v); a.status != http.StatusOK || strings.Contains(a.body, `class="problem"`) {
			t.Errorf("%s: %d %s", v, a.status, a.body)
		}
	}
}

func TestConsoleLoginForgery(t *testing.T) {
	t.Parallel()
	h := newHub(t, hubOptions{})
	tests := []struct {
		name  string
		form  func(tok string) url.Values
		hdr   map[string]string
		wants int
	}{
		{"no token", func(string) url.Values { return url.Values{"key": {adminKey}} }, nil, http.StatusForbidden},
		{"another token", func(string) url.Values { return url.Values{"key": {adminKey}, "csrf": {strings.Repeat("A", 43)}} }, nil, http.StatusForbidden},
		{"cross-site", func(tok string) url.Values { return url.Values{"key": {adminKey}, "csrf": {tok}} },
			map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"right token", func(tok string) url.Values { return url.Values{"key": {adminKey}, "csrf": {tok}} }, nil, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, h.srv.URL)
			tok := csrfOf(t, b.get("/").body)
			if a := b.do(http.MethodPost, "/console/login", tt.form(tok), tt.hdr); a.status != tt.wants {
				t.Fatalf("%d, want %d: %s", a.status, tt.wants, a.body)
			}
		})
	}
}

func TestConsoleLoginRateLimit(t *testing.T) {
	t.Parallel()
	h := newHub(t, hubOptions{})
	b := newBrowser(t, h.srv.URL)
	var last answer
	for range 11 {
		tok := csrfOf(t, b.get("/").body)
		last = b.do(http.MethodPost, "/console/login", url.Values{"key": {"guess"}, "csrf": {tok}}, nil)
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" {
		t.Fatalf("11th failed login: %d", last.status)
	}
	// Even the right key waits until the budget refills.
	if a := b.login(adminKey); a.status != http.StatusTooManyRequests {
		t.Fatalf("right key while limited: %d", a.status)
	}
}

func TestConsoleSessions(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now()}
	h := newHub(t, hubOptions{now: clk.Now})

	forged := newBrowser(t, h.srv.URL)
	u, _ := url.Parse(h.srv.URL)
	forged.c.Jar.SetCookies(u, []*http.Cookie{{Name: "crossdock_session", Value: strings.Repeat("x", 43)}})
	if a := forged.get("/console/ops"); a.status != http.StatusSeeOther || a.header.Get("Location") != "/" {
		t.Fatalf("forged cookie: %d %s", a.status, a.header.Get("Location"))
	}
	if a := forged.do(http.MethodGet, "/console/ops", nil, map[string]string{"HX-Request": "true"}); a.status != http.StatusUnauthorized || a.header.Get("HX-Redirect") != "/" {
		t.Fatalf("forged cookie, htmx: %d", a.status)
	}

	b := newBrowser(t, h.srv.URL)
	if a := b.login(adminKey); a.status != http.StatusOK {
		t.Fatalf("login: %d", a.status)
	}
	clk.Add(time.Hour)
	if a := b.get("/console/ops"); a.status != http.StatusOK {
		t.Fatalf("after an hour's pause: %d", a.status)
	}
	clk.Add(2*time.Hour + time.Second)
	if a := b.get("/console/ops"); a.status != http.StatusSeeOther {
		t.Fatalf("idle session still open: %d", a.status)
	}

	// Logging out needs the token, then ends the session.
	page := b.login(adminKey)
	if a := b.do(http.MethodPost, "/console/logout", url.Values{}, nil); a.status != http.StatusForbidden {
		t.Fatalf("logout without token: %d", a.status)
	}
	if a := b.do(http.MethodPost, "/console/logout", url.Values{"csrf": {csrfOf(t, page.body)}}, nil); a.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", a.status)
	}
	if a := b.get("/console/ops"); a.status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", a.status)
	}
}

func TestConsoleScopes(t *testing.T) {
	t.Parallel()
	h := newHub(t, hubOptions{})
	tests := []struct {
		key     string
		lands   string
		allowed map[string]bool
	}{
		{financeKey, "/console/finance", map[string]bool{"finance": true}},
		{readKey, "/console/support", map[string]bool{"support": true}},
	}
	for _, tt := range tests {
		b := newBrowser(t, h.srv.URL)
		form := b.get("/")
		a := b.do(http.MethodPost, "/console/login", url.Values{"key": {tt.key}, "csrf": {csrfOf(t, form.body)}}, nil)
		if a.status != http.StatusSeeOther {
			t.Fatalf("login: %d", a.status)
		}
		if a := b.get("/"); a.header.Get("Location") != tt.lands {
			t.Errorf("%s lands on %q", tt.lands, a.header.Get("Location"))
		}
		for _, v := range []string{"ops", "finance", "support", "platform"} {
			a := b.get("/console/" + v)
			want := http.StatusForbidden
			if tt.allowed[v] {
				want = http.StatusOK
			}
			if a.status != want {
				t.Errorf("%s opening %s: %d, want %d", tt.lands, v, a.status, want)
			}
			if want == http.StatusForbidden && !strings.Contains(a.body, "scope") {
				t.Errorf("403 page does not say why: %s", a.body)
			}
			if nav := strings.Contains(a.body, `href="/console/`+v+`"`); nav != tt.allowed[v] {
				t.Errorf("%s: nav link to %s shown: %v", tt.lands, v, nav)
			}
		}
		stream := b.get("/console/stream?view=platform")
		if stream.status != http.StatusForbidden {
			t.Errorf("%s streaming platform: %d", tt.lands, stream.status)
		}
	}
}

func TestConsoleActionsNeedToken(t *testing.T) {
	t.Parallel()
	h := newHub(t, hubOptions{})
	at := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	post(t, h.srv, "["+strings.Join([]string{
		ev("o1", "order.released", "SHP-K1", at, `{"order_id":"SO-1","customer_id":"C1","stops":[{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68}},{"id":"S2","type":"delivery","location":{"lat":48.14,"lon":11.58}}]}`),
		ev("p1", "delivery.completed", "SHP-K1", at.Add(time.Hour), `{"stop_id":"S2","location":{"lat":48.14,"lon":11.58}}`),
	}, ",")+"]")
	b := newBrowser(t, h.srv.URL)
	page := b.login(adminKey)
	ops := b.get("/console/ops")
	m := regexp.MustCompile(`action="/console/cases/([^/]+)/resolve"`).FindStringSubmatch(ops.body)
	if m == nil {
		t.Fatalf("no open case to resolve on %s", ops.body)
	}
	path := "/console/cases/" + m[1] + "/resolve"
	tok := csrfOf(t, page.body)
	tests := []struct {
		name string
		form url.Values
		hdr  map[string]string
		want int
	}{
		{"no token", url.Values{"resolution": {"signed later"}}, nil, http.StatusForbidden},
		{"wrong token", url.Values{"resolution": {"signed later"}, "csrf": {strings.Repeat("B", 43)}}, nil, http.StatusForbidden},
		{"cross-site", url.Values{"resolution": {"signed later"}, "csrf": {tok}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"token in the htmx header", url.Values{"resolution": {"signed later"}, "back": {"https://evil.example/"}}, map[string]string{"X-CSRF-Token": tok}, http.StatusSeeOther},
	}
	for _, tt := range tests {
		a := b.do(http.MethodPost, path, tt.form, tt.hdr)
		if a.status != tt.want {
			t.Fatalf("%s: %d, want %d", tt.name, a.status, tt.want)
		}
		if a.status == http.StatusSeeOther && a.header.Get("Location") != "/console/" {
			t.Errorf("%s: sent back to %q", tt.name, a.header.Get("Location"))
		}
	}
	after := b.get("/console/ops")
	if !strings.Contains(after.body, "resolved") || strings.Contains(after.body, path) {
		t.Fatalf("case still open after resolving: %s", after.body)
	}
	// A key without ops may not resolve, even with a valid token.
	fb := newBrowser(t, h.srv.URL)
	fpage := fb.login(financeKey)
	if a := fb.do(http.MethodPost, path, url.Values{"resolution": {"x"}, "csrf": {csrfOf(t, fpage.body)}}, nil); a.status != http.StatusForbidden {
		t.Fatalf("finance key resolving: %d", a.status)
	}
}

func TestConsoleEscapes(t *testing.T) {
	t.Parallel()
	h := newHub(t, hubOptions{})
	at := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	const xss = `<script>alert(1)</script>`
	post(t, h.srv, "["+strings.Join([]string{
		ev("o1", "order.released", "SHP-X1", at, `{"order_id":"<img src=x onerror=alert(1)>","customer_id":"C-X","references":{"po":"`+xss+`"},`+
			`"stops":[{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68}},{"id":"S2","type":"delivery","location":{"lat":48.14,"lon":11.58}}]}`),
		ev("p1", "delivery.completed", "SHP-X1", at.Add(time.Hour), `{"stop_id":"S2","signed_by":"`+xss+`","location":{"lat":48.14,"lon":11.58},`+
			`"exceptions":[{"code":"damaged","note":"`+xss+`"}]}`),
	}, ",")+"]")
	b := newBrowser(t, h.srv.URL)
	b.login(adminKey)
	for _, path := range []string{"/console/shipments/SHP-X1", "/console/ops", "/console/support?q=C-X"} {
		a := b.get(path)
		if a.status != http.StatusOK {
			t.Fatalf("%s: %d", path, a.status)
		}
		if strings.Contains(a.body, xss) || strings.Contains(a.body, "<img src=x") {
			t.Errorf("%s shows markup unescaped", path)
		}
		if path == "/console/shipments/SHP-X1" && !strings.Contains(a.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s does not show the text escaped: %s", path, a.body)
		}
	}
}

func TestConsoleSupportSearch(t *testing.T) {
	t.Parallel()
	h := newHub(t, hubOptions{})
	at := time.Now().UTC().Add(-30 * time.Minute).Truncate(time.Second)
	post(t, h.srv, "["+ev("o1", "order.released", "SHP-S1", at, `{"order_id":"SO-9","customer_id":"CUST-9","stops":[{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68}},{"id":"S2","type":"delivery","location":{"lat":48.14,"lon":11.58}}]}`)+"]")
	b := newBrowser(t, h.srv.URL)
	b.login(readKey)
	if a := b.get("/console/support?q=SHP-S1"); a.status != http.StatusSeeOther || a.header.Get("Location") != "/console/shipments/SHP-S1" {
		t.Fatalf("search by id: %d %s", a.status, a.header.Get("Location"))
	}
	ship := b.get("/console/shipments/SHP-S1")
	for _, want := range []string{"order.released", "CUST-9", `sse-connect="/console/stream?id=SHP-S1&amp;view=shipment"`} {
		if !strings.Contains(ship.body, want) {
			t.Errorf("shipment page lacks %q", want)
		}
	}
	post(t, h.srv, `[{"specversion":"1.0","id":"m1","source":"tms","type":"shipment.milestone","subject":"SHP-S1","time":"`+
		at.Add(time.Minute).Format(time.RFC3339)+`","correlationid":"corr-A","data":{"code":"arrived","stop_id":"S1"}}]`)
	all := b.get("/console/shipments/SHP-S1")
	one := b.get("/console/shipments/SHP-S1?cid=corr-A")
	rows := func(body string) int { return strings.Count(body, `<tr><td class="nw">`) }
	if rows(one.body) == 0 || rows(one.body) >= rows(all.body) || !strings.Contains(one.body, "corr-A") {
		t.Errorf("timeline by correlation: %d of %d rows", rows(one.body), rows(all.body))
	}
	if !strings.Contains(one.body, `cid=corr-A`) {
		t.Errorf("the live stream drops the correlation filter")
	}
	if a := b.get("/console/support?q=CUST-9"); !strings.Contains(a.body, `href="/console/shipments/SHP-S1"`) {
		t.Errorf("search by customer: %s", a.body)
	}
	if a := b.get("/console/support?q=nothing-here"); !strings.Contains(a.body, "No shipment") {
		t.Errorf("search for nothing: %s", a.body)
	}
	if a := b.get("/console/shipments/SHP-NONE"); a.status != http.StatusNotFound {
		t.Errorf("absent shipment: %d", a.status)
	}
}

func TestConsoleStream(t *testing.T) {
	t.Parallel()
	h := newHub(t, hubOptions{streamEvery: 20 * time.Millisecond})
	b := newBrowser(t, h.srv.URL)
	b.login(adminKey)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL+"/console/stream?view=ops", nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, ct)
	}
	lines := bufio.NewScanner(resp.Body)
	// Wait for the first round of panels, then change the data: the
	// status panel must be sent again with the new shipment.
	seen := map[string]bool{}
	posted := false
	for lines.Scan() {
		line := lines.Text()
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			seen[name] = true
		}
		if seen["ops-status"] && !posted {
			post(t, h.srv, "["+ev("o1", "order.released", "SHP-L1", time.Now().UTC().Add(-time.Minute), `{"order_id":"SO-L","customer_id":"C","stops":[{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68}},{"id":"S2","type":"delivery","location":{"lat":48.14,"lon":11.58}}]}`)+"]")
			posted = true
			continue
		}
		if posted && strings.HasPrefix(line, "data: ") && strings.Contains(line, "released") && strings.Contains(line, `class="n">1<`) {
			break
		}
	}
	if !posted || lines.Err() != nil && ctx.Err() != nil {
		t.Fatalf("no live update (seen %v): %v", seen, lines.Err())
	}
	// Shutting down ends the stream.
	h.console.Close()
	for lines.Scan() {
	}
	if ctx.Err() != nil {
		t.Fatal("the stream outlived Close")
	}
}
