package config

import (
	"regexp"
	"slices"
	"strings"
)

// Redacted returns a copy safe to log or print: the admin key and the
// database URL's password (in the user info or a password= parameter) are
// replaced by "***". Declared keys keep their SHA-256: it is not the key.
// The copy shares no slices with c.
func (c Config) Redacted() Config {
	if c.Auth.AdminKey != "" {
		c.Auth.AdminKey = "***"
	}
	c.Store.DatabaseURL = redactURL(c.Store.DatabaseURL)
	c.Tracing.OTLPEndpoint = redactURL(c.Tracing.OTLPEndpoint)
	c.Monitors = slices.Clone(c.Monitors)
	if c.Inputs.MQTT.Password != "" {
		c.Inputs.MQTT.Password = "***"
	}
	c.Inputs.MQTT.URL = redactURL(c.Inputs.MQTT.URL)
	if c.Inputs.NATS != nil {
		ns := make([]NATSInput, len(c.Inputs.NATS))
		for i, n := range c.Inputs.NATS {
			n.URL = redactURL(n.URL)
			n.Subjects = append([]string(nil), n.Subjects...)
			ns[i] = n
		}
		c.Inputs.NATS = ns
	}
	if c.Inputs.AMQP != nil {
		as := make([]AMQPInput, len(c.Inputs.AMQP))
		for i, a := range c.Inputs.AMQP {
			a.URL = redactURL(a.URL)
			a.RoutingKeys = append([]string(nil), a.RoutingKeys...)
			as[i] = a
		}
		c.Inputs.AMQP = as
	}
	if c.Connectors != nil {
		ks := make([]Connector, len(c.Connectors))
		for i, k := range c.Connectors {
			k.bearer, k.secret = "", ""
			k.Events = append([]string(nil), k.Events...)
			if k.Headers != nil {
				h := make(map[string]string, len(k.Headers))
				for name := range k.Headers {
					h[name] = "***" // headers often carry API keys
				}
				k.Headers = h
			}
			ks[i] = k
		}
		c.Connectors = ks
	}
	if c.Partners != nil {
		ps := make([]Partner, len(c.Partners))
		for i, p := range c.Partners {
			if p.Signing != nil {
				s := *p.Signing
				if s.Secret != "" {
					s.Secret = "***"
				}
				s.fromEnv = ""
				p.Signing = &s
			}
			p.Scopes = append([]string(nil), p.Scopes...)
			ps[i] = p
		}
		c.Partners = ps
	}
	if c.Auth.Keys != nil {
		keys := make([]Key, len(c.Auth.Keys))
		for i, k := range c.Auth.Keys {
			k.Scopes = append([]string(nil), k.Scopes...)
			keys[i] = k
		}
		c.Auth.Keys = keys
	}
	return c
}

var passwordParam = regexp.MustCompile(`(?i)((?:^|[?&\s])(?:ssl)?password=)('[^']*'|[^&\s]*)`)

// redactURL hides the password of a connection string. It errs on the side
// of hiding: it does not rely on the URL parsing, so a password holding an
// unescaped '/', '?' or '@' is hidden whole.
func redactURL(s string) string {
	if s == "" {
		return s
	}
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		at := strings.LastIndex(rest, "@")
		colon := strings.IndexByte(rest, ':')
		if at >= 0 && colon >= 0 && colon < at && !strings.ContainsAny(rest[:colon], "/?#") {
			s = s[:i+3] + rest[:colon] + ":***" + rest[at:]
		}
	}
	return passwordParam.ReplaceAllString(s, "${1}***")
}

// RedactURL hides the password of a connection string or URL, for display.
func RedactURL(s string) string { return redactURL(s) }
