package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/crossdockhq/crossdock/internal/config"
)

// Scopes of the contract.
const (
	ScopeEventsWrite = "events:write"
	ScopeRead        = "read"
	ScopeOps         = "ops"
	ScopeFinance     = "finance"
	ScopeAdmin       = "admin"
)

// Principal is the authenticated caller.
type Principal struct {
	Name   string
	Scopes map[string]bool
}

// Has reports whether the principal holds scope.
func (p Principal) Has(scope string) bool { return p.Scopes[scope] }

type principalKey struct{}

// principalFrom returns the authenticated caller of ctx.
func principalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// Authentication failures.
var (
	errNoKey      = errors.New("missing bearer token: send Authorization: Bearer <key>")
	errUnknownKey = errors.New("unknown or revoked API key")
)

// KeyRing holds API keys by their SHA-256; the keys themselves are never kept.
type KeyRing struct {
	keys []ringKey
}

type ringKey struct {
	digest [sha256.Size]byte
	p      Principal
}

// NewKeyRing builds the ring from the bootstrap admin key (every scope; ""
// for none) and the keys declared in config (as SHA-256 hex).
func NewKeyRing(adminKey string, keys []config.Key) (*KeyRing, error) {
	k := &KeyRing{}
	if adminKey != "" {
		k.keys = append(k.keys, ringKey{sha256.Sum256([]byte(adminKey)), Principal{Name: "admin", Scopes: setOf(config.Scopes)}})
	}
	for _, c := range keys {
		raw, err := hex.DecodeString(c.SHA256)
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("auth: key %s: sha256 must be 64 hex characters", c.Name)
		}
		var h [sha256.Size]byte
		copy(h[:], raw)
		k.keys = append(k.keys, ringKey{h, Principal{Name: c.Name, Scopes: setOf(c.Scopes)}})
	}
	return k, nil
}

// Authenticate resolves an Authorization header value.
func (k *KeyRing) Authenticate(header string) (Principal, error) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		return Principal{}, errNoKey
	}
	h := sha256.Sum256([]byte(token))
	// Compare the digest with every key, without an early exit, so the
	// answer's timing says nothing about which key (if any) came close.
	var p Principal
	found := 0
	for _, k := range k.keys {
		if subtle.ConstantTimeCompare(k.digest[:], h[:]) == 1 {
			p, found = k.p, 1
		}
	}
	if found == 0 {
		return Principal{}, errUnknownKey
	}
	return p, nil
}

func setOf(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}
