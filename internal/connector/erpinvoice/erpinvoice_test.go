package erpinvoice

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	const lines = `"lines":[{"code":"distance","quantity":"412.5","unit_price":"1.20","amount":"495.00"},{"code":"stop","quantity":"2","unit_price":"25.00","amount":"50.00"}]`
	for _, c := range []struct {
		name, data, err string
	}{
		{"adds up", `{"id":"INV-1","customer_id":"C1","currency":"EUR",` + lines + `,"subtotal":"545.00","tax":"54.50","total":"599.50"}`, ""},
		{"not JSON", `{`, "invoice:"},
		{"no id", `{"customer_id":"C1","currency":"EUR",` + lines + `,"subtotal":"545.00","tax":"0","total":"545.00"}`, "id: required"},
		{"no customer", `{"id":"INV-1","currency":"EUR",` + lines + `,"subtotal":"545.00","tax":"0","total":"545.00"}`, "customer_id: required"},
		{"bad currency", `{"id":"INV-1","customer_id":"C1","currency":"euro",` + lines + `,"subtotal":"545.00","tax":"0","total":"545.00"}`, "currency"},
		{"no lines", `{"id":"INV-1","customer_id":"C1","currency":"EUR","lines":[],"subtotal":"0","tax":"0","total":"0"}`, "lines: none"},
		{"not a decimal", `{"id":"INV-1","customer_id":"C1","currency":"EUR","lines":[{"quantity":"1","unit_price":"1e3","amount":"1000"}],"subtotal":"1000","tax":"0","total":"1000"}`, "unit_price"},
		{"lines off", `{"id":"INV-1","customer_id":"C1","currency":"EUR",` + lines + `,"subtotal":"545.01","tax":"0","total":"545.01"}`, "lines sum to 545.00"},
		{"total off", `{"id":"INV-1","customer_id":"C1","currency":"EUR",` + lines + `,"subtotal":"545.00","tax":"54.50","total":"600.00"}`, "is not the total"},
		{"credit note", `{"id":"INV-1","customer_id":"C1","currency":"EUR","lines":[{"quantity":"1","unit_price":"-5","amount":"-5"}],"subtotal":"-5","tax":"0","total":"-5"}`, "negative"},
	} {
		inv, err := Parse([]byte(c.data))
		switch {
		case c.err == "" && (err != nil || inv.ID != "INV-1" || len(inv.Lines) != 2 || Rat(inv.Total).FloatString(2) != "599.50"):
			t.Errorf("%s: %+v %v", c.name, inv, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.err)
		}
	}
}

func TestKeyedRunsOneAtATimePerKey(t *testing.T) {
	var k Keyed
	var inA, most atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := k.Lock(context.Background(), "a")
			if err != nil {
				t.Error(err)
				return
			}
			n := inA.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(time.Millisecond) // hold the lock while others try
			inA.Add(-1)
			unlock()
		}()
	}
	// Another key is never held up by "a".
	unlockB, err := k.Lock(context.Background(), "b")
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d holders of one key at once", most.Load())
	}
	held, err := k.Lock(context.Background(), "c")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := k.Lock(ctx, "c"); err == nil {
		t.Fatal("took a held key")
	}
	held()
	if len(k.m) != 0 {
		t.Fatalf("entries left behind: %v", k.m)
	}
}
