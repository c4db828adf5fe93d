package billing

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Line codes of the rules; an accessorial line carries the service's own
// code (liftgate, …).
const (
	CodeDistance      = "distance"
	CodeStop          = "stop"
	CodeMinimum       = "minimum"
	CodeFuelSurcharge = "fuel_surcharge"
	CodeDetention     = "detention"
)

// Stop types.
const (
	StopPickup   = "pickup"
	StopDelivery = "delivery"
)

// Limits of the measurements Rate accepts.
const (
	maxKm           = 1_000_000 // distance_km, planned_km
	maxDwellMinutes = 1_000_000 // a stop's dwell_minutes
	maxStops        = 10_000
)

// Stop is what billing needs of one stop.
type Stop struct {
	ID           string   `json:"id"`
	Type         string   `json:"type"`                    // StopPickup or StopDelivery
	DwellMinutes *float64 `json:"dwell_minutes,omitempty"` // departed − arrived; nil until both are known
}

// Shipment is what billing needs of a shipment: who pays, how far it went,
// its stops in route order and the services it requested.
type Shipment struct {
	ID           string   `json:"id"`
	CustomerID   string   `json:"customer_id"`
	DistanceKm   float64  `json:"distance_km"`            // measured by telemetry; 0 if none
	PlannedKm    float64  `json:"planned_km,omitempty"`   // used when nothing was measured
	Stops        []Stop   `json:"stops"`                  // route order
	Accessorials []string `json:"accessorials,omitempty"` // requested service codes, in requested order
}

// Line is one invoice line. Quantity and UnitPrice are decimal text that may
// carry more than two places; Amount is Quantity × UnitPrice rounded half-up
// to cents, always with two places.
type Line struct {
	Code        string `json:"code"`
	Description string `json:"description"`
	Quantity    string `json:"quantity"`
	UnitPrice   string `json:"unit_price"`
	Amount      string `json:"amount"`
}

// Quote is the priced shipment: the invoice body without its identity and
// status. Lines sum to Subtotal; Tax is Subtotal × tax rate rounded half-up
// to cents; Total is Subtotal + Tax. Every amount has two decimal places.
type Quote struct {
	Currency string `json:"currency"`
	Card     string `json:"card"` // CustomerID of the card used: "*" or the customer's id
	Lines    []Line `json:"lines"`
	Subtotal string `json:"subtotal"`
	Tax      string `json:"tax"`
	Total    string `json:"total"`
}

// Rate prices s with the card for its customer, or the "*" card when the
// customer has none. It is a pure function of e and s: the same shipment
// always yields the same quote, byte for byte.
//
// Errors wrap ErrNoRateCard (no card applies), *UnpricedAccessorialError
// (a requested service has no price on the card) or ErrInvalidShipment;
// CaseCode maps the first two to the case the workflow opens.
func (e *Engine) Rate(s Shipment) (Quote, error) {
	q, err := e.rate(s)
	if err != nil {
		return Quote{}, fmt.Errorf("rate %s: %w", s.ID, err)
	}
	return q, nil
}

func (e *Engine) rate(s Shipment) (Quote, error) {
	c := e.cards[s.CustomerID]
	if c == nil {
		c = e.cards[AnyCustomer]
	}
	if c == nil {
		return Quote{}, fmt.Errorf("customer %q: %w", s.CustomerID, ErrNoRateCard)
	}
	if err := validate(s); err != nil {
		return Quote{}, err
	}
	requested := dedupe(s.Accessorials)
	var unpriced []string
	for _, code := range requested {
		if _, ok := c.accessorials[code]; !ok {
			unpriced = append(unpriced, code)
		}
	}
	if unpriced != nil {
		return Quote{}, &UnpricedAccessorialError{Card: c.id, Codes: unpriced}
	}

	b := builder{cur: e.currency, lines: make([]Line, 0, 5+len(requested))}
	linehaul, ok := add(b.distance(c, s), b.stops(c, s.Stops))
	b.overflow = b.overflow || !ok
	if linehaul < c.minimum {
		top := c.minimum - linehaul
		b.add(CodeMinimum, "Top-up of linehaul "+money(linehaul)+" "+b.cur+" to the minimum "+money(c.minimum)+" "+b.cur,
			"1", money(top), top)
		linehaul = c.minimum
	}
	b.fuel(c, linehaul)
	for _, code := range requested {
		p := c.accessorials[code]
		b.add(code, "Accessorial "+code, "1", format(p, priceScale, centScale), b.mul(p, 1, priceScale-centScale))
	}
	b.detention(c, s.Stops)

	tax := b.mul(b.sum, e.taxRate, taxScale)
	total, ok := add(b.sum, tax)
	if !ok || b.overflow {
		return Quote{}, fmt.Errorf("%w: amounts beyond exact range", ErrInvalidShipment)
	}
	return Quote{
		Currency: e.currency, Card: c.id, Lines: b.lines,
		Subtotal: money(b.sum), Tax: money(tax), Total: money(total),
	}, nil
}

