package rabbitmq

import (
	"errors"
	"fmt"
	"strings"

	"github.com/crossdockhq/crossdock/internal/connector"
)

// maxKey is the longest routing key AMQP 0-9-1 carries (a short string).
const maxKey = 255

// keyTemplate is a routing key with the placeholders {type} (the event
// type, its dots kept as word separators) and {shipment} (the shipment
// id, one word).
type keyTemplate string

// parseKey checks that s holds only the known placeholders and fits.
func parseKey(s string) (keyTemplate, error) {
	if s == "" {
		return "", errors.New("empty: the broker could route nothing")
	}
	rest, err := connector.TemplateRest(s)
	if err != nil {
		return "", err
	}
	if len(rest) > maxKey {
		return "", fmt.Errorf("%q: longer than %d bytes", s, maxKey)
	}
	return keyTemplate(s), nil
}

// expand fills the template in. A shipment id's dots become '_' so it
// stays one word for topic-exchange bindings; an empty value becomes "_".
func (t keyTemplate) expand(typ, shipment string) string {
	if typ == "" {
		typ = "_"
	}
	if shipment == "" {
		shipment = "_"
	}
	return connector.ExpandTemplate(string(t), typ, strings.ReplaceAll(shipment, ".", "_"))
}
