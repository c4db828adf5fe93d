package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

const (
	// fixEvery is the spacing of a truck's GPS fixes (simulated time).
	fixEvery = 30 * time.Second
	// planAhead is how far past the simulated clock every vehicle's plan
	// reaches; it exceeds the longest lead of an order release, so every
	// planned event lies ahead of the clock when it is planned.
	planAhead = 6 * time.Hour
	// leaveMarginM: the driver app sends a POD once the truck is this far
	// beyond the stop's geofence, past the hub's departure hysteresis.
	leaveMarginM = 100
	// minHopKm keeps consecutive stops apart, so leaving one geofence is
	// never entering the next.
	minHopKm = 1.5
	// firstWave is when the trucks' first shipments finish: from
	// firstWaveFrom to firstWaveFrom+firstWaveSpan after the day's origin.
	firstWaveFrom = 3 * time.Minute
	firstWaveSpan = 42 * time.Minute
	// exceptionPct is the share of shipments whose POD reports a problem.
	exceptionPct = 15
	// cancelPct is the share of orders the customer cancels before dispatch.
	cancelPct = 4
)

// Exception kinds a delivery can end with; each opens a blocking case.
const (
	excDamaged          = "damaged"
	excMissingSignature = "missing_signature"
	excShortage         = "shortage"
)

// resolutions are what the ops clerk writes when closing each kind.
var resolutions = map[string][2]string{
	excDamaged:          {"credit note issued", "consignee accepted the goods at a 5 % discount"},
	excMissingSignature: {"signed POD received", "consignee e-mailed the signed delivery note"},
	excShortage:         {"missing pieces delivered", "pieces found at the depot and delivered the next morning"},
}

// job is one shipment: an order, the truck that runs it and what happens
// at its stops. Times are simulated.
type job struct {
	number                int
	id, orderID, customer string
	po                    string
	stops                 []*stop
	weightKg              float64
	pieces                int
	liftgate              bool
	release, assign       time.Time
	plannedDeparture      time.Time
	cancelAt              time.Time // non-zero: the order is cancelled then and never dispatched
	exception             string    // "" or one of the exc* kinds, at stop excStop
	excStop               int
	resolveAfter          time.Duration // after the POD is sent; 0: the case stays open
}

// stop is one stop of a job with its window and what actually happened.
type stop struct {
	id             string
	pickup         bool
	place          place
	from, to       time.Time // the booked window
	arrive, depart time.Time
	pieces         int
	pod            *pod // deliveries only
}

// pod is a proof of delivery as the driver app records it.
type pod struct {
	at      time.Time
	signer  string
	pieces  int
	damaged bool
	where   point
}

// leg is a piece of a truck's path: a straight drive from a to b, or a
// stay at a (km 0).
type leg struct {
	from, to time.Time
	a, b     point
	km, odo0 float64
}

// openStop is the last planned stop of a vehicle: its POD goes out once
// the truck is seen leaving, which the next planned drive decides.
type openStop struct {
	job        *job
	stop       *stop
	statusPost time.Time // carrier trucks: when the departure 214 is sent
}

// vehicle is one truck with its driver, its plan and what it has yet to
// send.
type vehicle struct {
	index      int
	id, driver string
	carrier    bool // a subcontractor's truck: reported by X12 214, no GPS
	home       int
	plan       *rand.Rand // planning decisions, consumed in job order
	noise      *rand.Rand // GPS noise, consumed in fix order
	card       *card      // its fuel card; nil for a carrier's truck
	legs       []leg
	at         point     // where the planned path ends
	end        time.Time // when it ends: the last planned stop's departure
	open       *openStop
	jobs       int       // orders planned, cancelled ones included
	pending    []item    // planned events (not fixes), by time
	seq        uint64    // items planned so far: their order at equal times
	gridBase   time.Time // the fix grid: gridBase + n·fixEvery
	fixAt      time.Time // the next fix
	fixes      int       // fixes made so far: their ids
	odo        float64   // odometer at the end of the planned path, km
	heading    float64   // of the last drive
	due        []item    // generated, not yet sent, in order
}

// scenario is the whole simulated operation: a pure function of the seed,
// the number of vehicles, the day's origin and whether a carrier takes
// part.
type scenario struct {
	origin   time.Time
	vehicles []*vehicle
	total    int
}

