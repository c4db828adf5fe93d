package edi

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Config configures an EDI connector. See the package documentation for
// the options.
type Config struct {
	Name string
	// URL is where the files go: a directory (a path or file:///dir) or
	// sftp://[user@]host[:port]/dir (port 22 by default; the path is
	// absolute on the server).
	URL string
	// Username is the SFTP login; "" takes the URL's user. Not allowed
	// for a directory.
	Username string
	// Password is the SFTP password, or the passphrase of an encrypted
	// key_file. Not allowed for a directory.
	Password string
	// Timeout bounds one delivery: connecting, logging in and writing the
	// file; default 10s.
	Timeout time.Duration
	// Options are the kind's settings (see the package documentation).
	Options map[string]string
}

// Option keys.
const (
	optSenderID          = "sender_id"
	optReceiverID        = "receiver_id"
	optSenderQualifier   = "sender_qualifier"
	optReceiverQualifier = "receiver_qualifier"
	optUsage             = "usage"
	optSCAC              = "scac"
	optFilename          = "filename"
	optChargeCodes       = "charge_codes"
	optPath              = "path"
	optKeyFile           = "key_file"
	optKnownHosts        = "known_hosts"
	optInsecureHostKey   = "insecure_ignore_host_key"
)

var knownOptions = []string{optSenderID, optReceiverID, optSenderQualifier, optReceiverQualifier, optUsage, optSCAC,
	optFilename, optChargeCodes, optPath, optKeyFile, optKnownHosts, optInsecureHostKey}

// sftpOnly are the options that only an sftp:// URL takes.
var sftpOnly = []string{optPath, optKeyFile, optKnownHosts, optInsecureHostKey}

// defaultFilename is the file name template when option filename is unset.
const defaultFilename = "{type}-{delivery}.edi"

// DefaultTimeout bounds a delivery when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// settings is a checked Config.
type settings struct {
	env      envelope
	filename string
	dir      string // the local directory, for a directory URL
	sftp     *sftpSettings
}

// sftpSettings is where and how to log in over SFTP.
type sftpSettings struct {
	addr   string // host:port
	dir    string // directory on the server
	client *ssh.ClientConfig
}

