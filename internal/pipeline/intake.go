package pipeline

import (
	"fmt"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/canonical"
)

// ReservedSourcePrefix marks the sources of events crossdock derives; no
// input may use it.
const ReservedSourcePrefix = "crossdock/"

// PartnerSource is the source of a partner's events: partner/{id}.
func PartnerSource(id string) string { return "partner/" + id }

// IntakeOptions are the rules Parse applies to a request body.
type IntakeOptions struct {
	Limits        canonical.Limits
	Now           time.Time
	MaxBatch      int    // most events in one body
	CorrelationID string // request-level correlation id for events without one
	// Enrich, when set, rewrites one raw event before it is parsed (master
	// data resolution). Field errors reject the item; its Raw stays as
	// received, so a replay after the fix starts from the original.
	Enrich func(raw []byte) ([]byte, []canonical.FieldError)
}

// Parse turns a request body (one CloudEvent or a JSON array of them) into
// submission items. A body that is not an event or array of events at all
// returns a *canonical.ValidationError and no items; otherwise every element
// becomes an Item, invalid ones with Err set so they are quarantined.
// Events without a correlationid get o.CorrelationID.
func Parse(body []byte, o IntakeOptions) ([]Item, bool, *canonical.ValidationError) {
	raws, batch, err := canonical.SplitBatch(body)
	if err != nil {
		return nil, false, asValidation(err)
	}
	if o.MaxBatch > 0 && len(raws) > o.MaxBatch {
		return nil, batch, &canonical.ValidationError{Errors: []canonical.FieldError{{
			Message: fmt.Sprintf("batch has %d events; at most %d are accepted per request", len(raws), o.MaxBatch),
		}}}
	}
	items := make([]Item, len(raws))
	for i, raw := range raws {
		items[i] = ParseItem(raw, o)
	}
	return items, batch, nil
}

// ParseItem parses and checks one event.
func ParseItem(raw []byte, o IntakeOptions) Item {
	parsed := raw
	if o.Enrich != nil {
		var fe []canonical.FieldError
		if parsed, fe = o.Enrich(raw); len(fe) > 0 {
			it := Item{Raw: raw, Err: &canonical.ValidationError{Errors: fe}}
			it.Event, _, _ = canonical.ParseEvent(raw, o.Now, o.Limits) // for the source and id in the result
			return it
		}
	}
	ev, data, err := canonical.ParseEvent(parsed, o.Now, o.Limits)
	it := Item{Raw: raw, Event: ev, Data: data}
	if err != nil {
		it.Err = asValidation(err)
		return it
	}
	var fe []canonical.FieldError
	if strings.HasPrefix(ev.Source, ReservedSourcePrefix) {
		fe = append(fe, canonical.FieldError{Field: "source", Message: "sources under " + ReservedSourcePrefix + " are reserved for events crossdock derives"})
	}
	if !canonical.IsInbound(ev.Type) {
		fe = append(fe, canonical.FieldError{Field: "type", Message: ev.Type + " is derived by crossdock and cannot be submitted"})
	}
	if len(fe) > 0 {
		it.Err, it.Data = &canonical.ValidationError{Errors: fe}, nil
		return it
	}
	if it.Event.CorrelationID == "" {
		it.Event.CorrelationID = o.CorrelationID
	}
	return it
}

func asValidation(err error) *canonical.ValidationError {
	if ve, ok := err.(*canonical.ValidationError); ok {
		return ve
	}
	return &canonical.ValidationError{Errors: []canonical.FieldError{{Message: err.Error()}}}
}
