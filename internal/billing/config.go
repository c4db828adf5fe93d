package billing

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Config is the billing block of the configuration file. Its yaml tags
// follow the contract, so the block decodes into it directly.
type Config struct {
	Currency  string     `json:"currency" yaml:"currency"`     // ISO 4217, three capital letters: EUR
	TaxRate   string     `json:"tax_rate" yaml:"tax_rate"`     // a fraction: "0.10" is 10 %
	RateCards []RateCard `json:"rate_cards" yaml:"rate_cards"` // at least one; customer ids unique
}

// RateCard prices the shipments of one customer, or of every customer
// without a card of its own (CustomerID "*"). Prices are decimal text in
// Config.Currency; an empty price is zero.
type RateCard struct {
	CustomerID       string `json:"customer_id" yaml:"customer_id"`                                   // "*" or one customer id
	PerKm            string `json:"per_km,omitempty" yaml:"per_km,omitempty"`                         // per km driven
	PerStop          string `json:"per_stop,omitempty" yaml:"per_stop,omitempty"`                     // per stop
	Minimum          string `json:"minimum,omitempty" yaml:"minimum,omitempty"`                       // least linehaul (distance + stops)
	FuelSurchargePct string `json:"fuel_surcharge_pct,omitempty" yaml:"fuel_surcharge_pct,omitempty"` // percent of the linehaul: "8.5"
	// Accessorials maps each requestable service code (liftgate, …) to its
	// price, and holds the detention rule under two reserved keys, as the
	// contract's YAML does: detention_per_hour (a price) and
	// detention_free_minutes (a whole number of minutes).
	Accessorials map[string]string `json:"accessorials,omitempty" yaml:"accessorials"`
	// DetentionFreeMinutes is the free dwell per stop for Go callers that
	// keep it out of Accessorials; when both are set they must agree.
	DetentionFreeMinutes int `json:"detention_free_minutes,omitempty" yaml:"detention_free_minutes,omitempty"`
}

// Reserved Accessorials keys: the detention rule, not requestable services.
const (
	KeyDetentionPerHour     = "detention_per_hour"
	KeyDetentionFreeMinutes = "detention_free_minutes"
)

// AnyCustomer is the CustomerID of the card used for customers without a
// card of their own.
const AnyCustomer = "*"

// Limits of the values Compile accepts.
const (
	maxPriceDigits = 12        // integer digits of a price or percentage
	maxFreeMinutes = 1_000_000 // detention_free_minutes
)

// FieldError is one invalid configuration value. Field is the path under
// the billing block ("rate_cards[1].per_km").
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Engine rates shipments against compiled rate cards. It is immutable and
// safe for concurrent use.
type Engine struct {
	currency string
	taxRate  int64 // at taxScale
	cards    map[string]*card
}

// card is a RateCard with every value parsed.
type card struct {
	id           string
	perKm        int64 // at priceScale
	perStop      int64 // at priceScale
	minimum      int64 // cents
	fuelPct      int64 // at priceScale
	accessorials map[string]int64
	detention    bool  // whether the card prices detention
	perHour      int64 // at priceScale
	freeMinutes  int64
}

// Compile checks c and parses every value once. It reports every invalid
// value, each as a *FieldError naming the card and field:
//
//	rate_cards[1].per_km: "1,20" is not a decimal
func Compile(c Config) (*Engine, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	e := &Engine{currency: c.Currency, cards: make(map[string]*card, len(c.RateCards))}
	if !isCurrency(c.Currency) {
		bad("currency", "%q is not an ISO 4217 code such as EUR", c.Currency)
	}
	if c.TaxRate == "" {
		bad("tax_rate", "is required (\"0.10\" for 10 %%; \"0\" for none)")
	} else if v, why := parseFixed(c.TaxRate, taxScale, maxPriceDigits); why != "" {
		bad("tax_rate", "%q %s", c.TaxRate, why)
	} else if v > int64(pow10[taxScale]) {
		bad("tax_rate", "%q must be a fraction from 0 to 1 (\"0.10\" for 10 %%)", c.TaxRate)
	} else {
		e.taxRate = v
	}
	if len(c.RateCards) == 0 {
		bad("rate_cards", "at least one rate card is required")
	}
	first := make(map[string]int, len(c.RateCards))
	for i, rc := range c.RateCards {
		at := fmt.Sprintf("rate_cards[%d]", i)
		switch j, dup := first[rc.CustomerID]; {
		case strings.TrimSpace(rc.CustomerID) == "":
			bad(at+".customer_id", "is required (a customer id, or \"*\" for every other customer)")
		case dup:
			bad(at+".customer_id", "%q is also the customer of rate_cards[%d]", rc.CustomerID, j)
		default:
			first[rc.CustomerID] = i
		}
		k := &card{id: rc.CustomerID, accessorials: make(map[string]int64, len(rc.Accessorials))}
		price := func(field, s string) int64 {
			if s == "" {
				return 0
			}
			v, why := parseFixed(s, priceScale, maxPriceDigits)
			if why != "" {
				bad(at+"."+field, "%q %s", s, why)
			}
			return v
		}
		k.perKm = price("per_km", rc.PerKm)
		k.perStop = price("per_stop", rc.PerStop)
		k.minimum, _ = mulRound(price("minimum", rc.Minimum), 1, priceScale-centScale) // below 10^16: cannot overflow
		k.fuelPct = price("fuel_surcharge_pct", rc.FuelSurchargePct)
		k.freeMinutes = int64(rc.DetentionFreeMinutes)
		if rc.DetentionFreeMinutes < 0 || rc.DetentionFreeMinutes > maxFreeMinutes {
			bad(at+".detention_free_minutes", "%d must be from 0 to %d", rc.DetentionFreeMinutes, maxFreeMinutes)
		}
		codes := make([]string, 0, len(rc.Accessorials))
		for code := range rc.Accessorials {
			codes = append(codes, code)
		}
		slices.Sort(codes)
		for _, code := range codes {
			s, field := rc.Accessorials[code], at+".accessorials."+code
			switch {
			case code == KeyDetentionPerHour:
				k.detention = true
				if s == "" {
					bad(field, "is empty: give a price per hour")
				}
				k.perHour = price("accessorials."+code, s)
			case code == KeyDetentionFreeMinutes:
				n, err := strconv.Atoi(s)
				switch {
				case err != nil || n < 0 || n > maxFreeMinutes || !allDigits(s):
					bad(field, "%q is not a whole number of minutes from 0 to %d", s, maxFreeMinutes)
				case rc.DetentionFreeMinutes != 0 && n != rc.DetentionFreeMinutes:
					bad(field, "%q disagrees with detention_free_minutes %d", s, rc.DetentionFreeMinutes)
				default:
					k.freeMinutes = int64(n)
				}
			case !validCode(code):
				bad(field, "%q is not a service code: use letters, digits, '_', '-' or '.'", code)
			case slices.Contains(ruleCodes, code):
				bad(field, "%q is the code of a rule line; an accessorial needs another code", code)
			case s == "":
				bad(field, "is empty: give a price")
			default:
				k.accessorials[code] = price("accessorials."+code, s)
			}
		}
		e.cards[rc.CustomerID] = k
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

// ruleCodes are the line codes of the rules; no accessorial may use them.
var ruleCodes = []string{CodeDistance, CodeStop, CodeMinimum, CodeFuelSurcharge, CodeDetention}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// validCode reports whether code is a plausible service code: 1 to 64
// ASCII letters, digits, '_', '-' or '.'.
func validCode(code string) bool {
	if code == "" || len(code) > 64 {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
