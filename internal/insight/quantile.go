package insight

import (
	"math"
	"slices"
	"time"
)

// Quantiles returns the qs quantiles (each 0..1) of ds by the nearest-rank
// method: the smallest value at least a fraction q of the values are not
// above. ds is not modified. With no values every quantile is 0; q is
// clamped to 0..1.
func Quantiles(ds []time.Duration, qs ...float64) []time.Duration {
	out := make([]time.Duration, len(qs))
	if len(ds) == 0 {
		return out
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	n := len(sorted)
	for i, q := range qs {
		rank := int(math.Ceil(min(max(q, 0), 1) * float64(n)))
		out[i] = sorted[min(max(rank, 1), n)-1]
	}
	return out
}
