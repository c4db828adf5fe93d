package credit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
)

// erp answers credit lookups; down makes it fail like an outage.
type erp struct {
	calls   atomic.Int32
	down    atomic.Bool
	balance atomic.Value
	gate    chan struct{} // when set, lookups wait for it
	entered chan struct{} // closed by the first lookup
	once    sync.Once
}

func (e *erp) Credit(ctx context.Context, id string) (connector.Credit, error) {
	e.calls.Add(1)
	if e.entered != nil {
		e.once.Do(func() { close(e.entered) })
	}
	if e.gate != nil {
		<-e.gate
	}
	if e.down.Load() {
		return connector.Credit{}, errors.New("dial tcp 127.0.0.1:8000: connection refused")
	}
	if id == "CUST-X" {
		return connector.Credit{}, connector.ErrUnknownCustomer
	}
	return connector.Credit{CustomerID: id, Currency: "EUR", Limit: "5000.00", Balance: e.balance.Load().(string)}, nil
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestFreshStaleUnknownUnavailable(t *testing.T) {
	e := &erp{}
	e.balance.Store("100.00")
	clk := &clock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	c := New(Options{Source: "ledger", Lookup: e, Fresh: time.Minute, Keep: time.Hour, Now: clk.Now})
	ctx := context.Background()
	steps := []struct {
		name      string
		advance   time.Duration
		down      bool
		balance   string
		wantBal   string
		wantStale bool
		wantCalls int32
		wantErr   error
	}{
		{"first lookup asks the ERP", 0, false, "100.00", "100.00", false, 1, nil},
		{"fresh: served from the cache", 30 * time.Second, false, "250.00", "100.00", false, 1, nil},
		{"no longer fresh: asks again", time.Minute, false, "250.00", "250.00", false, 2, nil},
		{"ERP down: the last answer, stale", 2 * time.Minute, true, "", "250.00", true, 3, nil},
		{"ERP down past keep: unavailable", 2 * time.Hour, true, "", "", false, 4, ErrUnavailable},
		{"ERP back", 0, false, "300.00", "300.00", false, 5, nil},
	}
	for _, s := range steps {
		clk.add(s.advance)
		e.down.Store(s.down)
		if s.balance != "" {
			e.balance.Store(s.balance)
		}
		a, err := c.Get(ctx, "CUST-1")
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil && (a.Balance != s.wantBal || a.Stale != s.wantStale)) || e.calls.Load() != s.wantCalls {
			t.Fatalf("%s: %+v %v after %d calls", s.name, a, err, e.calls.Load())
		}
		if s.wantStale && (a.Why == "" || a.Source != "ledger") {
			t.Fatalf("%s: a stale answer says why and where from: %+v", s.name, a)
		}
	}
	if _, err := c.Get(ctx, "CUST-X"); !errors.Is(err, connector.ErrUnknownCustomer) {
		t.Fatalf("unknown customer: %v", err)
	}
}

func TestConcurrentLookupsShareOneCall(t *testing.T) {
	e := &erp{gate: make(chan struct{}), entered: make(chan struct{})}
	e.balance.Store("1.00")
	c := New(Options{Source: "ledger", Lookup: e})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Get(context.Background(), "CUST-1"); err != nil {
				t.Error(err)
			}
		}()
	}
	<-e.entered
	close(e.gate)
	wg.Wait()
	if n := e.calls.Load(); n != 1 {
		t.Fatalf("%d ERP calls for 20 concurrent lookups of one customer", n)
	}
}

func TestBounded(t *testing.T) {
	e := &erp{}
	e.balance.Store("1.00")
	clk := &clock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	c := New(Options{Lookup: e, MaxEntries: 3, Now: clk.Now})
	for _, id := range []string{"A", "B", "C", "D"} {
		clk.add(time.Second)
		if _, err := c.Get(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	if _, kept := c.last["A"]; kept || len(c.last) != 3 {
		t.Fatalf("the oldest answer is evicted first: %v", c.last)
	}
}
