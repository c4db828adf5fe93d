package tryton

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config configures a Tryton connector.
type Config struct {
	Name string
	// URL is the database's JSON-RPC endpoint, http(s)://host:8000/<db>/
	// (a missing final slash is added). No credentials in it.
	URL string
	// Username and Password log in with common.db.login.
	Username string
	Password string
	// Timeout bounds every call to trytond; default 10s.
	Timeout time.Duration
	// Options are the kind's settings; see the package documentation.
	Options map[string]string
	// Client makes the HTTP requests; default a fresh http.Client (every
	// call is bounded by Timeout through its context).
	Client *http.Client
}

// Option keys; the package documentation says what each means.
const (
	OptCompany           = "company"
	OptJournal           = "journal"
	OptRevenueAccount    = "revenue_account"
	OptReceivableAccount = "receivable_account"
	OptTaxAccount        = "tax_account"
	OptPaymentTerm       = "payment_term"
)

var optionKeys = []string{OptCompany, OptJournal, OptRevenueAccount, OptReceivableAccount, OptTaxAccount, OptPaymentTerm}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	if c.URL != "" && !strings.HasSuffix(c.URL, "/") {
		c.URL += "/"
	}
	return c
}

// validate names the first bad field.
func (c Config) validate() error {
	if c.Name == "" {
		return errors.New("tryton: name: required")
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("tryton: %s: "+format, append([]any{c.Name}, a...)...)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail("url: want http:// or https://")
	}
	if u.User != nil {
		return fail("url: no credentials in the url: use username and password_env")
	}
	if strings.Trim(u.Path, "/") == "" {
		return fail("url: want the database in the path, http://host:8000/<database>/")
	}
	if c.Username == "" {
		return fail("username: required")
	}
	if c.Password == "" {
		return fail("password: required")
	}
	for k, v := range c.Options {
		if !slices.Contains(optionKeys, k) {
			return fail("options: unknown key %q (known: %s)", k, strings.Join(optionKeys, ", "))
		}
		if strings.TrimSpace(v) == "" {
			return fail("options: %s: empty", k)
		}
	}
	return nil
}
