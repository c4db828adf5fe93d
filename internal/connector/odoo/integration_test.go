package odoo

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
	"github.com/crossdockhq/crossdock/internal/store"
)

// TestIntegrationOdoo runs the contract against a real Odoo with the
// Invoicing app: CROSSDOCK_TEST_ODOO_URL (base address), _DB, _USER (for
// jsonrpc), _KEY (an API key) and _API (json2, the default, or jsonrpc).
func TestIntegrationOdoo(t *testing.T) {
	base := os.Getenv("CROSSDOCK_TEST_ODOO_URL")
	if base == "" {
		t.Skip("CROSSDOCK_TEST_ODOO_URL not set: the contract against a real Odoo is skipped")
	}
	cfg := Config{Name: "erp", URL: base, Username: os.Getenv("CROSSDOCK_TEST_ODOO_USER"), Password: os.Getenv("CROSSDOCK_TEST_ODOO_KEY"),
		Timeout: 20 * time.Second, Options: map[string]string{"database": os.Getenv("CROSSDOCK_TEST_ODOO_DB")}}
	if api := os.Getenv("CROSSDOCK_TEST_ODOO_API"); api != "" {
		cfg.Options["api"] = api
	}
	openReal := func(t *testing.T) connector.Connector {
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	probe := openReal(t).(*Connector)
	connectortest.Run(t, connectortest.Destination{
		Connector: openReal,
		Down: func(t *testing.T) connector.Connector {
			down := cfg
			down.URL, down.Timeout = closedURL(t), 2*time.Second
			c, err := New(down)
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		Held: func(t *testing.T, d connector.Delivery) int {
			var ids []int64
			err := probe.decode(context.Background(), &ids, "account.move", "search", nil, map[string]any{
				"domain": []any{[]any{"move_type", "=", "out_invoice"}, []any{"ref", "=", invoiceID(t, d.Event)}},
			}, "domain")
			if err != nil {
				t.Fatal(err)
			}
			return len(ids)
		},
		Event: connectortest.Invoice,
		// No Odoo has a currency ZZZ.
		Refused: func() store.EventRecord {
			e := connectortest.Invoice(900)
			e.Data = []byte(strings.Replace(string(e.Data), `"currency":"EUR"`, `"currency":"ZZZ"`, 1))
			return e
		},
		WantRef: true,
	})
}
