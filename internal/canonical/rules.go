package canonical

import "time"

// The data rules of each type. Each reads the data object member by member
// in the order of the contract, records every violation under its full path
// and builds the typed data as it goes.

var (
	orderFields         = []string{"order_id", "customer_id", "stops", "accessorials", "weight_kg", "pieces", "references", "temperature"}
	stopFields          = []string{"id", "type", "location", "window"}
	locationFields      = []string{"id", "lat", "lon", "radius_m"}
	windowFields        = []string{"from", "to"}
	assignFields        = []string{"vehicle_id", "driver_id", "planned_departure", "route"}
	tempFields          = []string{"min_c", "max_c"}
	lineFields          = []string{"type", "coordinates"}
	milestoneFields     = []string{"code", "stop_id", "location", "reason"}
	podFields           = []string{"stop_id", "signed_by", "signature", "location", "pieces", "exceptions"}
	exceptionFields     = []string{"code", "note"}
	cancelFields        = []string{"reason"}
	positionFields      = []string{"lat", "lon", "speed_kph", "heading", "odometer_km", "temperature_c"}
	fuelFields          = []string{"liters", "amount", "currency", "lat", "lon", "station"}
	tenderFields        = []string{"carrier", "response", "reason"}
	statusFields        = []string{"from", "to"}
	exceptionDataFields = []string{"code", "detail", "vehicle_id", "stop_id", "since", "reading_c", "min_c", "max_c", "distance_m", "location"}

	stopTypes      = []string{StopPickup, StopDelivery}
	milestoneCodes = []string{MilestoneDeparted, MilestoneArrived, MilestoneDelayed, MilestoneInTransit}
	tenderAnswers  = []string{TenderAccepted, TenderDeclined, TenderConditional}
)

// Bounds of free-text and numeric members (characters for text).
const (
	maxReason    = 1000
	maxNote      = 2000
	maxName      = 256 // signed_by, station
	maxSignature = 128 << 10
	maxRefValue  = 1024
	maxRadiusM   = 50000
	maxStatusLen = 32
	maxRoute     = 10000 // points of a planned route
	minTempC     = -100
	maxTempC     = 100
)

func parseOrder(o obj) any {
	b := new(struct {
		OrderReleased
		weight float64
		pieces int
	})
	d := &b.OrderReleased
	d.OrderID, d.CustomerID = o.id("order_id", true), o.id("customer_id", true)
	if stops, ok := o.array("stops", true); ok {
		switch {
		case stops.len == 0:
			stops.errf("must list at least one stop")
		case stops.len > o.c.lim.MaxStops:
			stops.errf("has %d stops; at most %d are accepted", stops.len, o.c.lim.MaxStops)
		default:
			d.Stops = parseStops(stops)
		}
	}
	if acc, ok := o.array("accessorials", false); ok {
		d.Accessorials = make([]string, 0, acc.len)
		for n := o.c.first(acc.n); n >= 0; n = o.c.next(n) {
			if code, ok := acc.elem(n).id(); ok {
				d.Accessorials = append(d.Accessorials, code)
			}
		}
	}
	d.WeightKg = o.optNonNegative("weight_kg", &b.weight)
	d.Pieces = o.optCount("pieces", &b.pieces)
	if refs, ok := o.object("references", false, nil); ok {
		d.References = make(map[string]string, o.c.t.nodes[refs.n].count)
		for m := o.c.first(refs.n); m >= 0; m = o.c.next(m) {
			key := o.c.t.nodes[m].key
			if s, ok := (val{c: o.c, n: m}).text(maxRefValue); ok {
				d.References[key] = s
			}
		}
	}
	if t, ok := o.object("temperature", false, tempFields); ok {
		r := &TemperatureRange{}
		var okMin, okMax bool
		if v, ok := t.need("min_c", true); ok {
			r.MinC, okMin = v.between(minTempC, maxTempC)
		}
		if v, ok := t.need("max_c", true); ok {
			r.MaxC, okMax = v.between(minTempC, maxTempC)
		}
		if okMin && okMax && r.MaxC < r.MinC {
			o.c.addf(t.n, "max_c", "must not be below temperature.min_c (%v)", r.MinC)
		}
		d.Temperature = r
	}
	return d
}