func validate(s Shipment) error {
	if !validMeasure(s.DistanceKm, maxKm) {
		return fmt.Errorf("%w: distance_km %v must be from 0 to %d", ErrInvalidShipment, s.DistanceKm, maxKm)
	}
	if !validMeasure(s.PlannedKm, maxKm) {
		return fmt.Errorf("%w: planned_km %v must be from 0 to %d", ErrInvalidShipment, s.PlannedKm, maxKm)
	}
	if len(s.Stops) > maxStops {
		return fmt.Errorf("%w: %d stops, at most %d", ErrInvalidShipment, len(s.Stops), maxStops)
	}
	for i, st := range s.Stops {
		if st.Type != StopPickup && st.Type != StopDelivery {
			return fmt.Errorf("%w: stops[%d].type %q is neither pickup nor delivery", ErrInvalidShipment, i, st.Type)
		}
		if d := st.DwellMinutes; d != nil && !validMeasure(*d, maxDwellMinutes) {
			return fmt.Errorf("%w: stops[%d].dwell_minutes %v must be from 0 to %d", ErrInvalidShipment, i, *d, maxDwellMinutes)
		}
	}
	return nil
}

// dedupe returns codes without repeats, each at its first position.
func dedupe(codes []string) []string {
	out := make([]string, 0, len(codes))
	for _, c := range codes {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// builder collects lines and their sum; overflow records any result that
// left the exact int64 range.
type builder struct {
	cur      string
	lines    []Line
	sum      int64 // cents
	overflow bool
}

func (b *builder) mul(x, y int64, shift int) int64 {
	v, ok := mulRound(x, y, shift)
	b.overflow = b.overflow || !ok
	return v
}

func (b *builder) add(code, desc, qty, unit string, cents int64) {
	b.lines = append(b.lines, Line{Code: code, Description: desc, Quantity: qty, UnitPrice: unit, Amount: money(cents)})
	sum, ok := add(b.sum, cents)
	b.sum, b.overflow = sum, b.overflow || !ok
}

// distance adds the distance line (measured km, else planned km, rounded
// half-up to 0.1 km) and returns its amount.
func (b *builder) distance(c *card, s Shipment) int64 {
	km, source := s.DistanceKm, "measured"
	if km <= 0 {
		km, source = s.PlannedKm, "planned"
	}
	tenths := roundFloat(km, kmScale)
	amount := b.mul(tenths, c.perKm, kmScale+priceScale-centScale)
	if amount > 0 {
		qty, unit := format(tenths, kmScale, kmScale), format(c.perKm, priceScale, centScale)
		b.add(CodeDistance, qty+" km "+source+" × "+unit+" "+b.cur+"/km", qty, unit, amount)
	}
	return amount
}

// stops adds the stop line (every stop of the route) and returns its amount.
func (b *builder) stops(c *card, stops []Stop) int64 {
	n := int64(len(stops))
	amount := b.mul(n, c.perStop, priceScale-centScale)
	if amount == 0 {
		return 0
	}
	var pickups, deliveries int
	for _, st := range stops {
		if st.Type == StopPickup {
			pickups++
		} else {
			deliveries++
		}
	}
	var kinds []string
	if pickups > 0 {
		kinds = append(kinds, plural(pickups, "pickup", "pickups"))
	}
	if deliveries > 0 {
		kinds = append(kinds, plural(deliveries, "delivery", "deliveries"))
	}
	qty, unit := strconv.FormatInt(n, 10), format(c.perStop, priceScale, centScale)
	b.add(CodeStop, plural(int(n), "stop", "stops")+" ("+strings.Join(kinds, ", ")+") × "+unit+" "+b.cur+"/stop",
		qty, unit, amount)
	return amount
}

// fuel adds the fuel surcharge: the card's percentage of the linehaul
// (distance + stops + minimum top-up). Quantity is the percentage and the
// unit price one percent of the linehaul, so quantity × unit price is the
// amount before rounding, as on every line.
func (b *builder) fuel(c *card, linehaul int64) {
	amount := b.mul(c.fuelPct, linehaul, priceScale+priceScale-centScale)
	if amount == 0 {
		return
	}
	pct := format(c.fuelPct, priceScale, 0)
	b.add(CodeFuelSurcharge, "Fuel surcharge "+pct+"% of linehaul "+money(linehaul)+" "+b.cur,
		pct, format(linehaul, priceScale, centScale), amount)
}

// detention adds one detention line for every stop whose measured dwell
// exceeds the card's free minutes: per stop, the excess is rounded half-up
// to the nearest quarter hour (7.5 minutes and more count as a quarter),
// and the line's quantity is the sum of those hours.
func (b *builder) detention(c *card, stops []Stop) {
	if !c.detention {
		return
	}
	const quarter = 15 * 10 // tenths of a minute
	var quarters int64
	var parts []string
	for _, st := range stops {
		if st.DwellMinutes == nil {
			continue
		}
		beyond := roundFloat(*st.DwellMinutes, dwellScale) - c.freeMinutes*10
		if beyond <= 0 {
			continue
		}
		q := (beyond + quarter/2) / quarter
		if q == 0 {
			continue
		}
		quarters += q
		parts = append(parts, st.ID+": "+format(beyond, dwellScale, 0)+" min beyond "+
			strconv.FormatInt(c.freeMinutes, 10)+" free ("+format(q*25, hourScale, hourScale)+" h)")
	}
	hours := quarters * 25 // at hourScale
	amount := b.mul(hours, c.perHour, hourScale+priceScale-centScale)
	if amount == 0 {
		return
	}
	unit := format(c.perHour, priceScale, centScale)
	b.add(CodeDetention, "Detention "+strings.Join(parts, "; ")+" × "+unit+" "+b.cur+"/h",
		format(hours, hourScale, hourScale), unit, amount)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
