package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const adminKey = "test-admin-key-0123456789"

// hub is the API with the tracking page and the console mounted, on an
// embedded store.
func hub(t *testing.T) *httptest.Server {
	t.Helper()
	return newHub(t, hubOptions{}).srv
}

func post(t *testing.T, srv *httptest.Server, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/events", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("events: %d %s", resp.StatusCode, b)
	}
}

func get(t *testing.T, srv *httptest.Server, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func ev(id, typ, subject string, at time.Time, data string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"tms","type":%q,"subject":%q,"time":%q,"data":%s}`,
		id, typ, subject, at.Format(time.RFC3339), data)
}

func TestTrackingPage(t *testing.T) {
	t.Parallel()
	srv := hub(t)
	at := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	post(t, srv, "["+strings.Join([]string{
		ev("o1", "order.released", "SHP-T1", at, `{"order_id":"SO-SECRET-42","customer_id":"CUST-ACME-PRIVATE","references":{"po":"<script>alert(1)</script>"},`+
			`"stops":[{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68}},{"id":"S2","type":"delivery","location":{"lat":48.14,"lon":11.58}}]}`),
		ev("r1", "route.assigned", "SHP-T1", at.Add(time.Minute), `{"vehicle_id":"TRK-PRIVATE-9","driver_id":"DRV-JANE-DOE"}`),
		ev("a1", "shipment.milestone", "SHP-T1", at.Add(10*time.Minute), `{"code":"arrived","stop_id":"S1"}`),
		ev("d1", "shipment.milestone", "SHP-T1", at.Add(40*time.Minute), `{"code":"departed","stop_id":"S1"}`),
	}, ",")+"]")
	code, hdr, body := get(t, srv, "/track/SHP-T1")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %v", code, hdr)
	}
	for _, want := range []string{"SHP-T1", "On its way", "Pickup — Departed", "Delivery — To come", "<svg", "<polyline", `name="viewport"`,
		"Departed " + at.Add(40*time.Minute).Format("Mon 2 Jan 15:04 UTC")} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Never customer, order, references, vehicle or driver data.
	for _, secret := range []string{"CUST-ACME-PRIVATE", "SO-SECRET-42", "alert(1)", "TRK-PRIVATE-9", "DRV-JANE-DOE"} {
		if strings.Contains(body, secret) {
			t.Errorf("the public page shows %q", secret)
		}
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", hdr)
	}
	// An absent shipment, an odd id and a path trick answer the same page.
	var pages []string
	for _, id := range []string{"SHP-NOPE", "%3Cscript%3E", "SHP-T1%2F..%2Fx"} {
		code, _, body := get(t, srv, "/track/"+id)
		if code != http.StatusNotFound {
			t.Errorf("%s: %d", id, code)
		}
		pages = append(pages, body)
	}
	if pages[0] != pages[1] || pages[0] != pages[2] || strings.Contains(pages[0], "SHP-NOPE") {
		t.Errorf("not-found pages differ or echo the id:\n%s\n%s", pages[0], pages[1])
	}
}

func TestTrackingPageEscapes(t *testing.T) {
	t.Parallel()
	srv := hub(t)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	id := `SHP-"><img src=x onerror=alert(1)>`
	post(t, srv, "["+ev("o1", "order.released", id, at, `{"order_id":"SO-1","customer_id":"C1",`+
		`"stops":[{"id":"S1","type":"pickup","location":{"lat":50.11,"lon":8.68}},{"id":"S2","type":"delivery","location":{"lat":48.14,"lon":11.58}}]}`)+"]")
	code, _, body := get(t, srv, "/track/"+url.PathEscape(id))
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	if strings.Contains(body, "<img") || !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Fatalf("the id must be shown escaped: %s", body)
	}
}

func TestTrackingPageRateLimit(t *testing.T) {
	t.Parallel()
	srv := hub(t)
	limited := 0
	for range 60 {
		code, hdr, _ := get(t, srv, "/track/SHP-NONE")
		if code == http.StatusTooManyRequests {
			limited++
			if hdr.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
	}
	if limited == 0 {
		t.Fatal("60 pages at once from one address were all served")
	}
}