func parseStops(a arr) []Stop {
	stops := make([]Stop, a.len)
	deliveries, unsure := 0, false
	for n, i := a.c.first(a.n), 0; n >= 0; n, i = a.c.next(n), i+1 {
		s, ok := a.elem(n).object(stopFields)
		if !ok {
			unsure = true
			continue
		}
		st := &stops[i]
		if st.ID = s.id("id", true); st.ID != "" {
			for j := range i {
				if stops[j].ID == st.ID {
					a.c.addf(s.n, "id", "duplicate stop id %s: stops[%d] has it too; stop ids must be unique within the order", quoteClip(st.ID), j)
					break
				}
			}
		}
		switch st.Type = s.oneOf("type", true, stopTypes); st.Type {
		case StopDelivery:
			deliveries++
		case StopPickup:
		default:
			unsure = true
		}
		if loc, ok := s.object("location", true, locationFields); ok {
			st.Location.ID = loc.id("id", false)
			p := loc.point(true)
			st.Location.Lat, st.Location.Lon = p.Lat, p.Lon
			st.Location.RadiusM = loc.between("radius_m", false, 0, maxRadiusM)
		}
		if w, ok := s.object("window", false, windowFields); ok {
			from, okF := w.timestamp("from", true)
			to, okT := w.timestamp("to", true)
			if okF && okT && to.Before(from) {
				a.c.addf(w.n, "to", "must not be before window.from (%s)", from.Format(time.RFC3339Nano))
			}
			st.Window = &Window{From: from, To: to}
		}
	}
	// A stop whose type could not be read might have been the delivery.
	if deliveries == 0 && !unsure {
		a.errf("must include at least one stop of type \"delivery\"")
	}
	return stops
}

func parseAssignment(o obj) any {
	d := &RouteAssigned{VehicleID: o.id("vehicle_id", true), DriverID: o.id("driver_id", true)}
	if t, ok := o.timestamp("planned_departure", false); ok {
		d.PlannedDeparture = &t
	}
	if r, ok := o.object("route", false, lineFields); ok {
		d.Route = parseLineString(r)
	}
	return d
}

// parseLineString reads a GeoJSON LineString of [lon, lat] positions (an
// altitude third member is allowed and ignored, as GeoJSON permits).
func parseLineString(o obj) *LineString {
	ls := &LineString{Type: o.oneOf("type", true, []string{"LineString"})}
	coords, ok := o.array("coordinates", true)
	switch {
	case !ok:
		return ls
	case coords.len < 2:
		coords.errf("must list at least two positions")
		return ls
	case coords.len > maxRoute:
		coords.errf("has %d positions; at most %d are accepted", coords.len, maxRoute)
		return ls
	}
	ls.Coordinates = make([][2]float64, 0, coords.len)
	for n := o.c.first(coords.n); n >= 0; n = o.c.next(n) {
		v := coords.elem(n)
		if v.node().kind != kindArray || v.node().count < 2 || v.node().count > 3 {
			v.errf("must be a [lon, lat] position")
			continue
		}
		lonN := o.c.first(n)
		lon, okLon := (val{c: o.c, n: lonN}).between(-180, 180)
		lat, okLat := (val{c: o.c, n: o.c.next(lonN)}).between(-90, 90)
		if okLon && okLat {
			ls.Coordinates = append(ls.Coordinates, [2]float64{lon, lat})
		}
	}
	return ls
}

func parseMilestone(o obj) any {
	b := new(struct {
		ShipmentMilestone
		loc Point
	})
	d := &b.ShipmentMilestone
	d.Code, d.StopID = o.oneOf("code", true, milestoneCodes), o.id("stop_id", false)
	if loc, ok := o.object("location", false, pointFields); ok {
		b.loc = loc.point(true)
		d.Location = &b.loc
	}
	d.Reason = o.text("reason", false, maxReason)
	return d
}

// parsePOD reads a proof of delivery. A missing or empty signed_by is
// valid: it opens a missing_signature case later, it is not a bad event.
func parsePOD(o obj) any {
	b := new(struct {
		DeliveryCompleted
		pieces int
	})
	d := &b.DeliveryCompleted
	d.StopID = o.id("stop_id", true)
	d.SignedBy = o.text("signed_by", false, maxName)
	d.Signature = o.text("signature", false, maxSignature)
	if loc, ok := o.object("location", true, pointFields); ok {
		d.Location = loc.point(true)
	}
	d.Pieces = o.optCount("pieces", &b.pieces)
	if exc, ok := o.array("exceptions", false); ok {
		d.Exceptions = make([]PODException, 0, exc.len)
		for n := o.c.first(exc.n); n >= 0; n = o.c.next(n) {
			if e, ok := exc.elem(n).object(exceptionFields); ok {
				d.Exceptions = append(d.Exceptions, PODException{Code: e.id("code", true), Note: e.text("note", false, maxNote)})
			}
		}
	}
	return d
}

