package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// Event mixes.
const (
	// MixRealistic runs whole shipment lifecycles: order, assignment,
	// positions between stops, milestones and proofs of delivery.
	MixRealistic = "realistic"
	// MixPositions is telemetry.position only, from a fleet of moving vehicles.
	MixPositions = "positions"
	// MixTracking is shipments driven by GPS alone: each vehicle's shipment
	// is released and assigned, then only dense positions follow (one every
	// 30–60 s) that enter and leave every stop's geofence, so the hub
	// derives arrivals, departures, dwell, distance and delays itself.
	// With S shipments about S × 3.5 geofences are active.
	MixTracking = "tracking"
)

// Default source prefix of generated events: "bench/tms", "bench/driver-app",
// "bench/fleet".
const DefaultSource = "bench"

const (
	// history is how far before the anchor a vehicle's clock starts; every
	// generated time lies in (anchor-history, anchor).
	history = 10 * 24 * time.Hour
	// maxShipmentSpan bounds one shipment's lifecycle (release to the last
	// departure) from above; a vehicle whose clock leaves less than this
	// before the anchor starts a new epoch.
	maxShipmentSpan = 36 * time.Hour
	// customers is the size of the customer pool (CUST-1 … CUST-200).
	customers = 200
)

var signers = []string{
	"J. Schmidt", "M. Dubois", "A. Rossi", "K. Nowak", "L. de Vries", "S. García",
	"T. Müller", "E. Janssens", "P. Novák", "R. Huber", "C. Martin", "I. Kowalska",
}

// GeneratorOption adjusts a Generator at construction.
type GeneratorOption func(*genConfig)

type genConfig struct {
	now         time.Time
	source      string
	part, parts int
}

// WithNow sets the anchor: every generated time lies before it (within the
// ten days before it). Default: time.Now() when the generator is made. Two
// generators with the same seed, run id, shipments, mix and anchor produce
// byte-identical streams.
func WithNow(t time.Time) GeneratorOption {
	return func(c *genConfig) { c.now = t }
}

// WithSource sets the source prefix (default "bench"): events come from
// "<prefix>/tms", "<prefix>/driver-app" and "<prefix>/fleet". A partner key
// needs its own prefix, e.g. "partner/acme-tms".
func WithSource(prefix string) GeneratorOption {
	return func(c *genConfig) { c.source = prefix }
}

// WithPartition makes the generator one of count disjoint parts of the
// stream of the same seed: it owns a contiguous range of the shipment slots
// (and their vehicles), and numbers its events index, index+count,
// index+2·count, … so the parts never share an id or a shipment. Run gives
// each client one part. NewGenerator panics unless
// 0 ≤ index < count ≤ shipments.
func WithPartition(index, count int) GeneratorOption {
	return func(c *genConfig) {
		c.part, c.parts = index, count
	}
}

// Generator makes a stream of CloudEvents. It is safe for concurrent use
// (a mutex guards it); for throughput give each goroutine its own partition
// (WithPartition) instead of sharing one.
//
// Shipments is the working set: the stream interleaves the lifecycles of that
// many shipments at a time, picking the next event's shipment at random. When
// a shipment has sent its last event, a new one (new id, same vehicle, later
// times) takes its slot, so a long run keeps a steady mix. Each slot has its
// own vehicle; vehicle times only move forward, and when a vehicle's clock
// nears the anchor its slot continues under a fresh vehicle id ("….<epoch>").
//
// Ids: events "<runID>-<n>", shipments "<runID>-SHP-<n>", orders
// "<runID>-SO-<n>", vehicles "<runID>-TRK-<slot>", drivers "<runID>-DRV-<slot>";
// customers CUST-1 … CUST-200 and locations (DC-BER-1, SITE-PAR-042, …) are
// fixed pools shared by every run.
type Generator struct {
	mu sync.Mutex

	rng       *rand.Rand
	runID     string
	mix       string
	shipments int // total slots over all partitions
	slots     []slot
	anchor    time.Time

	srcTMS, srcDriver, srcFleet string

	seq            int64  // events emitted by this generator
	idBase, idStep int64  // event number = idBase + seq·idStep
	idPrefix       []byte // `"<runID>-` as JSON, without the closing quote
}

