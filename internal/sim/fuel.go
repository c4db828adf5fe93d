package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// The trucks' fuel cards. A truck fills up wherever it is once it has
// burned a tank's worth since the last fill, which at 700–1,000 km a day
// is about once a day; one truck's card, picked by the seed, is also used
// once far from where the truck is.
const (
	// fillLitersMin and fillLitersSpan: a fill-up buys what the truck has
	// burned since the last one, 230–380 litres.
	fillLitersMin  = 230
	fillLitersSpan = 150
	// perKmMin and perKmSpan: a truck burns 29–35 litres per 100 km.
	perKmMin  = 0.29
	perKmSpan = 0.06
	// priceMin and priceSpan: diesel costs 1.659–1.849 EUR a litre,
	// quoted in tenths of a cent.
	priceMin  = 1.659
	priceSpan = 0.190
	// stationMaxKm: a station lies up to this far off the truck's road.
	stationMaxKm = 0.9
	// misuseFrom and misuseSpan: the misused card is used between 09:00
	// and 11:00 of the simulated day, before the finance clerk's first
	// runs.
	misuseFrom = time.Hour
	misuseSpan = 2 * time.Hour
	// misuseMinKm: the misused card's station is at least this far from
	// the truck.
	misuseMinKm = 400
)

// farCities are cities off the map where a stolen card turns up; from
// anywhere on the map Berlin and Milan are more than misuseMinKm away.
var farCities = []struct {
	name string
	at   point
}{
	{"Paris", point{48.8566, 2.3522}},
	{"Hamburg", point{53.5511, 9.9937}},
	{"Berlin", point{52.5200, 13.4050}},
	{"Munich", point{48.1351, 11.5820}},
	{"Lyon", point{45.7640, 4.8357}},
	{"Milan", point{45.4642, 9.1900}},
}

// purchase is one fuel-card transaction.
type purchase struct {
	id      string
	liters  float64 // two decimals
	cents   int64   // the amount in euro cents
	station string
	at      point
}

// amount is the purchase's amount as decimal text with two places.
func (p *purchase) amount() string { return fmt.Sprintf("%d.%02d", p.cents/100, p.cents%100) }

// card is a truck's fuel card: what the fleet knows of the truck's tank
// and when its card is misused.
type card struct {
	rng       *rand.Rand // consumed in purchase order
	perKm     float64    // litres the truck burns per km
	fillOdo   float64    // the odometer reading of the next fill-up, km
	fillL     float64    // what that fill-up buys, litres
	misuseAt  time.Time  // non-zero: the card is used far away then
	purchases int        // transactions so far: their ids
}

// newCard gives a truck of ours its card once its first shipment is
// planned: after the night's driving the tank has 60–100 % of a fill-up
// burned, so the first fill-ups fall in the first hours of the day.
func newCard(seed int64, v *vehicle) *card {
	c := &card{rng: rand.New(rand.NewPCG(uint64(seed), 0x6675656c<<32|uint64(v.index)))} // "fuel"
	c.perKm = perKmMin + perKmSpan*c.rng.Float64()
	c.fillL = fillLitersMin + fillLitersSpan*c.rng.Float64()
	c.fillOdo = v.odo + c.fillL*(0.4*c.rng.Float64())/c.perKm
	return c
}

// misusedCard picks, by the seed, the truck of ours whose card is used
// far away, and when; -1 when the fleet has no truck of ours.
func misusedCard(seed int64, origin time.Time, vs []*vehicle) (int, time.Time) {
	var ours []int
	for _, v := range vs {
		if !v.carrier {
			ours = append(ours, v.index)
		}
	}
	if len(ours) == 0 {
		return -1, time.Time{}
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x63617264<<32)) // "card"
	return pick(rng, ours), origin.Add(between(rng, misuseFrom, misuseFrom+misuseSpan))
}

// planFuel plans the card's transactions that the planned path now
// reaches, in time order (so the draws do not depend on how far ahead the
// path was planned when): a fill-up wherever the truck is when it has
// burned the fill's litres, and once, on the misused card, a purchase far
// from the truck.
func (v *vehicle) planFuel() {
	c := v.card
	if c == nil {
		return
	}
	for {
		fillAt, p, fill := v.odometerAt(c.fillOdo)
		misuse := !c.misuseAt.IsZero() && c.misuseAt.Before(v.end)
		switch {
		case misuse && (!fill || c.misuseAt.Before(fillAt)):
			at := v.pathAt(c.misuseAt)
			city := farCities[0]
			for _, i := range c.rng.Perm(len(farCities)) {
				if distanceKm(at, farCities[i].at) >= misuseMinKm {
					city = farCities[i]
					break
				}
			}
			v.buy(c.misuseAt, offsetKm(city.at, 3+5*c.rng.Float64(), 360*c.rng.Float64()), city.name,
				fillLitersMin+fillLitersSpan*c.rng.Float64())
			c.misuseAt = time.Time{}
		case fill:
			station := offsetKm(p, stationMaxKm*c.rng.Float64(), 360*c.rng.Float64())
			v.buy(fillAt, station, cities()[nearestCity(station)].name, c.fillL)
			c.fillL = fillLitersMin + fillLitersSpan*c.rng.Float64()
			c.fillOdo += c.fillL / c.perKm
		default:
			return
		}
	}
}

// buy queues a purchase of liters at a station near city at time at.
func (v *vehicle) buy(at time.Time, station point, city string, liters float64) {
	c := v.card
	c.purchases++
	liters = math.Round(liters*100) / 100
	price := priceMin + math.Round(priceSpan*1000*c.rng.Float64())/1000
	p := &purchase{
		id: fmt.Sprintf("%s-fuel-%03d", v.id, c.purchases), liters: liters, cents: int64(math.Round(liters * price * 100)),
		station: city + " truck stop", at: point{round6(station.lat), round6(station.lon)},
	}
	v.add(item{at: at.Truncate(time.Second), kind: kindFuel, buy: p})
}

// odometerAt is when and where the planned path reaches the odometer
// reading odo; ok is false when it does not reach it yet.
func (v *vehicle) odometerAt(odo float64) (at time.Time, p point, ok bool) {
	for _, l := range v.legs {
		if l.km > 0 && odo >= l.odo0 && odo < l.odo0+l.km {
			f := (odo - l.odo0) / l.km
			return l.from.Add(time.Duration(f * float64(l.to.Sub(l.from)))), lerp(l.a, l.b, f), true
		}
	}
	return time.Time{}, point{}, false
}

// pathAt is where the planned path has the truck at t (its end after the
// last leg).
func (v *vehicle) pathAt(t time.Time) point {
	for _, l := range v.legs {
		if t.Before(l.to) {
			f := 0.0
			if span := l.to.Sub(l.from); span > 0 {
				f = math.Max(0, float64(t.Sub(l.from))/float64(span))
			}
			return lerp(l.a, l.b, f)
		}
	}
	return v.at
}
