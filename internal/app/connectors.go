package app

import (
	"fmt"

	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/rest"
)

// newConnector builds the connector of c's kind.
func newConnector(c config.Connector) (connector.Connector, error) {
	switch c.Kind {
	case "rest", "webhook":
		if len(c.Options) > 0 {
			return nil, fmt.Errorf("options: a %s connector has none", c.Kind)
		}
		return rest.New(rest.Config{Name: c.Name, URL: c.URL, Headers: c.Headers, Bearer: c.Bearer(), Timeout: c.Timeout.D(),
			SigningSecret: c.Secret()}) // set for the webhook kind
	}
	return nil, fmt.Errorf("kind %s: not built into this binary", c.Kind)
}