func newScenario(seed int64, vehicles int, origin time.Time, carrier bool) *scenario {
	s := &scenario{origin: origin, total: vehicles}
	root := rand.New(rand.NewPCG(uint64(seed), 0x726f6f74<<32)) // "root"
	homes := homeCities(root, vehicles)
	for k := range vehicles {
		v := &vehicle{
			index: k, home: homes[k],
			plan:     rand.New(rand.NewPCG(uint64(seed), 0x706c616e<<32|uint64(k))), // "plan"
			noise:    rand.New(rand.NewPCG(uint64(seed), 0x6e6f6973<<32|uint64(k))), // "nois"
			carrier:  carrier && k%4 == 3,
			gridBase: origin.Add(time.Duration(k*7%30) * time.Second),
		}
		v.id, v.driver = fmt.Sprintf("TRK-%02d", k+1), fmt.Sprintf("DRV-%02d", k+1)
		if v.carrier {
			v.id, v.driver = fmt.Sprintf("NLC-%02d", k+1), fmt.Sprintf("NLC-DRV-%02d", k+1)
		}
		v.odo = float64(80000 + v.plan.IntN(520000))
		s.planFirst(v)
		if !v.carrier {
			v.card = newCard(seed, v)
		}
		s.vehicles = append(s.vehicles, v)
	}
	if k, at := misusedCard(seed, origin, s.vehicles); k >= 0 {
		s.vehicles[k].card.misuseAt = at
	}
	return s
}

// advance plans every vehicle at least planAhead past now, with the fuel
// purchases its path reaches, and moves what is due by now (events,
// fixes) to the vehicles' due queues.
func (s *scenario) advance(now time.Time) {
	for _, v := range s.vehicles {
		for v.end.Before(now.Add(planAhead)) {
			s.planNext(v)
		}
		v.planFuel()
		v.generate(now)
	}
}

// firstRole scripts the first wave so every state shows within the first
// simulated hour: one damaged delivery resolved soon, one missing
// signature left open for hours, one shortage.
func firstRole(k int) (exception string, resolveAfter [2]time.Duration) {
	switch k {
	case 1:
		return excDamaged, [2]time.Duration{18 * time.Minute, 25 * time.Minute}
	case 4:
		return excMissingSignature, [2]time.Duration{4 * time.Hour, 6 * time.Hour}
	case 6:
		return excShortage, [2]time.Duration{90 * time.Minute, 150 * time.Minute}
	}
	return "", [2]time.Duration{}
}

// planFirst plans a vehicle's first shipment, already under way when the
// day starts: it is planned from the origin and then moved back so that
// its last stop is left in the first wave; what lies before the origin is
// history, sent at once.
func (s *scenario) planFirst(v *vehicle) {
	rng := v.plan
	c := &cities()[v.home]
	j := s.newOrder(v, v.home)
	v.at, v.end = c.depot.at, s.origin
	j.assign = s.origin
	j.release = j.assign.Add(-between(rng, 20*time.Minute, 90*time.Minute))
	if exc, after := firstRole(v.index); exc != "" {
		j.exception, j.resolveAfter = exc, between(rng, after[0], after[1])
	}
	v.runJob(j, j.assign.Add(between(rng, 2*time.Minute, 5*time.Minute)))
	v.pickupArrived(j, j.assign)

	target := s.origin.Add(firstWaveFrom + firstWaveSpan*time.Duration(v.index)/time.Duration(max(s.total-1, 1)) +
		between(rng, 0, time.Minute))
	// A whole number of fix intervals keeps planned times on the fix grid.
	v.shift((target.Sub(v.end) / fixEvery) * fixEvery)
	v.fixAt = v.gridCeil(v.legs[0].from)
}

