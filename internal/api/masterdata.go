package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
)

// Customer is a customer as its system of record keeps it.
type Customer struct {
	Name     string            `json:"name" minLength:"1" maxLength:"200"`
	VATID    string            `json:"vat_id,omitempty" maxLength:"64"`
	Email    string            `json:"email,omitempty" maxLength:"200" format:"email"`
	Currency string            `json:"currency,omitempty" pattern:"^[A-Z]{3}$" doc:"Billing currency, ISO 4217"`
	Address  *Address          `json:"address,omitempty"`
	Attrs    map[string]string `json:"attributes,omitempty" maxProperties:"50" doc:"Free attributes (ERP ids, segments)"`
}

// Address is a postal address.
type Address struct {
	Street     string `json:"street,omitempty" maxLength:"200"`
	City       string `json:"city,omitempty" maxLength:"100"`
	PostalCode string `json:"postal_code,omitempty" maxLength:"20"`
	State      string `json:"state,omitempty" maxLength:"50"`
	Country    string `json:"country,omitempty" pattern:"^[A-Z]{2}$" doc:"ISO 3166-1 alpha-2"`
}

// Location is a place stops can reference by id instead of repeating
// coordinates.
type Location struct {
	Name     string   `json:"name,omitempty" maxLength:"200"`
	Lat      float64  `json:"lat" minimum:"-90" maximum:"90"`
	Lon      float64  `json:"lon" minimum:"-180" maximum:"180"`
	RadiusM  float64  `json:"radius_m,omitempty" minimum:"0" maximum:"50000" doc:"Geofence radius; 0: the stop's or the telemetry default"`
	Address  *Address `json:"address,omitempty"`
	TimeZone string   `json:"time_zone,omitempty" maxLength:"64" doc:"IANA zone, e.g. Europe/Berlin"`
}

