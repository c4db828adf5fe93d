package bench

import (
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
)

// city is a region the generated shipments and vehicles stay in.
type city struct {
	code     string
	lat, lon float64
	depots   []location // pickup places
	sites    []location // delivery places
}

// location is a fixed place with a geofence.
type location struct {
	id       string
	lat, lon float64
	radiusM  int
}

var cityCentres = []struct {
	code     string
	lat, lon float64
}{
	{"BER", 52.5200, 13.4050},
	{"HAM", 53.5511, 9.9937},
	{"MUC", 48.1351, 11.5820},
	{"FRA", 50.1109, 8.6821},
	{"PAR", 48.8566, 2.3522},
	{"LYS", 45.7640, 4.8357},
	{"AMS", 52.3676, 4.9041},
	{"RTM", 51.9244, 4.4777},
	{"BRU", 50.8503, 4.3517},
	{"MIL", 45.4642, 9.1900},
	{"VIE", 48.2082, 16.3738},
	{"WAW", 52.2297, 21.0122},
	{"PRG", 50.0755, 14.4378},
	{"MAD", 40.4168, -3.7038},
	{"BCN", 41.3874, 2.1686},
}

const (
	depotsPerCity = 4
	sitesPerCity  = 60
	depotRadiusKm = 15
	siteRadiusKm  = 35
	roamRadiusKm  = 50 // vehicles of the positions mix turn back beyond this
)

// cities is the fixed map every generator shares. It is built from a
// constant seed, not the run's seed, so a location id names the same place
// in every run and the hub's view of a place never changes under it.
var cities = sync.OnceValue(func() []city {
	rng := rand.New(rand.NewPCG(0x63726f7373, 0x646f636b))
	out := make([]city, len(cityCentres))
	for i, c := range cityCentres {
		out[i] = city{code: c.code, lat: c.lat, lon: c.lon}
		for n := 1; n <= depotsPerCity; n++ {
			lat, lon := scatter(rng, c.lat, c.lon, depotRadiusKm)
			out[i].depots = append(out[i].depots, location{
				id: "DC-" + c.code + "-" + strconv.Itoa(n), lat: lat, lon: lon, radiusM: 150 + rng.IntN(151),
			})
		}
		for n := 1; n <= sitesPerCity; n++ {
			lat, lon := scatter(rng, c.lat, c.lon, siteRadiusKm)
			out[i].sites = append(out[i].sites, location{
				id: "SITE-" + c.code + "-" + pad3(n), lat: lat, lon: lon, radiusM: 150 + rng.IntN(151),
			})
		}
	}
	return out
})

func pad3(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

const earthRadiusKm = 6371.0

// scatter returns a point uniformly inside a disc of radiusKm around lat/lon.
func scatter(rng *rand.Rand, lat, lon, radiusKm float64) (float64, float64) {
	d := radiusKm * math.Sqrt(rng.Float64())
	return offset(lat, lon, d, rng.Float64()*360)
}

// offset moves d km from lat/lon along the bearing (degrees from north);
// an equirectangular step, accurate enough at city scale.
func offset(lat, lon, d, bearing float64) (float64, float64) {
	b := bearing * math.Pi / 180
	dLat := d * math.Cos(b) / 111.195
	dLon := d * math.Sin(b) / (111.195 * math.Cos(lat*math.Pi/180))
	return lat + dLat, lon + dLon
}

// distanceKm is the great-circle distance (haversine).
func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	p1, p2 := lat1*math.Pi/180, lat2*math.Pi/180
	dp, dl := p2-p1, (lon2-lon1)*math.Pi/180
	a := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}

// bearingDeg is the initial bearing from the first point to the second, in
// [0, 360).
func bearingDeg(lat1, lon1, lat2, lon2 float64) float64 {
	p1, p2 := lat1*math.Pi/180, lat2*math.Pi/180
	dl := (lon2 - lon1) * math.Pi / 180
	y := math.Sin(dl) * math.Cos(p2)
	x := math.Cos(p1)*math.Sin(p2) - math.Sin(p1)*math.Cos(p2)*math.Cos(dl)
	return normDeg(math.Atan2(y, x) * 180 / math.Pi)
}

func normDeg(d float64) float64 {
	d = math.Mod(d, 360)
	if d < 0 {
		d += 360
	}
	return d
}
