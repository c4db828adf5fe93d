package edi

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/x12"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenEnv is the envelope of the golden files.
var goldenEnv = envelope{senderQualifier: "ZZ", senderID: "CROSSDOCK", receiverQualifier: "02", receiverID: "ACME",
	usage: "P", scac: "XDCK", chargeCodes: defaultChargeCodes}

// input is a testdata event: a delivery id and the event.
type input struct {
	Delivery string          `json:"delivery"`
	Source   string          `json:"source"`
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Subject  string          `json:"subject"`
	Time     time.Time       `json:"time"`
	Data     json.RawMessage `json:"data"`
}

func readInput(t testing.TB, name string) connector.Delivery {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var in input
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return connector.Delivery{ID: in.Delivery, Attempt: 1, Event: store.EventRecord{Source: in.Source, ID: in.ID, Type: in.Type,
		Subject: in.Subject, ShipmentID: in.Subject, Time: in.Time, Data: in.Data}}
}

// The rendered documents match testdata/<name>.<set>.edi byte for byte
// (go test -run Golden -update rewrites them).
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		d := readInput(t, in)
		doc, err := goldenEnv.render(d)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		name := strings.TrimSuffix(in, ".json") + "." + doc.set + ".edi"
		if *update {
			if err := os.WriteFile(name, doc.body, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("%v (run with -update to create)", err)
		}
		if !bytes.Equal(doc.body, want) {
			t.Errorf("%s differs (run with -update to accept):\n%s", name, strings.ReplaceAll(string(doc.body), "~", "~\n"))
		}
		again, _ := goldenEnv.render(d)
		if !bytes.Equal(again.body, doc.body) {
			t.Errorf("%s: a second rendering differs", in)
		}
		ic, err := x12.Parse(doc.body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if g := ic.Groups[0]; len(g.Errors) > 0 || len(g.Sets) != 1 || len(g.Sets[0].Errors) > 0 {
			t.Errorf("%s: envelope errors %v %v", name, g.Errors, g.Sets[0].Errors)
		}
		if ic.ControlNumber != fmt.Sprintf("%09d", controlNumber(d.ID)) {
			t.Errorf("%s: ISA13 %s", name, ic.ControlNumber)
		}
	}
}

