package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/crossdockhq/crossdock/internal/billing"
)

// Billing is the contract's billing block plus when to rate. With no rate
// cards (the default) rating is off: delivered shipments stay delivered.
type Billing struct {
	Currency  string     `yaml:"currency"`             // ISO 4217; default EUR
	TaxRate   string     `yaml:"tax_rate"`             // a fraction: "0.10" is 10 %; default "0"
	RateCards []RateCard `yaml:"rate_cards,omitempty"` // none by default: rating off
	// RatingWait is how long after the last POD a shipment is rated when
	// no departure from its last stop is reported; default 2h.
	RatingWait Duration `yaml:"rating_wait"`
	// PODToleranceM is how far beyond a stop's geofence a POD may be taken
	// before it opens a pod_location_mismatch case; default 100.
	PODToleranceM float64 `yaml:"pod_tolerance_m"`
	// PODOverdue is how long after a delivery stop's arrival a missing POD
	// opens a pod_overdue case (operational, not blocking); default 4h.
	PODOverdue Duration `yaml:"pod_overdue"`
	// InvoicePrefix starts every invoice id (<prefix>-<year>-<number>);
	// default INV. Hubs posting to one ERP need distinct prefixes: the
	// ERP's connectors find an invoice by its id before creating it.
	InvoicePrefix string `yaml:"invoice_prefix"`
}

var invoicePrefixRE = regexp.MustCompile(`^[A-Z][A-Z0-9]{0,11}$`)

// RateCard prices one customer's shipments, or every customer's without a
// card of its own (customer_id "*"). See docs/billing.md.
type RateCard struct {
	CustomerID       string `yaml:"customer_id"`
	PerKm            string `yaml:"per_km"`
	PerStop          string `yaml:"per_stop"`
	Minimum          string `yaml:"minimum"`
	FuelSurchargePct string `yaml:"fuel_surcharge_pct"`
	// Accessorials prices requestable services by code (liftgate: "75.00")
	// and holds the detention rule: detention_per_hour (a price) and
	// detention_free_minutes (a whole number).
	Accessorials map[string]any `yaml:"accessorials"`
}

// Engine compiles the billing block; nil when no rate card is configured.
func (b Billing) Engine() (*billing.Engine, error) {
	if len(b.RateCards) == 0 {
		return nil, nil
	}
	c := billing.Config{Currency: b.Currency, TaxRate: b.TaxRate}
	for _, rc := range b.RateCards {
		acc := make(map[string]string, len(rc.Accessorials))
		for k, v := range rc.Accessorials {
			acc[k] = decimalText(v)
		}
		c.RateCards = append(c.RateCards, billing.RateCard{CustomerID: rc.CustomerID, PerKm: rc.PerKm, PerStop: rc.PerStop,
			Minimum: rc.Minimum, FuelSurchargePct: rc.FuelSurchargePct, Accessorials: acc})
	}
	return billing.Compile(c)
}

func (c Config) validateBilling(bad func(key, format string, args ...any)) {
	b := c.Billing
	if _, err := b.Engine(); err != nil {
		for _, e := range unjoin(err) {
			var fe *billing.FieldError
			if errors.As(e, &fe) {
				bad("billing."+fe.Field, "%s", fe.Message)
			} else {
				bad("billing", "%v", e)
			}
		}
	}
	if !invoicePrefixRE.MatchString(b.InvoicePrefix) {
		bad("billing.invoice_prefix", "must be 1 to 12 of A-Z 0-9 starting with a letter, got %q", b.InvoicePrefix)
	}
	if b.RatingWait.D() < time.Minute || b.RatingWait.D() > 30*24*time.Hour {
		bad("billing.rating_wait", "must be between 1m and 720h, got %s", short(b.RatingWait.D()))
	}
	if b.PODOverdue.D() < time.Minute || b.PODOverdue.D() > 30*24*time.Hour {
		bad("billing.pod_overdue", "must be between 1m and 720h, got %s", short(b.PODOverdue.D()))
	}
	if b.PODToleranceM < 0 || b.PODToleranceM > 10000 {
		bad("billing.pod_tolerance_m", "must be between 0 and 10000, got %g", b.PODToleranceM)
	}
}

// unjoin lists the errors joined in err (or err itself).
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// decimalText writes a YAML scalar as decimal text: an unquoted 1000000.00
// is 1000000, not 1e+06.
func decimalText(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}
