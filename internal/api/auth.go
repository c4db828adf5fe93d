package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
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
	// Name identifies the key on events, quarantine records and logs:
	// "admin", a config key's name, or "partner/{id}:{prefix}".
	Name string
	// Partner is the partner id for a partner's key, "" for internal keys.
	Partner string
	Scopes  map[string]bool
}

// Has reports whether the principal holds scope.
func (p Principal) Has(scope string) bool { return p.Scopes[scope] }

// HasAny reports whether the key holds one of the scopes a|b|… names.
func (p Principal) HasAny(scopes string) bool {
	for s := range strings.SplitSeq(scopes, "|") {
		if p.Scopes[s] {
			return true
		}
	}
	return false
}

// PartnerSource is the source a partner's events are sent under.
func PartnerSource(id string) string { return pipeline.PartnerSource(id) }

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

// KeyRing resolves bearer keys: the bootstrap admin key and the keys of
// the config file (kept as SHA-256), then partner keys issued at run time
// (looked up by SHA-256 in the store and cached briefly).
type KeyRing struct {
	static []ringKey
	dir    store.Directory // nil: static keys only
	ttl    time.Duration
	now    func() time.Time

	mu    sync.Mutex
	cache map[[sha256.Size]byte]cached
}

type ringKey struct {
	digest [sha256.Size]byte
	p      Principal
}

type cached struct {
	p       Principal
	prefix  string
	expires time.Time
}

// keyCacheTTL bounds how long another node may still accept a key revoked
// through a different node (revocation through this node is immediate).
const keyCacheTTL = 10 * time.Second

// NewKeyRing builds the ring from the bootstrap admin key (every scope; ""
// for none), the keys declared in config (as SHA-256 hex; a key naming a
// partner holds that partner's scopes, looked up in partners) and the
// store's directory for keys issued through the API (nil for none).
func NewKeyRing(adminKey string, keys []config.Key, partners []config.Partner, dir store.Directory) (*KeyRing, error) {
	k := &KeyRing{dir: dir, ttl: keyCacheTTL, now: time.Now, cache: map[[sha256.Size]byte]cached{}}
	if adminKey != "" {
		k.static = append(k.static, ringKey{sha256.Sum256([]byte(adminKey)), Principal{Name: "admin", Scopes: setOf(config.Scopes)}})
	}
	scopesOf := map[string][]string{}
	for _, p := range partners {
		scopesOf[p.ID] = p.Scopes
	}
	for _, c := range keys {
		raw, err := hex.DecodeString(c.SHA256)
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("auth: key %s: sha256 must be 64 hex characters", c.Name)
		}
		var h [sha256.Size]byte
		copy(h[:], raw)
		p := Principal{Name: c.Name, Scopes: setOf(c.Scopes)}
		if c.Partner != "" {
			scopes, ok := scopesOf[c.Partner]
			if !ok {
				return nil, fmt.Errorf("auth: key %s: no partner %s", c.Name, c.Partner)
			}
			p = Principal{Name: PartnerSource(c.Partner) + ":" + c.Name, Partner: c.Partner, Scopes: setOf(scopes)}
		}
		k.static = append(k.static, ringKey{h, p})
	}
	return k, nil
}

// Authenticate resolves an Authorization header value.
func (k *KeyRing) Authenticate(ctx context.Context, header string) (Principal, error) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		return Principal{}, errNoKey
	}
	h := sha256.Sum256([]byte(token))
	// Compare the digest with every static key, without an early exit, so
	// the answer's timing says nothing about which key (if any) came close.
	var p Principal
	found := 0
	for _, sk := range k.static {
		if subtle.ConstantTimeCompare(sk.digest[:], h[:]) == 1 {
			p, found = sk.p, 1
		}
	}
	if found == 1 {
		return p, nil
	}
	if k.dir == nil {
		return Principal{}, errUnknownKey
	}
	return k.lookup(ctx, h)
}

// lookup finds an issued key by its digest. An index lookup by SHA-256
// leaks nothing useful: finding a digest's neighbours says nothing of the
// keys behind them.
func (k *KeyRing) lookup(ctx context.Context, h [sha256.Size]byte) (Principal, error) {
	now := k.now()
	k.mu.Lock()
	c, ok := k.cache[h]
	k.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.p, nil
	}
	rec, err := k.dir.KeyByDigest(ctx, h)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Principal{}, errUnknownKey
	case err != nil:
		return Principal{}, fmt.Errorf("auth: %w", err)
	case !rec.RevokedAt.IsZero():
		return Principal{}, errUnknownKey
	}
	partner, err := k.dir.Partner(ctx, rec.PartnerID)
	if err != nil {
		return Principal{}, fmt.Errorf("auth: partner of key %s: %w", rec.Prefix, err)
	}
	p := Principal{Name: PartnerSource(partner.ID) + ":" + rec.Prefix, Partner: partner.ID, Scopes: setOf(partner.Scopes)}
	k.mu.Lock()
	if len(k.cache) > 10000 {
		clear(k.cache) // bounded; a refill costs one lookup per active key
	}
	k.cache[h] = cached{p: p, prefix: rec.Prefix, expires: now.Add(k.ttl)}
	k.mu.Unlock()
	return p, nil
}

// Forget drops a revoked key from the cache so this node refuses it at once.
func (k *KeyRing) Forget(prefix string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for h, c := range k.cache {
		if c.prefix == prefix {
			delete(k.cache, h)
		}
	}
}

// Key prefixes: every issued key starts with keyTag and is listed and
// revoked by its first prefixLen characters.
const (
	keyTag    = "cdk_"
	prefixLen = len(keyTag) + 8
)

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewKey makes a random key for partnerID: 160 random bits, shown once.
// Only its SHA-256 is kept; a fast hash is enough for a key of that
// entropy (nothing to brute-force), and it keeps authentication cheap.
func NewKey(partnerID string, now time.Time) (string, store.KeyRecord) {
	var b [20]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	key := keyTag + keyEncoding.EncodeToString(b[:])
	return key, store.KeyRecord{Prefix: key[:prefixLen], PartnerID: partnerID, Digest: sha256.Sum256([]byte(key)), CreatedAt: now}
}

func setOf(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}
