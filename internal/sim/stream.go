package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// kind is what an item sends.
type kind uint8

const (
	kindRelease kind = iota // dispatch: order.released
	kindAssign              // dispatch: route.assigned
	kindCancel              // dispatch: shipment.cancelled
	kindFix                 // fleet: telemetry.position
	kindFuel                // fleet: fuel.purchased, relayed from the fuel card's provider
	kindStatus              // carrier: an AT7 status in an X12 214
	kindPOD                 // driver app: delivery.completed
	kindResolve             // ops clerk: resolve the shipment's case
)

// sink is the simulated system that sends an item; each sends its own
// requests.
type sink uint8

const (
	sinkDispatch sink = iota
	sinkFleet
	sinkCarrier
	sinkDriver
	sinkClerk
	sinkCount
)

func (k kind) sink() sink {
	switch k {
	case kindFix, kindFuel:
		return sinkFleet
	case kindStatus:
		return sinkCarrier
	case kindPOD:
		return sinkDriver
	case kindResolve:
		return sinkClerk
	}
	return sinkDispatch
}

// Sources of the simulated systems' events (the carrier's are
// partner/{id}/x12, set by the hub).
const (
	SourceDispatch = "dispatch/demo-tms"
	SourceFleet    = "fleet/demo-telematics"
	SourceDriver   = "driver-app/demo"
	// SourceFuelCard is the fuel card's provider, whose transactions
	// (fuel.purchased) the fleet relays.
	SourceFuelCard = "fuel-card/demo"
)

// item is one thing a vehicle's systems send, at a simulated time.
type item struct {
	at   time.Time
	seq  uint64
	kind kind
	job  *job
	stop *stop
	code string    // kindStatus: the AT7 status code
	fix  fix       // kindFix
	buy  *purchase // kindFuel
}

// fix is one GPS position report.
type fix struct {
	id                        string
	lat, lon, kph, head, odoK float64
}

// generate moves the vehicle's items due by now, fixes included, to its
// due queue in time order; at equal times a fix goes first, so a POD
// follows the fix that shows the truck leaving.
func (v *vehicle) generate(now time.Time) {
	for {
		fixDue := !v.carrier && !v.fixAt.After(now) && v.fixAt.Before(v.end)
		evDue := len(v.pending) > 0 && !v.pending[0].at.After(now)
		switch {
		case fixDue && (!evDue || !v.pending[0].at.Before(v.fixAt)):
			v.due = append(v.due, item{at: v.fixAt, kind: kindFix, fix: v.position(v.fixAt)})
			v.fixAt = v.fixAt.Add(fixEvery)
		case evDue:
			v.due = append(v.due, v.pending[0])
			v.pending = v.pending[1:]
		default:
			return
		}
	}
}

// position is the truck's GPS report at t: its place on the planned path
// with a few metres of noise, its speed, heading and odometer.
func (v *vehicle) position(t time.Time) fix {
	for len(v.legs) > 1 && !t.Before(v.legs[0].to) {
		v.legs = v.legs[1:]
	}
	l := v.legs[0]
	f := 0.0
	if span := l.to.Sub(l.from); span > 0 {
		f = math.Min(1, math.Max(0, float64(t.Sub(l.from))/float64(span)))
	}
	p := lerp(l.a, l.b, f)
	p = offsetKm(p, 0.006*v.noise.Float64(), 360*v.noise.Float64())
	kph := 0.0
	if l.km > 0 {
		kph = math.Max(0, l.km/l.to.Sub(l.from).Hours()+8*v.noise.Float64()-4)
		v.heading = bearingDeg(l.a, l.b)
	}
	v.fixes++
	return fix{
		id:  fmt.Sprintf("%s-%06d", v.id, v.fixes),
		lat: round6(p.lat), lon: round6(p.lon), kph: round1(kph), head: round1(v.heading), odoK: round1(l.odo0 + l.km*f),
	}
}

// ce is a CloudEvents 1.0 event as JSON.
type ce struct {
	SpecVersion string `json:"specversion"`
	ID          string `json:"id"`
	Source      string `json:"source"`
	Type        string `json:"type"`
	Subject     string `json:"subject"`
	Time        string `json:"time"`
	Data        any    `json:"data"`
}

type ceLocation struct {
	ID      string  `json:"id"`
	Lat     float64 `json:"lat"`
	Lon     float64 `json:"lon"`
	RadiusM int     `json:"radius_m"`
}

type ceWindow struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type ceStop struct {
	ID       string     `json:"id"`
	Type     string     `json:"type"`
	Location ceLocation `json:"location"`
	Window   ceWindow   `json:"window"`
}

type ceOrder struct {
	OrderID      string            `json:"order_id"`
	CustomerID   string            `json:"customer_id"`
	Stops        []ceStop          `json:"stops"`
	Accessorials []string          `json:"accessorials,omitempty"`
	WeightKg     float64           `json:"weight_kg"`
	Pieces       int               `json:"pieces"`
	References   map[string]string `json:"references"`
}

