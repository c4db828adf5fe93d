package billing

import (
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

var twoPlaces = regexp.MustCompile(`^(0|[1-9][0-9]*)\.[0-9]{2}$`)

// rat parses decimal text exactly.
func rat(t testing.TB, s string) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("%q is not a decimal", s)
	}
	return r
}

// roundCents rounds a non-negative r half-up to cents, as text with two places.
func roundCents(r *big.Rat) string {
	x := new(big.Rat).Mul(r, big.NewRat(100, 1))
	x.Add(x, big.NewRat(1, 2))
	cents := new(big.Int).Quo(x.Num(), x.Denom())
	return new(big.Rat).SetFrac(cents, big.NewInt(100)).FloatString(2)
}

// checkQuote checks, with math/big and independently of the engine's
// arithmetic, every invariant a quote must keep: two-place amounts, each
// amount = quantity × unit price rounded half-up, lines in rule order with
// unique codes, lines summing to the subtotal, tax = subtotal × rate
// rounded half-up, total = subtotal + tax.
func checkQuote(t testing.TB, taxRate string, q Quote) {
	t.Helper()
	sum := new(big.Rat)
	rank := map[string]int{CodeDistance: 0, CodeStop: 1, CodeMinimum: 2, CodeFuelSurcharge: 3, CodeDetention: 5}
	last := -1
	var codes []string
	for i, l := range q.Lines {
		if !twoPlaces.MatchString(l.Amount) {
			t.Errorf("lines[%d].amount %q has not exactly two places", i, l.Amount)
			continue
		}
		if want := roundCents(new(big.Rat).Mul(rat(t, l.Quantity), rat(t, l.UnitPrice))); want != l.Amount {
			t.Errorf("lines[%d] %s: %s × %s = %s, amount says %s", i, l.Code, l.Quantity, l.UnitPrice, want, l.Amount)
		}
		r, ok := rank[l.Code]
		if !ok {
			r = 4 // an accessorial
		}
		if r < last {
			t.Errorf("lines[%d] %s out of order", i, l.Code)
		}
		last = r
		if slices.Contains(codes, l.Code) {
			t.Errorf("lines[%d]: code %s repeated", i, l.Code)
		}
		codes = append(codes, l.Code)
		if l.Description == "" {
			t.Errorf("lines[%d] %s has no description", i, l.Code)
		}
		sum.Add(sum, rat(t, l.Amount))
	}
	for name, v := range map[string]string{"subtotal": q.Subtotal, "tax": q.Tax, "total": q.Total} {
		if !twoPlaces.MatchString(v) {
			t.Fatalf("%s %q has not exactly two places", name, v)
		}
	}
	if got := sum.FloatString(2); got != q.Subtotal {
		t.Errorf("lines sum to %s, subtotal says %s", got, q.Subtotal)
	}
	if want := roundCents(new(big.Rat).Mul(rat(t, q.Subtotal), rat(t, taxRate))); want != q.Tax {
		t.Errorf("tax of %s at %s is %s, quote says %s", q.Subtotal, taxRate, want, q.Tax)
	}
	if want := new(big.Rat).Add(rat(t, q.Subtotal), rat(t, q.Tax)).FloatString(2); want != q.Total {
		t.Errorf("total %s + %s is %s, quote says %s", q.Subtotal, q.Tax, want, q.Total)
	}
}

// randDecimal returns decimal text below 10^intDigits with up to places
// decimal places, sometimes with trailing zeros.
func randDecimal(r *rand.Rand, intDigits, places int) string {
	s := strconv.FormatInt(r.Int64N(int64(pow10[intDigits])), 10)
	if n := r.IntN(places + 1); n > 0 {
		s += fmt.Sprintf(".%0*d", n, r.Int64N(int64(pow10[n])))
	}
	return s
}

func randMeasure(r *rand.Rand, limit float64) float64 {
	switch r.IntN(4) {
	case 0:
		return 0
	case 1:
		return float64(r.IntN(int(limit)))
	case 2:
		return float64(r.IntN(int(limit)*10)) / 10 // one place, as the shipment view keeps dwell
	}
	return r.Float64() * limit
}