// planNext plans a vehicle's next shipment (and, now and then, an order
// the customer cancels before dispatch): the truck leaves its last stop
// for the nearest depot, is assigned once it is seen leaving, loads, and
// delivers.
func (s *scenario) planNext(v *vehicle) {
	rng := v.plan
	if rng.IntN(100) < cancelPct || (v.index == 2 && v.jobs == 1) {
		s.planCancelled(v)
	}
	from := nearestCity(v.at)
	if rng.IntN(100) < 30 || distanceKm(v.at, cities()[from].depot.at) < minHopKm {
		from = pick(rng, cities()[from].neighbours)
	}
	c := &cities()[from]
	j := s.newOrder(v, from)
	if rng.IntN(100) < exceptionPct {
		j.exception = pick(rng, []string{excDamaged, excDamaged, excMissingSignature, excMissingSignature, excShortage})
		if rng.IntN(100) < 75 {
			j.resolveAfter = between(rng, 30*time.Minute, 4*time.Hour)
		}
	}
	arrived, _, kph := v.drive(c.depot.at, false)
	free := v.settle(kph)
	j.assign = free.Add(between(rng, 2*time.Minute, 8*time.Minute))
	j.release = j.assign.Add(-between(rng, 20*time.Minute, 90*time.Minute))
	v.runJob(j, later(arrived, j.assign.Add(between(rng, time.Minute, 4*time.Minute))))
	v.pickupArrived(j, arrived)
}

// planCancelled plans an order released while the truck is busy and
// cancelled by the customer before anyone is dispatched.
func (s *scenario) planCancelled(v *vehicle) {
	rng := v.plan
	j := s.newOrder(v, nearestCity(v.at))
	j.release = v.end.Add(-between(rng, 60*time.Minute, 120*time.Minute))
	j.cancelAt = j.release.Add(between(rng, 10*time.Minute, 35*time.Minute))
	t := j.release.Add(2 * time.Hour).Truncate(15 * time.Minute)
	for _, st := range j.stops {
		st.from, st.to = t, t.Add(2*time.Hour)
		t = t.Add(2 * time.Hour)
	}
	v.add(item{at: j.release, kind: kindRelease, job: j})
	v.add(item{at: j.cancelAt, kind: kindCancel, job: j})
}

// newOrder draws an order picked up at the depot of city from: for whom,
// to which sites (in the same city or a neighbouring one), how much.
func (s *scenario) newOrder(v *vehicle, from int) *job {
	rng := v.plan
	n := 1001 + v.jobs*s.total + v.index
	v.jobs++
	j := &job{
		number: n, id: fmt.Sprintf("SHP-%d", n), orderID: fmt.Sprintf("SO-%d", n),
		customer: pick(rng, customers).id, po: fmt.Sprintf("PO-%06d", 100000+rng.IntN(900000)),
		liftgate: rng.IntN(100) < 15,
	}
	c := &cities()[from]
	dest := c
	if rng.IntN(100) < 65 && len(c.neighbours) > 0 {
		dest = &cities()[pick(rng, c.neighbours)]
	}
	drops := 1
	if r := rng.IntN(100); r >= 85 {
		drops = 3
	} else if r >= 50 {
		drops = 2
	}
	j.stops = append(j.stops, &stop{id: "S1", pickup: true, place: c.depot})
	for _, site := range pickN(rng, dest.sites, len(dest.sites)) {
		if len(j.stops) > drops {
			break
		}
		if slices.ContainsFunc(j.stops, func(st *stop) bool { return distanceKm(st.place.at, site.at) < minHopKm }) {
			continue
		}
		pieces := 2 + rng.IntN(11)
		j.stops = append(j.stops, &stop{id: fmt.Sprintf("S%d", len(j.stops)+1), place: site, pieces: pieces})
		j.pieces += pieces
	}
	j.weightKg = float64(j.pieces) * float64(180+rng.IntN(270))
	j.excStop = 1 + rng.IntN(len(j.stops)-1)
	return j
}

