package pipeline

import (
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/vehicle"
)

// stateCache keeps the decoded states of recently written shipments and
// vehicles so the writer does not read and decode them again. It is only
// correct when this pipeline is the store's single writer (SQLite); states
// enter after their batch committed and every state a failed batch touched
// is evicted, because the batch mutated it in place.
type stateCache struct {
	max       int
	shipments map[string]*shipment.State
	vehicles  map[string]*vehicle.State
	devices   map[string]string // device id → vehicle id, as committed
}

func newStateCache(max int) *stateCache {
	if max <= 0 {
		return nil
	}
	return &stateCache{max: max, shipments: make(map[string]*shipment.State), vehicles: make(map[string]*vehicle.State),
		devices: make(map[string]string)}
}

// device returns the cached vehicle of a device; a nil cache has none.
func (c *stateCache) device(id string) (string, bool) {
	if c == nil {
		return "", false
	}
	v, ok := c.devices[id]
	return v, ok
}

// setDevice caches a committed device registration.
func (c *stateCache) setDevice(id, vehicleID string) {
	if c == nil {
		return
	}
	c.devices[id] = vehicleID
	shrink(c.devices, 4*c.max)
}

// forgetDevice drops a device whose registration changed.
func (c *stateCache) forgetDevice(id string) {
	if c != nil {
		delete(c.devices, id)
	}
}

// keep stores a committed batch's states, making room first if needed.
func (c *stateCache) keep(bs *batchState) {
	if c == nil {
		return
	}
	for id, st := range bs.shipments {
		c.shipments[id] = st
	}
	for id, st := range bs.vehicles {
		c.vehicles[id] = st
	}
	shrink(c.shipments, c.max)
	shrink(c.vehicles, c.max)
}

// forget evicts every state a failed batch touched.
func (c *stateCache) forget(bs *batchState) {
	if c == nil || bs == nil {
		return
	}
	for id := range bs.shipments {
		delete(c.shipments, id)
	}
	for id := range bs.vehicles {
		delete(c.vehicles, id)
	}
}

// shrink drops arbitrary entries (Go's map order) down to 90% of max: cheap,
// and good enough for a working set of active shipments.
func shrink[V any](m map[string]V, max int) {
	if len(m) <= max {
		return
	}
	for k := range m {
		delete(m, k)
		if len(m) <= max*9/10 {
			return
		}
	}
}
