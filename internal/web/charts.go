package web

import (
	"math"
	"strconv"
	"time"

	"github.com/crossdockhq/crossdock/internal/api"
	"github.com/crossdockhq/crossdock/internal/billing"
	"github.com/crossdockhq/crossdock/internal/shipment"
)

// Charts are drawn server-side as SVG: coordinates computed here, shapes
// written by the templates. Nothing is fetched at run time.

// bar is one row of a horizontal bar chart, width in a 0..200 box.
type bar struct {
	Label string
	Count int64
	Width float64
	Class string
}

// statusBars orders shipment counts along the lifecycle.
func statusBars(counts map[string]int64) []bar {
	var top int64 = 1
	for _, n := range counts {
		top = max(top, n)
	}
	var out []bar
	for _, st := range shipment.Statuses() {
		n := counts[st]
		out = append(out, bar{Label: st, Count: n, Width: math.Round(float64(n)/float64(top)*2000) / 10, Class: "s-" + st})
	}
	return out
}

// fleetMap is the vehicles' last positions in a 640×360 box.
type fleetMap struct {
	Pins []pin
	// Lat/lon of the box's corners, for the caption.
	North, South, East, West string
}

type pin struct {
	X, Y       float64
	ID         string
	ShipmentID string
	Moving     bool
	Label      string
	// LabelLeft puts the name left of a pin near the right edge, where
	// it would otherwise be cut off.
	LabelLeft bool
}

const mapW, mapH, mapPad = 640.0, 360.0, 24.0

// drawFleet projects positions equirectangularly (longitude scaled by the
// cosine of the mean latitude) into the box; nil without positions.
func drawFleet(vs []api.VehiclePin) *fleetMap {
	if len(vs) == 0 {
		return nil
	}
	var latSum float64
	for _, v := range vs {
		latSum += v.Lat
	}
	k := math.Cos(latSum / float64(len(vs)) * math.Pi / 180)
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, v := range vs {
		x, y := v.Lon*k, -v.Lat
		minX, maxX, minY, maxY = math.Min(minX, x), math.Max(maxX, x), math.Min(minY, y), math.Max(maxY, y)
	}
	spanX, spanY := math.Max(maxX-minX, 0.05), math.Max(maxY-minY, 0.05)
	scale := math.Min((mapW-2*mapPad)/spanX, (mapH-2*mapPad)/spanY)
	offX := (mapW - (maxX-minX)*scale) / 2
	offY := (mapH - (maxY-minY)*scale) / 2
	m := &fleetMap{North: deg(-minY), South: deg(-maxY), West: deg(minX / k), East: deg(maxX / k)}
	for _, v := range vs {
		p := pin{X: round1(offX + (v.Lon*k-minX)*scale), Y: round1(offY + (-v.Lat-minY)*scale), ID: v.ID, Label: v.ID}
		p.LabelLeft = p.X > mapW-mapPad-48
		if v.SpeedKph != nil && *v.SpeedKph > 3 {
			p.Moving = true
			p.Label += " · " + strconv.Itoa(int(math.Round(*v.SpeedKph))) + " km/h"
		}
		if v.ShipmentID != nil {
			p.ShipmentID = *v.ShipmentID
			p.Label += " · " + *v.ShipmentID
		}
		m.Pins = append(m.Pins, p)
	}
	return m
}

// columnChart is invoiced amounts per day in a 640×200 box, in the
// currency with the most revenue.
type columnChart struct {
	Currency string
	Max      string
	Columns  []column
}

type column struct {
	X, Y, W, H float64
	Day        string
	Amount     string
	Count      int64
}

// drawRevenue draws the last 30 days ending at now, one column per day.
func drawRevenue(days []api.DayRevenue, now time.Time) *columnChart {
	byCur := map[string]int64{}
	for _, d := range days {
		byCur[d.Currency] += parseCents(d.Amount)
	}
	cur, best := "", int64(-1)
	for c, n := range byCur {
		if n > best || n == best && c < cur {
			cur, best = c, n
		}
	}
	if cur == "" {
		return nil
	}
	const n, h, w = 30, 200.0, 640.0
	amounts := map[string]api.DayRevenue{}
	var top int64 = 1
	for _, d := range days {
		if d.Currency == cur {
			amounts[d.Day] = d
			top = max(top, parseCents(d.Amount))
		}
	}
	ch := &columnChart{Currency: cur, Max: billing.FormatCents(top)}
	first := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(n - 1))
	cw := w / n
	for i := range n {
		day := first.AddDate(0, 0, i).Format(time.DateOnly)
		d := amounts[day]
		ht := math.Round(float64(parseCents(d.Amount))/float64(top)*(h-20)*10) / 10
		amt := d.Amount
		if amt == "" {
			amt = "0.00"
		}
		ch.Columns = append(ch.Columns, column{X: round1(float64(i)*cw + 2), Y: round1(h - ht), W: round1(cw - 4), H: ht, Day: day, Amount: amt, Count: d.Count})
	}
	return ch
}

// parseCents reads a two-place decimal amount; 0 when malformed.
func parseCents(s string) int64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return int64(math.Round(f * 100))
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

func deg(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) + "°" }
