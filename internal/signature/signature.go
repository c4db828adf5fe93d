package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// The sender sends
//
//	X-Crossdock-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// (several v1= values are allowed while a secret is rotated). The
// timestamp must lie within the window of now, both ways, so a captured
// request cannot be replayed later.

// Failure reasons, also the metric's label values.
const (
	Missing   = "missing"
	Malformed = "malformed"
	Expired   = "expired"
	Mismatch  = "mismatch"
)

// Header is the default header carrying a signature.
const Header = "X-Crossdock-Signature"

// Sign computes the header value for body at t: what a partner's sender
// (and the tests) put in the signature header.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks header against body. It returns "" when the signature is
// good, else the reason (Missing, Malformed, Expired or Mismatch) and a
// message for a problem's detail that reveals nothing of the secret.
func Verify(secret, header string, body []byte, now time.Time, window time.Duration) (reason, msg string) {
	if strings.TrimSpace(header) == "" {
		return Missing, "the request is not signed"
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Malformed, "signature header must be t=<unix seconds>,v1=<hex>"
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return Malformed, "v1 must be 64 hex characters"
			}
			sigs = append(sigs, b)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return Malformed, "signature header must be t=<unix seconds>,v1=<hex>"
	}
	if d := now.Sub(time.Unix(sec, 0)); d > window || d < -window {
		return Expired, "signature timestamp is outside the " + window.String() + " window"
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		// hmac.Equal compares in constant time; check every candidate.
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return Mismatch, "signature does not match the body"
	}
	return "", ""
}
