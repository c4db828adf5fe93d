package sim

import "math"

// point is a WGS 84 position in degrees.
type point struct{ lat, lon float64 }

const earthRadiusKm = 6371.0

func rad(deg float64) float64 { return deg * math.Pi / 180 }

// distanceKm is the great-circle distance between a and b (haversine).
func distanceKm(a, b point) float64 {
	p1, p2 := rad(a.lat), rad(b.lat)
	dp, dl := p2-p1, rad(b.lon-a.lon)
	h := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(h)))
}

// bearingDeg is the initial bearing from a to b in degrees clockwise from
// north, in [0, 360).
func bearingDeg(a, b point) float64 {
	p1, p2 := rad(a.lat), rad(b.lat)
	dl := rad(b.lon - a.lon)
	y := math.Sin(dl) * math.Cos(p2)
	x := math.Cos(p1)*math.Sin(p2) - math.Sin(p1)*math.Cos(p2)*math.Cos(dl)
	d := math.Mod(math.Atan2(y, x)*180/math.Pi, 360)
	if d < 0 {
		d += 360
	}
	return d
}

// offsetKm moves km from p along bearing (degrees from north): an
// equirectangular step, accurate to metres over the few hundred
// kilometres the simulation uses it for.
func offsetKm(p point, km, bearing float64) point {
	b := rad(bearing)
	return point{
		lat: p.lat + km*math.Cos(b)/111.195,
		lon: p.lon + km*math.Sin(b)/(111.195*math.Cos(rad(p.lat))),
	}
}

// lerp is the point the fraction f of the way from a to b (linear in
// degrees, which over one leg of a drive is a straight road to within
// metres).
func lerp(a, b point, f float64) point {
	return point{lat: a.lat + (b.lat-a.lat)*f, lon: a.lon + (b.lon-a.lon)*f}
}

// round6 rounds a coordinate to six decimals (about 0.1 m).
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// round1 rounds to one decimal.
func round1(v float64) float64 { return math.Round(v*10) / 10 }
