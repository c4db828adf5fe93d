package odoo

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config configures an Odoo connector; the hub's connectors entry maps
// onto it (kind: odoo).
type Config struct {
	Name string
	// URL is Odoo's base address, http:// or https:// without a path
	// beyond the one Odoo is served under: https://erp.example.com.
	URL string
	// Username is the login of the jsonrpc API; unused by json2.
	Username string
	// Password is the API key (json2, and accepted by jsonrpc in place
	// of the password) or the user's password (jsonrpc).
	Password string
	// Timeout bounds every call to Odoo; default 10s.
	Timeout time.Duration
	// Options: api (json2 | jsonrpc, default json2) and database (the
	// database name: required by jsonrpc, sent as X-Odoo-Database by
	// json2 when set).
	Options map[string]string
	// Client is the HTTP client; default one with Timeout. Tests only.
	Client *http.Client
	// Now is the clock Retry-After dates are read against; default
	// time.Now. Tests only.
	Now func() time.Time
}

// The two APIs.
const (
	APIJSON2   = "json2"   // Odoo 19+: POST /json/2/<model>/<method>, bearer API key
	APIJSONRPC = "jsonrpc" // Odoo ≤ 18 (deprecated in 19): POST /jsonrpc, common.login then object.execute_kw
)

var optionKeys = []string{"api", "database"}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: c.Timeout}
	}
	o := make(map[string]string, len(c.Options)+1)
	for k, v := range c.Options {
		o[k] = v
	}
	if o["api"] == "" {
		o["api"] = APIJSON2
	}
	c.Options = o
	c.URL = strings.TrimRight(c.URL, "/")
	return c
}

func (c Config) validate() error {
	if c.Name == "" {
		return errors.New("odoo: name: required")
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("odoo: %s: "+format, append([]any{c.Name}, a...)...)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail("url: want http:// or https://")
	}
	if u.User != nil {
		return fail("url: no credentials in the url: use username and password_env")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fail("url: want Odoo's base address, without query or fragment")
	}
	for k := range c.Options {
		if !slices.Contains(optionKeys, k) {
			return fail("options: %s: unknown (known: %s)", k, strings.Join(optionKeys, ", "))
		}
	}
	if c.Password == "" {
		return fail("password: required (the API key)")
	}
	switch c.Options["api"] {
	case APIJSON2:
	case APIJSONRPC:
		if c.Options["database"] == "" {
			return fail("options: database: required by api jsonrpc")
		}
		if c.Username == "" {
			return fail("username: required by api jsonrpc")
		}
	default:
		return fail("options: api: want json2 or jsonrpc, got %q", c.Options["api"])
	}
	return nil
}
