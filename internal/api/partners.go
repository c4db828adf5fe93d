package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/time/rate"

	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/store"
)

// partnerSet holds what the API enforces per partner: the rate limiter,
// body limit and signing of declared partners, and default limits for
// partners created through the API.
type partnerSet struct {
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	declared map[string]*config.Partner
	def      config.RateLimit
}

func newPartnerSet(declared []config.Partner) *partnerSet {
	ps := &partnerSet{limiters: map[string]*rate.Limiter{}, declared: map[string]*config.Partner{},
		def: config.RateLimit{PerSecond: 100, Burst: 200}}
	for i := range declared {
		ps.declared[declared[i].ID] = &declared[i]
	}
	return ps
}

// allow takes one token from the partner's bucket and returns 0, or how
// long to wait when the bucket is empty (nothing is taken then). Internal
// keys (partner "") are not limited here.
func (ps *partnerSet) allow(partner string, now time.Time) time.Duration {
	if partner == "" {
		return 0
	}
	ps.mu.Lock()
	lim, ok := ps.limiters[partner]
	if !ok {
		rl := ps.def
		if p := ps.declared[partner]; p != nil {
			rl = p.RateLimit
		}
		lim = rate.NewLimiter(rate.Limit(rl.PerSecond), rl.Burst)
		ps.limiters[partner] = lim
	}
	ps.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// config returns a declared partner's settings, nil for partners created
// through the API (they have no mappings and take the defaults).
func (ps *partnerSet) config(id string) *config.Partner { return ps.declared[id] }

// PartnerIn is the body of POST /api/v1/partners.
type PartnerIn struct {
	ID     string   `json:"id" pattern:"^[a-z0-9][a-z0-9_.-]{0,63}$" doc:"Partner id: in URLs and event sources (partner/{id})"`
	Name   string   `json:"name,omitempty" maxLength:"200" doc:"For people; default: the id"`
	Scopes []string `json:"scopes,omitempty" maxItems:"2" enum:"events:write,read" doc:"What its keys may do; default both"`
}

// PartnerCreated answers POST /api/v1/partners: the key is shown once.
type PartnerCreated struct {
	ID     string `json:"id"`
	Key    string `json:"key" doc:"The new key; shown only now, stored as its SHA-256"`
	Prefix string `json:"prefix" doc:"The key's first characters: how it is listed and revoked"`
}

// KeyCreated answers POST /api/v1/partners/{id}/keys.
type KeyCreated struct {
	Key    string `json:"key" doc:"The new key; shown only now"`
	Prefix string `json:"prefix"`
}

// KeyInfo is an issued key as listed: never the key itself.
type KeyInfo struct {
	Prefix    string     `json:"prefix"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// PartnerView is a partner as listed.
type PartnerView struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Scopes     []string  `json:"scopes"`
	FromConfig bool      `json:"from_config" doc:"Declared in the config file"`
	CreatedAt  time.Time `json:"created_at"`
	Inbound    []string  `json:"inbound" doc:"Names of its inbound jq mappings"`
	Files      []string  `json:"files" doc:"Names of its CSV file mappings"`
	Signed     bool      `json:"signed" doc:"Requests must carry a webhook signature"`
	Keys       []KeyInfo `json:"keys"`
}

// PartnerList is GET /api/v1/partners.
type PartnerList struct {
	Items []PartnerView `json:"items"`
}

// KeyList is GET /api/v1/partners/{id}/keys.
type KeyList struct {
	Items []KeyInfo `json:"items"`
}

type partnerPath struct {
	ID string `path:"id" maxLength:"64" doc:"Partner id"`
}

func (s *Server) registerPartners() {
	create := s.op("create-partner", http.MethodPost, "/api/v1/partners", "Create a partner and its first key", ScopeAdmin)
	create.DefaultStatus = http.StatusCreated
	create.Errors = append(create.Errors, http.StatusConflict)
	huma.Register(s.api, create, func(ctx context.Context, in *struct{ Body PartnerIn }) (*struct{ Body PartnerCreated }, error) {
		p := store.PartnerRecord{ID: in.Body.ID, Name: in.Body.Name, Scopes: in.Body.Scopes, CreatedAt: s.opt.Now().UTC()}
		if p.Name == "" {
			p.Name = p.ID
		}
		if len(p.Scopes) == 0 {
			p.Scopes = slices.Clone(config.PartnerScopes)
		}
		slices.Sort(p.Scopes)
		p.Scopes = slices.Compact(p.Scopes)
		key, rec := NewKey(p.ID, p.CreatedAt)
		err := s.opt.Store.CreatePartner(ctx, p, rec)
		if errors.Is(err, store.ErrConflict) {
			return nil, newProblem(http.StatusConflict, "partner "+strconv.Quote(p.ID)+" exists; issue it another key with POST /api/v1/partners/"+p.ID+"/keys",
				fieldErr("body.id", "taken"))
		}
		if err != nil {
			return nil, s.internal(ctx, "create partner", err)
		}
		s.opt.Logger.InfoContext(ctx, "partner created", "partner", p.ID, "key_prefix", rec.Prefix, "by", principalFrom(ctx).Name)
		return &struct{ Body PartnerCreated }{PartnerCreated{ID: p.ID, Key: key, Prefix: rec.Prefix}}, nil
	})

	huma.Register(s.api, s.op("list-partners", http.MethodGet, "/api/v1/partners", "List partners and their keys (by prefix)", ScopeAdmin),
		func(ctx context.Context, _ *struct{}) (*struct{ Body PartnerList }, error) {
			recs, err := s.opt.Store.Partners(ctx)
			if err != nil {
				return nil, s.internal(ctx, "list partners", err)
			}
			out := PartnerList{Items: make([]PartnerView, 0, len(recs))}
			for _, p := range recs {
				v, err := s.partnerView(ctx, p)
				if err != nil {
					return nil, err
				}
				out.Items = append(out.Items, v)
			}
			return &struct{ Body PartnerList }{out}, nil
		})

	huma.Register(s.api, s.op("get-partner", http.MethodGet, "/api/v1/partners/{id}", "Get a partner and its keys (by prefix)", ScopeAdmin),
		func(ctx context.Context, in *partnerPath) (*struct{ Body PartnerView }, error) {
			p, err := s.partner(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			v, err := s.partnerView(ctx, p)
			if err != nil {
				return nil, err
			}
			return &struct{ Body PartnerView }{v}, nil
		})

	issue := s.op("create-partner-key", http.MethodPost, "/api/v1/partners/{id}/keys", "Issue another key for a partner", ScopeAdmin)
	issue.DefaultStatus = http.StatusCreated
	issue.Errors = append(issue.Errors, http.StatusNotFound)
	huma.Register(s.api, issue, func(ctx context.Context, in *partnerPath) (*struct{ Body KeyCreated }, error) {
		key, rec := NewKey(in.ID, s.opt.Now().UTC())
		err := s.opt.Store.AddKey(ctx, rec)
		if errors.Is(err, store.ErrNotFound) {
			return nil, newProblem(http.StatusNotFound, "no partner "+strconv.Quote(in.ID))
		}
		if err != nil {
			return nil, s.internal(ctx, "issue key", err)
		}
		s.opt.Logger.InfoContext(ctx, "partner key issued", "partner", in.ID, "key_prefix", rec.Prefix, "by", principalFrom(ctx).Name)
		return &struct{ Body KeyCreated }{KeyCreated{Key: key, Prefix: rec.Prefix}}, nil
	})

	huma.Register(s.api, s.op("list-partner-keys", http.MethodGet, "/api/v1/partners/{id}/keys", "List a partner's keys by prefix", ScopeAdmin),
		func(ctx context.Context, in *partnerPath) (*struct{ Body KeyList }, error) {
			if _, err := s.partner(ctx, in.ID); err != nil {
				return nil, err
			}
			keys, err := s.keyInfos(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &struct{ Body KeyList }{KeyList{Items: keys}}, nil
		})

	revoke := s.op("revoke-partner-key", http.MethodDelete, "/api/v1/partners/{id}/keys/{prefix}", "Revoke a partner's key", ScopeAdmin)
	revoke.DefaultStatus = http.StatusNoContent
	revoke.Errors = append(revoke.Errors, http.StatusNotFound)
	huma.Register(s.api, revoke, func(ctx context.Context, in *struct {
		ID     string `path:"id" maxLength:"64"`
		Prefix string `path:"prefix" maxLength:"64" doc:"The key's prefix as listed (cdk_xxxxxxxx)"`
	}) (*struct{}, error) {
		err := s.opt.Store.RevokeKey(ctx, in.ID, in.Prefix, s.opt.Now().UTC())
		if errors.Is(err, store.ErrNotFound) {
			return nil, newProblem(http.StatusNotFound, "partner "+strconv.Quote(in.ID)+" has no active key "+strconv.Quote(in.Prefix))
		}
		if err != nil {
			return nil, s.internal(ctx, "revoke key", err)
		}
		s.opt.Keys.Forget(in.Prefix)
		s.opt.Logger.InfoContext(ctx, "partner key revoked", "partner", in.ID, "key_prefix", in.Prefix, "by", principalFrom(ctx).Name)
		return &struct{}{}, nil
	})

	share := s.op("share-shipment", http.MethodPut, "/api/v1/shipments/{id}/partners/{partner}",
		"Let a partner read a shipment it has not sent events for", ScopeOps)
	share.DefaultStatus = http.StatusNoContent
	share.Errors = append(share.Errors, http.StatusNotFound)
	huma.Register(s.api, share, func(ctx context.Context, in *struct {
		ID      string `path:"id" maxLength:"256"`
		Partner string `path:"partner" maxLength:"64"`
	}) (*struct{}, error) {
		if _, _, err := s.loadShipment(ctx, in.ID); err != nil {
			return nil, err
		}
		if _, err := s.partner(ctx, in.Partner); err != nil {
			return nil, err
		}
		if err := s.opt.Store.ShareShipment(ctx, store.ShipmentShare{ShipmentID: in.ID, PartnerID: in.Partner, At: s.opt.Now().UTC()}); err != nil {
			return nil, s.internal(ctx, "share shipment", err)
		}
		return &struct{}{}, nil
	})
}

func (s *Server) partner(ctx context.Context, id string) (store.PartnerRecord, error) {
	p, err := s.opt.Store.Partner(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return p, newProblem(http.StatusNotFound, "no partner "+strconv.Quote(id))
	}
	if err != nil {
		return p, s.internal(ctx, "get partner", err)
	}
	return p, nil
}

func (s *Server) keyInfos(ctx context.Context, partner string) ([]KeyInfo, error) {
	keys, err := s.opt.Store.Keys(ctx, partner)
	if err != nil {
		return nil, s.internal(ctx, "list keys", err)
	}
	out := make([]KeyInfo, 0, len(keys))
	for _, k := range keys {
		ki := KeyInfo{Prefix: k.Prefix, CreatedAt: k.CreatedAt}
		if !k.RevokedAt.IsZero() {
			ki.RevokedAt = &k.RevokedAt
		}
		out = append(out, ki)
	}
	return out, nil
}

func (s *Server) partnerView(ctx context.Context, p store.PartnerRecord) (PartnerView, error) {
	keys, err := s.keyInfos(ctx, p.ID)
	if err != nil {
		return PartnerView{}, err
	}
	v := PartnerView{ID: p.ID, Name: p.Name, Scopes: p.Scopes, FromConfig: p.FromConfig, CreatedAt: p.CreatedAt,
		Inbound: []string{}, Files: []string{}, Keys: keys}
	if c := s.partners.config(p.ID); c != nil {
		for _, m := range c.Inbound {
			v.Inbound = append(v.Inbound, m.Name)
		}
		for _, f := range c.Files {
			v.Files = append(v.Files, f.Name)
		}
		v.Signed = c.Signing != nil
	}
	return v, nil
}
