package rest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/signature"
	"github.com/crossdockhq/crossdock/internal/store"
)

func delivery() connector.Delivery {
	return connector.Delivery{ID: "d-1", CorrelationID: "corr-1", Attempt: 1, Event: store.EventRecord{
		Source: "crossdock/billing", ID: "ev-1", Type: "invoice.ready", Subject: "SHP-1", ShipmentID: "SHP-1",
		Time: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), CorrelationID: "corr-1", Data: []byte(`{"id":"INV-2026-000001","total":"668.93"}`),
	}}
}

func TestDeliverSendsTheEventWithItsKeys(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r
		body, _ = io.ReadAll(r.Body)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	c, err := New(Config{Name: "erp", URL: srv.URL, Bearer: "secret-token", Headers: map[string]string{"X-Tenant": "eu"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deliver(context.Background(), delivery()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for k, want := range map[string]string{"Idempotency-Key": "d-1", "X-Correlation-ID": "corr-1", "Authorization": "Bearer secret-token",
		"X-Tenant": "eu", "Content-Type": "application/cloudevents+json"} {
		if v := got.Header.Get(k); v != want {
			t.Errorf("%s: %q, want %q", k, v, want)
		}
	}
	var ce connector.CloudEvent
	if err := json.Unmarshal(body, &ce); err != nil || ce.Type != "invoice.ready" || ce.Source != "crossdock/billing" || !strings.Contains(string(ce.Data), "668.93") {
		t.Fatalf("body %s (%v)", body, err)
	}
}

func TestDeliverClassifiesAnswers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		status     int
		retryAfter string
		permanent  bool
		delay      time.Duration
	}{
		{400, "", true, 0}, {422, "", true, 0}, {404, "", true, 0},
		{500, "", false, 0}, {502, "", false, 0}, {408, "", false, 0},
		{429, "30", false, 30 * time.Second}, {503, "7", false, 7 * time.Second}, {503, "soon", false, 0},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if c.retryAfter != "" {
				w.Header().Set("Retry-After", c.retryAfter)
			}
			w.WriteHeader(c.status)
			_, _ = w.Write([]byte(`{"error":"customer unknown"}`))
		}))
		conn, _ := New(Config{Name: "erp", URL: srv.URL})
		_, err := conn.Deliver(context.Background(), delivery())
		srv.Close()
		if err == nil {
			t.Fatalf("%d: no error", c.status)
		}
		if outbox.IsPermanent(err) != c.permanent {
			t.Errorf("%d: permanent=%v", c.status, outbox.IsPermanent(err))
		}
		if d, ok := outbox.RetryDelay(err); (c.delay != 0) != ok || d != c.delay {
			t.Errorf("%d: retry after %v %v, want %v", c.status, d, ok, c.delay)
		}
		if c.permanent && !strings.Contains(err.Error(), "customer unknown") {
			t.Errorf("%d: the answer is kept: %v", c.status, err)
		}
	}
	conn, _ := New(Config{Name: "erp", URL: "http://127.0.0.1:1"})
	if _, err := conn.Deliver(context.Background(), delivery()); err == nil || outbox.IsPermanent(err) {
		t.Fatalf("connection refused is retried: %v", err)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{"120": 2 * time.Minute, now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second, "0": 0} {
		if d, ok := retryAfter(v, now); !ok || d != want {
			t.Errorf("%q: %v %v", v, d, ok)
		}
	}
	if _, ok := retryAfter("-5", now); ok {
		t.Error("negative seconds")
	}
	if _, err := New(Config{Name: "x", URL: "ftp://x"}); err == nil {
		t.Error("bad scheme accepted")
	}
}

// The webhook kind signs every body so receivers can check it came from
// crossdock and was not replayed.
func TestWebhookSignsTheBody(t *testing.T) {
	t.Parallel()
	const secret = "receiver-secret-0123456789"
	var mu sync.Mutex
	var sig string
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		sig = r.Header.Get(signature.Header)
		body, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	c, err := New(Config{Name: "portal", URL: srv.URL, SigningSecret: secret, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deliver(context.Background(), delivery()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if reason, msg := signature.Verify(secret, sig, body, now.Add(time.Minute), 5*time.Minute); reason != "" {
		t.Fatalf("the receiver cannot verify %q: %s", sig, msg)
	}
	if reason, _ := signature.Verify("another-secret-012345", sig, body, now, 5*time.Minute); reason != signature.Mismatch {
		t.Fatal("a signature any secret accepts")
	}
}

func TestReceiptReference(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		body, location, want string
	}{
		{`{"erp_ref":"CI-2026-0042","id":7}`, "", "CI-2026-0042"},
		{`{"id":4711}`, "", "4711"},
		{`{"reference":"R-9"}`, "/x/1", "R-9"},
		{`not json`, "https://erp/invoices/INV-77", "INV-77"},
		{``, "", ""},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if c.location != "" {
				w.Header().Set("Location", c.location)
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(c.body))
		}))
		conn, _ := New(Config{Name: "erp", URL: srv.URL})
		r, err := conn.Deliver(context.Background(), delivery())
		srv.Close()
		if err != nil || r.Ref != c.want {
			t.Errorf("%q %q: ref %q (%v), want %q", c.body, c.location, r.Ref, err, c.want)
		}
	}
}

// Basic auth when a username is configured; a reshaped body goes as plain
// JSON with the same keys.
func TestBasicAuthAndReshapedBody(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got, body = r, nil
		body, _ = io.ReadAll(r.Body)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	c, err := New(Config{Name: "erp", URL: srv.URL, BasicUser: "crossdock", BasicPassword: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	d := delivery()
	d.Body = []byte(`{"invoice":"INV-2026-000001"}`)
	if _, err := c.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if u, p, ok := got.BasicAuth(); !ok || u != "crossdock" || p != "s3cret" {
		t.Errorf("basic auth %q %q %v", u, p, ok)
	}
	if string(body) != `{"invoice":"INV-2026-000001"}` || got.Header.Get("Content-Type") != "application/json" || got.Header.Get("Idempotency-Key") != "d-1" {
		t.Errorf("reshaped post: %s %v", body, got.Header)
	}
}
