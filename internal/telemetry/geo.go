package telemetry

import "math"

// earthRadiusKm is the mean Earth radius (IUGG), what haversine assumes.
const earthRadiusKm = 6371.0088

// HaversineKm is the great-circle distance between two WGS 84 points.
// Its error against the ellipsoid is under 0.5 %, far below GPS noise for
// geofences and well inside what mileage needs.
func HaversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}

// DistanceToLineM is the distance in metres from a point to the nearest
// segment of line ([lon, lat] pairs, GeoJSON order). It projects onto a
// local equirectangular plane around the point, accurate to well under a
// percent within the few kilometres that route deviation looks at.
func DistanceToLineM(lat, lon float64, line [][2]float64) float64 {
	d, _ := nearestSegment(lat, lon, line, 1, len(line))
	return d
}

// nearestSegment is DistanceToLineM over the segments ending at line[lo:hi],
// also returning the end index of the nearest one.
func nearestSegment(lat, lon float64, line [][2]float64, lo, hi int) (float64, int) {
	const rad = math.Pi / 180
	kx := math.Cos(lat*rad) * earthRadiusKm * 1000 * rad // metres per degree of longitude here
	ky := earthRadiusKm * 1000 * rad                     // metres per degree of latitude
	best, at := math.Inf(1), lo
	for i := max(lo, 1); i < min(hi, len(line)); i++ {
		ax, ay := (line[i-1][0]-lon)*kx, (line[i-1][1]-lat)*ky
		bx, by := (line[i][0]-lon)*kx, (line[i][1]-lat)*ky
		// Nearest point of segment a-b to the origin (the position).
		dx, dy := bx-ax, by-ay
		t := 0.0
		if l2 := dx*dx + dy*dy; l2 > 0 {
			t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l2))
		}
		px, py := ax+t*dx, ay+t*dy
		if d := px*px + py*py; d < best {
			best, at = d, i
		}
	}
	return math.Sqrt(best), at
}