func randCase(r *rand.Rand) (Config, Shipment) {
	codes := []string{"liftgate", "inside_delivery", "hazmat", "appointment", "tail_lift"}
	c := Config{Currency: "EUR", TaxRate: randDecimal(r, 0, 4), RateCards: []RateCard{{CustomerID: "*"}, {CustomerID: "CUST-1"}}}
	for i := range c.RateCards {
		rc := &c.RateCards[i]
		rc.PerKm, rc.PerStop = randDecimal(r, 2, 4), randDecimal(r, 4, 4)
		rc.Minimum, rc.FuelSurchargePct = randDecimal(r, 4, 2), randDecimal(r, 2, 3)
		rc.Accessorials = map[string]string{}
		for _, code := range codes[:r.IntN(len(codes)+1)] {
			rc.Accessorials[code] = randDecimal(r, 4, 4)
		}
		if r.IntN(3) > 0 {
			rc.Accessorials[KeyDetentionPerHour] = randDecimal(r, 3, 2)
			rc.DetentionFreeMinutes = r.IntN(240)
		}
	}
	s := Shipment{ID: "SHP-P", CustomerID: []string{"CUST-1", "CUST-2", ""}[r.IntN(3)],
		DistanceKm: randMeasure(r, 5000), PlannedKm: randMeasure(r, 5000)}
	for i := range r.IntN(8) {
		st := Stop{ID: fmt.Sprintf("S%d", i+1), Type: []string{StopPickup, StopDelivery}[r.IntN(2)]}
		if r.IntN(4) > 0 {
			d := randMeasure(r, 600)
			st.DwellMinutes = &d
		}
		s.Stops = append(s.Stops, st)
	}
	card := c.RateCards[0]
	if s.CustomerID == "CUST-1" {
		card = c.RateCards[1]
	}
	for code := range card.Accessorials {
		if code != KeyDetentionPerHour && r.IntN(2) == 0 {
			s.Accessorials = append(s.Accessorials, code)
		}
	}
	slices.Sort(s.Accessorials)
	r.Shuffle(len(s.Accessorials), func(i, j int) { s.Accessorials[i], s.Accessorials[j] = s.Accessorials[j], s.Accessorials[i] })
	return c, s
}

func TestRateProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		c, s := randCase(r)
		e, err := Compile(c)
		if err != nil {
			t.Fatalf("case %d: compile: %v", i, err)
		}
		q, err := e.Rate(s)
		if err != nil {
			t.Fatalf("case %d: rate %+v: %v", i, s, err)
		}
		checkQuote(t, c.TaxRate, q)
		checkRules(t, c, s, q)
		again, err := e.Rate(s)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(q)
		b, _ := json.Marshal(again)
		if string(a) != string(b) {
			t.Fatalf("case %d: Rate is not deterministic:\n%s\n%s", i, a, b)
		}
		if t.Failed() {
			t.Fatalf("case %d: config %+v shipment %+v quote %s", i, c, s, a)
		}
	}
}

// checkRules checks the rule-specific facts of q with math/big: the card
// chosen, the distance quantity, the minimum and the fuel base.
func checkRules(t *testing.T, c Config, s Shipment, q Quote) {
	t.Helper()
	card := c.RateCards[0]
	if s.CustomerID == "CUST-1" {
		card = c.RateCards[1]
	}
	if q.Card != card.CustomerID {
		t.Errorf("card %q used, want %q", q.Card, card.CustomerID)
	}
	linehaul := new(big.Rat)
	for _, l := range q.Lines {
		switch l.Code {
		case CodeDistance:
			km := s.DistanceKm
			if km == 0 {
				km = s.PlannedKm
			}
			x := new(big.Rat).Mul(rat(t, strconv.FormatFloat(km, 'f', -1, 64)), big.NewRat(10, 1))
			x.Add(x, big.NewRat(1, 2))
			tenths := new(big.Int).Quo(x.Num(), x.Denom())
			if want := new(big.Rat).SetFrac(tenths, big.NewInt(10)).FloatString(1); want != l.Quantity {
				t.Errorf("distance quantity %s, want %s", l.Quantity, want)
			}
			linehaul.Add(linehaul, rat(t, l.Amount))
		case CodeStop:
			if l.Quantity != strconv.Itoa(len(s.Stops)) {
				t.Errorf("stop quantity %s, want %d", l.Quantity, len(s.Stops))
			}
			linehaul.Add(linehaul, rat(t, l.Amount))
		case CodeMinimum:
			linehaul.Add(linehaul, rat(t, l.Amount))
			if linehaul.FloatString(2) != roundCents(rat(t, card.Minimum)) {
				t.Errorf("minimum tops the linehaul up to %s, card minimum is %s", linehaul.FloatString(2), card.Minimum)
			}
		case CodeFuelSurcharge:
			if rat(t, l.Quantity).Cmp(rat(t, card.FuelSurchargePct)) != 0 {
				t.Errorf("fuel quantity %s, card says %s %%", l.Quantity, card.FuelSurchargePct)
			}
			if base := new(big.Rat).Quo(linehaul, big.NewRat(100, 1)); base.Cmp(rat(t, l.UnitPrice)) != 0 {
				t.Errorf("fuel unit price %s, want 1 %% of linehaul %s", l.UnitPrice, linehaul.FloatString(2))
			}
		case CodeDetention:
			if _, ok := card.Accessorials[KeyDetentionPerHour]; !ok {
				t.Errorf("detention billed on a card without detention_per_hour")
			}
		default:
			if !slices.Contains(s.Accessorials, l.Code) {
				t.Errorf("line %s was not requested", l.Code)
			}
		}
	}
	if rat(t, card.Minimum).Sign() > 0 && linehaul.Cmp(rat(t, roundCents(rat(t, card.Minimum)))) < 0 {
		t.Errorf("linehaul %s below the minimum %s", linehaul.FloatString(2), card.Minimum)
	}
}
