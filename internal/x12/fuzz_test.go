package x12

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/samples/*.x12")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(base))
	f.Add([]byte(strings.ReplaceAll(base, "~\n", "\n")))
	f.Add([]byte(bench214(2)))
	f.Fuzz(func(t *testing.T, data []byte) {
		ic, err := Parse(data)
		if err != nil {
			var xe *Error
			if !errors.As(err, &xe) || xe.Level != LevelInterchange || ic != nil {
				t.Fatalf("Parse error %v (%T)", err, err)
			}
			return
		}
		rs := Translate(ic, TranslateOptions{StopFromLX: true, SignerEntity: "N5"})
		for _, r := range rs {
			if _, err := json.Marshal(r.Events); err != nil {
				t.Fatalf("events do not marshal: %v", err)
			}
		}
		ack, err := Ack997(ic, rs, ackOpts)
		if err != nil {
			return // a received value the 997 cannot carry
		}
		if _, err := Parse(ack); err != nil {
			t.Fatalf("the 997 does not parse: %v\n%q", err, ack)
		}
	})
}

// bench214 is a realistic 214 interchange with n sets of five statuses.
func bench214(n int) string {
	var b strings.Builder
	b.WriteString("ISA*00*          *00*          *02*XDCK           *ZZ*CROSSDOCK      *240301*1200*U*00401*000000001*0*P*>~\r\n")
	b.WriteString("GS*QM*XDCK*CROSSDOCK*20240301*1200*1*X*004010~\r\n")
	codes := []string{"X3", "AF", "X6", "X1", "D1"}
	for i := 1; i <= n; i++ {
		ctl := fmt.Sprintf("%04d", i)
		fmt.Fprintf(&b, "ST*214*%s~\r\nB10*PRO%d*SHIP%06d*XDCK~\r\nL11*BOL%d*BM~\r\nL11*PO%d*PO~\r\n", ctl, i, i, i, i)
		b.WriteString("N1*SH*ACME DISTRIBUTION CENTER*93*DC1~\r\nN3*100 INDUSTRIAL PKWY~\r\nN4*NEWARK*NJ*07102*US~\r\n")
		b.WriteString("N1*CN*CORNER STORE 17*93*ST17~\r\nN3*17 MAIN STREET~\r\nN4*BOSTON*MA*02101*US~\r\n")
		for j, c := range codes {
			stop := "1"
			if j >= 3 {
				stop = "2"
			}
			fmt.Fprintf(&b, "LX*%d~\r\nAT7*%s*NS***20240301*%02d%02d*ET~\r\nMS1*NEWARK*NJ*US*0740959*404242*W*N~\r\nMS2*XDCK*TRL%05d~\r\nL11*%s*QN~\r\nAT8*G*L*12000*24~\r\n", j+1, c, 8+j, 15, i, stop)
		}
		fmt.Fprintf(&b, "SE*%d*%s~\r\n", 11+5*6, ctl)
	}
	fmt.Fprintf(&b, "GE*%d*1~\r\nIEA*1*000000001~\r\n", n)
	return b.String()
}

func TestBench214IsValid(t *testing.T) {
	ic, err := Parse([]byte(bench214(3)))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Translate(ic, TranslateOptions{}) {
		if r.Status != StatusAccepted || len(r.Events) != 5 {
			t.Fatalf("%+v", r)
		}
	}
}

func BenchmarkParse214(b *testing.B) {
	data := []byte(bench214(500))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTranslate214(b *testing.B) {
	data := []byte(bench214(500))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		ic, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		Translate(ic, TranslateOptions{})
	}
}