// slot is one lane of the working set: a vehicle and the shipment it runs.
type slot struct {
	index     int // global slot number
	started   bool
	city      *city
	epoch     int
	round     int // shipments started in this slot
	vehicleID string
	driverID  string
	clock     time.Time
	lat, lon  float64
	odoKm     float64
	speed     float64 // positions mix
	heading   float64 // positions mix
	ship      *shipment
}

type stepKind uint8

const (
	stepRelease stepKind = iota
	stepAssign
	stepPosition
	stepArrive
	stepPOD
	stepDepart
)

// step is one planned event of a shipment.
type step struct {
	kind     stepKind
	stop     int
	at       time.Time
	lat, lon float64
	speed    float64
	heading  float64
	odoKm    float64
	signer   int
	pieces   int
}

type plannedStop struct {
	id       string
	pickup   bool
	loc      *location
	from, to time.Time
}

type shipment struct {
	id, orderID, customerID string
	stops                   []plannedStop
	weightKg                float64
	pieces                  int
	liftgate                bool
	poNumber                string
	plannedDeparture        time.Time
	steps                   []step
	next                    int
}

// NewGenerator returns a generator of the given mix ("" means realistic)
// whose stream spreads over shipments concurrent shipments (vehicles, in the
// positions mix). The same seed, run id, shipments, mix and anchor (WithNow)
// give the same stream. It panics on an unknown mix or a shipments count
// below 1 — Run validates its Options before making generators.
func NewGenerator(seed int64, runID string, shipments int, mix string, opts ...GeneratorOption) *Generator {
	cfg := genConfig{source: DefaultSource, parts: 1}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.now.IsZero() {
		cfg.now = time.Now()
	}
	if mix == "" {
		mix = MixRealistic
	}
	if err := checkMix(mix); err != nil {
		panic("bench: " + err.Error())
	}
	if shipments < 1 {
		panic("bench: NewGenerator needs at least one shipment")
	}
	if cfg.parts < 1 || cfg.part < 0 || cfg.part >= cfg.parts || cfg.parts > shipments {
		panic(fmt.Sprintf("bench: partition %d of %d is invalid for %d shipments", cfg.part, cfg.parts, shipments))
	}
	lo := cfg.part * shipments / cfg.parts
	hi := (cfg.part + 1) * shipments / cfg.parts
	g := &Generator{
		rng:       rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15^uint64(cfg.part))),
		runID:     runID,
		mix:       mix,
		shipments: shipments,
		slots:     make([]slot, hi-lo),
		anchor:    cfg.now.Truncate(time.Second),
		srcTMS:    cfg.source + "/tms",
		srcDriver: cfg.source + "/driver-app",
		srcFleet:  cfg.source + "/fleet",
		idBase:    int64(cfg.part),
		idStep:    int64(cfg.parts),
	}
	g.idPrefix = appendString(nil, runID+"-")
	g.idPrefix = g.idPrefix[:len(g.idPrefix)-1]
	for i := range g.slots {
		g.slots[i].index = lo + i
	}
	return g
}

func checkMix(mix string) error {
	switch mix {
	case MixRealistic, MixPositions, MixTracking:
		return nil
	}
	return fmt.Errorf("unknown mix %q (want %q, %q or %q)", mix, MixRealistic, MixPositions, MixTracking)
}

// Next returns the next event as CloudEvents JSON in a new slice.
func (g *Generator) Next() []byte {
	return g.AppendNext(make([]byte, 0, 512))
}

