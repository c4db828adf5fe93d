package shipment

import (
	"strings"
	"time"
)

// Stamp identifies the report behind a fact. Stamps are totally ordered by
// event time, then source, then id — an order that does not depend on when
// the reports arrived.
type Stamp struct {
	Time   time.Time `json:"time"`
	Source string    `json:"source"`
	ID     string    `json:"id"`
	// Rank is the source's precedence for stop facts (see Precedence):
	// higher wins over lower whatever the times; 0 for unranked sources.
	Rank int `json:"rank,omitempty"`
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

// outranks reports whether s's report of a stop fact wins over o's: the
// higher Rank wins, and between equal ranks the earlier stamp. Like Before
// it is a total order, so the winner never depends on arrival order.
func (s Stamp) outranks(o Stamp) bool {
	if s.Rank != o.Rank {
		return s.Rank > o.Rank
	}
	return s.Before(o)
}

// best is earliest for stop facts: the outranking report is kept.
func best(cur *Stamp, s Stamp) (*Stamp, bool) {
	if cur != nil && !s.outranks(*cur) {
		return cur, false
	}
	return &s, true
}

// Precedence ranks sources for stop facts, most trusted first. An entry
// matches a source equal to it or under it (entry + "/").
type Precedence []string

// Rank is len(p) for the first entry, down to 1 for the last, 0 for
// sources no entry matches.
func (p Precedence) Rank(source string) int {
	for i, e := range p {
		if source == e || strings.HasPrefix(source, e+"/") {
			return len(p) - i
		}
	}
	return 0
}
