package edi

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/x12"
)

// Event types the connector turns into X12 documents.
const (
	typeInvoiceReady      = "invoice.ready"
	typeMilestone         = "shipment.milestone"
	typeStatusChanged     = "shipment.status_changed"
	typeDeliveryCompleted = "delivery.completed"
)

// document is one rendered interchange.
type document struct {
	set     string // "210" or "214"
	control int    // ISA13 and GS06
	body    []byte
}

// errUnsupported marks an event type the connector does not map.
var errUnsupported = errors.New("no X12 document for this event type")

// controlNumber derives the interchange control number from a delivery
// id: the first 8 bytes of its SHA-256 modulo 999,999,999, plus one.
func controlNumber(deliveryID string) int {
	h := sha256.Sum256([]byte(deliveryID))
	return int(binary.BigEndian.Uint64(h[:8])%999_999_999) + 1
}

// envelope is the interchange envelope of one delivery.
type envelope struct {
	senderQualifier, senderID     string
	receiverQualifier, receiverID string
	usage, scac                   string
	chargeCodes                   map[string]string
}

// render maps the event of d to one X12 interchange. The result is a
// function of d.ID, d.Event and the envelope only, so a repeat of a
// delivery renders the same bytes.
func (env envelope) render(d connector.Delivery) (document, error) {
	e := d.Event
	ctl := controlNumber(d.ID)
	xe := x12.Envelope{
		SenderQualifier: env.senderQualifier, SenderID: env.senderID,
		ReceiverQualifier: env.receiverQualifier, ReceiverID: env.receiverID,
		InterchangeControlNumber: ctl, GroupControlNumber: ctl, FirstSetControlNumber: 1,
		SCAC: env.scac, Date: e.Time.UTC(), Usage: env.usage,
	}
	shipment := e.ShipmentID
	if shipment == "" {
		shipment = e.Subject
	}
	var (
		body []byte
		set  string
		err  error
	)
	switch e.Type {
	case typeInvoiceReady:
		set = "210"
		var inv x12.Invoice
		if inv, err = env.invoice(e.Data, e.Time); err == nil {
			body, err = x12.Write210(xe, inv)
		}
	case typeMilestone, typeStatusChanged, typeDeliveryCompleted:
		set = "214"
		var st x12.Status
		if st, err = status(e.Type, e.Data); err == nil {
			st.ShipmentID, st.Time = shipment, e.Time
			if err = identifier("subject", shipment); err == nil {
				body, err = x12.Write214(xe, st)
			}
		}
	default:
		return document{}, fmt.Errorf("%s: %w", e.Type, errUnsupported)
	}
	if err != nil {
		return document{}, fmt.Errorf("%s %s to %s: %w", e.Type, e.ID, set, err)
	}
	return document{set: set, control: ctl, body: body}, nil
}

// invoiceData is the data of invoice.ready (see pipeline.Invoice).
type invoiceData struct {
	ID         string `json:"id"`
	ShipmentID string `json:"shipment_id"`
	CustomerID string `json:"customer_id"`
	Currency   string `json:"currency"`
	Lines      []struct {
		Code        string `json:"code"`
		Description string `json:"description"`
		Amount      string `json:"amount"`
	} `json:"lines"`
	Subtotal  string    `json:"subtotal"`
	Tax       string    `json:"tax"`
	Total     string    `json:"total"`
	CreatedAt time.Time `json:"created_at"`
}

// taxCode is the line code the tax line is looked up by in the charge
// code table.
const taxCode = "tax"

