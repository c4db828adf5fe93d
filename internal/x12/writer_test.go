package x12

import (
	"math"
	"strings"
	"testing"
	"time"
)

var testEnv = Envelope{
	SenderQualifier: "ZZ", SenderID: "CROSSDOCK",
	ReceiverQualifier: "02", ReceiverID: "ACME",
	InterchangeControlNumber: 12, GroupControlNumber: 34, FirstSetControlNumber: 100,
	SCAC: "XDCK",
	Date: time.Date(2024, 3, 1, 9, 15, 0, 0, time.UTC),
}

func ptr(f float64) *float64 { return &f }

func TestWrite214RoundTrip(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2024, 3, 1, h, m, 0, 0, time.UTC) }
	statuses := []Status{
		{ShipmentID: "S1", Code: "X3", StopID: "1", Time: at(8, 0), Lat: ptr(52.52), Lon: ptr(13.405)},
		{ShipmentID: "S1", Code: "AF", StopID: "1", Time: at(8, 45)},
		{ShipmentID: "S1", Code: "X6", Time: time.Date(2024, 3, 1, 11, 0, 30, 0, time.UTC), Lat: ptr(-33.8688), Lon: ptr(-151.2093)},
		{ShipmentID: "S1", Code: "SD", Reason: "AO", Time: at(11, 30)},
		{ShipmentID: "S1", Code: "X1", StopID: "2", Time: at(14, 0)},
		{ShipmentID: "S1", Code: "D1", StopID: "2", Time: at(14, 20), Lat: ptr(48.1374), Lon: ptr(11.5755)},
		{ShipmentID: "S2", Code: "CD", StopID: "3", Time: time.Date(2024, 3, 1, 16, 0, 0, 0, time.FixedZone("X", 3600))},
	}
	for _, d := range []Delimiters{{}, {Element: '|', Component: ':', Segment: '~', Newline: true}, {Element: '*', Component: '>', Segment: '\n'}} {
		env := testEnv
		env.Delimiters = d
		out, err := Write214(env, statuses...)
		if err != nil {
			t.Fatal(err)
		}
		ic, err := Parse(out)
		if err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		rs := Translate(ic, TranslateOptions{})
		if len(rs) != 2 {
			t.Fatalf("%d sets, want 2", len(rs))
		}
		var events []Event
		for _, r := range rs {
			if r.Status != StatusAccepted {
				t.Fatalf("set %s: %s %v", r.ControlNumber, r.Status, r.Errors)
			}
			events = append(events, r.Events...)
		}
		if rs[0].ControlNumber != "0100" || rs[1].ControlNumber != "0101" {
			t.Errorf("control numbers %s, %s", rs[0].ControlNumber, rs[1].ControlNumber)
		}
		wantCodes := []string{"arrived", "departed", "in_transit", "delayed", "arrived", "", "departed"}
		if len(events) != len(statuses) {
			t.Fatalf("%d events, want %d", len(events), len(statuses))
		}
		for i, ev := range events {
			s := statuses[i]
			if ev.Subject != s.ShipmentID || !ev.Time.Equal(s.Time) || ev.Data["status_code"] != s.Code {
				t.Errorf("event %d = %+v, status %+v", i, ev, s)
			}
			if s.Code == "D1" {
				if ev.Type != TypeDeliveryCompleted || ev.Data["stop_id"] != "2" {
					t.Errorf("D1 event = %+v", ev)
				}
			} else if ev.Data["code"] != wantCodes[i] || ev.Data["stop_id"] != nilIfEmpty(s.StopID) {
				t.Errorf("event %d data = %v", i, ev.Data)
			}
			loc, _ := ev.Data["location"].(map[string]any)
			if (loc != nil) != (s.Lat != nil) {
				t.Errorf("event %d location = %v", i, loc)
			}
			if loc != nil && (math.Abs(loc["lat"].(float64)-*s.Lat) > 1.0/3600 || math.Abs(loc["lon"].(float64)-*s.Lon) > 1.0/3600) {
				t.Errorf("event %d location = %v, want %v %v", i, loc, *s.Lat, *s.Lon)
			}
		}
		if r := events[3].Data["reason"]; r != "shipment delayed: weather or natural disaster related" {
			t.Errorf("SD reason = %v", r)
		}
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestWrite210(t *testing.T) {
	inv := Invoice{
		Number: "INV-1", ShipmentID: "S1", CustomerID: "C7", CustomerName: "ACME", Currency: "USD",
		Lines: []InvoiceLine{
			{Code: "400", Description: "LINEHAUL", Quantity: "3", Amount: "1200.5"},
			{Code: "405", Description: "FUEL SURCHARGE", Amount: "34.00"},
		},
		Total: "1234.50",
		Date:  time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC),
	}
	out, err := Write210(testEnv, inv)
	if err != nil {
		t.Fatal(err)
	}
	want := "ISA*00*          *00*          *ZZ*CROSSDOCK      *02*ACME           *240301*0915*U*00401*000000012*0*P*>~" +
		"GS*IM*CROSSDOCK*ACME*20240301*0915*34*X*004010~" +
		"ST*210*0100~" +
		"B3**INV-1*S1*PP**20240302*123450****XDCK~" +
		"C3*USD~" +
		"N1*BT*ACME*91*C7~" +
		"LX*1~L1*1***120050****400****LINEHAUL~L0*1*******3*PCS~" +
		"LX*2~L1*2***3400****405****FUEL SURCHARGE~" +
		"L3*****123450~" +
		"SE*11*0100~GE*1*34~IEA*1*000000012~"
	if string(out) != want {
		t.Errorf("210 =\n%s\nwant\n%s", out, want)
	}
	ic, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if g := ic.Groups[0]; len(g.Errors) > 0 || len(g.Sets) != 1 || len(g.Sets[0].Errors) > 0 {
		t.Errorf("envelope errors: %v %v", g.Errors, g.Sets[0].Errors)
	}

	for name, f := range map[string]func(*Invoice){
		"total mismatch":   func(i *Invoice) { i.Total = "1234.51" },
		"three decimals":   func(i *Invoice) { i.Lines[1].Amount = "34.001" },
		"float-ish amount": func(i *Invoice) { i.Lines[1].Amount = "3.4e1" },
		"delimiter":        func(i *Invoice) { i.Number = "INV~1" },
		"no lines":         func(i *Invoice) { i.Lines = nil },
		"fraction pieces":  func(i *Invoice) { i.Lines[0].Quantity = "1.5" },
	} {
		bad := inv
		bad.Lines = append([]InvoiceLine(nil), inv.Lines...)
		f(&bad)
		if _, err := Write210(testEnv, bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	for name, f := range map[string]func(*Envelope){
		"long sender":      func(e *Envelope) { e.SenderID = strings.Repeat("X", 16) },
		"control number":   func(e *Envelope) { e.InterchangeControlNumber = 0 },
		"same delimiters":  func(e *Envelope) { e.Delimiters = Delimiters{Element: '*', Component: '*', Segment: '~'} },
		"letter delimiter": func(e *Envelope) { e.Delimiters = Delimiters{Element: 'A', Component: '>', Segment: '~'} },
		"usage":            func(e *Envelope) { e.Usage = "X" },
	} {
		env := testEnv
		f(&env)
		if _, err := Write210(env, inv); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCents(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1": 100, "1.5": 150, "1234.50": 123450, "-2.05": -205, "9999999999.99": 999999999999} {
		if got, err := cents(in); err != nil || got != want {
			t.Errorf("cents(%q) = %d, %v; want %d", in, got, err, want)
		}
		if c, _ := cents(in); in != "1.5" && in != "0" && in != "1" && decimal(c) != in {
			t.Errorf("decimal(%d) = %s, want %s", c, decimal(c), in)
		}
	}
	for _, in := range []string{"", ".5", "1.", "1.234", "1,00", "+1", "12345678901", "NaN"} {
		if _, err := cents(in); err == nil {
			t.Errorf("cents(%q): no error", in)
		}
	}
}