func parseCancel(o obj) any {
	return &ShipmentCancelled{Reason: o.text("reason", false, maxReason)}
}

// parsePosition reads the most frequent event of all; its optional
// members live in the same allocation as the struct.
func parsePosition(o obj) any {
	b := new(struct {
		TelemetryPosition
		opt [7]float64
	})
	d := &b.TelemetryPosition
	p := o.point(true)
	d.Lat, d.Lon = p.Lat, p.Lon
	d.SpeedKph = o.optNonNegative("speed_kph", &b.opt[0])
	d.Heading = o.optBetween("heading", 0, 360, &b.opt[1])
	d.OdometerKm = o.optNonNegative("odometer_km", &b.opt[2])
	d.TemperatureC = o.optBetween("temperature_c", -100, 100, &b.opt[3])
	d.AltitudeM = o.optBetween("altitude_m", -1000, 20000, &b.opt[4])
	d.AccuracyM = o.optNonNegative("accuracy_m", &b.opt[5])
	d.BatteryPct = o.optBetween("battery_pct", 0, 100, &b.opt[6])
	return d
}

func parseFuel(o obj) any {
	b := new(struct {
		FuelPurchased
		pos Point
	})
	d := &b.FuelPurchased
	if v, ok := o.need("liters", true); ok {
		if l, ok := v.number(); ok && l <= 0 {
			v.errf("must be greater than 0 (got %v)", l)
		} else {
			d.Liters = l
		}
	}
	if v, ok := o.need("amount", true); ok {
		d.Amount, _ = v.decimal()
	}
	if v, ok := o.need("currency", true); ok {
		if s, ok := v.string(); ok && !isCurrency(s) {
			v.errf("must be an ISO 4217 code of 3 uppercase letters such as \"EUR\" (got %s)", quoteClip(s))
		} else {
			d.Currency = s
		}
	}
	// lat and lon are optional, but one without the other is an error.
	if o.has("lat") || o.has("lon") {
		b.pos = o.point(true)
		d.Lat, d.Lon = &b.pos.Lat, &b.pos.Lon
	}
	d.Station = o.text("station", false, maxName)
	return d
}

// decimal reads a money amount: a decimal string or a number, >= 0, with
// at most 4 decimal places and no exponent.
func (v val) decimal() (Decimal, bool) {
	var s string
	switch v.node().kind {
	case kindString:
		s = v.c.t.str(v.n)
	case kindNumber:
		s = v.c.t.raw(v.n)
	default:
		v.want("a decimal string such as \"84.20\" or a number")
		return "", false
	}
	if !validDecimal(s, maxDecimalPlaces) {
		v.errf("must be a non-negative decimal with at most %d decimal places and no exponent, such as \"84.20\" (got %s)", maxDecimalPlaces, quoteClip(s))
		return "", false
	}
	return Decimal(s), true
}

func isCurrency(s string) bool {
	return len(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] >= 'A' && s[2] <= 'Z'
}

func parseTender(o obj) any {
	return &TenderResponded{
		Carrier:  o.id("carrier", true),
		Response: o.oneOf("response", true, tenderAnswers),
		Reason:   o.text("reason", false, maxReason),
	}
}

// parseStatusChanged reads the derived status change; from is empty for
// the first status of a shipment.
func parseStatusChanged(o obj) any {
	d := &StatusChanged{From: o.text("from", false, maxStatusLen)}
	if v, ok := o.need("to", true); ok {
		if s, ok := v.text(maxStatusLen); ok && s == "" {
			v.errf("must not be empty")
		} else {
			d.To = s
		}
	}
	return d
}

// parseException reads a derived shipment exception.
func parseException(o obj) any {
	d := &ShipmentException{
		Code: o.id("code", true), Detail: o.text("detail", true, maxReason),
		VehicleID: o.id("vehicle_id", false), StopID: o.id("stop_id", false),
	}
	if t, ok := o.timestamp("since", false); ok {
		d.Since = &t
	}
	var reading, lo, hi, dist float64
	d.ReadingC = o.optBetween("reading_c", -1000, 1000, &reading)
	d.MinC = o.optBetween("min_c", minTempC, maxTempC, &lo)
	d.MaxC = o.optBetween("max_c", minTempC, maxTempC, &hi)
	d.DistanceM = o.optNonNegative("distance_m", &dist)
	if l, ok := o.object("location", false, pointFields); ok {
		p := l.point(true)
		d.Location = &p
	}
	return d
}
