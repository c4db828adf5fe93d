package x12

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// DefaultDelimiters are used by the writers when Envelope.Delimiters is
// the zero value. Version 00401 has no repetition separator (ISA11 is U).
var DefaultDelimiters = Delimiters{Element: '*', Component: '>', Segment: '~'}

// Envelope is the ISA/GS envelope of an outbound interchange. The writers
// use X12 version 004010 (ISA12 00401), so Delimiters.Repetition is not
// written.
type Envelope struct {
	SenderQualifier, SenderID     string     // ISA05, ISA06 (at most 15 characters)
	ReceiverQualifier, ReceiverID string     // ISA07, ISA08
	GroupSenderID                 string     // GS02; "" means SenderID
	GroupReceiverID               string     // GS03; "" means ReceiverID
	InterchangeControlNumber      int        // ISA13, 1..999999999
	GroupControlNumber            int        // GS06, 1..999999999
	FirstSetControlNumber         int        // ST02 of the first set, counting up; 0 means 1
	SCAC                          string     // the carrier's SCAC: B311 of a 210, B1003 of a 214
	Date                          time.Time  // ISA09/ISA10 and GS04/GS05, in its own zone
	Usage                         string     // ISA15: "P" (default) or "T"
	Delimiters                    Delimiters // zero value: DefaultDelimiters
}

// Invoice is one freight invoice (210). Money is a decimal string with at
// most two decimals ("1234.50"); X12 carries it in cents (implied
// decimal).
type Invoice struct {
	Number       string        // B302 invoice number
	ShipmentID   string        // B303 shipment id
	CustomerID   string        // N104 of the bill-to party (N1*BT)
	CustomerName string        // N102 of the bill-to party, optional
	Currency     string        // C301, ISO 4217; "" writes no C3
	Lines        []InvoiceLine // one LX loop each
	Total        string        // B307 and L305; must equal the sum of the line amounts
	Date         time.Time     // B306 billing date
}

// InvoiceLine is one charge of an invoice.
type InvoiceLine struct {
	Code        string // L108 special charge code (e.g. 405 fuel surcharge)
	Description string // L112
	Quantity    string // whole pieces, written to L008 with L009 PCS; "" writes no L0
	Amount      string // L104 charge
}

// Status is one shipment status for a 214.
type Status struct {
	ShipmentID string    // B1002 (and B1001); consecutive statuses of one shipment share a set
	Code       string    // AT701 status code, e.g. X3
	Reason     string    // AT702 reason code; "" writes NS (normal status)
	StopID     string    // L11 with qualifier QN (stop sequence number); "" writes none
	Time       time.Time // AT705/AT706, written in UTC (AT707 UT)
	Lat, Lon   *float64  // MS1 position, written as degrees, minutes and seconds; both or neither
}

// Write210 writes one interchange with an IM group holding one 210 per
// invoice.
func Write210(env Envelope, invoices ...Invoice) ([]byte, error) {
	e, err := env.open("IM")
	if err != nil {
		return nil, err
	}
	for i, inv := range invoices {
		if err := env.invoice(e, i, inv); err != nil {
			return nil, fmt.Errorf("invoice %d: %w", i+1, err)
		}
	}
	return env.close(e, len(invoices))
}

func (env Envelope) invoice(e *encoder, i int, inv Invoice) error {
	if inv.Number == "" || inv.ShipmentID == "" || inv.CustomerID == "" {
		return errors.New("number, shipment id and customer id are required")
	}
	if len(inv.Lines) == 0 {
		return errors.New("no lines")
	}
	total, err := cents(inv.Total)
	if err != nil {
		return fmt.Errorf("total: %w", err)
	}
	var sum int64
	amounts := make([]string, len(inv.Lines))
	for j, l := range inv.Lines {
		c, err := cents(l.Amount)
		if err != nil {
			return fmt.Errorf("line %d amount: %w", j+1, err)
		}
		if l.Quantity != "" && !isDigits(l.Quantity, 1, 10) {
			return fmt.Errorf("line %d quantity %q is not a whole number", j+1, l.Quantity)
		}
		sum += c
		amounts[j] = strconv.FormatInt(c, 10)
	}
	if sum != total {
		return fmt.Errorf("total %s does not match the sum of the lines %s", inv.Total, decimal(sum))
	}
	ctl := env.setControl(i)
	e.count = 0
	e.seg("ST", "210", ctl)
	e.seg("B3", "", inv.Number, inv.ShipmentID, "PP", "", inv.Date.Format("20060102"), strconv.FormatInt(total, 10), "", "", "", env.SCAC)
	if inv.Currency != "" {
		e.seg("C3", inv.Currency)
	}
	e.seg("N1", "BT", inv.CustomerName, "91", inv.CustomerID)
	for j, l := range inv.Lines {
		n := strconv.Itoa(j + 1)
		e.seg("LX", n)
		e.seg("L1", n, "", "", amounts[j], "", "", "", l.Code, "", "", "", l.Description)
		if l.Quantity != "" {
			e.seg("L0", n, "", "", "", "", "", "", l.Quantity, "PCS")
		}
	}
	e.seg("L3", "", "", "", "", strconv.FormatInt(total, 10))
	e.seg("SE", strconv.Itoa(e.count+1), ctl)
	return e.err
}

