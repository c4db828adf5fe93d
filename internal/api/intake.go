package api

import (
	"strings"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/pipeline"
)

// matches reports whether source is one of list or under one of them; an
// empty list matches every source.
func matches(list []string, source string) bool {
	if len(list) == 0 {
		return true
	}
	for _, e := range list {
		if source == e || strings.HasPrefix(source, e+"/") {
			return true
		}
	}
	return false
}

// orderEvent reports whether typ writes the order entity.
func orderEvent(typ string) bool {
	return typ == canonical.TypeOrderReleased || typ == canonical.TypeShipmentCancelled
}

// prepare applies the caller's rules to parsed items before they reach
// the writer: a partner's events are put under its source, and events
// from sources that do not own their entity are refused. It returns the
// indexes of the items refused for ownership (they answer 403).
func (s *Server) prepare(p Principal, items []pipeline.Item) map[int]bool {
	var refused map[int]bool
	for i := range items {
		it := &items[i]
		if it.Err != nil {
			continue
		}
		if p.Partner != "" {
			it.Event.Source = underPartner(p.Partner, it.Event.Source)
		}
		if orderEvent(it.Event.Type) && !matches(s.opt.Ownership.Orders, it.Event.Source) {
			it.Err = &canonical.ValidationError{Errors: []canonical.FieldError{{Field: "source",
				Message: it.Event.Source + " is not a system of record for orders (ownership.orders: " + strings.Join(s.opt.Ownership.Orders, ", ") + ")"}}}
			it.Data = nil
			if refused == nil {
				refused = map[int]bool{}
			}
			refused[i] = true
		}
	}
	return refused
}

// underPartner puts source under partner/{id}: a partner's own sources
// (partner/{id} and below) stay as sent, any other becomes
// partner/{id}/<source>, so partners can neither collide with each
// other's idempotency keys nor pose as an internal system.
func underPartner(partner, source string) string {
	base := PartnerSource(partner)
	if source == base || strings.HasPrefix(source, base+"/") {
		return source
	}
	if source == "" {
		return base
	}
	return base + "/" + source
}
