package canonical

import (
	"encoding/json"
	"fmt"
)

// The per-type data rules. Each walks the raw data object and records every
// violation with its full path.

func checkOrder(o obj) {
	o.id("order_id", true)
	o.id("customer_id", true)
	if stops, ok := o.array("stops", true); ok {
		switch {
		case len(stops) == 0:
			o.c.add(o.at("stops"), "must list at least one stop")
		case len(stops) > o.c.lim.MaxStops:
			o.c.add(o.at("stops"), "has %d stops; at most %d are accepted", len(stops), o.c.lim.MaxStops)
		default:
			checkStops(o, stops)
		}
	}
	if acc, ok := o.array("accessorials", false); ok {
		for i, raw := range acc {
			path := fmt.Sprintf("%s[%d]", o.at("accessorials"), i)
			a := obj{c: o.c, m: map[string]json.RawMessage{path: raw}}
			if s, ok := a.str(path, true, 64); ok && s == "" {
				o.c.add(path, "must not be empty")
			}
		}
	}
	o.nonNeg("weight_kg", false)
	o.nonNeg("pieces", true)
	if refs, ok := o.object("references", false); ok {
		for k := range refs.m {
			refs.str(k, false, 1024)
		}
	}
}

func checkStops(o obj, stops []json.RawMessage) {
	seen := map[string]int{}
	deliveries := 0
	for i, raw := range stops {
		path := fmt.Sprintf("%s[%d]", o.at("stops"), i)
		s, ok := o.c.asObject(path, raw)
		if !ok {
			continue
		}
		if id, ok := s.id("id", true); ok {
			if j, dup := seen[id]; dup {
				o.c.add(s.at("id"), "duplicate stop id %q (also stops[%d])", id, j)
			}
			seen[id] = i
		}
		if t, ok := s.oneOf("type", true, StopPickup, StopDelivery); ok && t == StopDelivery {
			deliveries++
		}
		if loc, ok := s.object("location", true); ok {
			loc.id("id", false)
			loc.point(true)
			loc.rng("radius_m", false, 0, 50000)
		}
		if w, ok := s.object("window", false); ok {
			from, okF := w.timestamp("from", true)
			to, okT := w.timestamp("to", true)
			if okF && okT && to.Before(from) {
				o.c.add(w.at("to"), "must not be before window.from")
			}
		}
	}
	if deliveries == 0 && len(o.c.errs) == 0 {
		o.c.add(o.at("stops"), "must include at least one stop of type \"delivery\"")
	}
}

func checkAssignment(o obj) {
	o.id("vehicle_id", true)
	o.id("driver_id", true)
	o.timestamp("planned_departure", false)
}

func checkMilestone(o obj) {
	o.oneOf("code", true, MilestoneDeparted, MilestoneArrived, MilestoneDelayed, MilestoneInTransit)
	o.id("stop_id", false)
	if loc, ok := o.object("location", false); ok {
		loc.point(true)
	}
	o.str("reason", false, 1000)
}

func checkPOD(o obj) {
	o.id("stop_id", true)
	o.str("signed_by", false, 256)
	o.str("signature", false, 0)
	if loc, ok := o.object("location", true); ok {
		loc.point(true)
	}
	o.nonNeg("pieces", true)
	if exc, ok := o.array("exceptions", false); ok {
		for i, raw := range exc {
			if e, ok := o.c.asObject(fmt.Sprintf("%s[%d]", o.at("exceptions"), i), raw); ok {
				e.id("code", true)
				e.str("note", false, 2000)
			}
		}
	}
}

func checkCancel(o obj) {
	o.str("reason", false, 1000)
}

func checkPosition(o obj) {
	o.point(true)
	o.nonNeg("speed_kph", false)
	o.rng("heading", false, 0, 360)
	o.nonNeg("odometer_km", false)
	o.rng("temperature_c", false, -100, 100)
}

func checkFuel(o obj) {
	if l, ok := o.num("liters", true); ok && l <= 0 {
		o.c.add(o.at("liters"), "must be greater than 0 (got %v)", l)
	}
	if raw, ok := o.present("amount"); ok {
		var d Decimal
		if err := d.UnmarshalJSON(raw); err != nil || !validDecimal(string(d), 4) {
			o.c.add(o.at("amount"), "must be a non-negative decimal with at most 4 decimal places, such as \"84.20\"")
		}
	} else {
		o.c.add(o.at("amount"), "is required")
	}
	if cur, ok := o.str("currency", true, 3); ok && !isCurrency(cur) {
		o.c.add(o.at("currency"), "must be an ISO 4217 code of 3 uppercase letters (got %q)", cur)
	}
	_, hasLat := o.present("lat")
	_, hasLon := o.present("lon")
	if hasLat || hasLon {
		o.point(true)
	}
	o.str("station", false, 256)
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func checkTender(o obj) {
	o.id("carrier", true)
	o.oneOf("response", true, TenderAccepted, TenderDeclined, TenderConditional)
	o.str("reason", false, 1000)
}

func checkStatusChanged(o obj) {
	o.str("from", true, 32)
	if to, ok := o.str("to", true, 32); ok && to == "" {
		o.c.add(o.at("to"), "must not be empty")
	}
}
