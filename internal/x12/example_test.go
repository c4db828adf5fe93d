package x12_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/crossdockhq/crossdock/internal/x12"
)

func Example() {
	body := []byte("ISA*00*          *00*          *02*XDCK           *ZZ*CROSSDOCK      *240301*1200*U*00401*000000077*0*P*>~\n" +
		"GS*QM*XDCK*CROSSDOCK*20240301*1200*77*X*004010~\n" +
		"ST*214*0001~\n" +
		"B10*PRO1*SHIP1*XDCK~\n" +
		"LX*1~\n" +
		"AT7*D1*NS***20240301*1420*CT~\n" +
		"L11*2*QN~\n" +
		"LX*2~\n" +
		"AT7*ZZ*NS***20240301*1430*CT~\n" +
		"SE*8*0001~\n" +
		"GE*1*77~\n" +
		"IEA*1*000000077~\n")
	ic, err := x12.Parse(body)
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	results := x12.Translate(ic, x12.TranslateOptions{})
	for _, r := range results {
		fmt.Println(r.ID, r.ControlNumber, r.Status)
		for _, e := range r.Errors {
			fmt.Println("  error:", e)
		}
		for _, ev := range r.Events {
			b, _ := json.Marshal(ev)
			fmt.Println("  event:", string(b))
		}
	}
	ack, err := x12.Ack997(ic, results, x12.AckOptions{
		InterchangeControlNumber: 1, GroupControlNumber: 1,
		Now: time.Date(2024, 3, 1, 12, 5, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(ack))
	// Output:
	// 214 0001 accepted_with_errors
	//   error: segment 9 (AT7) element 1: unmapped AT7 status code "ZZ"
	//   event: {"id":"XDCK-000000077-77-0001-1","type":"delivery.completed","subject":"SHIP1","time":"2024-03-01T14:20:00-06:00","data":{"signed_by":"","status_code":"D1","stop_id":"2"}}
	// ISA*00*          *00*          *ZZ*CROSSDOCK      *02*XDCK           *240301*1205*U*00401*000000001*0*P*>~
	// GS*FA*CROSSDOCK*XDCK*20240301*1205*1*X*004010~
	// ST*997*0001~
	// AK1*QM*77~
	// AK2*214*0001~
	// AK3*AT7*7**8~
	// AK4*1**7*ZZ~
	// AK5*E*5~
	// AK9*E*1*1*1~
	// SE*8*0001~
	// GE*1*1~
	// IEA*1*000000001~
}