type ceAssign struct {
	VehicleID        string `json:"vehicle_id"`
	DriverID         string `json:"driver_id"`
	PlannedDeparture string `json:"planned_departure"`
}

type ceCancel struct {
	Reason string `json:"reason"`
}

type cePosition struct {
	Lat        float64 `json:"lat"`
	Lon        float64 `json:"lon"`
	SpeedKph   float64 `json:"speed_kph"`
	Heading    float64 `json:"heading"`
	OdometerKm float64 `json:"odometer_km"`
}

type ceFuel struct {
	Liters   float64 `json:"liters"`
	Amount   string  `json:"amount"`
	Currency string  `json:"currency"`
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
	Station  string  `json:"station"`
}

type cePoint struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

type ceException struct {
	Code string `json:"code"`
	Note string `json:"note,omitempty"`
}

type cePOD struct {
	StopID     string        `json:"stop_id"`
	SignedBy   string        `json:"signed_by,omitempty"`
	Signature  string        `json:"signature,omitempty"`
	Location   cePoint       `json:"location"`
	Pieces     int           `json:"pieces"`
	Exceptions []ceException `json:"exceptions,omitempty"`
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// event is the item as a CloudEvent, for the dispatch, fleet and driver
// sinks.
func (it item) event(v *vehicle) ce {
	j := it.job
	switch it.kind {
	case kindRelease:
		o := ceOrder{OrderID: j.orderID, CustomerID: j.customer, WeightKg: j.weightKg, Pieces: j.pieces,
			References: map[string]string{"po": j.po}}
		if j.liftgate {
			o.Accessorials = []string{"liftgate"}
		}
		for _, st := range j.stops {
			typ := "delivery"
			if st.pickup {
				typ = "pickup"
			}
			o.Stops = append(o.Stops, ceStop{ID: st.id, Type: typ,
				Location: ceLocation{ID: st.place.id, Lat: round6(st.place.at.lat), Lon: round6(st.place.at.lon), RadiusM: st.place.radiusM},
				Window:   ceWindow{From: stamp(st.from), To: stamp(st.to)}})
		}
		return ce{SpecVersion: "1.0", ID: j.id + "-released", Source: SourceDispatch, Type: "order.released", Subject: j.id, Time: stamp(it.at), Data: o}
	case kindAssign:
		return ce{SpecVersion: "1.0", ID: j.id + "-assigned", Source: SourceDispatch, Type: "route.assigned", Subject: j.id, Time: stamp(it.at),
			Data: ceAssign{VehicleID: v.id, DriverID: v.driver, PlannedDeparture: stamp(j.plannedDeparture)}}
	case kindCancel:
		return ce{SpecVersion: "1.0", ID: j.id + "-cancelled", Source: SourceDispatch, Type: "shipment.cancelled", Subject: j.id, Time: stamp(it.at),
			Data: ceCancel{Reason: "customer cancelled the order"}}
	case kindFix:
		f := it.fix
		return ce{SpecVersion: "1.0", ID: f.id, Source: SourceFleet, Type: "telemetry.position", Subject: v.id, Time: stamp(it.at),
			Data: cePosition{Lat: f.lat, Lon: f.lon, SpeedKph: f.kph, Heading: f.head, OdometerKm: f.odoK}}
	case kindFuel:
		b := it.buy
		return ce{SpecVersion: "1.0", ID: b.id, Source: SourceFuelCard, Type: "fuel.purchased", Subject: v.id, Time: stamp(it.at),
			Data: ceFuel{Liters: b.liters, Amount: b.amount(), Currency: "EUR", Lat: b.at.lat, Lon: b.at.lon, Station: b.station}}
	}
	st := it.stop
	p := st.pod
	d := cePOD{StopID: st.id, SignedBy: p.signer, Location: cePoint{Lat: round6(p.where.lat), Lon: round6(p.where.lon)}, Pieces: p.pieces}
	if p.signer != "" {
		d.Signature = "sig://" + j.id + "/" + st.id
	}
	if p.damaged {
		d.Exceptions = []ceException{{Code: excDamaged, Note: "2 cartons crushed, photos in the app"}}
	}
	return ce{SpecVersion: "1.0", ID: j.id + "-" + st.id + "-pod", Source: SourceDriver, Type: "delivery.completed", Subject: j.id, Time: stamp(p.at), Data: d}
}

// entry is an item with the vehicle it belongs to.
type entry struct {
	v  *vehicle
	it item
}

// encodeEvents is a JSON array of the entries' events.
func encodeEvents(es []entry) ([]byte, error) {
	evs := make([]ce, len(es))
	for i, e := range es {
		evs[i] = e.it.event(e.v)
	}
	return json.Marshal(evs)
}
