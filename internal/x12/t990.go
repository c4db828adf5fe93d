package x12

import "strings"

// TenderResponses maps the B104 reservation action codes (DE 558) of a
// 990 to tender responses. N (new), R (delete) and U (change) are not
// responses and reject the set. Treat the map as read-only.
var TenderResponses = map[string]string{
	"A": "accepted",    // Reservation Accepted
	"D": "declined",    // Reservation Cancelled (declined)
	"B": "conditional", // Conditional Acceptance
	"C": "conditional", // Counter Proposal Made
}

func (c *tctx) t990() {
	var b1 *Segment
	var remarks []string
	var v9 *Segment
	refs := map[string]any{}
	body := c.body()
	for i := range body {
		s := &body[i]
		switch s.ID {
		case "B1":
			b1 = s
		case "K1":
			remarks = append(remarks, joinNonEmpty(" ", s.Value(1), s.Value(2)))
		case "V9":
			if v9 == nil {
				v9 = s
			}
		case "N9":
			if q, v := s.Value(1), s.Value(2); q != "" && v != "" {
				addRef(refs, q, v)
			}
		}
	}
	if b1 == nil {
		c.fail(c.missing("B1"))
		return
	}
	carrier, subject, action := b1.Value(1), b1.Value(2), b1.Value(4)
	if carrier == "" {
		c.fail(elemErr(b1, 1, ElementMandatoryMissing, "carrier SCAC missing"))
		return
	}
	if subject == "" {
		c.fail(elemErr(b1, 2, ElementMandatoryMissing, "shipment id missing"))
		return
	}
	response, ok := TenderResponses[action]
	if !ok {
		if action == "" {
			c.fail(elemErr(b1, 4, ElementMandatoryMissing, "reservation action code missing"))
		} else {
			c.fail(elemErr(b1, 4, ElementInvalidCode, "reservation action code %q is not a tender response", action))
		}
		return
	}
	data := map[string]any{"carrier": carrier, "response": response}
	reason := strings.Join(remarks, "; ")
	if reason == "" && b1.Value(6) != "" {
		reason = "decline reason " + b1.Value(6)
	}
	if reason == "" && v9 != nil && v9.Value(8) != "" {
		reason = "reason code " + v9.Value(8)
	}
	addString(data, "reason", reason)
	if len(refs) > 0 {
		data["references"] = refs
	}
	c.emit(TypeTenderResponded, subject, c.gsTime, data)
}