// AppendNext appends the next event as CloudEvents JSON to dst and returns
// the extended slice — Run builds batch bodies with it, without copies.
func (g *Generator) AppendNext(dst []byte) []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := &g.slots[g.rng.IntN(len(g.slots))]
	if !s.started {
		g.startSlot(s)
	}
	if g.mix == MixPositions {
		return g.appendRoaming(dst, s)
	}
	if s.ship == nil || s.ship.next >= len(s.ship.steps) {
		g.planShipment(s)
		if g.mix == MixTracking {
			s.ship.steps = densify(s.ship)
		}
	}
	st := &s.ship.steps[s.ship.next]
	s.ship.next++
	return g.appendStep(dst, s, st)
}

// startSlot places the slot's vehicle in a random city near a depot, its
// clock somewhere in the first day of the history window.
func (g *Generator) startSlot(s *slot) {
	cs := cities()
	s.started = true
	s.city = &cs[g.rng.IntN(len(cs))]
	d := s.city.depots[g.rng.IntN(len(s.city.depots))]
	s.lat, s.lon = d.lat, d.lon
	s.clock = g.anchor.Add(-history + g.jitter(0, 24*time.Hour))
	s.odoKm = float64(20000 + g.rng.IntN(400000))
	s.speed = 30 + 40*g.rng.Float64()
	s.heading = 360 * g.rng.Float64()
	g.nameVehicle(s)
}

func (g *Generator) nameVehicle(s *slot) {
	n := strconv.Itoa(s.index)
	if s.epoch > 0 {
		n += "." + strconv.Itoa(s.epoch)
	}
	s.vehicleID = g.runID + "-TRK-" + n
	s.driverID = g.runID + "-DRV-" + n
}

// newEpoch restarts a slot whose clock came too close to the anchor under a
// fresh vehicle id, so every vehicle's times only move forward and stay in
// the past.
func (g *Generator) newEpoch(s *slot) {
	s.epoch++
	s.clock = g.anchor.Add(-history + g.jitter(0, 24*time.Hour))
	g.nameVehicle(s)
}

// jitter returns a uniform duration in [lo, hi), whole seconds.
func (g *Generator) jitter(lo, hi time.Duration) time.Duration {
	span := int64((hi - lo) / time.Second)
	if span <= 0 {
		return lo
	}
	return lo + time.Duration(g.rng.Int64N(span))*time.Second
}