// runJob plans a job's release, assignment and stops; the truck is at
// the pickup and starts loading at load.
func (v *vehicle) runJob(j *job, load time.Time) {
	rng := v.plan
	v.add(item{at: j.release, kind: kindRelease, job: j})
	v.add(item{at: j.assign, kind: kindAssign, job: j})
	p := j.stops[0]
	p.arrive = v.end
	p.from = load.Add(-between(rng, 10*time.Minute, 40*time.Minute)).Truncate(15 * time.Minute)
	p.to = p.from.Add(2 * time.Hour)
	p.depart = load.Add(between(rng, 20*time.Minute, 45*time.Minute)).Truncate(time.Second)
	j.plannedDeparture = p.depart.Add(between(rng, -5*time.Minute, 10*time.Minute)).Truncate(5 * time.Minute)
	v.stay(p.depart)
	v.arriveAt(j, p)
	for i, st := range j.stops[1:] {
		planned, arrived, kph := v.drive(st.place.at, rng.IntN(100) < 8)
		v.settle(kph)
		st.from = planned.Add(-between(rng, 10*time.Minute, 50*time.Minute)).Truncate(15 * time.Minute)
		st.to = st.from.Add(time.Duration(1+rng.IntN(2)) * time.Hour)
		if st.to.Before(planned.Add(15 * time.Minute)) {
			st.to = st.to.Add(time.Hour)
		}
		st.arrive = arrived
		dwell := between(rng, 15*time.Minute, 40*time.Minute)
		if rng.IntN(100) < 8 {
			dwell = between(rng, 95*time.Minute, 150*time.Minute) // the consignee keeps the truck waiting: detention
		}
		st.depart = arrived.Add(dwell)
		st.pod = &pod{
			at:     arrived.Add(time.Duration(float64(dwell) * (0.55 + 0.3*rng.Float64()))).Truncate(time.Second),
			signer: pick(rng, signers), pieces: st.pieces,
			where: offsetKm(st.place.at, (5+35*rng.Float64())/1000, 360*rng.Float64()),
		}
		if j.exception != "" && i+1 == j.excStop {
			switch j.exception {
			case excDamaged:
				st.pod.damaged = true
			case excMissingSignature:
				st.pod.signer = ""
			case excShortage:
				st.pod.pieces -= 1 + rng.IntN(min(3, st.pieces-1))
			}
		}
		v.stay(st.depart)
		v.arriveAt(j, st)
	}
}

// arriveAt records that the truck is at stop st of j until st.depart:
// carrier trucks report arrival and departure by 214; the POD waits for
// the next drive (see settle).
func (v *vehicle) arriveAt(j *job, st *stop) {
	o := &openStop{job: j, stop: st}
	if v.carrier {
		arrive, leave := "X1", "CD"
		if st.pickup {
			arrive, leave = "X3", "AF"
		}
		if !st.pickup || st.arrive.After(j.assign) {
			v.add(item{at: st.arrive.Add(between(v.plan, 3*time.Minute, 12*time.Minute)), kind: kindStatus, job: j, stop: st, code: arrive})
		}
		o.statusPost = st.depart.Add(between(v.plan, 3*time.Minute, 12*time.Minute))
		v.add(item{at: o.statusPost, kind: kindStatus, job: j, stop: st, code: leave})
	}
	v.open = o
}

// pickupArrived reports the arrival at the pickup of a carrier truck that
// reached the depot before it was assigned: the carrier reports it once
// the load is tendered.
func (v *vehicle) pickupArrived(j *job, arrived time.Time) {
	if v.carrier && !arrived.After(j.assign) {
		v.add(item{at: j.assign.Add(between(v.plan, 3*time.Minute, 12*time.Minute)), kind: kindStatus, job: j, stop: j.stops[0], code: "X3"})
	}
}

// settle sends the open stop's POD (and plans the clerk's resolution of
// its case) once the truck is seen leaving at kph: for a GPS truck the
// first fix beyond the geofence plus leaveMarginM, for a carrier truck its
// departure 214. It returns that time: the truck is free for the next
// assignment.
func (v *vehicle) settle(kph float64) time.Time {
	o := v.open
	v.open = nil
	if o == nil {
		return v.end
	}
	post := o.statusPost
	if !v.carrier {
		hours := (float64(o.stop.place.radiusM) + leaveMarginM) / 1000 / kph
		post = v.gridCeil(o.stop.depart.Add(time.Duration(hours * float64(time.Hour))))
	}
	if o.stop.pickup {
		return post
	}
	v.add(item{at: post, kind: kindPOD, job: o.job, stop: o.stop})
	if j := o.job; j.exception != "" && j.stops[j.excStop] == o.stop && j.resolveAfter > 0 {
		v.add(item{at: post.Add(j.resolveAfter), kind: kindResolve, job: j})
	}
	return post
}

