package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/edi"
	"github.com/crossdockhq/crossdock/internal/connector/mqtt"
	"github.com/crossdockhq/crossdock/internal/connector/nats"
	"github.com/crossdockhq/crossdock/internal/connector/odata"
	"github.com/crossdockhq/crossdock/internal/connector/odoo"
	"github.com/crossdockhq/crossdock/internal/connector/rabbitmq"
	"github.com/crossdockhq/crossdock/internal/connector/rest"
	"github.com/crossdockhq/crossdock/internal/connector/tryton"
	"github.com/crossdockhq/crossdock/internal/credit"
	"github.com/crossdockhq/crossdock/internal/store"
)

// newConnector builds the connector of c's kind.
func newConnector(c config.Connector, log *slog.Logger) (connector.Connector, error) {
	log = log.With("connector", c.Name)
	switch c.Kind {
	case "rest", "webhook":
		if len(c.Options) > 0 {
			return nil, fmt.Errorf("options: a %s connector has none", c.Kind)
		}
		return rest.New(rest.Config{Name: c.Name, URL: c.URL, Headers: c.Headers, Bearer: c.Bearer(), Timeout: c.Timeout.D(),
			BasicUser: c.Username, BasicPassword: c.Password(),
			ReconcileURL: c.ReconcileURL, ReconcileJQ: c.ReconcileJQ,
			SigningSecret: c.Secret()}) // set for the webhook kind
	case "odoo":
		return odoo.New(odoo.Config{Name: c.Name, URL: c.URL, Username: c.Username, Password: c.Password(), Timeout: c.Timeout.D(), Options: c.Options})
	case "odata":
		return odata.New(odata.Config{Name: c.Name, URL: c.URL, Username: c.Username, Password: c.Password(), Timeout: c.Timeout.D(), Options: c.Options})
	case "tryton":
		return tryton.New(tryton.Config{Name: c.Name, URL: c.URL, Username: c.Username, Password: c.Password(), Timeout: c.Timeout.D(), Options: c.Options})
	case "nats":
		return nats.New(nats.Config{Name: c.Name, URL: c.URL, Username: c.Username, Password: c.Password(), Timeout: c.Timeout.D(), Options: c.Options, Logger: log})
	case "rabbitmq":
		return rabbitmq.New(rabbitmq.Config{Name: c.Name, URL: c.URL, Username: c.Username, Password: c.Password(), Timeout: c.Timeout.D(), Options: c.Options, Logger: log})
	case "mqtt":
		return mqtt.New(mqtt.Config{Name: c.Name, URL: c.URL, Username: c.Username, Password: c.Password(), Timeout: c.Timeout.D(), Options: c.Options, Logger: log})
	case "edi":
		return edi.New(edi.Config{Name: c.Name, URL: c.URL, Username: c.Username, Password: c.Password(), Timeout: c.Timeout.D(), Options: c.Options})
	}
	return nil, fmt.Errorf("kind %s: not built into this binary", c.Kind)
}

// CheckConnectors builds each configured connector, as serve would, and
// closes it again: a kind's own options are checked without connecting.
func CheckConnectors(cfgs []config.Connector) error {
	targets, _, err := openConnectors(cfgs, slog.New(slog.DiscardHandler))
	for _, t := range targets {
		if c, ok := t.conn.(io.Closer); ok {
			_ = c.Close()
		}
	}
	return err
}

// postsInvoices are the kinds whose delivery of invoice.ready posts the
// invoice (it turns posted with the destination's reference, or failed):
// the ERPs, a REST endpoint standing for one, and EDI 210s to a trading
// partner. Webhooks and brokers notify; they post nothing.
var postsInvoices = map[string]bool{"rest": true, "tryton": true, "odoo": true, "odata": true, "edi": true}

// creditLookupTimeout bounds one synchronous credit lookup at the ERP.
const creditLookupTimeout = 5 * time.Second

// creditSource is the cache of credit lookups through the first
// configured connector whose kind answers them; nil when none does.
func creditSource(cfgs []config.Connector, targets map[string]*target, st store.Store) *credit.Cache {
	for _, c := range cfgs {
		t := targets[c.Name]
		if l, ok := t.conn.(connector.CreditLooker); ok {
			return credit.New(credit.Options{Source: c.Name, Lookup: erpCredit{t: t, erp: l, st: st}})
		}
	}
	return nil
}

// erpCredit asks the ERP through its connector's circuit breaker and
// pause switch: a paused or failing ERP is not asked.
type erpCredit struct {
	t   *target
	erp connector.CreditLooker
	st  store.Store
}

func (e erpCredit) Credit(ctx context.Context, customerID string) (connector.Credit, error) {
	if e.t.isPaused(ctx, e.st) {
		return connector.Credit{}, fmt.Errorf("connector %s is paused", e.t.cfg.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, creditLookupTimeout)
	defer cancel()
	var out connector.Credit
	unknown := false
	_, err := e.t.breaker.Execute(func() (connector.Receipt, error) {
		c, err := e.erp.Credit(ctx, customerID)
		if errors.Is(err, connector.ErrUnknownCustomer) {
			unknown = true // an answer: the ERP is up
			return connector.Receipt{}, nil
		}
		out = c
		return connector.Receipt{}, err
	})
	if unknown {
		return connector.Credit{}, connector.ErrUnknownCustomer
	}
	return out, err
}
