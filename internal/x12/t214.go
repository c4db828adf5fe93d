package x12

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// status214 is an AT7 loop: AT7 with its MS1 and MS2.
type status214 struct {
	at7, ms1, ms2 *Segment
}

// lx214 is an LX loop.
type lx214 struct {
	lx       *Segment // nil for AT7s before any LX
	stopID   string   // L11 with qualifier QN
	statuses []*status214
}

func (c *tctx) t214() {
	var (
		b10     *Segment
		loops   []*lx214
		cur     *lx214
		last    *status214
		signers []*Segment
	)
	body := c.body()
	for i := range body {
		s := &body[i]
		switch s.ID {
		case "B10":
			b10 = s
		case "N1":
			if c.opts.SignerEntity != "" && s.Value(1) == c.opts.SignerEntity {
				signers = append(signers, s)
			}
		case "LX":
			cur = &lx214{lx: s}
			loops = append(loops, cur)
			last = nil
		case "AT7":
			if cur == nil {
				cur = &lx214{}
				loops = append(loops, cur)
			}
			last = &status214{at7: s}
			cur.statuses = append(cur.statuses, last)
		case "MS1":
			if last != nil {
				last.ms1 = s
			}
		case "MS2":
			if last != nil {
				last.ms2 = s
			}
		case "L11":
			if cur != nil && s.Value(2) == "QN" && cur.stopID == "" {
				cur.stopID = s.Value(1)
			}
		}
	}
	if b10 == nil {
		c.fail(c.missing("B10"))
		return
	}
	subject := b10.Value(2)
	if subject == "" {
		subject = b10.Value(1)
	}
	if subject == "" {
		c.fail(elemErr(b10, 2, ElementMandatoryMissing, "shipment id missing (B1002 or B1001)"))
		return
	}
	if len(loops) == 0 {
		c.fail(c.missing("LX"))
		return
	}
	signedBy := ""
	if len(signers) > 0 {
		signedBy = signers[0].Value(2)
	}
	for _, lx := range loops {
		stopID := lx.stopID
		if stopID == "" && c.opts.StopFromLX && lx.lx != nil {
			stopID = lx.lx.Value(1)
		}
		for _, st := range lx.statuses {
			c.status(subject, stopID, signedBy, st)
		}
	}
}

// status translates one AT7 loop; problems are recorded as errors the set
// is accepted with, and that status is skipped.
func (c *tctx) status(subject, stopID, signedBy string, st *status214) {
	at7 := st.at7
	code, appt := at7.Value(1), at7.Value(3)
	if code == "" {
		switch {
		case appt == "":
			c.warn(elemErr(at7, 1, ElementMandatoryMissing, "status code missing (AT701 or AT703)"))
		case AppointmentCodes[appt] == "":
			c.warn(elemErr(at7, 3, ElementInvalidCode, "unmapped AT7 appointment status code %q", appt))
		}
		return
	}
	m, ok := AT7Codes[code]
	if !ok {
		c.warn(elemErr(at7, 1, ElementInvalidCode, "unmapped AT7 status code %q", code))
		return
	}
	t, te := stamp(at7.Value(5), at7.Value(6), at7.Value(7), c.loc)
	if te != nil {
		c.warn(timeErrAt(at7, [3]int{5, 6, 7}, te))
		return
	}
	reason := m.Reason
	if m.Estimate {
		reason += " " + t.Format(time.RFC3339)
		t = c.gsTime
	}
	if r := at7.Value(2); r != "" && !normalReasons[r] && reason != "" {
		text, ok := reasonCodes[r]
		if !ok {
			text = "reason code " + r
		}
		reason += ": " + text
	}
	data := map[string]any{"status_code": code}
	if st.ms1 != nil {
		if p, ok := c.point(st.ms1); ok && p != nil {
			data["location"] = p
		}
		place := map[string]any{}
		addString(place, "city", st.ms1.Value(1))
		addString(place, "state", st.ms1.Value(2))
		addString(place, "country", st.ms1.Value(3))
		if len(place) > 0 {
			data["place"] = place
		}
	}
	if st.ms2 != nil {
		eq := map[string]any{}
		addString(eq, "scac", st.ms2.Value(1))
		addString(eq, "number", st.ms2.Value(2))
		if len(eq) > 0 {
			data["equipment"] = eq
		}
	}
	switch m.Type {
	case TypeDeliveryCompleted:
		data["stop_id"] = stopID
		data["signed_by"] = signedBy
	case TypeShipmentCancelled:
		data = map[string]any{"reason": reason}
	default:
		data["code"] = m.Milestone
		addString(data, "stop_id", stopID)
		addString(data, "reason", reason)
	}
	c.emit(m.Type, subject, t, data)
}

// point reads MS104/MS105 (longitude, latitude) with their direction
// codes MS106 (E/W) and MS107 (N/S). Coordinates are DDDMMSS/DDMMSS or,
// when they contain a point, decimal degrees. nil, true when MS1 has no
// coordinates; false when they are wrong (recorded as a warning).
func (c *tctx) point(ms1 *Segment) (map[string]any, bool) {
	lonS, latS := ms1.Value(4), ms1.Value(5)
	if lonS == "" && latS == "" {
		return nil, true
	}
	lon, e := coordinate(ms1, 4, 6, "E", "W", 180)
	if e != nil {
		c.warn(e)
		return nil, false
	}
	lat, e := coordinate(ms1, 5, 7, "N", "S", 90)
	if e != nil {
		c.warn(e)
		return nil, false
	}
	return map[string]any{"lat": lat, "lon": lon}, true
}

func coordinate(s *Segment, el, dirEl int, pos, neg string, limit float64) (float64, *Error) {
	v, dir := s.Value(el), s.Value(dirEl)
	if v == "" {
		return 0, elemErr(s, el, ElementMandatoryMissing, "coordinate missing")
	}
	sign := 1.0
	switch dir {
	case pos, "":
	case neg:
		sign = -1
	default:
		return 0, elemErr(s, dirEl, ElementInvalidCode, "invalid direction %q", dir)
	}
	var deg float64
	if strings.ContainsRune(v, '.') {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) {
			return 0, elemErr(s, el, ElementInvalidCharacter, "invalid coordinate %q", v)
		}
		if f < 0 && dir != "" {
			f = -f
		}
		deg = f
	} else {
		if dir == "" {
			return 0, elemErr(s, dirEl, ElementMandatoryMissing, "direction missing for coordinate %q", v)
		}
		if !isDigits(v, 5, 7) {
			return 0, elemErr(s, el, ElementInvalidCharacter, "invalid coordinate %q", v)
		}
		n := len(v)
		d, _ := strconv.Atoi(v[:n-4])
		mi, _ := strconv.Atoi(v[n-4 : n-2])
		se, _ := strconv.Atoi(v[n-2:])
		if mi > 59 || se > 59 {
			return 0, elemErr(s, el, ElementInvalidCharacter, "invalid coordinate %q", v)
		}
		deg = float64(d) + float64(mi)/60 + float64(se)/3600
	}
	deg *= sign
	if deg < -limit || deg > limit {
		return 0, elemErr(s, el, ElementInvalidCharacter, "coordinate %q out of range", v)
	}
	return round(deg, 6), nil
}