// invoice maps invoice.ready data to a 210: one L1 loop per line and one
// for the tax, so that B307 (the total) equals the sum of the L1s.
func (env envelope) invoice(data []byte, at time.Time) (x12.Invoice, error) {
	var d invoiceData
	if err := json.Unmarshal(data, &d); err != nil {
		return x12.Invoice{}, fmt.Errorf("data: %w", err)
	}
	for _, f := range []struct{ name, v string }{{"data.id", d.ID}, {"data.shipment_id", d.ShipmentID}, {"data.customer_id", d.CustomerID}} {
		if err := identifier(f.name, f.v); err != nil {
			return x12.Invoice{}, err
		}
	}
	if d.Currency != "" && !isCurrency(d.Currency) {
		return x12.Invoice{}, fmt.Errorf("data.currency %q: want an ISO 4217 code", d.Currency)
	}
	if len(d.Lines) == 0 {
		return x12.Invoice{}, errors.New("data.lines: none")
	}
	inv := x12.Invoice{Number: d.ID, ShipmentID: d.ShipmentID, CustomerID: d.CustomerID, Currency: d.Currency, Total: d.Total, Date: d.CreatedAt}
	if inv.Date.IsZero() {
		inv.Date = at
	}
	var sum int64
	for i, l := range d.Lines {
		c, err := cents(l.Amount)
		if err != nil {
			return x12.Invoice{}, fmt.Errorf("data.lines[%d].amount: %w", i, err)
		}
		sum += c
		desc := text(l.Description, maxDescription)
		if len(desc) < 2 {
			desc = text(l.Code, maxDescription)
		}
		if len(desc) < 2 { // L112 is 2 to 25 characters
			desc = ""
		}
		inv.Lines = append(inv.Lines, x12.InvoiceLine{Code: env.chargeCodes[l.Code], Description: desc, Amount: l.Amount})
	}
	subtotal, total := sum, sum
	if d.Subtotal != "" {
		c, err := cents(d.Subtotal)
		if err != nil {
			return x12.Invoice{}, fmt.Errorf("data.subtotal: %w", err)
		}
		if c != sum {
			return x12.Invoice{}, fmt.Errorf("data.subtotal %s does not match the sum of the lines %s", d.Subtotal, money(sum))
		}
	}
	if d.Tax != "" {
		tax, err := cents(d.Tax)
		if err != nil {
			return x12.Invoice{}, fmt.Errorf("data.tax: %w", err)
		}
		if tax != 0 {
			inv.Lines = append(inv.Lines, x12.InvoiceLine{Code: env.chargeCodes[taxCode], Description: "Tax", Amount: d.Tax})
		}
		total = subtotal + tax
	}
	got, err := cents(d.Total)
	if err != nil {
		return x12.Invoice{}, fmt.Errorf("data.total: %w", err)
	}
	if got != total {
		return x12.Invoice{}, fmt.Errorf("data.total %s does not match the lines and tax %s", d.Total, money(total))
	}
	return inv, nil
}

// statusData holds the members of the 214 source events.
type statusData struct {
	Code     string `json:"code"`    // shipment.milestone
	To       string `json:"to"`      // shipment.status_changed
	StopID   string `json:"stop_id"` // shipment.milestone, delivery.completed
	Reason   string `json:"reason"`
	Location *struct {
		Lat *float64 `json:"lat"`
		Lon *float64 `json:"lon"`
	} `json:"location"`
}

// milestones maps shipment.milestone codes to AT701 shipment status codes.
var milestones = map[string]string{
	"arrived":    "X1", // Arrived at Delivery Location
	"departed":   "AF", // Carrier Departed Pick-up Location with Shipment
	"in_transit": "X6", // En Route to Delivery Location
	"delayed":    "SD", // Shipment Delayed; AT702 from the reason
}

// statuses maps shipment.status_changed "to" statuses to AT701 codes.
var statuses = map[string]string{
	"in_transit": "X6", // En Route to Delivery Location
	"delivered":  "D1", // Completed Unloading at Delivery Location
	"cancelled":  "CA", // Shipment Cancelled
}

// validStatuses are the shipment statuses of the status model; those
// without a 214 status (released, planned, invoiced) send no document.
var validStatuses = map[string]bool{"released": true, "planned": true, "in_transit": true, "delivered": true, "invoiced": true, "cancelled": true}

// errNoStatus: a status change a trading partner has no 214 status for;
// nothing is due to it. The error is a *noStatusError.
var errNoStatus = errors.New("no 214 status")

type noStatusError struct{ status string }

func (e *noStatusError) Error() string        { return "no 214 status for " + e.status }
func (e *noStatusError) Is(target error) bool { return target == errNoStatus }

