package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/credit"
)

// ledger is an ERP's credit answers; down fails like an outage.
type ledger struct{ down atomic.Bool }

func (l *ledger) Credit(_ context.Context, id string) (connector.Credit, error) {
	switch {
	case l.down.Load():
		return connector.Credit{}, errors.New("connection refused")
	case id == "CUST-NOLIMIT":
		return connector.Credit{CustomerID: id, Currency: "EUR", Balance: "10.00"}, nil
	case id != "CUST-1":
		return connector.Credit{}, connector.ErrUnknownCustomer
	}
	return connector.Credit{CustomerID: id, Currency: "EUR", Limit: "5000.00", Balance: "1234.56"}, nil
}

func TestCustomerCredit(t *testing.T) {
	t.Parallel()
	erp := &ledger{}
	h := newHubWith(t, hubOptions{credit: credit.New(credit.Options{Source: "ledger", Lookup: erp, Fresh: 1}),
		keys: []config.Key{financeKey()}})
	for _, c := range []struct {
		name, path, key string
		status          int
		want            map[string]any
	}{
		{"with a limit", "/api/v1/customers/CUST-1/credit", "finance-key-0123456789", http.StatusOK,
			map[string]any{"limit": "5000.00", "balance": "1234.56", "available": "3765.44", "currency": "EUR", "source": "ledger", "stale": false}},
		{"without a limit", "/api/v1/customers/CUST-NOLIMIT/credit", adminKey, http.StatusOK,
			map[string]any{"limit": nil, "available": nil, "balance": "10.00"}},
		{"unknown to the ERP", "/api/v1/customers/CUST-9/credit", adminKey, http.StatusNotFound, nil},
		{"read scope is not finance", "/api/v1/customers/CUST-1/credit", readKey, http.StatusForbidden, nil},
		{"no key", "/api/v1/customers/CUST-1/credit", "", http.StatusUnauthorized, nil},
	} {
		r := h.do(http.MethodGet, c.path, c.key, "", nil)
		if r.status != c.status {
			t.Fatalf("%s: %d %s", c.name, r.status, r.body)
		}
		for k, v := range c.want {
			if got := r.json(t)[k]; got != v {
				t.Errorf("%s: %s = %v, want %v", c.name, k, got, v)
			}
		}
	}
	erp.down.Store(true)
	r := h.do(http.MethodGet, "/api/v1/customers/CUST-1/credit", adminKey, "", nil)
	if m := r.json(t); r.status != http.StatusOK || m["stale"] != true || m["balance"] != "1234.56" || m["stale_reason"] != "connection refused" {
		t.Fatalf("ERP down: the last known answer, stale: %d %s", r.status, r.body)
	}
	r = h.do(http.MethodGet, "/api/v1/customers/CUST-NEVER/credit", adminKey, "", nil)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("ERP down, nothing known: %d %v %s", r.status, r.header, r.body)
	}
	none := newHub(t)
	if r := none.do(http.MethodGet, "/api/v1/customers/CUST-1/credit", adminKey, "", nil); r.status != http.StatusNotFound {
		t.Fatalf("no ERP connector: %d %s", r.status, r.body)
	}
}

// financeKey is a key with the finance scope: finance-key-0123456789.
func financeKey() config.Key {
	sum := sha256.Sum256([]byte("finance-key-0123456789"))
	return config.Key{Name: "finance", SHA256: hex.EncodeToString(sum[:]), Scopes: []string{"finance"}}
}
