package x12

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"
)

// StopTypes maps the S502 stop reason codes (DE 163) to stop types. Other
// codes (consolidate, inspection, transload, …) say nothing about pick-up
// or delivery and reject the 204. Treat the map as read-only.
var StopTypes = map[string]string{
	"LD": "pickup",   // Load
	"PL": "pickup",   // Part Load
	"CL": "pickup",   // Complete (load)
	"PA": "pickup",   // Pick-up Pre-loaded Equipment
	"RT": "pickup",   // Retrieval of Trailer
	"SL": "pickup",   // Spot for Load
	"AL": "pickup",   // Advance Loading
	"UL": "delivery", // Unload
	"PU": "delivery", // Part Unload
	"CU": "delivery", // Complete Unload
	"DT": "delivery", // Drop Trailer
	"SU": "delivery", // Spot for Unload
}

// windowKinds classifies G62 date qualifiers (DE 432) of a stop.
const (
	windowFrom  = 1 // earliest
	windowTo    = 2 // latest
	windowPoint = 3 // a requested or scheduled day or moment
)

var windowKinds = map[string]int{
	"37": windowFrom,  // Ship Not Before
	"53": windowFrom,  // Deliver Not Before
	"38": windowTo,    // Ship No Later
	"54": windowTo,    // Deliver No Later
	"10": windowPoint, // Requested Ship (pick-up) Date
	"68": windowPoint, // Requested Delivery Date
	"69": windowPoint, // Scheduled Pick-up
	"70": windowPoint, // Scheduled Delivery
}

const lbToKg = 0.45359237

// party is an N1 loop: N1 with its N3 and N4.
type party struct {
	n1      *Segment
	streets []string
	n4      *Segment
}

// stop204 is an S5 loop.
type stop204 struct {
	s5     *Segment
	party  *party
	g62s   []*Segment
	at8s   []*Segment
	refs   map[string]any
	weight float64
	hasW   bool
	pieces int
	hasP   bool
}

func (c *tctx) t204() {
	var (
		b2, b2a   *Segment
		headRefs  = map[string]any{}
		parties   []*party
		headAT8   []*Segment
		stops     []*stop204
		curParty  *party
		curStop   *stop204
		refValues = map[string]string{}
	)
	body := c.body()
	for i := range body {
		s := &body[i]
		switch s.ID {
		case "B2":
			b2 = s
		case "B2A":
			b2a = s
		case "S5":
			curStop = &stop204{s5: s, refs: map[string]any{}}
			stops = append(stops, curStop)
			curParty = nil
		case "N1":
			curParty = &party{n1: s}
			if curStop != nil {
				if curStop.party == nil {
					curStop.party = curParty
				}
			} else {
				parties = append(parties, curParty)
			}
		case "N3":
			if curParty != nil {
				curParty.streets = append(curParty.streets, joinNonEmpty(", ", s.Value(1), s.Value(2)))
			}
		case "N4":
			if curParty != nil {
				curParty.n4 = s
			}
		case "L11":
			v, q := s.Value(1), s.Value(2)
			if v == "" || q == "" {
				continue
			}
			if curStop != nil {
				addRef(curStop.refs, q, v)
			} else {
				addRef(headRefs, q, v)
				if _, ok := refValues[q]; !ok {
					refValues[q] = v
				}
			}
		case "G62":
			if curStop != nil {
				curStop.g62s = append(curStop.g62s, s)
			}
		case "AT8":
			if curStop != nil {
				curStop.at8s = append(curStop.at8s, s)
			} else {
				headAT8 = append(headAT8, s)
			}
		}
	}
	if b2 == nil {
		c.fail(c.missing("B2"))
		return
	}
	subject := b2.Value(4)
	for _, q := range []string{"BM", "SI"} {
		if subject == "" {
			subject = refValues[q]
		}
	}
	if subject == "" {
		c.fail(elemErr(b2, 4, ElementMandatoryMissing, "shipment id missing (B204, or an L11 with qualifier BM or SI)"))
		return
	}
	cancel := false
	if b2a != nil {
		switch p := b2a.Value(1); p {
		case "00", "04", "05": // original, change, replace
		case "01": // cancellation
			cancel = true
		default:
			c.fail(elemErr(b2a, 1, ElementInvalidCode, "unsupported transaction set purpose %q", p))
			return
		}
	}
	if cancel {
		c.emit(TypeShipmentCancelled, subject, c.gsTime, map[string]any{"reason": "load tender cancelled"})
		return
	}
	if len(stops) == 0 {
		c.fail(c.missing("S5"))
		return
	}
	outStops := make([]any, 0, len(stops))
	var weight float64
	var pieces int
	var hasW, hasP bool
	for _, st := range stops {
		m, ok := c.stop(st)
		if !ok {
			return
		}
		outStops = append(outStops, m)
		if m["type"] == "pickup" {
			if st.hasW {
				weight, hasW = weight+st.weight, true
			}
			if st.hasP {
				pieces, hasP = pieces+st.pieces, true
			}
		}
	}
	if len(headAT8) > 0 {
		weight, hasW, pieces, hasP = 0, false, 0, false
		for _, a := range headAT8 {
			if !c.at8(a, &weight, &hasW, &pieces, &hasP) {
				return
			}
		}
	}
	orderID := b2.Value(4)
	if orderID == "" {
		orderID = refValues["PO"]
	}
	if orderID == "" {
		orderID = subject
	}
	data := map[string]any{
		"order_id":    orderID,
		"customer_id": customerID(parties, c.ic.SenderID),
		"stops":       outStops,
	}
	if hasW {
		data["weight_kg"] = round(weight, 3)
	}
	if hasP {
		data["pieces"] = pieces
	}
	if len(headRefs) > 0 {
		data["references"] = headRefs
	}
	c.emit(TypeOrderReleased, subject, c.gsTime, data)
}

