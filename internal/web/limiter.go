package web

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// clientLimits are token buckets per client address, bounded in number:
// when the table is full it starts over, which at worst forgives some
// clients early.
type clientLimits struct {
	every time.Duration
	burst int
	max   int

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func newClientLimits(every time.Duration, burst, max int) *clientLimits {
	return &clientLimits{every: every, burst: burst, max: max, m: map[string]*rate.Limiter{}}
}

func (c *clientLimits) limiter(addr string) *rate.Limiter {
	l := c.m[addr]
	if l == nil {
		if len(c.m) >= c.max {
			clear(c.m)
		}
		l = rate.NewLimiter(rate.Every(c.every), c.burst)
		c.m[addr] = l
	}
	return l
}

// allow spends one token of addr's bucket if it has one.
func (c *clientLimits) allow(addr string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limiter(addr).AllowN(now, 1)
}

// has reports whether addr's bucket holds a token, without spending it.
func (c *clientLimits) has(addr string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.m[addr]; l != nil {
		return l.TokensAt(now) >= 1
	}
	return true
}

// spend takes one token of addr's bucket (a failed login).
func (c *clientLimits) spend(addr string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limiter(addr).AllowN(now, 1)
}

// clientAddr is the request's remote address without the port.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