// check validates c and names the first bad field.
func (c Config) check() (settings, error) {
	var s settings
	if c.Name == "" {
		return s, errors.New("name: required")
	}
	var unknown []string
	for k := range c.Options {
		if !slices.Contains(knownOptions, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return s, fmt.Errorf("options: unknown %s (known: %s)", strings.Join(unknown, ", "), strings.Join(knownOptions, ", "))
	}
	opt := func(k, def string) string {
		if v, ok := c.Options[k]; ok && v != "" {
			return v
		}
		return def
	}
	env := envelope{
		senderQualifier: opt(optSenderQualifier, "ZZ"), senderID: opt(optSenderID, ""),
		receiverQualifier: opt(optReceiverQualifier, "ZZ"), receiverID: opt(optReceiverID, ""),
		usage: opt(optUsage, "P"), scac: opt(optSCAC, ""),
	}
	for _, f := range []struct {
		key, v   string
		min, max int
	}{
		{optSenderID, env.senderID, 1, 15}, {optReceiverID, env.receiverID, 1, 15},
		{optSenderQualifier, env.senderQualifier, 2, 2}, {optReceiverQualifier, env.receiverQualifier, 2, 2},
	} {
		if err := identifier("options: "+f.key, f.v); err != nil {
			return s, err
		}
		if len(f.v) < f.min || len(f.v) > f.max {
			return s, fmt.Errorf("options: %s %q: want %d to %d characters", f.key, f.v, f.min, f.max)
		}
	}
	if env.usage != "P" && env.usage != "T" {
		return s, fmt.Errorf("options: %s %q: want P (production) or T (test)", optUsage, env.usage)
	}
	if env.scac != "" && (len(env.scac) < 2 || len(env.scac) > 4 || !alnum(env.scac)) {
		return s, fmt.Errorf("options: %s %q: want 2 to 4 letters or digits", optSCAC, env.scac)
	}
	codes, err := chargeCodes(opt(optChargeCodes, ""))
	if err != nil {
		return s, fmt.Errorf("options: %s: %w", optChargeCodes, err)
	}
	env.chargeCodes = codes
	s.env = env
	s.filename = opt(optFilename, defaultFilename)
	if err := checkFilename(s.filename); err != nil {
		return s, fmt.Errorf("options: %s %q: %w", optFilename, s.filename, err)
	}
	if c.Timeout < 0 {
		return s, fmt.Errorf("timeout %v: must not be negative", c.Timeout)
	}
	if strings.HasPrefix(c.URL, "sftp://") {
		s.sftp, err = c.sftpSettings(opt)
		return s, err
	}
	s.dir, err = c.directory()
	return s, err
}

// directory checks a directory URL.
func (c Config) directory() (string, error) {
	dir := c.URL
	if strings.HasPrefix(dir, "file://") {
		u, err := url.Parse(dir)
		if err != nil || (u.Host != "" && u.Host != "localhost") || u.Path == "" {
			return "", fmt.Errorf("url %q: want file:///absolute/dir", dir)
		}
		dir = u.Path
	} else if dir == "" || strings.Contains(dir, "://") {
		return "", fmt.Errorf("url %q: want a directory, file:///dir or sftp://user@host:port/dir", dir)
	}
	for _, k := range sftpOnly {
		if _, ok := c.Options[k]; ok {
			return "", fmt.Errorf("options: %s: only for sftp:// urls", k)
		}
	}
	if c.Username != "" {
		return "", errors.New("username: only for sftp:// urls")
	}
	if c.Password != "" {
		return "", errors.New("password: only for sftp:// urls")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("url %q: %w", dir, err)
	}
	return abs, nil
}

// sftpSettings checks an sftp:// URL and its login options.
func (c Config) sftpSettings(opt func(k, def string) string) (*sftpSettings, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, errors.New("url: not a valid sftp:// url")
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("url %s: no host", u.Redacted())
	}
	if _, set := u.User.Password(); set {
		return nil, fmt.Errorf("url %s: put the password in the password setting, not the url", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("url %s: no query or fragment allowed", u.Redacted())
	}
	port := u.Port()
	if port == "" {
		port = "22"
	}
	s := &sftpSettings{addr: net.JoinHostPort(u.Hostname(), port), dir: u.Path}
	if p := opt(optPath, ""); p != "" {
		if s.dir != "" && s.dir != "/" {
			return nil, fmt.Errorf("options: %s: the url already names the directory %s", optPath, s.dir)
		}
		s.dir = p
	}
	if s.dir == "" {
		s.dir = "."
	}
	user := c.Username
	if u.User != nil && u.User.Username() != "" {
		if user != "" && user != u.User.Username() {
			return nil, errors.New("username: differs from the url's user")
		}
		user = u.User.Username()
	}
	if user == "" {
		return nil, errors.New("username: required for sftp://")
	}
	var auth []ssh.AuthMethod
	if kf := opt(optKeyFile, ""); kf != "" {
		signer, err := loadKey(kf, c.Password)
		if err != nil {
			return nil, fmt.Errorf("options: %s: %w", optKeyFile, err)
		}
		auth = append(auth, ssh.PublicKeys(signer))
	} else if c.Password != "" {
		auth = append(auth, ssh.Password(c.Password))
	}
	if len(auth) == 0 {
		return nil, fmt.Errorf("password or options: %s: one is required for sftp://", optKeyFile)
	}
	var hostKey ssh.HostKeyCallback
	insecure := opt(optInsecureHostKey, "false")
	switch insecure {
	case "true":
		if opt(optKnownHosts, "") != "" {
			return nil, fmt.Errorf("options: %s: not with %s", optInsecureHostKey, optKnownHosts)
		}
		hostKey = ssh.InsecureIgnoreHostKey()
	case "false":
		kh := opt(optKnownHosts, "")
		if kh == "" {
			return nil, fmt.Errorf("options: %s: required for sftp:// (a known_hosts file with the server's host key)", optKnownHosts)
		}
		if hostKey, err = knownhosts.New(kh); err != nil {
			return nil, fmt.Errorf("options: %s: %w", optKnownHosts, err)
		}
	default:
		return nil, fmt.Errorf("options: %s %q: want true or false", optInsecureHostKey, insecure)
	}
	s.client = &ssh.ClientConfig{User: user, Auth: auth, HostKeyCallback: hostKey}
	return s, nil
}

// loadKey reads a private key file; passphrase opens an encrypted one.
func loadKey(name, passphrase string) (ssh.Signer, error) {
	pem, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == "" {
			return nil, errors.New("the key is encrypted: set the password to its passphrase")
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(passphrase))
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	return signer, nil
}

// chargeCodes reads "code=DE150,code=DE150" over the default table.
func chargeCodes(spec string) (map[string]string, error) {
	codes := make(map[string]string, len(defaultChargeCodes))
	for k, v := range defaultChargeCodes {
		codes[k] = v
	}
	if spec == "" {
		return codes, nil
	}
	for _, pair := range strings.Split(spec, ",") {
		code, x12Code, ok := strings.Cut(strings.TrimSpace(pair), "=")
		code, x12Code = strings.TrimSpace(code), strings.TrimSpace(x12Code)
		if !ok || code == "" {
			return nil, fmt.Errorf("%q: want code=X12CODE", pair)
		}
		if x12Code != "" && (len(x12Code) != 3 || !alnum(x12Code)) {
			return nil, fmt.Errorf("%q: an X12 special charge code is 3 letters or digits", pair)
		}
		codes[code] = x12Code
	}
	return codes, nil
}

// placeholders of the filename template.
var placeholders = []string{"{type}", "{delivery}", "{control}"}

// checkFilename checks a file name template: {delivery} once at least,
// no other braces, no path separator.
func checkFilename(t string) error {
	if !strings.Contains(t, "{delivery}") {
		return errors.New("must contain {delivery}, which makes a repeat write the same file")
	}
	rest := t
	for _, p := range placeholders {
		rest = strings.ReplaceAll(rest, p, "")
	}
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("unknown placeholder (known: %s)", strings.Join(placeholders, ", "))
	}
	if strings.ContainsAny(rest, `/\`) || strings.ContainsRune(rest, 0) {
		return errors.New("must be a file name, not a path")
	}
	if strings.HasSuffix(t, ".tmp") || strings.HasSuffix(t, ".part") {
		return errors.New(".tmp and .part are the suffixes of unfinished files")
	}
	return nil
}

// fileName expands the template for one document. The delivery id is
// escaped (bytes other than letters, digits, '-', '_' and '.' as %XX) so
// distinct ids give distinct, path-free names.
func fileName(t string, doc document, deliveryID string) string {
	return strings.NewReplacer("{type}", doc.set, "{delivery}", escape(deliveryID), "{control}", fmt.Sprintf("%09d", doc.control)).Replace(t)
}

func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if alnum(string(c)) || c == '-' || c == '_' || (c == '.' && i > 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return s != ""
}