// stop translates one S5 loop; false when it rejected the set.
func (c *tctx) stop(st *stop204) (map[string]any, bool) {
	seq := st.s5.Value(1)
	if !isDigits(seq, 1, 3) {
		if seq == "" {
			c.fail(elemErr(st.s5, 1, ElementMandatoryMissing, "stop sequence number missing"))
		} else {
			c.fail(elemErr(st.s5, 1, ElementInvalidCharacter, "invalid stop sequence number %q", seq))
		}
		return nil, false
	}
	reason := st.s5.Value(2)
	typ, ok := StopTypes[reason]
	if !ok {
		c.fail(elemErr(st.s5, 2, ElementInvalidCode, "stop reason code %q is neither a pick-up nor a delivery", reason))
		return nil, false
	}
	m := map[string]any{"id": seq, "type": typ, "location": location(st.party)}
	if st.s5.Value(3) != "" {
		if !c.weight(st.s5, 3, 4, &st.weight, &st.hasW) {
			return nil, false
		}
	}
	for _, a := range st.at8s {
		if !c.at8(a, &st.weight, &st.hasW, &st.pieces, &st.hasP) {
			return nil, false
		}
	}
	win, ok := c.window(st.g62s)
	if !ok {
		return nil, false
	}
	if win != nil {
		m["window"] = win
	}
	if len(st.refs) > 0 {
		m["references"] = st.refs
	}
	return m, true
}

// weight adds the weight in element w with unit code in element u
// (L pounds, K kilograms) to *sum.
func (c *tctx) weight(s *Segment, w, u int, sum *float64, has *bool) bool {
	v, err := strconv.ParseFloat(s.Value(w), 64)
	if err != nil || v < 0 || math.IsInf(v, 0) {
		c.fail(elemErr(s, w, ElementInvalidCharacter, "invalid weight %q", s.Value(w)))
		return false
	}
	switch unit := s.Value(u); unit {
	case "L":
		v *= lbToKg
	case "K":
	default:
		c.fail(elemErr(s, u, ElementInvalidCode, "unknown weight unit %q", unit))
		return false
	}
	*sum += v
	*has = true
	return true
}

// at8 adds the AT8 weight (AT803, unit AT802) and lading quantity (AT804).
func (c *tctx) at8(s *Segment, w *float64, hasW *bool, p *int, hasP *bool) bool {
	if s.Value(3) != "" && !c.weight(s, 3, 2, w, hasW) {
		return false
	}
	if q := s.Value(4); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 0 {
			c.fail(elemErr(s, 4, ElementInvalidCharacter, "invalid lading quantity %q", q))
			return false
		}
		*p += n
		*hasP = true
	}
	return true
}

// window derives a stop's time window from its G62 segments; nil when it
// has no earliest and latest time.
func (c *tctx) window(g62s []*Segment) (map[string]any, bool) {
	var from, to time.Time
	var hasFrom, hasTo bool
	for _, g := range g62s {
		kind := windowKinds[g.Value(1)]
		if kind == 0 {
			continue
		}
		t, te := stamp(g.Value(2), g.Value(4), g.Value(5), c.loc)
		if te != nil {
			c.fail(timeErrAt(g, [3]int{2, 4, 5}, te))
			return nil, false
		}
		start, end := t, t
		if g.Value(4) == "" {
			end = t.AddDate(0, 0, 1).Add(-time.Second)
		}
		if kind != windowTo && (!hasFrom || start.Before(from)) {
			from, hasFrom = start, true
		}
		if kind != windowFrom && (!hasTo || end.After(to)) {
			to, hasTo = end, true
		}
	}
	if !hasFrom || !hasTo {
		return nil, true
	}
	return map[string]any{"from": from.Format(time.RFC3339Nano), "to": to.Format(time.RFC3339Nano)}, true
}

// location builds a stop location from its N1 loop: the id is N104, else
// the N4 location identifier (N406), else a stable hash of name and
// address. The address goes along as an extra member.
func location(p *party) map[string]any {
	m := map[string]any{}
	if p == nil {
		return m
	}
	addr := map[string]any{}
	addString(addr, "name", p.n1.Value(2))
	addString(addr, "street", strings.Join(p.streets, ", "))
	var n4 Segment
	if p.n4 != nil {
		n4 = *p.n4
	}
	addString(addr, "city", n4.Value(1))
	addString(addr, "state", n4.Value(2))
	addString(addr, "postal_code", n4.Value(3))
	addString(addr, "country", n4.Value(4))
	id := p.n1.Value(4)
	if id == "" && n4.Value(5) != "" {
		id = n4.Value(6)
	}
	if id == "" {
		h := sha256.Sum256([]byte(strings.ToUpper(strings.Join([]string{
			p.n1.Value(2), strings.Join(p.streets, ", "), n4.Value(1), n4.Value(2), n4.Value(3), n4.Value(4),
		}, "|"))))
		id = "loc-" + hex.EncodeToString(h[:8])
	}
	m["id"] = id
	if len(addr) > 0 {
		m["address"] = addr
	}
	return m
}

// customerID is the id code of the bill-to party, else of the shipper,
// else the interchange sender.
func customerID(parties []*party, sender string) string {
	for _, code := range []string{"BT", "SH"} {
		for _, p := range parties {
			if p.n1.Value(1) == code && p.n1.Value(4) != "" {
				return p.n1.Value(4)
			}
		}
	}
	return sender
}

// addRef records a reference by qualifier; repeated qualifiers are joined.
func addRef(m map[string]any, q, v string) {
	if old, ok := m[q].(string); ok {
		m[q] = old + ", " + v
		return
	}
	m[q] = v
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
