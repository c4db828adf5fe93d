package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/crossdockhq/crossdock/internal/mapping"
)

// Partner is an organisation connected to the hub: a carrier, a TMS, a
// customer portal. Partners declared here exist at start; more can be
// created through POST /api/v1/partners.
type Partner struct {
	// ID names the partner in URLs and sources (partner/{id}): 1 to 64 of
	// a-z 0-9 _ . -.
	ID string `yaml:"id"`
	// Name is for people; default: the id.
	Name string `yaml:"name"`
	// Scopes its keys hold; default [events:write, read]. Partners may hold
	// events:write and read only.
	Scopes []string `yaml:"scopes"`
	// RateLimit bounds the partner's requests, all its keys together.
	RateLimit RateLimit `yaml:"rate_limit"`
	// MaxBodyBytes is the partner's request body limit; 0: http.max_body_bytes.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Signing, when set, requires an HMAC-SHA256 signature on every
	// request the partner sends to its inbound, edi and files endpoints.
	Signing *Signing `yaml:"signing"`
	// Tables are code tables its mappings can use ($tables.NAME, code("NAME")).
	Tables map[string]map[string]any `yaml:"tables"`
	// Inbound are its named jq mappings for JSON payloads:
	// POST /api/v1/partners/{id}/inbound/{name}.
	Inbound []Mapping `yaml:"inbound"`
	// Files are its named CSV mappings: POST /api/v1/partners/{id}/files/{name}
	// and, when DropDir is set, a watched folder.
	Files []FileMapping `yaml:"files"`
	// EDI configures X12 intake: POST /api/v1/partners/{id}/edi.
	EDI EDI `yaml:"edi"`
}

// RateLimit is a token bucket.
type RateLimit struct {
	// PerSecond is the sustained rate; default 100; 0 after defaults is
	// impossible (use a large number for "unlimited").
	PerSecond float64 `yaml:"per_second"`
	// Burst is the bucket size; default 2 × PerSecond, at least 1.
	Burst int `yaml:"burst"`
}

// Signing configures webhook signatures: the sender puts
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">" in Header.
type Signing struct {
	// Secret is the shared secret; prefer SecretEnv to keep it out of files.
	Secret string `yaml:"secret"`
	// SecretEnv names the environment variable holding the secret.
	SecretEnv string `yaml:"secret_env"`
	// Header carrying the signature; default X-Crossdock-Signature.
	Header string `yaml:"header"`
	// Window is how old (or how far in the future) a signature's timestamp
	// may be; default 5m.
	Window Duration `yaml:"window"`

	fromEnv string // the value of SecretEnv, read by Load
}

// Key returns the secret, from the file or from SecretEnv.
func (s Signing) Key() string {
	if s.SecretEnv != "" {
		return s.fromEnv
	}
	return s.Secret
}

// resolveSecrets reads the secrets named by *_env keys.
func (c *Config) resolveSecrets(getenv func(string) string) {
	for i := range c.Partners {
		if s := c.Partners[i].Signing; s != nil && s.SecretEnv != "" && getenv != nil {
			s.fromEnv = getenv(s.SecretEnv)
		}
	}
}

// Mapping is a named jq program turning a partner payload into one
// canonical event or an array of them.
type Mapping struct {
	Name string `yaml:"name"`
	JQ   string `yaml:"jq"`
	// Timeout bounds one run; default 100ms.
	Timeout Duration `yaml:"timeout"`
}

// FileMapping reads CSV files: each row becomes an object keyed by the
// column names, which the jq program turns into canonical events.
type FileMapping struct {
	Name string `yaml:"name"`
	// JQ maps one row object to events; its input is {"row": N, ...columns}.
	JQ      string   `yaml:"jq"`
	Timeout Duration `yaml:"timeout"`
	// Delimiter is "," (default), ";" or "\t".
	Delimiter string `yaml:"delimiter"`
	// Columns declares the columns the file must (or may) have.
	Columns []Column `yaml:"columns"`
	// DropDir, when set, is watched: files put there are imported with
	// this mapping, then moved to done/ or failed/ below it.
	DropDir string `yaml:"drop_dir"`
}

// Column is one CSV column.
type Column struct {
	Name     string `yaml:"name"`     // key in the row object
	Header   string `yaml:"header"`   // header in the file (case-insensitive); default: Name
	Type     string `yaml:"type"`     // string (default), number, integer, decimal, time, bool
	Layout   string `yaml:"layout"`   // time only: a Go layout, unix or unix_ms; default RFC 3339
	Location string `yaml:"location"` // time only: IANA zone for times without one; default UTC
	Required bool   `yaml:"required"` // the header must exist and the cell be non-empty
}