// planShipment plans the slot's next shipment: every event with its time,
// in causal order, starting after the slot's clock.
func (g *Generator) planShipment(s *slot) {
	if s.clock.Add(maxShipmentSpan).After(g.anchor) {
		g.newEpoch(s)
	}
	no := int64(s.round)*int64(g.shipments) + int64(s.index)
	s.round++
	num := strconv.FormatInt(no, 10)
	c := s.city
	sh := &shipment{
		id:         g.runID + "-SHP-" + num,
		orderID:    g.runID + "-SO-" + num,
		customerID: "CUST-" + strconv.Itoa(1+g.rng.IntN(customers)),
		weightKg:   float64(50+g.rng.IntN(9950)) + float64(g.rng.IntN(10))/10,
		liftgate:   g.rng.IntN(100) < 15,
		poNumber:   "PO-" + strconv.Itoa(100000+g.rng.IntN(900000)),
	}
	n := 2 + g.rng.IntN(3)
	sh.stops = make([]plannedStop, n)
	sh.stops[0] = plannedStop{id: "S1", pickup: true, loc: &c.depots[g.rng.IntN(len(c.depots))]}
	first := g.rng.IntN(len(c.sites))
	for i := 1; i < n; i++ {
		// distinct sites: walk the ring from a random start
		site := &c.sites[(first+(i-1)*7)%len(c.sites)]
		sh.stops[i] = plannedStop{id: "S" + strconv.Itoa(i+1), loc: site}
	}

	steps := make([]step, 0, 4+n*7)
	t := s.clock.Add(g.jitter(5*time.Minute, 2*time.Hour))
	steps = append(steps, step{kind: stepRelease, at: t})
	t = t.Add(g.jitter(5*time.Minute, 45*time.Minute))
	steps = append(steps, step{kind: stepAssign, at: t})
	t = t.Add(g.jitter(15*time.Minute, 60*time.Minute))
	sh.plannedDeparture = t

	lat, lon := s.lat, s.lon
	for i := range sh.stops {
		st := &sh.stops[i]
		dist := distanceKm(lat, lon, st.loc.lat, st.loc.lon)
		avg := 35 + 40*g.rng.Float64() // km/h
		if dist < 2 {
			avg = 5 + 10*g.rng.Float64() // manoeuvring across the yard
		}
		travel := time.Duration(dist/avg*float64(time.Hour)) + g.jitter(3*time.Minute, 10*time.Minute)
		travel = travel.Truncate(time.Second)
		head := bearingDeg(lat, lon, st.loc.lat, st.loc.lon)
		k := 2 + g.rng.IntN(3)
		for j := 1; j <= k; j++ {
			f := float64(j) / float64(k+1)
			plat, plon := lat+(st.loc.lat-lat)*f, lon+(st.loc.lon-lon)*f
			plat, plon = offset(plat, plon, 0.05*g.rng.Float64(), 360*g.rng.Float64())
			steps = append(steps, step{
				kind:    stepPosition,
				stop:    i,
				at:      t.Add(time.Duration(float64(travel) * f).Truncate(time.Second)),
				lat:     plat,
				lon:     plon,
				speed:   math.Round(avg*(0.7+0.6*g.rng.Float64())*10) / 10,
				heading: math.Round(normDeg(head+g.rng.Float64()*20-10)*10) / 10,
				odoKm:   math.Round((s.odoKm+dist*f)*10) / 10,
			})
		}
		t = t.Add(travel)
		s.odoKm += dist
		lat, lon = st.loc.lat, st.loc.lon

		// The window was booked around the time the truck actually comes,
		// on quarter hours; now and then it comes late.
		from := t.Add(-g.jitter(-20*time.Minute, 60*time.Minute)).Truncate(15 * time.Minute)
		st.from, st.to = from, from.Add(time.Duration(1+g.rng.IntN(3))*time.Hour)

		steps = append(steps, step{kind: stepArrive, stop: i, at: t})
		dwell := g.jitter(10*time.Minute, 60*time.Minute)
		if g.rng.IntN(100) < 5 {
			dwell = g.jitter(90*time.Minute, 150*time.Minute) // detention
		}
		if !st.pickup {
			pod := t.Add(time.Duration(float64(dwell) * (0.5 + 0.3*g.rng.Float64())).Truncate(time.Second))
			plat, plon := offset(lat, lon, float64(st.loc.radiusM)*0.3/1000*g.rng.Float64(), 360*g.rng.Float64())
			pieces := 1 + g.rng.IntN(24)
			sh.pieces += pieces
			steps = append(steps, step{kind: stepPOD, stop: i, at: pod, lat: plat, lon: plon, signer: g.rng.IntN(len(signers)), pieces: pieces})
		}
		t = t.Add(dwell)
		steps = append(steps, step{kind: stepDepart, stop: i, at: t})
	}
	sh.steps = steps
	s.clock = t
	s.lat, s.lon = lat, lon
	s.ship = sh
}

// appendID appends the next event id of this generator as a JSON string.
func (g *Generator) appendID(dst []byte) []byte {
	n := g.idBase + g.seq*g.idStep
	g.seq++
	dst = append(dst, g.idPrefix...)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '"')
}

// appendEnvelope writes the CloudEvents attributes up to `"data":`.
func (g *Generator) appendEnvelope(b []byte, source, typ, subject string, at time.Time) []byte {
	b = append(b, `{"specversion":"1.0","id":`...)
	b = g.appendID(b)
	b = append(b, ',')
	b = appendStringField(b, "source", source)
	b = append(b, ',')
	b = appendStringField(b, "type", typ)
	b = append(b, ',')
	b = appendStringField(b, "subject", subject)
	b = append(b, ',')
	b = appendTimeField(b, "time", at)
	b = append(b, `,"datacontenttype":"application/json","data":`...)
	return b
}

