package odata

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
	"github.com/crossdockhq/crossdock/internal/store"
)

// TestIntegrationOData runs the contract against a real S/4HANA
// API_SALES_ORDER_SRV: CROSSDOCK_TEST_ODATA_URL (the service root),
// _USER and _PASSWORD, _OPTIONS (the connector's options as
// key=value;key=value: sales_organization, distribution_channel,
// division, material, …) and _CUSTOMER (an SAP customer of that sales
// area, put on every test invoice).
func TestIntegrationOData(t *testing.T) {
	root := os.Getenv("CROSSDOCK_TEST_ODATA_URL")
	if root == "" {
		t.Skip("CROSSDOCK_TEST_ODATA_URL not set: the contract against a real S/4HANA is skipped")
	}
	opts := map[string]string{}
	for _, kv := range strings.Split(os.Getenv("CROSSDOCK_TEST_ODATA_OPTIONS"), ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			opts[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	customer := os.Getenv("CROSSDOCK_TEST_ODATA_CUSTOMER")
	cfg := Config{Name: "erp", URL: root, Username: os.Getenv("CROSSDOCK_TEST_ODATA_USER"),
		Password: os.Getenv("CROSSDOCK_TEST_ODATA_PASSWORD"), Timeout: 30 * time.Second, Options: opts}
	probe := open(t, cfg)
	withCustomer := func(e store.EventRecord, id string) store.EventRecord {
		for i := range 5 {
			e.Data = []byte(strings.Replace(string(e.Data), `"customer_id":"CUST-`+string(rune('0'+i))+`"`, `"customer_id":"`+id+`"`, 1))
		}
		return e
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := cfg
	down.URL, down.Timeout = "http://"+l.Addr().String()+"/sap/opu/odata/sap/API_SALES_ORDER_SRV", 2*time.Second
	_ = l.Close()
	connectortest.Run(t, connectortest.Destination{
		Connector: func(t *testing.T) connector.Connector { return open(t, cfg) },
		Down:      func(t *testing.T) connector.Connector { return open(t, down) },
		Held: func(t *testing.T, d connector.Delivery) int {
			found, err := probe.find(context.Background(), "", invoiceID(t, d.Event))
			if err != nil {
				t.Fatal(err)
			}
			return len(found)
		},
		Event: func(i int) store.EventRecord { return withCustomer(connectortest.Invoice(i), customer) },
		// No SAP system has a sold-to party ZZZZZZZZZZ.
		Refused: func() store.EventRecord { return withCustomer(connectortest.Invoice(900), "ZZZZZZZZZZ") },
		WantRef: true,
	})
}