// status maps a milestone, status change or delivery to one 214 status
// (without shipment and time, which come from the event).
func status(typ string, data []byte) (x12.Status, error) {
	var d statusData
	if err := json.Unmarshal(data, &d); err != nil {
		return x12.Status{}, fmt.Errorf("data: %w", err)
	}
	var st x12.Status
	switch typ {
	case typeMilestone:
		code, ok := milestones[d.Code]
		if !ok {
			return x12.Status{}, fmt.Errorf("data.code %q: no AT7 status code for it", d.Code)
		}
		st.Code = code
		if code == "SD" {
			st.Reason = delayReason(d.Reason)
		}
	case typeStatusChanged:
		code, ok := statuses[d.To]
		if !ok && validStatuses[d.To] {
			return x12.Status{}, &noStatusError{d.To}
		}
		if !ok {
			return x12.Status{}, fmt.Errorf("data.to %q: no AT7 status code for it", d.To)
		}
		st.Code = code
		d.StopID, d.Location = "", nil
	case typeDeliveryCompleted:
		st.Code = "D1"
	}
	if d.StopID != "" {
		if err := identifier("data.stop_id", d.StopID); err != nil {
			return x12.Status{}, err
		}
		st.StopID = d.StopID
	}
	if d.Location != nil {
		if d.Location.Lat == nil || d.Location.Lon == nil {
			return x12.Status{}, errors.New("data.location: lat and lon are required")
		}
		st.Lat, st.Lon = d.Location.Lat, d.Location.Lon
	}
	return st, nil
}

// delayReasons are the AT702 shipment status reason codes (DE 1651) a
// delay reason is matched against: the code itself or its meaning.
var delayReasons = map[string]string{
	"A1": "missed delivery",
	"A2": "incorrect address",
	"A5": "unable to locate",
	"AD": "customer requested future delivery",
	"AF": "accident",
	"AG": "consignee related",
	"AH": "driver related",
	"AI": "mechanical breakdown",
	"AJ": "other carrier related",
	"AL": "previous stop",
	"AM": "shipper related",
	"AN": "holiday - closed",
	"AO": "weather or natural disaster related",
	"AQ": "recipient unavailable - delivery delayed",
	"AW": "past cut-off time",
	"AX": "insufficient pick-up time",
	"AY": "missed pick-up",
	"B1": "consignee closed",
	"BB": "held per shipper",
	"BC": "missing documents",
	"BD": "border clearance",
	"BE": "road conditions",
	"BG": "other",
	"BH": "insufficient time to complete delivery",
	"BS": "refused by customer",
}

// otherReason is AT702 BG, "Other": a delay whose reason has no code.
const otherReason = "BG"

// delayReason is the AT702 code of a delay reason: the reason itself when
// it is a code of delayReasons, the code whose meaning it is (optionally
// after "shipment delayed: ", as package x12 translates an SD), else BG.
func delayReason(reason string) string {
	r := strings.TrimSpace(reason)
	if _, ok := delayReasons[strings.ToUpper(r)]; ok {
		return strings.ToUpper(r)
	}
	r = strings.TrimPrefix(strings.ToLower(r), "shipment delayed: ")
	for code, meaning := range delayReasons {
		if r == meaning {
			return code
		}
	}
	return otherReason
}

// defaultChargeCodes are the X12 special charge codes (DE 150, L108) of
// the billing engine's line codes; option charge_codes adds to and
// overrides them. Lines whose code has none are sent without L108, with
// their description in L112.
var defaultChargeCodes = map[string]string{
	"distance":       "400", // Freight
	"fuel_surcharge": "405", // Fuel Surcharge
}

// maxDescription is the longest L112 (DE 276, special charge
// description) X12 allows.
const maxDescription = 25

// text makes free text X12-safe: printable ASCII without the delimiters,
// × as x, other characters dropped, runs of blanks as one, at most max
// bytes.
func text(s string, limit int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == '×':
			r = 'x'
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			space = b.Len() > 0
			continue
		case r < 0x21 || r > 0x7e || strings.ContainsRune(delimiters, r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	out := b.String()
	if len(out) > limit {
		out = strings.TrimRight(out[:limit], " ")
	}
	return out
}

// delimiters are those of x12.DefaultDelimiters, which the writers use.
const delimiters = "*>~"

// identifier checks an id written verbatim (invoice number, shipment,
// customer, stop): present, printable ASCII, no delimiter.
func identifier(name, v string) error {
	if v == "" {
		return fmt.Errorf("%s: required", name)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e || strings.IndexByte(delimiters, c) >= 0 {
			return fmt.Errorf("%s %q: X12 cannot carry %q", name, v, c)
		}
	}
	return nil
}

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

// cents reads a decimal string with at most two decimals as cents.
func cents(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	whole, frac, dot := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if !digits(whole, 1, 10) || (dot && !digits(frac, 1, 2)) {
		return 0, fmt.Errorf("%q: want a decimal with at most two decimals", s)
	}
	frac += strings.Repeat("0", 2-len(frac))
	c, _ := strconv.ParseInt(whole+frac, 10, 64)
	if neg {
		c = -c
	}
	return c, nil
}

func digits(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// money formats cents as a decimal string.
func money(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}
