package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/outbox"
)

// ExtensionKey is the CloudEvents extension attribute that carries the
// delivery's idempotency key in the body: MQTT 3.1.1 has no headers.
const ExtensionKey = "idempotencykey"

// errReconnecting: the connection was lost and the client is connecting
// again in the background.
var errReconnecting = errors.New("connection lost, reconnecting")

// Connector publishes each event with QoS 1 and returns once the broker
// acknowledged it (PUBACK). It is safe for concurrent use: deliveries
// share one client, and one connection attempt at a time.
type Connector struct {
	cfg    Config
	set    settings
	log    *slog.Logger
	client paho.Client

	mu      sync.Mutex
	pending paho.Token // the last connection attempt; nil before the first
}

var _ connector.Connector = (*Connector)(nil)

// New checks c and returns the connector; it connects on the first
// delivery.
func New(c Config) (*Connector, error) {
	c = c.withDefaults()
	set, err := c.validate()
	if err != nil {
		return nil, err
	}
	cn := &Connector{cfg: c, set: set, log: c.Logger.With("connector", c.Name, "kind", "mqtt", "url", Redact(c.URL))}
	broker := c.URL
	if c.Username != "" {
		u, _ := url.Parse(c.URL) // checked by validate
		u.User = nil             // the client would prefer the URL's user
		broker = u.String()
	}
	// A publisher has nothing for the broker to keep between sessions: a
	// clean session, under a stable client id the broker's ACLs and logs
	// can name. The client connects again on its own once connected.
	opts := paho.NewClientOptions().AddBroker(broker).SetClientID(set.clientID).
		SetCleanSession(true).SetOrderMatters(false).
		SetConnectRetry(false).SetAutoReconnect(true).SetMaxReconnectInterval(30 * time.Second).
		SetConnectTimeout(c.Timeout).SetWriteTimeout(c.Timeout).SetKeepAlive(30 * time.Second).
		SetOnConnectHandler(func(paho.Client) { cn.log.Info("mqtt connected", "client_id", set.clientID) }).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			cn.log.Warn("mqtt connection lost; reconnecting", "err", err)
		})
	if c.Username != "" {
		opts.SetUsername(c.Username).SetPassword(c.Password)
	}
	cn.client = paho.NewClient(opts)
	return cn, nil
}

// Name implements connector.Connector.
func (c *Connector) Name() string { return c.cfg.Name }

// Close disconnects, waiting up to a quarter second for publishes in
// flight; a later delivery connects again.
func (c *Connector) Close() error {
	c.client.Disconnect(250)
	return nil
}

// Deliver implements connector.Connector: a QoS 1, not retained publish
// of the CloudEvent with the extension attribute idempotencykey = d.ID,
// waiting for the PUBACK. Every failure may succeed later: none is
// permanent but a topic MQTT cannot carry.
func (c *Connector) Deliver(ctx context.Context, d connector.Delivery) (connector.Receipt, error) {
	body, err := Body(d)
	if err != nil {
		return connector.Receipt{}, outbox.Permanent(fmt.Errorf("encode event: %w", err))
	}
	topic := c.topic(d.Event.Type, d.Event.ShipmentID)
	if len(topic) > maxTopic {
		return connector.Receipt{}, outbox.Permanent(fmt.Errorf("topic %.40q…: %d bytes, over MQTT's %d", topic, len(topic), maxTopic))
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return connector.Receipt{}, fmt.Errorf("publish: %w", err)
	}
	if err := c.connect(ctx); err != nil {
		return connector.Receipt{}, fmt.Errorf("connect to %s: %w", Redact(c.cfg.URL), err)
	}
	tok := c.client.Publish(topic, 1, false, body)
	select {
	case <-tok.Done():
	case <-ctx.Done():
		// The client may still send it: the receiver drops the repeat.
		return connector.Receipt{}, fmt.Errorf("publish to %s: no PUBACK from the broker: %w", topic, ctx.Err())
	}
	if err := tok.Error(); err != nil {
		return connector.Receipt{}, fmt.Errorf("publish to %s: %w", topic, err)
	}
	return connector.Receipt{}, nil
}

// Body is what the connector publishes for d: the event as a CloudEvent
// (connector.Body) with the extension attribute ExtensionKey = d.ID.
func Body(d connector.Delivery) ([]byte, error) {
	ce, err := connector.BodyOf(d)
	if err != nil {
		return nil, err
	}
	key, err := json.Marshal(d.ID)
	if err != nil {
		return nil, err
	}
	// ce is a JSON object: put the attribute before its closing brace.
	out := make([]byte, 0, len(ce)+len(ExtensionKey)+len(key)+4)
	out = append(out, ce[:len(ce)-1]...)
	out = append(out, `,"`+ExtensionKey+`":`...)
	out = append(out, key...)
	return append(out, '}'), nil
}

// topic is where an event of type typ for shipment is published.
func (c *Connector) topic(typ, shipment string) string { return c.set.topic.expand(typ, shipment) }

// connect makes sure the client is connected: it returns at once when it
// is, fails at once while it reconnects on its own, and otherwise starts a
// connection attempt, or waits for the one another delivery started.
func (c *Connector) connect(ctx context.Context) error {
	if c.client.IsConnectionOpen() {
		return nil
	}
	if c.client.IsConnected() {
		return errReconnecting
	}
	c.mu.Lock()
	tok := c.pending
	if tok == nil || done(tok) {
		tok = c.client.Connect()
		c.pending = tok
	}
	c.mu.Unlock()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	return tok.Error()
}

// done reports whether tok has completed.
func done(tok paho.Token) bool {
	select {
	case <-tok.Done():
		return true
	default:
		return false
	}
}
