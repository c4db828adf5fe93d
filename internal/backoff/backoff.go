package backoff

import (
	"math/rand/v2"
	"time"
)

// Exp is the delay before attempt n+1 after n attempts: base doubled n−1
// times, at most limit (base for n ≤ 1).
func Exp(n int, base, limit time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// Jitter spreads d by ±frac (0.2: 80 % to 120 % of d).
func Jitter(d time.Duration, frac float64) time.Duration {
	return time.Duration(float64(d) * (1 - frac + 2*frac*rand.Float64()))
}