// MasterMeta is what the hub records about a master-data write.
type MasterMeta struct {
	ID        string    `json:"id"`
	Source    string    `json:"source" doc:"Who wrote it: partner/{id} or the key's name"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CustomerView is GET /api/v1/customers/{id}.
type CustomerView struct {
	MasterMeta
	Customer
}

// LocationView is GET /api/v1/locations/{id}.
type LocationView struct {
	MasterMeta
	Location
}

type masterPath struct {
	ID string `path:"id" maxLength:"256" pattern:"^[^\\x00-\\x1f\\x7f]+$"`
}

// writerSource names who writes master data: a partner's source, or an
// internal key's name.
func writerSource(p Principal) string {
	if p.Partner != "" {
		return PartnerSource(p.Partner)
	}
	return p.Name
}

func (s *Server) registerMasterData() {
	registerMaster(s, store.KindCustomer, "customers", func(c Customer) Customer { return c },
		func(m MasterMeta, c Customer) CustomerView { return CustomerView{m, c} }, func() []string { return s.opt.Ownership.Customers })
	registerMaster(s, store.KindLocation, "locations", func(l Location) Location { return l },
		func(m MasterMeta, l Location) LocationView { return LocationView{m, l} }, func() []string { return s.opt.Ownership.Locations })
}

// registerMaster mounts PUT and GET /api/v1/{plural}/{id} for one kind.
func registerMaster[T, V any](s *Server, kind, plural string, norm func(T) T, view func(MasterMeta, T) V, owners func() []string) {
	put := s.op("put-"+kind, http.MethodPut, "/api/v1/"+plural+"/{id}", "Create or replace a "+kind+" (its system of record only)", ScopeEventsWrite)
	put.DefaultStatus = http.StatusOK
	huma.Register(s.api, put, func(ctx context.Context, in *struct {
		ID   string `path:"id" maxLength:"256" pattern:"^[^\\x00-\\x1f\\x7f]+$"`
		Body T
	}) (*struct{ Body V }, error) {
		p := principalFrom(ctx)
		src := writerSource(p)
		body, _ := json.Marshal(norm(in.Body))
		if !matches(owners(), src) {
			qid, err := s.quarantineRaw(ctx, p, "application/json", body, canonical.FieldError{Field: "source",
				Message: src + " is not a system of record for " + plural + " (ownership." + plural + ": " + strings.Join(owners(), ", ") + ")"})
			if err != nil {
				return nil, err
			}
			pr := newProblem(http.StatusForbidden, src+" does not own "+plural+"; the payload was kept in quarantine as "+qid,
				fieldErr("source", "not a system of record for "+plural))
			pr.QuarantineID = qid
			return nil, pr
		}
		rec := store.MasterRecord{Kind: kind, ID: in.ID, Source: src, Data: body, UpdatedAt: s.opt.Now().UTC()}
		if err := s.opt.Store.PutMaster(ctx, rec); err != nil {
			return nil, s.internal(ctx, "put "+kind, err)
		}
		return &struct{ Body V }{view(MasterMeta{ID: in.ID, Source: src, UpdatedAt: rec.UpdatedAt}, in.Body)}, nil
	})
	huma.Register(s.api, s.op("get-"+kind, http.MethodGet, "/api/v1/"+plural+"/{id}", "Get a "+kind, ScopeRead),
		func(ctx context.Context, in *masterPath) (*struct{ Body V }, error) {
			rec, err := s.opt.Store.Master(ctx, kind, in.ID)
			p := principalFrom(ctx)
			// A partner reads the master data it wrote, nothing else.
			if errors.Is(err, store.ErrNotFound) || (err == nil && p.Partner != "" && rec.Source != PartnerSource(p.Partner)) {
				return nil, newProblem(http.StatusNotFound, "no "+kind+" "+strconv.Quote(in.ID))
			}
			if err != nil {
				return nil, s.internal(ctx, "get "+kind, err)
			}
			var v T
			if err := json.Unmarshal(rec.Data, &v); err != nil {
				return nil, s.internal(ctx, "decode "+kind, err)
			}
			return &struct{ Body V }{view(MasterMeta{ID: rec.ID, Source: rec.Source, UpdatedAt: rec.UpdatedAt}, v)}, nil
		})
}

// quarantineRaw keeps a payload refused before it reached the writer as
// an event (a master-data write, say) and returns its quarantine id.
func (s *Server) quarantineRaw(ctx context.Context, p Principal, ct string, body []byte, fe canonical.FieldError) (string, error) {
	item := pipeline.Item{Raw: body, Err: &canonical.ValidationError{Errors: []canonical.FieldError{fe}}}
	res, err := s.opt.Pipeline.Submit(ctx, pipeline.Submission{Items: []pipeline.Item{item}, Principal: p.Name, ContentType: ct})
	if err != nil {
		return "", s.unavailable(ctx, "quarantine", err)
	}
	return res[0].QuarantineID, nil
}

// enricher returns the intake's Enrich hook for requests of ctx.
func (s *Server) enricher(ctx context.Context) func([]byte) ([]byte, []canonical.FieldError) {
	return func(raw []byte) ([]byte, []canonical.FieldError) { return s.resolveLocations(ctx, raw) }
}

// resolveLocations fills the coordinates of order stops that reference a
// master-data location by id only. raw is one CloudEvent; events of other
// types, and stops that carry coordinates, pass unchanged. An unknown
// location id is a field error naming the stop, so the event is kept in
// quarantine and can be replayed once the location exists.
func (s *Server) resolveLocations(ctx context.Context, raw []byte) ([]byte, []canonical.FieldError) {
	if !bytes.Contains(raw, []byte(canonical.TypeOrderReleased)) || !bytes.Contains(raw, []byte(`"location"`)) {
		return raw, nil
	}
	var ev map[string]json.RawMessage
	if json.Unmarshal(raw, &ev) != nil {
		return raw, nil // not an object: the parser reports it
	}
	var typ string
	if json.Unmarshal(ev["type"], &typ) != nil || typ != canonical.TypeOrderReleased {
		return raw, nil
	}
	var data map[string]json.RawMessage
	if json.Unmarshal(ev["data"], &data) != nil {
		return raw, nil
	}
	var stops []map[string]json.RawMessage
	if json.Unmarshal(data["stops"], &stops) != nil {
		return raw, nil
	}
	var errs []canonical.FieldError
	changed := false
	for i, st := range stops {
		var loc map[string]json.RawMessage
		if json.Unmarshal(st["location"], &loc) != nil {
			continue
		}
		var id string
		if _, hasLat := loc["lat"]; hasLat || json.Unmarshal(loc["id"], &id) != nil || id == "" {
			continue
		}
		field := fmt.Sprintf("data.stops[%d].location.id", i)
		rec, err := s.opt.Store.Master(ctx, store.KindLocation, id)
		var l Location
		if err == nil {
			err = json.Unmarshal(rec.Data, &l)
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			errs = append(errs, canonical.FieldError{Field: field, Message: "no location " + strconv.Quote(id) +
				" in master data and no lat/lon given; PUT /api/v1/locations/" + id + " and replay"})
			continue
		case err != nil:
			errs = append(errs, canonical.FieldError{Field: field, Message: "location lookup failed; replay later"})
			s.opt.Logger.ErrorContext(ctx, "resolve location", "location", id, "err", err)
			continue
		}
		loc["lat"], _ = json.Marshal(l.Lat)
		loc["lon"], _ = json.Marshal(l.Lon)
		if _, has := loc["radius_m"]; !has && l.RadiusM > 0 {
			loc["radius_m"], _ = json.Marshal(l.RadiusM)
		}
		st["location"], _ = json.Marshal(loc)
		changed = true
	}
	if len(errs) > 0 || !changed {
		return raw, errs
	}
	data["stops"], _ = json.Marshal(stops)
	ev["data"], _ = json.Marshal(data)
	out, err := json.Marshal(ev)
	if err != nil {
		return raw, nil
	}
	return out, nil
}