// Each 214 the connector writes translates back, with package x12's
// inbound tables, to what it came from.
func TestStatusRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 21, 14, 7, 0, 0, time.UTC)
	for _, c := range []struct {
		typ, data        string
		code, reason     string // AT701, AT702
		back, milestone  string // the translated event type and milestone code
		stop             any
		located          bool
		translatedReason string
	}{
		{"shipment.milestone", `{"code":"arrived","stop_id":"S2","location":{"lat":41.8781,"lon":-87.6298}}`, "X1", "NS", x12.TypeShipmentMilestone, "arrived", "S2", true, ""},
		{"shipment.milestone", `{"code":"departed","stop_id":"S1"}`, "AF", "NS", x12.TypeShipmentMilestone, "departed", "S1", false, ""},
		{"shipment.milestone", `{"code":"in_transit","location":{"lat":-33.86,"lon":151.2}}`, "X6", "NS", x12.TypeShipmentMilestone, "in_transit", nil, true, "en route to delivery location"},
		{"shipment.milestone", `{"code":"delayed","stop_id":"S2","reason":"AO"}`, "SD", "AO", x12.TypeShipmentMilestone, "delayed", "S2", false, "shipment delayed: weather or natural disaster related"},
		{"shipment.milestone", `{"code":"delayed","reason":"shipment delayed: mechanical breakdown"}`, "SD", "AI", x12.TypeShipmentMilestone, "delayed", nil, false, "shipment delayed: mechanical breakdown"},
		{"shipment.milestone", `{"code":"delayed","reason":"expected at S2 after its window"}`, "SD", "BG", x12.TypeShipmentMilestone, "delayed", nil, false, "shipment delayed: reason code BG"},
		{"shipment.milestone", `{"code":"delayed"}`, "SD", "BG", x12.TypeShipmentMilestone, "delayed", nil, false, "shipment delayed: reason code BG"},
		{"shipment.status_changed", `{"from":"planned","to":"in_transit"}`, "X6", "NS", x12.TypeShipmentMilestone, "in_transit", nil, false, "en route to delivery location"},
		{"shipment.status_changed", `{"from":"in_transit","to":"delivered"}`, "D1", "NS", x12.TypeDeliveryCompleted, "", nil, false, ""},
		{"shipment.status_changed", `{"from":"planned","to":"cancelled"}`, "CA", "NS", x12.TypeShipmentCancelled, "", nil, false, "shipment cancelled"},
		{"delivery.completed", `{"stop_id":"S3","signed_by":"J. Doe","location":{"lat":48.1374,"lon":11.5755}}`, "D1", "NS", x12.TypeDeliveryCompleted, "", "S3", true, ""},
	} {
		name := c.typ + " " + c.data
		d := connector.Delivery{ID: "d-" + name, Event: store.EventRecord{Type: c.typ, Subject: "SHP-9", Time: at, Data: []byte(c.data)}}
		doc, err := goldenEnv.render(d)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Contains(doc.body, []byte("AT7*"+c.code+"*"+c.reason+"*")) {
			t.Errorf("%s: want AT7*%s*%s in %s", name, c.code, c.reason, doc.body)
		}
		ic, err := x12.Parse(doc.body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rs := x12.Translate(ic, x12.TranslateOptions{})
		if len(rs) != 1 || rs[0].Status != x12.StatusAccepted || len(rs[0].Events) != 1 {
			t.Fatalf("%s: %+v", name, rs)
		}
		ev := rs[0].Events[0]
		if ev.Type != c.back || ev.Subject != "SHP-9" || !ev.Time.Equal(at) {
			t.Errorf("%s: back as %s %s %v", name, ev.Type, ev.Subject, ev.Time)
		}
		if c.milestone != "" && ev.Data["code"] != c.milestone {
			t.Errorf("%s: milestone %v", name, ev.Data["code"])
		}
		if stop := ev.Data["stop_id"]; c.back != x12.TypeShipmentCancelled && stop != c.stop && !(c.stop == nil && stop == "") {
			t.Errorf("%s: stop %v, want %v", name, stop, c.stop)
		}
		if _, ok := ev.Data["location"]; ok != c.located {
			t.Errorf("%s: location %v", name, ev.Data["location"])
		}
		if r, _ := ev.Data["reason"].(string); c.translatedReason != "" && r != c.translatedReason {
			t.Errorf("%s: reason %q, want %q", name, r, c.translatedReason)
		}
	}
}

func TestInvoiceLines(t *testing.T) {
	d := readInput(t, "testdata/invoice.json")
	env := goldenEnv
	var err error
	if env.chargeCodes, err = chargeCodes("stop=SOC,liftgate=LFT,tax=TAX,distance="); err != nil {
		t.Fatal(err)
	}
	doc, err := env.render(d)
	if err != nil {
		t.Fatal(err)
	}
	ic, err := x12.Parse(doc.body)
	if err != nil {
		t.Fatal(err)
	}
	var l1s []string
	for _, s := range ic.Segments {
		switch s.ID {
		case "L1":
			l1s = append(l1s, s.Value(4)+" "+s.Value(8)+" "+s.Value(12))
		case "B3":
			if s.Value(2) != "INV-2026-000042" || s.Value(3) != "SHP-2026-000042" || s.Value(7) != "68896" || s.Value(6) != "20261122" || s.Value(11) != "XDCK" {
				t.Errorf("B3 %v", s)
			}
		case "N1":
			if s.Value(1) != "BT" || s.Value(3) != "91" || s.Value(4) != "CUST-ACME" {
				t.Errorf("N1 %v", s)
			}
		case "L0":
			t.Errorf("an L0 with pieces: %v", s)
		}
	}
	want := []string{"49500  412.5 km route x 1.20 EUR", "5000 SOC 2 stops (pickup, delivery", "4633 405 Fuel surcharge 8.5% of li", "3500 LFT Accessorial liftgate", "6263 TAX Tax"}
	if strings.Join(l1s, "|") != strings.Join(want, "|") {
		t.Errorf("L1s\n%q\nwant\n%q", l1s, want)
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"Distance 412.5 km × 1.20":   "Distance 412.5 km x 1.20",
		"  a*b~c>d  ":                "abcd",
		"Müller\tGmbH\n":             "Mller GmbH",
		"abcdefghijklmnopqrstuvw yz": "abcdefghijklmnopqrstuvw y",
		"":                           "",
	} {
		if got := text(in, maxDescription); got != want {
			t.Errorf("text(%q) = %q, want %q", in, got, want)
		}
	}
}

