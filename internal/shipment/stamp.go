package shipment

import "time"

// Stamp identifies the report behind a fact. Stamps are totally ordered by
// event time, then source, then id — an order that does not depend on when
// the reports arrived.
type Stamp struct {
	Time   time.Time `json:"time"`
	Source string    `json:"source"`
	ID     string    `json:"id"`
}

// Before reports whether s sorts before o.
func (s Stamp) Before(o Stamp) bool {
	if !s.Time.Equal(o.Time) {
		return s.Time.Before(o.Time)
	}
	if s.Source != o.Source {
		return s.Source < o.Source
	}
	return s.ID < o.ID
}

// earliest returns the stamp pointer to keep when cur is the stored fact and
// s a new report of the same fact, and whether it changed.
func earliest(cur *Stamp, s Stamp) (*Stamp, bool) {
	if cur != nil && !s.Before(*cur) {
		return cur, false
	}
	return &s, true
}
