package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
)

// city is a real city of the Benelux–Rhine freight corridor with the
// depot trucks load at and the customer sites they deliver to.
type city struct {
	code, name, country string
	centre              point
	depot               place
	sites               []place
	neighbours          []int // other cities a day trip away, by index
}

// place is a stop location with its geofence.
type place struct {
	id      string
	name    string
	at      point
	radiusM int
}

// cityTable holds the cities' centres (WGS 84, city hall or main square).
var cityTable = []struct {
	code, name, country string
	lat, lon            float64
}{
	{"RTM", "Rotterdam", "NL", 51.9244, 4.4777},
	{"AMS", "Amsterdam", "NL", 52.3676, 4.9041},
	{"UTC", "Utrecht", "NL", 52.0907, 5.1214},
	{"EIN", "Eindhoven", "NL", 51.4416, 5.4697},
	{"NIJ", "Nijmegen", "NL", 51.8126, 5.8372},
	{"VNL", "Venlo", "NL", 51.3704, 6.1724},
	{"ANR", "Antwerp", "BE", 51.2194, 4.4025},
	{"BRU", "Brussels", "BE", 50.8503, 4.3517},
	{"GNE", "Ghent", "BE", 51.0543, 3.7174},
	{"LGG", "Liège", "BE", 50.6326, 5.5797},
	{"LIL", "Lille", "FR", 50.6292, 3.0573},
	{"LUX", "Luxembourg", "LU", 49.6116, 6.1319},
	{"AAH", "Aachen", "DE", 50.7753, 6.0839},
	{"CGN", "Cologne", "DE", 50.9375, 6.9603},
	{"DUS", "Düsseldorf", "DE", 51.2277, 6.7735},
	{"DUI", "Duisburg", "DE", 51.4344, 6.7623},
	{"DTM", "Dortmund", "DE", 51.5136, 7.4653},
	{"KOB", "Koblenz", "DE", 50.3569, 7.5890},
	{"FRA", "Frankfurt am Main", "DE", 50.1109, 8.6821},
	{"MHG", "Mannheim", "DE", 49.4875, 8.4660},
}

const (
	sitesPerCity = 6
	// neighbourMinKm and neighbourMaxKm bound an inter-city delivery: far
	// enough to be a real drive, near enough to be done in a shift.
	neighbourMinKm = 25
	neighbourMaxKm = 170
)

// cities is the fixed map. Depots and sites are placed around each centre
// from a constant seed, not the run's, so a location id names the same
// place in every run.
var cities = sync.OnceValue(func() []city {
	rng := rand.New(rand.NewPCG(0x63726f7373646f63, 0x6b2d64656d6f))
	out := make([]city, len(cityTable))
	for i, c := range cityTable {
		centre := point{c.lat, c.lon}
		out[i] = city{code: c.code, name: c.name, country: c.country, centre: centre}
		out[i].depot = place{
			id: "DC-" + c.code, name: c.name + " depot",
			at: offsetKm(centre, 4+4*rng.Float64(), 360*rng.Float64()), radiusM: 250,
		}
		for n := 1; n <= sitesPerCity; n++ {
			out[i].sites = append(out[i].sites, place{
				id: fmt.Sprintf("SITE-%s-%d", c.code, n), name: fmt.Sprintf("%s customer site %d", c.name, n),
				at: offsetKm(centre, 2+10*math.Sqrt(rng.Float64()), 360*rng.Float64()), radiusM: 150 + 25*rng.IntN(5),
			})
		}
	}
	for i := range out {
		for j := range out {
			if d := distanceKm(out[i].centre, out[j].centre); i != j && d >= neighbourMinKm && d <= neighbourMaxKm {
				out[i].neighbours = append(out[i].neighbours, j)
			}
		}
	}
	return out
})

// nearestCity is the index of the city whose centre is closest to p.
func nearestCity(p point) int {
	cs := cities()
	best := 0
	for i := range cs {
		if distanceKm(p, cs[i].centre) < distanceKm(p, cs[best].centre) {
			best = i
		}
	}
	return best
}

// customer is an account orders are for; its id picks the rate card.
type customer struct {
	id, name, city, country string
}

var customers = []customer{
	{"CUST-101", "Hollandia Fresh B.V.", "Rotterdam", "NL"},
	{"CUST-102", "Brabant Bouwmaterialen B.V.", "Eindhoven", "NL"},
	{"CUST-103", "Rijnland Chemie GmbH", "Cologne", "DE"},
	{"CUST-104", "Flandria Textiles NV", "Ghent", "BE"},
	{"CUST-105", "Moselle Vins SA", "Luxembourg", "LU"},
	{"CUST-106", "Ruhrstahl Komponenten GmbH", "Dortmund", "DE"},
	{"CUST-107", "Maas Pharma B.V.", "Nijmegen", "NL"},
	{"CUST-108", "Schelde Paper NV", "Antwerp", "BE"},
	{"CUST-109", "Eifel Getränke GmbH", "Koblenz", "DE"},
	{"CUST-110", "Lys Électroménager SARL", "Lille", "FR"},
	{"CUST-111", "Kempen Retail B.V.", "Venlo", "NL"},
	{"CUST-112", "Main Ersatzteile GmbH", "Frankfurt am Main", "DE"},
}

// signers are the names consignees sign proofs of delivery with.
var signers = []string{
	"J. de Vries", "M. Janssens", "K. Schmidt", "A. Peeters", "L. Bakker", "S. Dubois",
	"T. Müller", "E. Maes", "P. Hoffmann", "R. Visser", "C. Lambert", "N. Weber",
}

// pick returns a uniformly chosen element of s.
func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

// pickN returns n distinct elements of s (n ≤ len(s)) in random order.
func pickN[T any](rng *rand.Rand, s []T, n int) []T {
	idx := rng.Perm(len(s))[:n]
	out := make([]T, n)
	for i, j := range idx {
		out[i] = s[j]
	}
	return out
}

// homeCities spreads the vehicles over the cities, a different spread per
// seed.
func homeCities(rng *rand.Rand, vehicles int) []int {
	order := rng.Perm(len(cityTable))
	out := make([]int, vehicles)
	for i := range out {
		out[i] = order[i%len(order)]
	}
	return out
}
