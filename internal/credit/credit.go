package credit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/crossdockhq/crossdock/internal/connector"
)

// Answer is a customer's credit as the hub answers it.
type Answer struct {
	connector.Credit
	// Source is the connector that answered.
	Source string
	// AsOf is when the ERP gave this answer.
	AsOf time.Time
	// Stale: the ERP could not answer now; this is the last known answer.
	Stale bool
	// Why says why a stale answer is stale.
	Why string
}

// ErrUnavailable: the ERP could not answer and no earlier answer is kept.
var ErrUnavailable = errors.New("credit: the ERP cannot answer and no earlier answer is known")

// Options configure a Cache.
type Options struct {
	Source string                 // the connector's name
	Lookup connector.CreditLooker // the ERP
	// Fresh is how long an answer is served without asking again;
	// default 60s.
	Fresh time.Duration
	// Keep bounds how long a last known answer may stand in for the ERP;
	// default 24h.
	Keep time.Duration
	// MaxEntries bounds the customers kept; default 10000.
	MaxEntries int
	Now        func() time.Time
}

// Cache looks credit up through one ERP connector.
type Cache struct {
	opt    Options
	flight singleflight.Group
	mu     sync.Mutex
	last   map[string]Answer
}

// New returns a cache over o.Lookup.
func New(o Options) *Cache {
	if o.Fresh <= 0 {
		o.Fresh = time.Minute
	}
	if o.Keep <= 0 {
		o.Keep = 24 * time.Hour
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 10000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Cache{opt: o, last: map[string]Answer{}}
}

// Get answers customerID's credit: cached while fresh, else from the ERP,
// else the last known answer marked stale. connector.ErrUnknownCustomer
// when the ERP has no such customer; ErrUnavailable when it cannot answer
// and nothing is known.
func (c *Cache) Get(ctx context.Context, customerID string) (Answer, error) {
	now := c.opt.Now()
	c.mu.Lock()
	prev, known := c.last[customerID]
	c.mu.Unlock()
	if known && now.Sub(prev.AsOf) < c.opt.Fresh {
		return prev, nil
	}
	v, err, _ := c.flight.Do(customerID, func() (any, error) {
		cr, err := c.opt.Lookup.Credit(ctx, customerID)
		if err != nil {
			return nil, err
		}
		a := Answer{Credit: cr, Source: c.opt.Source, AsOf: c.opt.Now()}
		c.put(customerID, a)
		return a, nil
	})
	switch {
	case err == nil:
		return v.(Answer), nil
	case errors.Is(err, connector.ErrUnknownCustomer):
		c.mu.Lock()
		delete(c.last, customerID)
		c.mu.Unlock()
		return Answer{}, err
	case known && now.Sub(prev.AsOf) < c.opt.Keep:
		prev.Stale, prev.Why = true, err.Error()
		return prev, nil
	}
	return Answer{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// put keeps a, evicting the oldest answer when full.
func (c *Cache) put(customerID string, a Answer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.last[customerID]; !ok && len(c.last) >= c.opt.MaxEntries {
		var oldest string
		for id, e := range c.last {
			if oldest == "" || e.AsOf.Before(c.last[oldest].AsOf) {
				oldest = id
			}
		}
		delete(c.last, oldest)
	}
	c.last[customerID] = a
}
