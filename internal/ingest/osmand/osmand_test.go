package osmand

import (
	"bufio"
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/ingest"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// vectors reads testdata/vectors.txt: source line → request.
func vectors(t testing.TB) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line, req, ok := strings.Cut(sc.Text(), "\t"); ok && !strings.HasPrefix(line, "#") {
			out[line] = req
		}
	}
	return out
}

func f(v float64) *float64 { return &v }

type want struct {
	device                    string
	time                      time.Time
	lat, lon                  float64
	speed, heading, alt, batt *float64
	accuracy, odometer        *float64
	err                       string // the field named, when rejected
}

func check(t *testing.T, name string, got ingest.Position, err error, w want) {
	t.Helper()
	if w.err != "" {
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != w.err {
			t.Fatalf("%s: error %v, want one naming %s", name, err, w.err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if got.DeviceID != w.device || !got.Time.Equal(w.time) || math.Abs(got.Lat-w.lat) > 1e-9 || math.Abs(got.Lon-w.lon) > 1e-9 {
		t.Errorf("%s: %s %v %v,%v; want %s %v %v,%v", name, got.DeviceID, got.Time, got.Lat, got.Lon, w.device, w.time, w.lat, w.lon)
	}
	for _, p := range []struct {
		what      string
		got, want *float64
	}{
		{"speed", got.SpeedKph, w.speed}, {"heading", got.Heading, w.heading}, {"altitude", got.AltitudeM, w.alt},
		{"battery", got.BatteryPct, w.batt}, {"accuracy", got.AccuracyM, w.accuracy}, {"odometer", got.OdometerKm, w.odometer},
	} {
		if (p.got == nil) != (p.want == nil) || (p.got != nil && math.Abs(*p.got-*p.want) > 1e-6) {
			t.Errorf("%s: %s %v, want %v", name, p.what, deref(p.got), deref(p.want))
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestTraccarQueryVectors(t *testing.T) {
	v := vectors(t)
	tests := []struct {
		line string
		want want
	}{
		{"169", want{device: "902064", time: time.Date(2016, 1, 27, 18, 55, 47, 0, time.UTC), lat: 42.06288, lon: -88.23412, speed: f(0), alt: f(224)}},
		{"170", want{device: "902064", time: time.Date(2015, 9, 12, 14, 38, 6, 579e6, time.UTC), lat: 42.06288, lon: -88.23412, speed: f(0), alt: f(224)}},
		// traccar reads "yyyy-MM-dd HH:mm:ss" in the server's zone; crossdock in UTC.
		{"171", want{device: "353861053849681", time: time.Date(2014, 6, 4, 9, 10, 11, 0, time.UTC), lat: 49.60688, lon: 6.15788, speed: f(0), alt: f(384.7)}},
		{"172", want{device: "123456", time: time.Date(2013, 8, 22, 13, 14, 27, 0, time.UTC), lat: 60, lon: 30, speed: f(0), heading: f(0), alt: f(0)}},
		{"173", want{device: "123456", time: time.Date(2013, 8, 22, 13, 14, 27, 0, time.UTC), lat: 60, lon: 30}},
		// No timestamp: the receive time.
		{"174", want{device: "123456", time: now, lat: 60, lon: 30, speed: f(0), heading: f(0), alt: f(0), accuracy: f(0)}},
		{"175", want{device: "861001000719969", time: now, lat: 41.666667, lon: -0.883333, speed: f(0), alt: f(350.059479), batt: f(87)}},
		{"176", want{device: "123456", time: time.Date(2013, 8, 22, 13, 14, 27, 0, time.UTC), lat: 60, lon: 30}},
		{"177", want{device: "123456789012345", time: time.Unix(1504763810, 0).UTC(), lat: 40.7232948571, lon: -74.0061408571,
			speed: f(40 * knotsToKph), heading: f(7.19889788244)}},
		// traccar falls back to the last known location; crossdock keeps no
		// guessed positions and rejects it, naming the field.
		{"178", want{err: "lat"}},
		{"179", want{err: "id"}},
	}
	for _, tt := range tests {
		req, ok := v[tt.line]
		if !ok {
			t.Fatalf("no vector for line %s", tt.line)
		}
		u, err := url.Parse(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeQuery(u.Query(), now)
		check(t, "line "+tt.line, got, err, tt.want)
	}
}

func TestTraccarJSONVectors(t *testing.T) {
	v := vectors(t)
	tests := []struct {
		line string
		want want
	}{
		{"182", want{device: "48241179", time: time.Date(2025, 6, 15, 13, 45, 12, 862e6, time.UTC), lat: 37.4219983, lon: -122.084,
			speed: f(0), alt: f(5), accuracy: f(5), batt: f(100)}}, // heading -1: unknown; odometer 0: none
		{"183", want{device: "8737767034", time: time.Date(2021, 7, 21, 8, 6, 34, 444e6, time.UTC), lat: -6.1148096, lon: 106.6837015,
			speed: f(18.67 * mpsToKph), heading: f(63), alt: f(35.7), accuracy: f(3.8), batt: f(79)}},
	}
	for _, tt := range tests {
		got, err := DecodeJSON([]byte(v[tt.line]), now)
		check(t, "line "+tt.line, got, err, tt.want)
	}
}

func TestDecodeQuery(t *testing.T) {
	tests := []struct {
		name, query string
		want        want
	}{
		{"epoch ms", "id=d&lat=1&lon=2&timestamp=1763812800123", want{device: "d", time: time.UnixMilli(1763812800123).UTC(), lat: 1, lon: 2}},
		{"fractional seconds", "id=d&lat=1&lon=2&timestamp=1763812800.5", want{device: "d", time: time.Unix(1763812800, 5e8).UTC(), lat: 1, lon: 2}},
		{"RFC 3339 with zone", "id=d&lat=1&lon=2&timestamp=2026-11-22T13:00:00%2B01:00", want{device: "d", time: now, lat: 1, lon: 2}},
		{"speed in knots", "id=d&lat=1&lon=2&speed=10", want{device: "d", time: now, lat: 1, lon: 2, speed: f(18.52)}},
		{"valid true", "id=d&lat=1&lon=2&valid=true", want{device: "d", time: now, lat: 1, lon: 2}},
		{"deviceid", "deviceid=%20d2%20&lat=1&lon=2", want{device: "d2", time: now, lat: 1, lon: 2}},
		{"no fix", "id=d&lat=1&lon=2&valid=false", want{err: "valid"}},
		{"lat not a number", "id=d&lat=north&lon=2", want{err: "lat"}},
		{"lon missing", "id=d&lat=1", want{err: "lon"}},
		{"location without a comma", "id=d&location=60.0", want{err: "location"}},
		{"bad timestamp", "id=d&lat=1&lon=2&timestamp=yesterday", want{err: "timestamp"}},
		{"timestamp NaN", "id=d&lat=1&lon=2&timestamp=NaN", want{err: "timestamp"}},
		{"speed not a number", "id=d&lat=1&lon=2&speed=fast", want{err: "speed"}},
		{"lat beyond float64", "id=d&lat=1e999&lon=2", want{err: "lat"}},
	}
	for _, tt := range tests {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeQuery(q, now)
		check(t, tt.name, got, err, tt.want)
	}
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name, body string
		want       want
	}{
		{"numeric device id and odometer", `{"device_id":42,"location":{"timestamp":"2026-11-22T12:00:00Z","odometer":12345,"coords":{"latitude":1,"longitude":2,"speed":-1}}}`,
			want{device: "42", time: now, lat: 1, lon: 2, odometer: f(12.345)}},
		{"not JSON", `{"device_id":`, want{err: "body"}},
		{"no device", `{"location":{"coords":{"latitude":1,"longitude":2}}}`, want{err: "device_id"}},
		{"device id an object", `{"device_id":{},"location":{"coords":{"latitude":1,"longitude":2}}}`, want{err: "device_id"}},
		{"no coords", `{"device_id":"d","location":{}}`, want{err: "location.coords"}},
		{"no latitude", `{"device_id":"d","location":{"coords":{"longitude":2}}}`, want{err: "location.coords.latitude"}},
		{"bad timestamp", `{"device_id":"d","location":{"timestamp":"soon","coords":{"latitude":1,"longitude":2}}}`, want{err: "location.timestamp"}},
	}
	for _, tt := range tests {
		got, err := DecodeJSON([]byte(tt.body), now)
		check(t, tt.name, got, err, tt.want)
	}
}

// sink records what the handler hands over and answers as told.
type sink struct {
	mu         sync.Mutex
	positions  []ingest.Position
	quarantine []string
	status     string // result status; "" is accepted
	fail       error
}

func (s *sink) Positions(_ context.Context, input string, ps []ingest.Position) ([]ingest.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	s.positions = append(s.positions, ps...)
	st := s.status
	if st == "" {
		st = ingest.Accepted
	}
	r := ingest.Result{Status: st}
	if st == ingest.Rejected {
		r.Reason, r.QuarantineID = "device_id: unknown device "+ps[0].DeviceID, "q1"
	}
	return []ingest.Result{r}, nil
}

func (s *sink) Quarantine(_ context.Context, input, ct string, raw []byte, reason string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return "", s.fail
	}
	s.quarantine = append(s.quarantine, reason+" | "+string(raw))
	return "q2", nil
}

func TestHandler(t *testing.T) {
	tests := []struct {
		name, method, target, ct, body string
		sink                           *sink
		status                         int
		positions, quarantined         int
		answer                         string
	}{
		{"GET query", "GET", "/?id=d1&lat=50.1&lon=8.6&timestamp=1763812800", "", "", &sink{}, 200, 1, 0, ""},
		{"POST query", "POST", "/?id=d1&lat=50.1&lon=8.6", "", "", &sink{}, 200, 1, 0, ""},
		{"POST form", "POST", "/", "application/x-www-form-urlencoded", "id=d1&lat=50.1&lon=8.6", &sink{}, 200, 1, 0, ""},
		{"POST JSON", "POST", "/", "application/json; charset=utf-8", `{"device_id":"d1","location":{"coords":{"latitude":1,"longitude":2}}}`, &sink{}, 200, 1, 0, ""},
		{"duplicate", "GET", "/?id=d1&lat=50.1&lon=8.6", "", "", &sink{status: ingest.Duplicate}, 200, 1, 0, ""},
		{"unknown device", "GET", "/?id=d9&lat=50.1&lon=8.6", "", "", &sink{status: ingest.Rejected}, 400, 1, 0, "unknown device d9"},
		{"no id", "GET", "/?lat=50.1&lon=8.6", "", "", &sink{}, 400, 0, 1, "id: required"},
		{"not JSON", "POST", "/", "application/json", `{`, &sink{}, 400, 0, 1, "body: not JSON"},
		{"sink down", "GET", "/?id=d1&lat=50.1&lon=8.6", "", "", &sink{fail: errors.New("disk full")}, 503, 0, 0, "retry"},
		{"quarantine down", "GET", "/?lat=1", "", "", &sink{fail: errors.New("disk full")}, 503, 0, 0, "retry"},
		{"PUT", "PUT", "/?id=d1&lat=1&lon=2", "", "", &sink{}, 405, 0, 0, ""},
		{"too big", "POST", "/", "application/json", strings.Repeat(" ", 65<<10), &sink{}, 413, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHandler(Config{Now: func() time.Time { return now }}, tt.sink, nil)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.answer) {
				t.Fatalf("%d %q, want %d containing %q", rec.Code, rec.Body.String(), tt.status, tt.answer)
			}
			if len(tt.sink.positions) != tt.positions || len(tt.sink.quarantine) != tt.quarantined {
				t.Fatalf("positions %d quarantined %d", len(tt.sink.positions), len(tt.sink.quarantine))
			}
			if tt.status == 503 && rec.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if tt.positions == 1 && !strings.HasPrefix(string(tt.sink.positions[0].Raw), tt.method+" /") {
				t.Errorf("raw %q", tt.sink.positions[0].Raw)
			}
		})
	}
}

// TestHandlerAnswersAfterCommit: the device gets nothing before the sink
// returned.
func TestHandlerAnswersAfterCommit(t *testing.T) {
	release := make(chan struct{})
	s := &blocking{release: release, entered: make(chan struct{})}
	h, _ := NewHandler(Config{}, s, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	done := make(chan int)
	go func() {
		resp, err := http.Get(srv.URL + "/?id=d1&lat=1&lon=2")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-s.entered
	select {
	case code := <-done:
		t.Fatalf("answered %d before the commit", code)
	default:
	}
	close(release)
	if code := <-done; code != 200 {
		t.Fatalf("status %d", code)
	}
}

type blocking struct {
	release, entered chan struct{}
}

func (b *blocking) Positions(context.Context, string, []ingest.Position) ([]ingest.Result, error) {
	close(b.entered)
	<-b.release
	return []ingest.Result{{Status: ingest.Accepted}}, nil
}

func (b *blocking) Quarantine(context.Context, string, string, []byte, string) (string, error) {
	return "", errors.New("unexpected")
}

// FuzzDecode: no input panics, and every error names a field.
func FuzzDecode(f *testing.F) {
	for _, req := range vectors(f) {
		if strings.HasPrefix(req, "{") {
			f.Add([]byte(req), true)
		} else {
			f.Add([]byte(strings.TrimPrefix(req, "/?")), false)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, isJSON bool) {
		var err error
		if isJSON {
			_, err = DecodeJSON(b, now)
		} else {
			q, perr := url.ParseQuery(string(b))
			if perr != nil {
				return
			}
			_, err = DecodeQuery(q, now)
		}
		var fe *FieldError
		if err != nil && (!errors.As(err, &fe) || fe.Field == "" || fe.Message == "") {
			t.Fatalf("error %v does not name a field", err)
		}
	})
}