// Write214 writes one interchange with a QM group holding one 214 per run
// of consecutive statuses of the same shipment, one LX loop per status.
func Write214(env Envelope, statuses ...Status) ([]byte, error) {
	e, err := env.open("QM")
	if err != nil {
		return nil, err
	}
	sets := 0
	for i := 0; i < len(statuses); {
		j := i + 1
		for j < len(statuses) && statuses[j].ShipmentID == statuses[i].ShipmentID {
			j++
		}
		if err := env.statusSet(e, sets, statuses[i:j]); err != nil {
			return nil, fmt.Errorf("status %d: %w", i+1, err)
		}
		sets++
		i = j
	}
	return env.close(e, sets)
}

func (env Envelope) statusSet(e *encoder, i int, statuses []Status) error {
	id := statuses[0].ShipmentID
	if id == "" {
		return errors.New("shipment id is required")
	}
	ctl := env.setControl(i)
	e.count = 0
	e.seg("ST", "214", ctl)
	e.seg("B10", id, id, env.SCAC)
	for j, s := range statuses {
		if len(s.Code) != 2 || !isAlnum(s.Code[0]) || !isAlnum(s.Code[1]) {
			return fmt.Errorf("invalid status code %q", s.Code)
		}
		if (s.Lat == nil) != (s.Lon == nil) {
			return errors.New("lat and lon must be given together")
		}
		reason := s.Reason
		if reason == "" {
			reason = "NS"
		}
		t := s.Time.UTC()
		tm := t.Format("150405")
		if t.Second() == 0 {
			tm = t.Format("1504")
		}
		e.seg("LX", strconv.Itoa(j+1))
		e.seg("AT7", s.Code, reason, "", "", t.Format("20060102"), tm, "UT")
		if s.Lat != nil {
			lat, latDir, err := dms(*s.Lat, 90, "N", "S", 2)
			if err != nil {
				return err
			}
			lon, lonDir, err := dms(*s.Lon, 180, "E", "W", 3)
			if err != nil {
				return err
			}
			e.seg("MS1", "", "", "", lon, lat, lonDir, latDir)
		}
		if s.StopID != "" {
			e.seg("L11", s.StopID, "QN")
		}
	}
	e.seg("SE", strconv.Itoa(e.count+1), ctl)
	return e.err
}

// open checks the envelope and writes ISA and GS.
func (env Envelope) open(functionalID string) (*encoder, error) {
	d := env.Delimiters
	if d == (Delimiters{}) {
		d = DefaultDelimiters
	}
	d.Repetition = 0
	if err := checkDelimiters(d); err != nil {
		return nil, err
	}
	if err := checkControl("interchange control number", env.InterchangeControlNumber); err != nil {
		return nil, err
	}
	if err := checkControl("group control number", env.GroupControlNumber); err != nil {
		return nil, err
	}
	if env.SenderID == "" || env.ReceiverID == "" || env.SenderQualifier == "" || env.ReceiverQualifier == "" {
		return nil, errors.New("sender and receiver ids and qualifiers are required")
	}
	usage := env.Usage
	switch usage {
	case "":
		usage = "P"
	case "P", "T":
	default:
		return nil, fmt.Errorf("invalid usage indicator %q", usage)
	}
	gsFrom, gsTo := env.GroupSenderID, env.GroupReceiverID
	if gsFrom == "" {
		gsFrom = env.SenderID
	}
	if gsTo == "" {
		gsTo = env.ReceiverID
	}
	e := &encoder{d: d}
	e.isa(env.SenderQualifier, env.SenderID, env.ReceiverQualifier, env.ReceiverID, env.Date, "00401", env.InterchangeControlNumber, usage)
	e.seg("GS", functionalID, gsFrom, gsTo, env.Date.Format("20060102"), env.Date.Format("1504"), strconv.Itoa(env.GroupControlNumber), "X", "004010")
	return e, e.err
}

func (env Envelope) close(e *encoder, sets int) ([]byte, error) {
	e.seg("GE", strconv.Itoa(sets), strconv.Itoa(env.GroupControlNumber))
	e.seg("IEA", "1", fmt.Sprintf("%09d", env.InterchangeControlNumber))
	if e.err != nil {
		return nil, e.err
	}
	return e.buf.Bytes(), nil
}

func (env Envelope) setControl(i int) string {
	first := env.FirstSetControlNumber
	if first <= 0 {
		first = 1
	}
	return fmt.Sprintf("%04d", first+i)
}

// cents reads a decimal string with at most two decimals as cents.
func cents(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	whole, frac, dot := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if !isDigits(whole, 1, 10) || (dot && !isDigits(frac, 1, 2)) {
		return 0, fmt.Errorf("invalid amount %q (want a decimal with at most two decimals)", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	c, _ := strconv.ParseInt(whole+frac, 10, 64)
	if neg {
		c = -c
	}
	return c, nil
}

// decimal formats cents as a decimal string.
func decimal(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// dms writes a coordinate as degrees, minutes and seconds (digits wide
// degrees) with its direction code.
func dms(v, limit float64, pos, neg string, digits int) (string, string, error) {
	if math.IsNaN(v) || v < -limit || v > limit {
		return "", "", fmt.Errorf("coordinate %v out of range", v)
	}
	dir := pos
	if v < 0 {
		dir, v = neg, -v
	}
	secs := int(math.Round(v * 3600))
	return fmt.Sprintf("%0*d%02d%02d", digits, secs/3600, secs/60%60, secs%60), dir, nil
}
