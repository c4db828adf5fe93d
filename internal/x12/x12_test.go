package x12

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

var ackOpts = AckOptions{InterchangeControlNumber: 7001, GroupControlNumber: 8001, Now: time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC)}

// TestSamples parses every sample copied from the external samples file
// and checks the outcome of each of its sets.
func TestSamples(t *testing.T) {
	tests := []struct {
		name     string
		err      string   // exact Parse error, "" for ok
		statuses []string // per set, in order
	}{
		{"204_sudu_tender1", "", []string{StatusAccepted}},
		{"204_sudu_tender2", "", []string{StatusAccepted}},
		{"210_cn_rail", "", []string{StatusRejected}},    // 210 not supported
		{"210_dbschenker", "", []string{StatusRejected}}, // GS04 1994033, GE02 24 vs GS06 1
		{"214_1edisource", "segment 31 (IEA) element 2: control number 000002510 does not match ISA13 000003438", nil},
		{"214_1edisource_iea_fixed", "", []string{StatusAcceptedWithErrors}},       // AT7 CP unmapped
		{"214_agentforfreightforce", "", []string{StatusRejected, StatusAccepted}}, // SE02 "001 N/L"
		{"990_node_x12_edi", "", []string{StatusAccepted, StatusAccepted, StatusAccepted}},
		{"iftsta_edifact", `segment 1: no ISA segment: input starts with "UNB+UNOC:2+IITTRR:ZZ…"`, nil},
	}
	files, err := filepath.Glob("testdata/samples/*.x12")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("%d sample files, %d in the table", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := readSample(t, tt.name)
			ic, err := Parse(data)
			if tt.err != "" {
				var xe *Error
				if !errors.As(err, &xe) || err.Error() != tt.err {
					t.Fatalf("Parse error = %v, want %s", err, tt.err)
				}
				if ic != nil {
					t.Error("interchange returned with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			results := Translate(ic, TranslateOptions{})
			var got []string
			for _, r := range results {
				got = append(got, r.Status)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.statuses) {
				t.Errorf("statuses = %v, want %v", got, tt.statuses)
			}
			ack, err := Ack997(ic, results, ackOpts)
			if err != nil {
				t.Fatalf("Ack997: %v", err)
			}
			golden(t, tt.name+".events.json", summarize(results))
			golden(t, tt.name+".997.x12", ack)
			if _, err := Parse(ack); err != nil {
				t.Errorf("the 997 does not parse: %v", err)
			}
		})
	}
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "samples", name+".x12"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// summarize renders set results for a golden file.
func summarize(results []SetResult) []byte {
	type set struct {
		Group, Set  int
		ID, Control string
		Status      string
		Errors      []string
		Events      []Event
	}
	out := make([]set, len(results))
	for i, r := range results {
		out[i] = set{Group: r.Group, Set: r.Set, ID: r.ID, Control: r.ControlNumber, Status: r.Status, Events: r.Events}
		for _, e := range r.Errors {
			out[i].Errors = append(out[i].Errors, fmt.Sprintf("%s [level %d code %q]", e, e.Level, e.Code))
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n%s", name, got)
	}
}

// base is a valid interchange with one 214; tests break it on purpose.
const base = "ISA*00*          *00*          *ZZ*CARRIER        *ZZ*CROSSDOCK      *240301*1200*U*00401*000000905*0*P*>~\n" +
	"GS*QM*CARRIER*CROSSDOCK*20240301*1200*905*X*004010~\n" +
	"ST*214*0001~\n" +
	"B10*PRO1*SHIP1*SCAC~\n" +
	"LX*1~\n" +
	"AT7*X3*NS***20240301*0800*ET~\n" +
	"MS1****0740059*404242*W*N~\n" +
	"MS2*SCAC*TRL1~\n" +
	"L11*1*QN~\n" +
	"SE*8*0001~\n" +
	"GE*1*905~\n" +
	"IEA*1*000000905~\n"

func TestBaseIsClean(t *testing.T) {
	if n := strings.Index(base, "\n"); n != 106 {
		t.Fatalf("base ISA is %d bytes, want 106", n)
	}
	ic, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	d := ic.Delimiters
	if d.Element != '*' || d.Component != '>' || d.Segment != '~' || d.Repetition != 0 || !d.Newline {
		t.Errorf("delimiters = %+v", d)
	}
	rs := Translate(ic, TranslateOptions{})
	if len(rs) != 1 || rs[0].Status != StatusAccepted || len(rs[0].Events) != 1 {
		t.Fatalf("results = %+v", rs)
	}
	ev := rs[0].Events[0]
	b, _ := json.Marshal(ev)
	want := `{"id":"CARRIER-000000905-905-0001-1","type":"shipment.milestone","subject":"SHIP1","time":"2024-03-01T08:00:00-05:00",` +
		`"data":{"code":"arrived","equipment":{"number":"TRL1","scac":"SCAC"},"location":{"lat":40.711667,"lon":-74.016389},"status_code":"X3","stop_id":"1"}}`
	if string(b) != want {
		t.Errorf("event =\n%s\nwant\n%s", b, want)
	}
	if !bytes.Equal(rs[0].Raw, []byte(base[strings.Index(base, "ST*"):strings.Index(base, "GE*")-1])) {
		t.Errorf("raw = %q", rs[0].Raw)
	}
}

func TestInterchangeErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"empty", "  \r\n", "offset 4: no ISA segment: input is empty"},
		{"not x12", "hello", `segment 1: no ISA segment: input starts with "hello"`},
		{"truncated isa", "ISA*00*", "segment 1 (ISA) element 2: truncated ISA segment: 2 of 16 elements"},
		{"alnum separator", "ISAX00", "segment 1 (ISA): invalid element separator 'X'"},
		{"no terminator", base[:104], "segment 1 (ISA) element 16: ISA segment has no segment terminator"},
		{"bad control number", strings.Replace(base, "000000905*0", "00000090X*0", 1), `segment 1 (ISA) element 13: invalid control number "00000090X"`},
		{"missing IEA", strings.TrimSuffix(base, "IEA*1*000000905~\n"), "segment 12 (IEA): interchange trailer IEA missing"},
		{"IEA control mismatch", strings.Replace(base, "IEA*1*000000905", "IEA*1*000000906", 1), "segment 12 (IEA) element 2: control number 000000906 does not match ISA13 000000905"},
		{"IEA group count", strings.Replace(base, "IEA*1*", "IEA*2*", 1), "segment 12 (IEA) element 1: group count 2 does not match actual count 1"},
		{"trailing garbage", base + "\nXYZ", `segment 13: unexpected data after IEA: "XYZ"`},
		{"second interchange", base + base[:30], `segment 13: unexpected data after IEA: "ISA*00*          *00…"`},
		{"segment outside group", strings.Replace(base, "GS*QM", "XX*QM", 1), "segment 2 (XX): segment XX outside a functional group"},
		{"ST outside group", base[:107] + base[strings.Index(base, "ST*"):], "segment 2 (ST): transaction set outside a functional group"},
		{"bad id outside group", strings.Replace(base, "GS*QM", "g!*QM", 1), `segment 2: invalid segment id "g!"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ic, err := Parse([]byte(tt.data))
			var xe *Error
			if !errors.As(err, &xe) {
				t.Fatalf("Parse error = %v (%T), want *Error", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %s\nwant    %s", err, tt.want)
			}
			if xe.Level != LevelInterchange || ic != nil {
				t.Errorf("level %d, interchange %v", xe.Level, ic)
			}
		})
	}
}

func TestInterchangeErrorOffset(t *testing.T) {
	data := strings.Replace(base, "IEA*1*000000905", "IEA*1*000000906", 1)
	_, err := Parse([]byte(data))
	var xe *Error
	if !errors.As(err, &xe) {
		t.Fatal(err)
	}
	if want := strings.Index(data, "000000906"); xe.Offset != want || xe.Value != "000000906" {
		t.Errorf("offset %d value %q, want %d", xe.Offset, xe.Value, want)
	}
}

// TestTolerated lists input variations that must parse like base.
func TestTolerated(t *testing.T) {
	tests := map[string]string{
		"bom and blank lines": "\xef\xbb\xbf\r\n  " + base,
		"crlf":                strings.ReplaceAll(base, "\n", "\r\n"),
		"one line":            strings.ReplaceAll(base, "\n", ""),
		"newline terminator":  strings.ReplaceAll(base, "~\n", "\n"),
		"crlf terminator":     strings.ReplaceAll(base, "~\n", "\r\n"),
		"indentation":         strings.ReplaceAll(base, "\n", "\n    "),
		"no final terminator": strings.TrimSuffix(base, "~\n"),
		"trailing blanks":     base + " \t\r\n\n",
		"shortened isa":       strings.Replace(base, "CARRIER        *", "CARRIER*", 1),
		"unpadded numbers":    strings.Replace(strings.Replace(base, "GE*1*905", "GE*1*000905", 1), "IEA*1*000000905", "IEA*1*905", 1),
		"other delimiters":    strings.NewReplacer("*", "|", ">", ":", "~", "'").Replace(base),
		"repetition 00501":    strings.Replace(base, "*U*00401*", "*^*00501*", 1),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			ic, err := Parse([]byte(data))
			if err != nil {
				t.Fatal(err)
			}
			rs := Translate(ic, TranslateOptions{})
			if len(rs) != 1 || rs[0].Status != StatusAccepted || len(rs[0].Events) != 1 || rs[0].Events[0].Subject != "SHIP1" {
				t.Fatalf("results = %+v", rs)
			}
		})
	}
}

// TestSetAndGroupErrors checks errors that reject part of an interchange
// and how the 997 reports them.
func TestSetAndGroupErrors(t *testing.T) {
	second := "ST*214*0002~\nB10*PRO2*SHIP2*SCAC~\nLX*1~\nAT7*AF*NS***20240301*0900*UT~\nSE*5*0002~\n"
	two := strings.Replace(base, "GE*1*", second+"GE*2*", 1)
	tests := []struct {
		name   string
		data   string
		status []string
		err    string // the first error of the first set
		ack    []string
	}{
		{"wrong SE count", strings.Replace(base, "SE*8*", "SE*9*", 1), []string{StatusRejected},
			"segment 10 (SE) element 1: segment count 9 does not match actual count 8", []string{"AK5*R*4~", "AK9*R*1*1*0~"}},
		{"ST/SE control mismatch", strings.Replace(base, "SE*8*0001", "SE*8*0009", 1), []string{StatusRejected},
			"segment 10 (SE) element 2: control number 0009 does not match ST02 0001", []string{"AK5*R*3~"}},
		{"SE missing", strings.Replace(base, "SE*8*0001~\n", "", 1), []string{StatusRejected},
			"segment 10 (GE): transaction set trailer SE missing", []string{"AK5*R*2~"}},
		{"GS/GE control mismatch", strings.Replace(base, "GE*1*905", "GE*1*906", 1), []string{StatusRejected},
			"segment 11 (GE) element 2: control number 906 does not match GS06 905", []string{"AK2*214*0001~", "AK5*R~", "AK9*R*1*1*0*4~"}},
		{"GE count", strings.Replace(base, "GE*1*", "GE*3*", 1), []string{StatusRejected},
			"segment 11 (GE) element 1: transaction set count 3 does not match actual count 1", []string{"AK9*R*3*1*0*5~"}},
		{"GE missing", strings.Replace(base, "GE*1*905~\n", "", 1), []string{StatusRejected},
			"segment 11 (IEA): functional group trailer GE missing", []string{"AK9*R*1*1*0*3~"}},
		{"bad GS date", strings.Replace(base, "20240301*1200*905", "2024031*1200*905", 1), []string{StatusRejected},
			`segment 2 (GS) element 4: invalid date "2024031"`, []string{"AK9*R*1*1*0~"}},
		{"unknown set", strings.NewReplacer("ST*214", "ST*856", "QM", "SH").Replace(base), []string{StatusRejected},
			"segment 3 (ST) element 1: transaction set 856 is not supported", []string{"AK2*856*0001~", "AK5*R*1~", "AK9*R*1*1*0~"}},
		{"unmapped AT7", strings.Replace(base, "AT7*X3*", "AT7*ZZ*", 1), []string{StatusAcceptedWithErrors},
			`segment 6 (AT7) element 1: unmapped AT7 status code "ZZ"`, []string{"AK3*AT7*4**8~", "AK4*1**7*ZZ~", "AK5*E*5~", "AK9*E*1*1*1~"}},
		{"bad status time", strings.Replace(base, "*0800*ET", "*2500*ET", 1), []string{StatusAcceptedWithErrors},
			`segment 6 (AT7) element 6: invalid time "2500"`, []string{"AK4*6**9*2500~"}},
		{"unknown time code", strings.Replace(base, "*0800*ET", "*0800*QQ", 1), []string{StatusAcceptedWithErrors},
			`segment 6 (AT7) element 7: unknown time code "QQ"`, []string{"AK4*7**7*QQ~"}},
		{"bad coordinates", strings.Replace(base, "*W*N", "*X*N", 1), []string{StatusAcceptedWithErrors},
			`segment 7 (MS1) element 6: invalid direction "X"`, []string{"AK3*MS1*5**8~", "AK4*6**7*X~"}},
		{"B10 missing", strings.NewReplacer("B10*PRO1*SHIP1*SCAC~\n", "", "SE*8*", "SE*7*").Replace(base), []string{StatusRejected},
			"segment 4 (B10): mandatory segment B10 missing", []string{"AK3*B10*2**3~", "AK5*R*5~"}},
		{"invalid segment id", strings.NewReplacer("LX*1~", "lx*1~").Replace(base), []string{StatusRejected},
			`segment 5: invalid segment id "lx"`, []string{"AK5*R*5~"}},
		{"one of two sets bad", strings.Replace(two, "SE*5*0002", "SE*6*0002", 1), []string{StatusAccepted, StatusRejected},
			"", []string{"AK2*214*0001~\nAK5*A~", "AK2*214*0002~\nAK5*R*4~", "AK9*P*2*2*1~"}},
		{"duplicate ST02", strings.NewReplacer("ST*214*0002", "ST*214*0001", "SE*5*0002", "SE*5*0001").Replace(two), []string{StatusAccepted, StatusRejected},
			"", []string{"AK5*R*23~"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ic, err := Parse([]byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			rs := Translate(ic, TranslateOptions{})
			var got []string
			for _, r := range rs {
				got = append(got, r.Status)
				if r.Status == StatusRejected && len(r.Events) > 0 {
					t.Error("rejected set has events")
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.status) {
				t.Errorf("statuses = %v, want %v", got, tt.status)
			}
			if tt.err != "" {
				if len(rs[0].Errors) == 0 {
					t.Fatal("no errors")
				}
				if e := rs[0].Errors[0].Error(); e != tt.err {
					t.Errorf("error = %s\nwant    %s", e, tt.err)
				}
			}
			ack, err := Ack997(ic, rs, ackOpts)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.ack {
				if !strings.Contains(string(ack), w) {
					t.Errorf("997 lacks %q:\n%s", w, ack)
				}
			}
			if _, err := Parse(ack); err != nil {
				t.Errorf("the 997 does not parse: %v", err)
			}
		})
	}
}

func TestAck997Envelope(t *testing.T) {
	ic, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	rs := Translate(ic, TranslateOptions{})
	ack, err := Ack997(ic, rs, ackOpts)
	if err != nil {
		t.Fatal(err)
	}
	want := "ISA*00*          *00*          *ZZ*CROSSDOCK      *ZZ*CARRIER        *240301*1230*U*00401*000007001*0*P*>~\n" +
		"GS*FA*CROSSDOCK*CARRIER*20240301*1230*8001*X*004010~\n" +
		"ST*997*0001~\n" +
		"AK1*QM*905~\n" +
		"AK2*214*0001~\n" +
		"AK5*A~\n" +
		"AK9*A*1*1*1~\n" +
		"SE*6*0001~\n" +
		"GE*1*8001~\n" +
		"IEA*1*000007001~\n"
	if string(ack) != want {
		t.Errorf("997 =\n%s\nwant\n%s", ack, want)
	}
	for _, o := range []AckOptions{{InterchangeControlNumber: 0, GroupControlNumber: 1}, {InterchangeControlNumber: 1, GroupControlNumber: 1e9}} {
		if _, err := Ack997(ic, rs, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if _, err := Ack997(ic, nil, ackOpts); err == nil {
		t.Error("missing results: no error")
	}
}

func TestTimeCodes(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		date, tm, code string
		local          *time.Location
		want           string // RFC3339Nano, or the error message
	}{
		{"20240115", "0800", "ET", nil, "2024-01-15T08:00:00-05:00"},
		{"20240715", "0800", "ET", nil, "2024-07-15T08:00:00-04:00"},
		{"20240715", "0800", "ES", nil, "2024-07-15T08:00:00-05:00"},
		{"20240115", "0800", "ED", nil, "2024-01-15T08:00:00-04:00"},
		{"20240115", "0800", "EST", nil, "2024-01-15T08:00:00-05:00"},
		{"20240715", "0800", "CT", nil, "2024-07-15T08:00:00-05:00"},
		{"20240115", "0800", "CS", nil, "2024-01-15T08:00:00-06:00"},
		{"20240715", "0800", "MT", nil, "2024-07-15T08:00:00-06:00"},
		{"20240715", "0800", "MS", nil, "2024-07-15T08:00:00-07:00"},
		{"20240115", "0800", "PT", nil, "2024-01-15T08:00:00-08:00"},
		{"20240715", "0800", "PD", nil, "2024-07-15T08:00:00-07:00"},
		{"20240115", "0800", "AT", nil, "2024-01-15T08:00:00-09:00"},
		{"20240715", "0800", "AK", nil, "2024-07-15T08:00:00-08:00"},
		{"20240715", "0800", "HT", nil, "2024-07-15T08:00:00-10:00"},
		{"20240715", "0800", "TT", nil, "2024-07-15T08:00:00-03:00"},
		{"20240115", "0800", "TS", nil, "2024-01-15T08:00:00-04:00"},
		{"20240115", "0800", "NT", nil, "2024-01-15T08:00:00-03:30"},
		{"20240115", "0800", "UT", nil, "2024-01-15T08:00:00Z"},
		{"20240115", "0800", "GM", nil, "2024-01-15T08:00:00Z"},
		{"20240115", "0800", "UTC", nil, "2024-01-15T08:00:00Z"},
		{"20240115", "0800", "LT", nil, "2024-01-15T08:00:00Z"},
		{"20240715", "0800", "LT", berlin, "2024-07-15T08:00:00+02:00"},
		{"20240715", "0800", "", berlin, "2024-07-15T08:00:00+02:00"},
		{"20240115", "0800", "01", nil, "2024-01-15T08:00:00+01:00"},
		{"20240115", "0800", "12", nil, "2024-01-15T08:00:00+12:00"},
		{"20240115", "0800", "13", nil, "2024-01-15T08:00:00-12:00"},
		{"20240115", "0800", "24", nil, "2024-01-15T08:00:00-01:00"},
		{"20240115", "080910", "UT", nil, "2024-01-15T08:09:10Z"},
		{"20240115", "0809105", "UT", nil, "2024-01-15T08:09:10.5Z"},
		{"20240115", "08091025", "UT", nil, "2024-01-15T08:09:10.25Z"},
		{"20240115", "", "UT", nil, "2024-01-15T00:00:00Z"},
		{"20240115", "0800", "XX", nil, `unknown time code "XX"`},
		{"20240115", "2400", "UT", nil, `invalid time "2400"`},
		{"20240115", "08000", "UT", nil, `invalid time "08000"`},
		{"20240230", "0800", "UT", nil, `invalid date "20240230"`},
		{"240115", "0800", "UT", nil, `invalid date "240115"`},
		{"", "0800", "UT", nil, "date missing"},
	}
	for _, tt := range tests {
		got, te := stamp(tt.date, tt.tm, tt.code, tt.local)
		s := got.Format(time.RFC3339Nano)
		if te != nil {
			s = te.msg
		}
		if s != tt.want {
			t.Errorf("stamp(%q, %q, %q) = %s, want %s", tt.date, tt.tm, tt.code, s, tt.want)
		}
	}
}

func TestTranslate204(t *testing.T) {
	const tender = "ISA*00*          *00*          *ZZ*SHIPPER        *ZZ*CROSSDOCK      *240301*1200*U*00401*000000042*0*P*>~" +
		"GS*SM*SHIPPER*CROSSDOCK*20240301*1200*42*X*004010~" +
		"ST*204*0001~" +
		"B2**SCAC**SHIP9**PP~" +
		"B2A*00~" +
		"L11*PO123*PO~L11*BOL9*BM~L11*BOL10*BM~" +
		"N1*BT*ACME*93*CUST7~" +
		"S5*1*LD*1000*L~" +
		"G62*37*20240305*I*0800*ET~G62*38*20240305*K*1000*ET~" +
		"N1*SH*ACME DC*93*DC1~N3*1 MAIN ST~N4*NEWARK*NJ*07102*US~" +
		"AT8*G*L*500*10~" +
		"S5*2*UL~" +
		"G62*68*20240306~" +
		"N1*CN*STORE 9~N3*9 ELM ST*SUITE 2~N4*BOSTON*MA*02101*US~" +
		"S5*3*CU~" +
		"N1*CN*STORE 10*93*ST10~" +
		"SE*22*0001~GE*1*42~IEA*1*000000042~"
	ic, err := Parse([]byte(tender))
	if err != nil {
		t.Fatal(err)
	}
	rs := Translate(ic, TranslateOptions{})
	if len(rs) != 1 || rs[0].Status != StatusAccepted {
		t.Fatalf("results = %+v", rs)
	}
	b, _ := json.Marshal(rs[0].Events[0].Data)
	want := `{"customer_id":"CUST7","order_id":"SHIP9","pieces":10,"references":{"BM":"BOL9, BOL10","PO":"PO123"},"stops":[` +
		`{"id":"1","location":{"address":{"city":"NEWARK","country":"US","name":"ACME DC","postal_code":"07102","state":"NJ","street":"1 MAIN ST"},"id":"DC1"},"type":"pickup","window":{"from":"2024-03-05T08:00:00-05:00","to":"2024-03-05T10:00:00-05:00"}},` +
		`{"id":"2","location":{"address":{"city":"BOSTON","country":"US","name":"STORE 9","postal_code":"02101","state":"MA","street":"9 ELM ST, SUITE 2"},"id":"loc-` + hashOf("STORE 9|9 ELM ST, SUITE 2|BOSTON|MA|02101|US") + `"},"type":"delivery","window":{"from":"2024-03-06T00:00:00Z","to":"2024-03-06T23:59:59Z"}},` +
		`{"id":"3","location":{"address":{"name":"STORE 10"},"id":"ST10"},"type":"delivery"}],"weight_kg":680.389}`
	if string(b) != want {
		t.Errorf("data =\n%s\nwant\n%s", b, want)
	}

	cancel := strings.Replace(tender, "B2A*00", "B2A*01", 1)
	ic, _ = Parse([]byte(cancel))
	rs = Translate(ic, TranslateOptions{})
	if ev := rs[0].Events; len(ev) != 1 || ev[0].Type != TypeShipmentCancelled || ev[0].Subject != "SHIP9" {
		t.Errorf("cancellation = %+v", rs[0])
	}

	for name, tc := range map[string]struct{ data, err string }{
		"bad stop reason": {strings.Replace(tender, "S5*3*CU", "S5*3*IN", 1), `segment 22 (S5) element 2: stop reason code "IN" is neither a pick-up nor a delivery`},
		"bad weight unit": {strings.Replace(tender, "AT8*G*L", "AT8*G*X", 1), `segment 16 (AT8) element 2: unknown weight unit "X"`},
		"bad purpose":     {strings.Replace(tender, "B2A*00", "B2A*99", 1), `segment 5 (B2A) element 1: unsupported transaction set purpose "99"`},
		"bad G62 date":    {strings.Replace(tender, "G62*68*20240306", "G62*68*20241306", 1), `segment 18 (G62) element 2: invalid date "20241306"`},
		"no shipment id":  {strings.NewReplacer("SHIP9", "", "L11*BOL9*BM~L11*BOL10*BM~", "L11*X*XX~L11*Y*YY~").Replace(tender), "segment 4 (B2) element 4: shipment id missing (B204, or an L11 with qualifier BM or SI)"},
	} {
		ic, err := Parse([]byte(tc.data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rs := Translate(ic, TranslateOptions{})
		if rs[0].Status != StatusRejected || len(rs[0].Errors) != 1 || rs[0].Errors[0].Error() != tc.err {
			t.Errorf("%s: status %s errors %v, want %s", name, rs[0].Status, rs[0].Errors, tc.err)
		}
	}
}

func hashOf(s string) string {
	h := sha256.Sum256([]byte(strings.ToUpper(s)))
	return hex.EncodeToString(h[:8])
}