// EDI configures a partner's X12 intake.
type EDI struct {
	// TimeZone interprets X12 local times (AT7 time code LT); default UTC.
	TimeZone string `yaml:"time_zone"`
	// DropDir, when set, is watched for interchanges (an SFTP landing
	// folder, say): each is imported like POST .../edi, moved to done/ or
	// failed/, and its 997 written to acks/NAME.997 below the folder.
	DropDir string `yaml:"drop_dir"`
}

// Ownership names the system of record per entity: only those sources may
// write it. Empty lists leave the entity open to every source with the
// scope to write it.
type Ownership struct {
	// Orders: sources allowed to send order.released and shipment.cancelled.
	Orders []string `yaml:"orders,omitempty"`
	// Customers and Locations: sources allowed to PUT them (partner/{id},
	// or a key name for internal keys).
	Customers []string `yaml:"customers,omitempty"`
	Locations []string `yaml:"locations,omitempty"`
	// Precedence ranks sources for stop milestones and proofs of delivery,
	// most trusted first (e.g. [partner/driver-app, crossdock/telemetry,
	// partner/acme-carrier]): a higher source's report wins over a lower
	// one whatever their times. A source matches an entry equal to it or
	// an entry that is its prefix followed by "/". Unlisted sources rank
	// below every listed one.
	Precedence []string `yaml:"precedence,omitempty"`
}

// NATSInput reads a JetStream stream with a durable pull consumer; each
// message's body goes through a partner's inbound mapping and is
// acknowledged once its events are committed (or it is quarantined).
type NATSInput struct {
	Name          string   `yaml:"name"`           // for logs; unique among broker inputs
	URL           string   `yaml:"url"`            // nats://host:4222
	Stream        string   `yaml:"stream"`         // the stream to read
	Subjects      []string `yaml:"subjects"`       // the stream's subjects, used when creating it
	CreateStream  bool     `yaml:"create_stream"`  // create the stream (file storage) when missing
	Durable       string   `yaml:"durable"`        // durable consumer name; default crossdock-{name}
	FilterSubject string   `yaml:"filter_subject"` // only these subjects; default all
	Partner       string   `yaml:"partner"`        // a declared partner
	Mapping       string   `yaml:"mapping"`        // one of its inbound mappings
}

// AMQPInput consumes a RabbitMQ queue with manual acknowledgement; each
// message goes through a partner's inbound mapping.
type AMQPInput struct {
	Name        string   `yaml:"name"`         // for logs; unique among broker inputs
	URL         string   `yaml:"url"`          // amqp://user:password@host:5672/vhost
	Queue       string   `yaml:"queue"`        // the queue to consume
	Declare     bool     `yaml:"declare"`      // declare the queue (durable) when missing
	Exchange    string   `yaml:"exchange"`     // bind the queue to this exchange; "" for none
	RoutingKeys []string `yaml:"routing_keys"` // binding keys; default one empty key
	Prefetch    int      `yaml:"prefetch"`     // unacknowledged messages in flight; default 100
	Partner     string   `yaml:"partner"`      // a declared partner
	Mapping     string   `yaml:"mapping"`      // one of its inbound mappings
}

// PartnerScopes are the scopes a partner may hold.
var PartnerScopes = []string{"events:write", "read"}

var (
	partnerIDRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	mappingNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	columnTypes   = []string{"string", "number", "integer", "decimal", "time", "bool"}
)

// ValidPartnerID reports whether id may name a partner.
func ValidPartnerID(id string) bool { return partnerIDRE.MatchString(id) }

// withPartnerDefaults fills each partner's (and broker input's) defaults
// in place.
func (c *Config) withPartnerDefaults() {
	for i := range c.Inputs.NATS {
		if c.Inputs.NATS[i].Durable == "" {
			c.Inputs.NATS[i].Durable = "crossdock-" + c.Inputs.NATS[i].Name
		}
	}
	for i := range c.Inputs.AMQP {
		if c.Inputs.AMQP[i].Prefetch == 0 {
			c.Inputs.AMQP[i].Prefetch = 100
		}
	}
	for i := range c.Partners {
		p := &c.Partners[i]
		if p.Name == "" {
			p.Name = p.ID
		}
		if p.Scopes == nil {
			p.Scopes = slices.Clone(PartnerScopes)
		}
		if p.RateLimit.PerSecond == 0 {
			p.RateLimit.PerSecond = 100
		}
		if p.RateLimit.Burst == 0 {
			p.RateLimit.Burst = max(1, int(2*p.RateLimit.PerSecond))
		}
		if p.Signing != nil {
			if p.Signing.Header == "" {
				p.Signing.Header = "X-Crossdock-Signature"
			}
			if p.Signing.Window == 0 {
				p.Signing.Window = Duration(5 * time.Minute)
			}
		}
		for j := range p.Inbound {
			if p.Inbound[j].Timeout == 0 {
				p.Inbound[j].Timeout = Duration(100 * time.Millisecond)
			}
		}
		for j := range p.Files {
			f := &p.Files[j]
			if f.Timeout == 0 {
				f.Timeout = Duration(100 * time.Millisecond)
			}
			if f.Delimiter == "" {
				f.Delimiter = ","
			}
			for k := range f.Columns {
				if f.Columns[k].Type == "" {
					f.Columns[k].Type = "string"
				}
			}
		}
	}
}