// The control number is a fixed function of the delivery id in 1..999999999.
func TestControlNumber(t *testing.T) {
	seen := map[int]string{}
	for i := range 10000 {
		id := fmt.Sprintf("dlv-%d", i)
		n := controlNumber(id)
		if n < 1 || n > 999_999_999 || controlNumber(id) != n {
			t.Fatalf("%s: %d", id, n)
		}
		if prev, ok := seen[n]; ok {
			t.Logf("%s and %s share %d (expected about once in 20 runs of 10,000)", prev, id, n)
		}
		seen[n] = id
	}
	if got := controlNumber("dlv-7f3a-erp-crossdock/billing-inv-SHP-2026-000042"); got != controlNumber("dlv-7f3a-erp-crossdock/billing-inv-SHP-2026-000042") {
		t.Fatal("not deterministic")
	}
}

// FuzzMapping: any event data either is refused with an error or renders
// an interchange the x12 parser accepts without envelope errors, with the
// delivery's control number, the same bytes every time.
func FuzzMapping(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/*.json")
	for _, in := range inputs {
		d := readInput(f, in)
		f.Add(d.Event.Type, d.ID, []byte(d.Event.Data))
	}
	f.Add("shipment.status_changed", "d", []byte(`{"to":"delivered"}`))
	f.Add("delivery.completed", "d", []byte(`{"stop_id":"1","location":{"lat":0,"lon":0}}`))
	f.Add("invoice.ready", "d", []byte(`{"id":"I","shipment_id":"S","customer_id":"C","lines":[{"amount":"-1.5"}],"tax":"0","total":"-1.50"}`))
	types := []string{typeInvoiceReady, typeMilestone, typeStatusChanged, typeDeliveryCompleted}
	f.Fuzz(func(t *testing.T, typ, id string, data []byte) {
		if !strings.HasPrefix(typ, "x") {
			typ = types[len(typ)%len(types)]
		}
		d := connector.Delivery{ID: id, Event: store.EventRecord{Type: typ, Subject: "SHP-1", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Data: data}}
		doc, err := goldenEnv.render(d)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty reason")
			}
			return
		}
		again, _ := goldenEnv.render(d)
		if !bytes.Equal(doc.body, again.body) {
			t.Fatal("two renderings differ")
		}
		ic, err := x12.Parse(doc.body)
		if err != nil {
			t.Fatalf("%v\n%q", err, doc.body)
		}
		if ic.ControlNumber != fmt.Sprintf("%09d", controlNumber(id)) || len(ic.Groups) != 1 || len(ic.Groups[0].Sets) != 1 {
			t.Fatalf("envelope %q", doc.body)
		}
		g := ic.Groups[0]
		if len(g.Errors) > 0 || len(g.Sets[0].Errors) > 0 || g.Sets[0].ID != doc.set {
			t.Fatalf("envelope errors %v %v\n%q", g.Errors, g.Sets[0].Errors, doc.body)
		}
		if doc.set == "214" {
			rs := x12.Translate(ic, x12.TranslateOptions{})
			if len(rs) != 1 || rs[0].Status != x12.StatusAccepted || len(rs[0].Events) != 1 {
				t.Fatalf("the 214 does not translate back: %+v\n%q", rs, doc.body)
			}
		}
	})
}
