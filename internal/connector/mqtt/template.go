package mqtt

import (
	"fmt"
	"strings"

	"github.com/crossdockhq/crossdock/internal/connector"
)

// maxTopic is the longest topic MQTT carries, in bytes.
const maxTopic = 65535

// topicTemplate is a topic with the placeholders {type} (the event type)
// and {shipment} (the shipment id), each filling one level.
type topicTemplate string

// parseTopic checks that s holds only the known placeholders and expands
// to topics one can publish to.
func parseTopic(s string) (topicTemplate, error) {
	rest, err := connector.TemplateRest(s)
	if err != nil {
		return "", err
	}
	switch {
	case strings.ContainsAny(rest, "+#"):
		return "", fmt.Errorf("%q: wildcards + and # are for subscribers, not a published topic", s)
	case strings.ContainsRune(rest, 0):
		return "", fmt.Errorf("%q: holds a NUL character", s)
	case strings.HasPrefix(s, "$"):
		return "", fmt.Errorf("%q: topics starting with $ are the broker's", s)
	case len(rest) > maxTopic:
		return "", fmt.Errorf("%q…: longer than %d bytes", s[:40], maxTopic)
	}
	return topicTemplate(s), nil
}

// expand fills the template in. Characters that would add a level or a
// wildcard ('/', '+', '#') or that MQTT forbids (NUL) become '_'; an empty
// value becomes "_".
func (t topicTemplate) expand(typ, shipment string) string {
	return connector.ExpandTemplate(string(t), level(typ), level(shipment))
}

// level makes s one topic level.
func level(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '/', '+', '#', 0:
			return '_'
		}
		return r
	}, s)
}
