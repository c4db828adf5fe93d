package odata

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Config configures an OData connector; the hub's connectors entry maps
// onto it (kind: odata).
type Config struct {
	Name string
	// URL is the OData service root, http:// or https://:
	// https://s4.example.com/sap/opu/odata/sap/API_SALES_ORDER_SRV.
	URL string
	// Username and Password log in with HTTP Basic; with no Username,
	// Password is sent as a bearer token (an OAuth access token).
	Username, Password string
	// Timeout bounds every call to SAP; default 10s.
	Timeout time.Duration
	// Options: see the package documentation.
	Options map[string]string
	// Client is the HTTP client; default one with Timeout and a cookie
	// jar (SAP ties the CSRF token to the session cookie). A client
	// given here needs a jar too. Tests only.
	Client *http.Client
	// Now is the clock Retry-After dates are read against; default
	// time.Now. Tests only.
	Now func() time.Time
}

// defaults of the options that have one.
var defaults = map[string]string{
	"entity_set":       "A_SalesOrder",
	"sales_order_type": "OR",
	"unit":             "EA",
	"condition_type":   "PPR0",
}

// required options, and the others known; material.<code> and
// unit.<code> are known for every line code.
var (
	required = []string{"sales_organization", "distribution_channel", "division", "material"}
	optional = []string{"entity_set", "sales_order_type", "unit", "condition_type", "sap_client"}
)

// sapName is what an entity set or an SAP code may be.
var sapName = regexp.MustCompile(`^[A-Za-z0-9_/]{1,40}$`)

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	o := make(map[string]string, len(c.Options)+len(defaults))
	for k, v := range defaults {
		o[k] = v
	}
	for k, v := range c.Options {
		if v != "" {
			o[k] = v
		}
	}
	c.Options = o
	c.URL = strings.TrimRight(c.URL, "/")
	return c
}

func (c Config) validate() error {
	if c.Name == "" {
		return errors.New("odata: name: required")
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("odata: %s: "+format, append([]any{c.Name}, a...)...)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail("url: want http:// or https://")
	}
	if u.User != nil {
		return fail("url: no credentials in the url: use username and password_env")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fail("url: want the service root, without query or fragment (sap-client is option sap_client)")
	}
	if c.Password == "" {
		return fail("password: required (the password, or the bearer token when there is no username)")
	}
	keys := make([]string, 0, len(c.Options))
	for k := range c.Options {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		code, perLine := strings.CutPrefix(k, "material.")
		if !perLine {
			code, perLine = strings.CutPrefix(k, "unit.")
		}
		switch {
		case perLine && code != "":
		case slices.Contains(required, k) || slices.Contains(optional, k):
		default:
			return fail("options: %s: unknown (known: %s, material.<line code>, unit.<line code>)", k,
				strings.Join(append(slices.Clone(required), optional...), ", "))
		}
		if v := c.Options[k]; k != "sap_client" && !sapName.MatchString(v) {
			return fail("options: %s: %q is not an SAP name", k, v)
		}
	}
	for _, k := range required {
		if c.Options[k] == "" {
			return fail("options: %s: required", k)
		}
	}
	if v := c.Options["sap_client"]; v != "" && !regexp.MustCompile(`^[0-9]{3}$`).MatchString(v) {
		return fail("options: sap_client: want three digits, got %q", v)
	}
	return nil
}