// drive plans a drive from the end of the vehicle's path to dst, by way of
// a bend (roads are not straight) at 60–85 km/h, 30–45 km/h in town, and
// with a traffic jam when delayed (out of town). It returns the arrival as planned
// without the jam, the actual arrival and the speed driven.
func (v *vehicle) drive(dst point, delayed bool) (planned, arrived time.Time, kph float64) {
	rng := v.plan
	pts := []point{v.at}
	if d := distanceKm(v.at, dst); d > 5 {
		side := 90.0
		if rng.IntN(2) == 0 {
			side = -90
		}
		mid := lerp(v.at, dst, 0.35+0.3*rng.Float64())
		pts = append(pts, offsetKm(mid, d*(0.05+0.15*rng.Float64()), bearingDeg(v.at, dst)+side))
	}
	pts = append(pts, dst)
	var total float64
	for i := 1; i < len(pts); i++ {
		total += distanceKm(pts[i-1], pts[i])
	}
	kph = 60 + 25*rng.Float64()
	if total < 15 {
		kph = 30 + 15*rng.Float64()
	}
	dur := hoursDuration(total / kph)
	planned = v.end.Add(dur)
	if delayed && total >= 15 {
		dur += between(rng, 30*time.Minute, 70*time.Minute)
		kph = total / dur.Hours()
	}
	t := v.end
	for i := 1; i < len(pts); i++ {
		km := distanceKm(pts[i-1], pts[i])
		next := t.Add(time.Duration(float64(dur) * km / total)).Truncate(time.Second)
		if i == len(pts)-1 {
			next = v.end.Add(dur).Truncate(time.Second)
		}
		v.legs = append(v.legs, leg{from: t, to: next, a: pts[i-1], b: pts[i], km: km, odo0: v.odo})
		v.odo += km
		t = next
	}
	v.at, v.end = dst, t
	return planned, t, kph
}

// stay keeps the truck where its path ends until t.
func (v *vehicle) stay(t time.Time) {
	if t.After(v.end) {
		v.legs = append(v.legs, leg{from: v.end, to: t, a: v.at, b: v.at, odo0: v.odo})
		v.end = t
	}
}

// shift moves everything planned for the vehicle by d.
func (v *vehicle) shift(d time.Duration) {
	for i := range v.legs {
		v.legs[i].from, v.legs[i].to = v.legs[i].from.Add(d), v.legs[i].to.Add(d)
	}
	v.end = v.end.Add(d)
	seen := map[*job]bool{}
	for i := range v.pending {
		it := &v.pending[i]
		it.at = it.at.Add(d)
		if !seen[it.job] {
			seen[it.job] = true
			it.job.shift(d)
		}
	}
	if v.open != nil {
		v.open.statusPost = v.open.statusPost.Add(d)
	}
}

func (j *job) shift(d time.Duration) {
	for _, t := range []*time.Time{&j.release, &j.assign, &j.plannedDeparture} {
		*t = t.Add(d)
	}
	for _, st := range j.stops {
		for _, t := range []*time.Time{&st.from, &st.to, &st.arrive, &st.depart} {
			*t = t.Add(d)
		}
		if st.pod != nil {
			st.pod.at = st.pod.at.Add(d)
		}
	}
}

// add queues an item, keeping pending ordered by time (then by planning
// order).
func (v *vehicle) add(it item) {
	v.seq++
	it.seq = v.seq
	i, _ := slices.BinarySearchFunc(v.pending, it, func(a, b item) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return compareSeq(a.seq, b.seq)
	})
	v.pending = slices.Insert(v.pending, i, it)
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// gridCeil is the first fix time of the vehicle at or after t.
func (v *vehicle) gridCeil(t time.Time) time.Time {
	n := math.Ceil(float64(t.Sub(v.gridBase)) / float64(fixEvery))
	return v.gridBase.Add(time.Duration(n) * fixEvery)
}

// between draws a duration in [lo, hi), whole seconds.
func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	span := int64((hi - lo) / time.Second)
	if span <= 0 {
		return lo
	}
	return lo + time.Duration(rng.Int64N(span))*time.Second
}

func hoursDuration(h float64) time.Duration {
	return time.Duration(h * float64(time.Hour)).Truncate(time.Second)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