// validatePartners checks the partners and ownership sections.
func (c Config) validatePartners(bad func(key, format string, args ...any)) {
	ids := map[string]int{}
	for i, p := range c.Partners {
		k := fmt.Sprintf("partners[%d]", i)
		switch j, dup := ids[p.ID]; {
		case p.ID == "":
			bad(k+".id", "is required")
		case !partnerIDRE.MatchString(p.ID):
			bad(k+".id", "must be 1 to 64 of a-z 0-9 _ . - starting with a letter or digit, got %q", p.ID)
		case dup:
			bad(k+".id", "duplicate partner %q, also partners[%d]", p.ID, j)
		default:
			ids[p.ID] = i
		}
		for j, s := range p.Scopes {
			if !slices.Contains(PartnerScopes, s) {
				bad(fmt.Sprintf("%s.scopes[%d]", k, j), "a partner may hold %s, got %q", strings.Join(PartnerScopes, " and "), s)
			}
		}
		if p.RateLimit.PerSecond < 0.01 || p.RateLimit.PerSecond > 1e6 {
			bad(k+".rate_limit.per_second", "must be between 0.01 and 1000000, got %g", p.RateLimit.PerSecond)
		}
		if p.RateLimit.Burst < 1 || p.RateLimit.Burst > 10000000 {
			bad(k+".rate_limit.burst", "must be between 1 and 10000000, got %d", p.RateLimit.Burst)
		}
		if p.MaxBodyBytes != 0 && (p.MaxBodyBytes < 1<<10 || p.MaxBodyBytes > 256<<20) {
			bad(k+".max_body_bytes", "must be between %d and %d, got %d", 1<<10, 256<<20, p.MaxBodyBytes)
		}
		if s := p.Signing; s != nil {
			switch {
			case s.Secret == "" && s.SecretEnv == "":
				bad(k+".signing", "needs secret or secret_env")
			case s.Secret != "" && s.SecretEnv != "":
				bad(k+".signing", "set secret or secret_env, not both")
			case s.SecretEnv != "" && s.fromEnv == "":
				bad(k+".signing.secret_env", "environment variable %s is not set or empty", s.SecretEnv)
			case len(s.Key()) < 16:
				bad(k+".signing", "the secret must be at least 16 characters, got %d", len(s.Key()))
			}
			if s.Window.D() < time.Second || s.Window.D() > 24*time.Hour {
				bad(k+".signing.window", "must be between 1s and 24h, got %s", short(s.Window.D()))
			}
		}
		names := map[string]string{}
		name := func(key, n string) {
			switch {
			case n == "":
				bad(key, "is required")
			case !mappingNameRE.MatchString(n):
				bad(key, "must be 1 to 64 of a-z 0-9 _ . -, got %q", n)
			case names[n] != "":
				bad(key, "duplicate mapping name %q, also %s", n, names[n])
			default:
				names[n] = key
			}
		}
		timeout := func(key string, d Duration) {
			if d.D() < time.Millisecond || d.D() > 10*time.Second {
				bad(key, "must be between 1ms and 10s, got %s", short(d.D()))
			}
		}
		for j, m := range p.Inbound {
			mk := fmt.Sprintf("%s.inbound[%d]", k, j)
			name(mk+".name", m.Name)
			if strings.TrimSpace(m.JQ) == "" {
				bad(mk+".jq", "is required: a jq program producing one canonical event or an array of them")
			} else if _, err := mapping.Compile(mapping.Spec{Partner: p.ID, Name: m.Name, Source: m.JQ, Tables: p.Tables}); err != nil {
				bad(mk+".jq", "%v", err)
			}
			timeout(mk+".timeout", m.Timeout)
		}
		for j, f := range p.Files {
			fk := fmt.Sprintf("%s.files[%d]", k, j)
			name(fk+".name", f.Name)
			if strings.TrimSpace(f.JQ) == "" {
				bad(fk+".jq", "is required: a jq program turning one row object into canonical events")
			} else if _, err := mapping.Compile(mapping.Spec{Partner: p.ID, Name: f.Name, Source: f.JQ, Tables: p.Tables}); err != nil {
				bad(fk+".jq", "%v", err)
			}
			timeout(fk+".timeout", f.Timeout)
			if !slices.Contains([]string{",", ";", "\t", "|"}, f.Delimiter) {
				bad(fk+".delimiter", `must be ",", ";", "|" or a tab, got %q`, f.Delimiter)
			}
			if len(f.Columns) == 0 {
				bad(fk+".columns", "is required: the columns the file has")
			}
			cols := map[string]int{}
			for n, col := range f.Columns {
				ck := fmt.Sprintf("%s.columns[%d]", fk, n)
				switch m, dup := cols[col.Name]; {
				case col.Name == "":
					bad(ck+".name", "is required")
				case dup:
					bad(ck+".name", "duplicate column %q, also columns[%d]", col.Name, m)
				default:
					cols[col.Name] = n
				}
				if !slices.Contains(columnTypes, col.Type) {
					bad(ck+".type", "unknown type %q; valid: %s", col.Type, strings.Join(columnTypes, ", "))
				}
				if (col.Layout != "" || col.Location != "") && col.Type != "time" {
					bad(ck, "layout and location apply to type time only")
				}
				if col.Location != "" {
					if _, err := time.LoadLocation(col.Location); err != nil {
						bad(ck+".location", "unknown time zone %q", col.Location)
					}
				}
			}
		}
		if tz := p.EDI.TimeZone; tz != "" {
			if _, err := time.LoadLocation(tz); err != nil {
				bad(k+".edi.time_zone", "unknown time zone %q", tz)
			}
		}
	}
	brokerNames := map[string]string{}
	brokerInput := func(key, name, partner, mappingName string) {
		switch {
		case !mappingNameRE.MatchString(name):
			bad(key+".name", "must be 1 to 64 of a-z 0-9 _ . -, got %q", name)
		case brokerNames[name] != "":
			bad(key+".name", "duplicate input name %q, also %s", name, brokerNames[name])
		default:
			brokerNames[name] = key
		}
		i := slices.IndexFunc(c.Partners, func(p Partner) bool { return p.ID == partner })
		switch {
		case partner == "":
			bad(key+".partner", "is required: the partner whose mapping reads the messages")
		case i < 0:
			bad(key+".partner", "no partner %q is declared under partners", partner)
		case !slices.ContainsFunc(c.Partners[i].Inbound, func(m Mapping) bool { return m.Name == mappingName }):
			bad(key+".mapping", "partner %s has no inbound mapping %q", partner, mappingName)
		}
	}
	for i, n := range c.Inputs.NATS {
		k := fmt.Sprintf("inputs.nats[%d]", i)
		brokerInput(k, n.Name, n.Partner, n.Mapping)
		if u, err := url.Parse(n.URL); n.URL != "" && (err != nil || !slices.Contains([]string{"nats", "tls", "ws", "wss"}, u.Scheme)) {
			bad(k+".url", "must be nats://host:port (or tls://, ws://, wss://)")
		}
		if n.Stream == "" {
			bad(k+".stream", "is required")
		}
		if n.CreateStream && len(n.Subjects) == 0 {
			bad(k+".subjects", "are required to create the stream")
		}
	}
	for i, a := range c.Inputs.AMQP {
		k := fmt.Sprintf("inputs.amqp[%d]", i)
		brokerInput(k, a.Name, a.Partner, a.Mapping)
		if u, err := url.Parse(a.URL); a.URL != "" && (err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps")) {
			bad(k+".url", "must be amqp://user:password@host:5672/ (or amqps://)")
		}
		if a.Queue == "" {
			bad(k+".queue", "is required")
		}
		if len(a.RoutingKeys) > 0 && a.Exchange == "" {
			bad(k+".routing_keys", "need an exchange to bind to")
		}
		if a.Prefetch < 0 || a.Prefetch > 65535 {
			bad(k+".prefetch", "must be between 0 and 65535, got %d", a.Prefetch)
		}
	}
	for _, list := range []struct {
		key     string
		sources []string
	}{{"ownership.orders", c.Ownership.Orders}, {"ownership.customers", c.Ownership.Customers},
		{"ownership.locations", c.Ownership.Locations}, {"ownership.precedence", c.Ownership.Precedence}} {
		seen := map[string]bool{}
		for i, s := range list.sources {
			switch {
			case strings.TrimSpace(s) == "" || strings.ContainsAny(s, " \t"):
				bad(fmt.Sprintf("%s[%d]", list.key, i), "must be a source such as partner/acme-tms, got %q", s)
			case seen[s]:
				bad(fmt.Sprintf("%s[%d]", list.key, i), "duplicate source %q", s)
			}
			seen[s] = true
		}
	}
}
