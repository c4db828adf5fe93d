package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/store"
)

// Delivery is one event for one connector.
type Delivery struct {
	// ID is stable for the (connector, event) pair, across retries and
	// restarts: destinations receive it as Idempotency-Key and can drop a
	// repeat.
	ID            string
	Event         store.EventRecord
	CorrelationID string
	Attempt       int // 1 for the first try
	// Body, when set, is the JSON to send in place of the CloudEvent: the
	// connector's jq program reshaped the event. Kinds that map events
	// themselves (the ERPs, edi) never get one.
	Body []byte
}

// BodyOf is what a JSON-bodied connector sends for d: d.Body when the
// connector's jq program reshaped the event, else the CloudEvent.
func BodyOf(d Delivery) ([]byte, error) {
	if d.Body != nil {
		return d.Body, nil
	}
	return Body(d.Event)
}

// Connector delivers events to one destination.
type Connector interface {
	// Name is the connector's name from the config.
	Name() string
	// Deliver sends d. A nil error: the destination has it (a repeat with
	// the same ID must be harmless), and Receipt says what it answered.
	// Errors: see the package documentation.
	Deliver(ctx context.Context, d Delivery) (Receipt, error)
}

// Receipt is what a destination answered to a delivery.
type Receipt struct {
	// Ref is the destination's reference for what it created (an ERP
	// invoice number), "" when it gave none.
	Ref string
}

// CloudEvent is the JSON form of a stored event, as connectors send it.
type CloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject,omitempty"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	CorrelationID   string          `json:"correlationid,omitempty"`
	CausationID     string          `json:"causationid,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// Body is the event as a CloudEvent JSON document.
func Body(e store.EventRecord) ([]byte, error) {
	data := json.RawMessage(e.Data)
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	return json.Marshal(CloudEvent{
		SpecVersion: "1.0", ID: e.ID, Source: e.Source, Type: e.Type, Subject: e.Subject, Time: e.Time.UTC(),
		DataContentType: "application/json", CorrelationID: e.CorrelationID, CausationID: e.CausationID, Data: data,
	})
}

// Credit is a customer's credit standing as the ERP holds it. Amounts are
// decimal strings in Currency; Limit is "" when the ERP sets none.
type Credit struct {
	CustomerID string
	Currency   string
	Limit      string
	// Balance is what the customer owes: posted, unpaid receivables.
	Balance string
}

// CreditLooker is a connector that can answer a customer's credit from
// the ERP synchronously (GET /api/v1/customers/{id}/credit).
type CreditLooker interface {
	// Credit looks customerID up (our customer id, as the connector
	// stored it on the ERP's party). ErrUnknownCustomer when the ERP has
	// no such customer; other errors mean the ERP could not answer.
	Credit(ctx context.Context, customerID string) (Credit, error)
}

// ErrUnknownCustomer: the ERP holds no customer with that id.
var ErrUnknownCustomer = errors.New("connector: customer unknown to the ERP")

// A destination template is a NATS subject, AMQP routing key or MQTT
// topic with the placeholders {type} (the event type) and {shipment} (the
// shipment id); each kind adds its own rules.

// TemplateRest checks that template t is not empty and holds no
// placeholder but {type} and {shipment}, and returns t without them: the
// literal part the kind checks against its own rules.
func TemplateRest(t string) (string, error) {
	if t == "" {
		return "", errors.New("empty")
	}
	rest := strings.NewReplacer("{type}", "", "{shipment}", "").Replace(t)
	if strings.ContainsAny(rest, "{}") {
		return "", fmt.Errorf("%q: only {type} and {shipment} may be replaced", t)
	}
	return rest, nil
}

// ExpandTemplate fills t's placeholders in with typ and shipment, as the
// kind has made them safe for it.
func ExpandTemplate(t, typ, shipment string) string {
	return strings.NewReplacer("{type}", typ, "{shipment}", shipment).Replace(t)
}

// ERPInvoice is what an ERP holds for one of our invoices.
type ERPInvoice struct {
	// InvoiceID is our invoice id, as the connector stored it on the ERP's
	// document (its reference).
	InvoiceID string
	// Ref is the ERP's own number or id for the document.
	Ref string
	// Total is the document's total, tax included, as a decimal string;
	// Currency its ISO 4217 code ("" when the ERP does not say).
	Total    string
	Currency string
	// State is the ERP's state of the document (draft, posted, paid, …),
	// for people; "" when it gives none.
	State string
}

// InvoiceLooker is a connector that can say what the ERP holds for our
// invoices (reconciliation).
type InvoiceLooker interface {
	// LookupInvoices returns what the ERP holds for each of ids, by
	// invoice id; an id the ERP lacks is absent from the map. ids holds at
	// most LookupBatch ids; the connector asks in as few requests as its
	// ERP allows. An error means the ERP could not answer for the batch.
	LookupInvoices(ctx context.Context, ids []string) (map[string]ERPInvoice, error)
}

// LookupBatch is the most ids one LookupInvoices call is given.
const LookupBatch = 200

// InvoiceLister is an InvoiceLooker that can also list the ERP's
// documents carrying a reference that looks like one of ours, so that
// reconciliation finds what the ERP holds and the hub never issued
// (unknown_in_hub).
type InvoiceLister interface {
	// ListInvoices calls fn with pages of the ERP's customer invoices
	// created in [from, to) whose reference starts with prefix, until
	// there are no more or fn returns an error, which it returns.
	ListInvoices(ctx context.Context, prefix string, from, to time.Time, fn func([]ERPInvoice) error) error
}
