package signature

import (
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	const secret = "a-shared-secret-0123456789"
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"load":"SHP-1"}`)
	good := Sign(secret, now.Add(-time.Minute), body)
	other := Sign("another-secret-0123456789", now, body)
	_, otherV1, _ := strings.Cut(other, ",")
	for _, c := range []struct {
		name, header string
		body         []byte
		want         string
	}{
		{"good", good, body, ""},
		{"rotation: one of two matches", good + "," + otherV1, body, ""},
		{"missing", "", body, Missing},
		{"no v1", "t=1", body, Malformed},
		{"no t", "v1=" + strings.Repeat("a", 64), body, Malformed},
		{"not key=value", "garbage", body, Malformed},
		{"short v1", "t=1,v1=abcd", body, Malformed},
		{"too old", Sign(secret, now.Add(-6*time.Minute), body), body, Expired},
		{"from the future", Sign(secret, now.Add(6*time.Minute), body), body, Expired},
		{"other secret", other, body, Mismatch},
		{"body changed", good, []byte(`{"load":"SHP-2"}`), Mismatch},
		{"timestamp changed", strings.Replace(good, "t=", "t=1", 1), body, Expired},
		{"timestamp shifted in window", strings.Replace(good, "t="+good[2:12], "t="+good[2:11]+"1", 1), body, Mismatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			reason, msg := Verify(secret, c.header, c.body, now, 5*time.Minute)
			if reason != c.want {
				t.Fatalf("reason %q (%s), want %q", reason, msg, c.want)
			}
			if strings.Contains(msg, secret) {
				t.Fatal("message reveals the secret")
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f.Add(Sign("secret-0123456789abcdef", now, []byte("{}")), []byte("{}"))
	f.Add("t=1,v1=zz,v1=", []byte(""))
	f.Add(",,,=,t=,v1", []byte("x"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		reason, msg := Verify("secret-0123456789abcdef", header, body, now, 5*time.Minute)
		if reason == "" && msg != "" || reason != "" && msg == "" {
			t.Fatalf("reason %q with message %q", reason, msg)
		}
		if reason == "" && header != Sign("secret-0123456789abcdef", now, body) && !strings.Contains(header, "v1=") {
			t.Fatalf("accepted %q", header)
		}
	})
}