func (g *Generator) appendStep(b []byte, s *slot, st *step) []byte {
	sh := s.ship
	switch st.kind {
	case stepRelease:
		b = g.appendEnvelope(b, g.srcTMS, "order.released", sh.id, st.at)
		b = append(b, '{')
		b = appendStringField(b, "order_id", sh.orderID)
		b = append(b, ',')
		b = appendStringField(b, "customer_id", sh.customerID)
		b = append(b, `,"stops":[`...)
		for i, ps := range sh.stops {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendStringField(b, "id", ps.id)
			b = append(b, ',')
			if ps.pickup {
				b = appendStringField(b, "type", "pickup")
			} else {
				b = appendStringField(b, "type", "delivery")
			}
			b = append(b, `,"location":{`...)
			b = appendStringField(b, "id", ps.loc.id)
			b = append(b, ',')
			b = appendFloatField(b, "lat", ps.loc.lat, 6)
			b = append(b, ',')
			b = appendFloatField(b, "lon", ps.loc.lon, 6)
			b = append(b, ',')
			b = appendIntField(b, "radius_m", int64(ps.loc.radiusM))
			b = append(b, `},"window":{`...)
			b = appendTimeField(b, "from", ps.from)
			b = append(b, ',')
			b = appendTimeField(b, "to", ps.to)
			b = append(b, `}}`...)
		}
		b = append(b, ']')
		if sh.liftgate {
			b = append(b, `,"accessorials":["liftgate"]`...)
		}
		b = append(b, ',')
		b = appendFloatField(b, "weight_kg", sh.weightKg, 1)
		b = append(b, ',')
		b = appendIntField(b, "pieces", int64(sh.pieces))
		b = append(b, `,"references":{`...)
		b = appendStringField(b, "po", sh.poNumber)
		b = append(b, '}', '}')
	case stepAssign:
		b = g.appendEnvelope(b, g.srcTMS, "route.assigned", sh.id, st.at)
		b = append(b, '{')
		b = appendStringField(b, "vehicle_id", s.vehicleID)
		b = append(b, ',')
		b = appendStringField(b, "driver_id", s.driverID)
		b = append(b, ',')
		b = appendTimeField(b, "planned_departure", sh.plannedDeparture)
		b = append(b, '}')
	case stepPosition:
		b = g.appendEnvelope(b, g.srcFleet, "telemetry.position", s.vehicleID, st.at)
		b = appendPosition(b, st.lat, st.lon, st.speed, st.heading, st.odoKm)
	case stepArrive, stepDepart:
		b = g.appendEnvelope(b, g.srcDriver, "shipment.milestone", sh.id, st.at)
		b = append(b, '{')
		if st.kind == stepArrive {
			b = appendStringField(b, "code", "arrived")
		} else {
			b = appendStringField(b, "code", "departed")
		}
		b = append(b, ',')
		b = appendStringField(b, "stop_id", sh.stops[st.stop].id)
		b = append(b, `,"location":`...)
		b = appendPoint(b, sh.stops[st.stop].loc.lat, sh.stops[st.stop].loc.lon)
		b = append(b, '}')
	case stepPOD:
		b = g.appendEnvelope(b, g.srcDriver, "delivery.completed", sh.id, st.at)
		b = append(b, '{')
		b = appendStringField(b, "stop_id", sh.stops[st.stop].id)
		b = append(b, ',')
		b = appendStringField(b, "signed_by", signers[st.signer])
		b = append(b, `,"location":`...)
		b = appendPoint(b, st.lat, st.lon)
		b = append(b, ',')
		b = appendIntField(b, "pieces", int64(st.pieces))
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendPosition(b []byte, lat, lon, speed, heading, odo float64) []byte {
	b = append(b, '{')
	b = appendFloatField(b, "lat", lat, 6)
	b = append(b, ',')
	b = appendFloatField(b, "lon", lon, 6)
	b = append(b, ',')
	b = appendFloatField(b, "speed_kph", speed, 1)
	b = append(b, ',')
	b = appendFloatField(b, "heading", heading, 1)
	b = append(b, ',')
	b = appendFloatField(b, "odometer_km", odo, 1)
	return append(b, '}')
}

// appendRoaming moves the slot's vehicle one fix on (15–60 s of driving,
// speed and heading drifting, turning back towards its city beyond
// roamRadiusKm) and appends that telemetry.position.
func (g *Generator) appendRoaming(b []byte, s *slot) []byte {
	dt := g.jitter(15*time.Second, 60*time.Second)
	if s.clock.Add(dt).After(g.anchor.Add(-time.Second)) {
		g.newEpoch(s)
	}
	s.clock = s.clock.Add(dt)
	s.speed = math.Max(0, math.Min(95, s.speed+g.rng.Float64()*20-10))
	if distanceKm(s.lat, s.lon, s.city.lat, s.city.lon) > roamRadiusKm {
		s.heading = normDeg(bearingDeg(s.lat, s.lon, s.city.lat, s.city.lon) + g.rng.Float64()*40 - 20)
	} else {
		s.heading = normDeg(s.heading + g.rng.Float64()*50 - 25)
	}
	d := s.speed * dt.Hours()
	s.lat, s.lon = offset(s.lat, s.lon, d, s.heading)
	s.odoKm += d
	b = g.appendEnvelope(b, g.srcFleet, "telemetry.position", s.vehicleID, s.clock)
	b = appendPosition(b, s.lat, s.lon, math.Round(s.speed*10)/10, math.Round(s.heading*10)/10, math.Round(s.odoKm*10)/10)
	return append(b, '}')
}

// trackingFix is the spacing of the tracking mix's positions.
const (
	trackingFixMin = 30 * time.Second
	trackingFixMax = 60 * time.Second
)

// densify turns a planned shipment into the tracking mix: the release and
// the assignment stay; milestones and PODs become positions at the stop
// (the hub derives them from the geofence); and between consecutive
// positions more are interpolated, one every 30–60 s (a deterministic
// spacing, so the stream stays a function of the seed).
func densify(sh *shipment) []step {
	out := make([]step, 0, len(sh.steps)*8)
	var last *step
	for _, st := range sh.steps {
		switch st.kind {
		case stepRelease, stepAssign:
			out = append(out, st)
			continue
		case stepPOD:
			continue
		}
		p := st
		p.kind = stepPosition
		if st.kind == stepArrive || st.kind == stepDepart {
			p.lat, p.lon = sh.stops[st.stop].loc.lat, sh.stops[st.stop].loc.lon
		}
		if last != nil {
			gap := p.at.Sub(last.at)
			n := int(gap / trackingFixMin)
			if n > 1 {
				spacing := max(trackingFixMin, min(trackingFixMax, gap/time.Duration(n)))
				for at := last.at.Add(spacing); at.Before(p.at.Add(-trackingFixMin / 2)); at = at.Add(spacing) {
					f := float64(at.Sub(last.at)) / float64(gap)
					q := p
					q.at = at
					q.lat, q.lon = last.lat+(p.lat-last.lat)*f, last.lon+(p.lon-last.lon)*f
					q.odoKm = math.Round((last.odoKm+(p.odoKm-last.odoKm)*f)*10) / 10
					out = append(out, q)
				}
			}
		}
		if st.kind != stepPosition {
			// At the stop: the milestone's place; no fresh speed or odometer.
			p.speed, p.heading, p.odoKm = 0, 0, 0
			if last != nil {
				p.odoKm, p.heading = last.odoKm, last.heading
			}
		}
		out = append(out, p)
		last = &out[len(out)-1]
	}
	return out
}
