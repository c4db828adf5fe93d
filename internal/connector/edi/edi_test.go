package edi

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/connector/connectortest"
	"github.com/crossdockhq/crossdock/internal/outbox"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/x12"
	"github.com/pkg/sftp"
)

var partner = map[string]string{"sender_id": "CROSSDOCK", "receiver_id": "ACME", "scac": "XDCK"}

func options(extra map[string]string) map[string]string {
	o := map[string]string{}
	for _, m := range []map[string]string{partner, extra} {
		for k, v := range m {
			o[k] = v
		}
	}
	return o
}

func mustNew(t *testing.T, c Config) *Connector {
	t.Helper()
	conn, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// held counts the interchanges under root for d: X12 files (not .tmp or
// .part) whose ISA13 is the delivery's and whose B3 or B10 names its
// shipment.
func held(t *testing.T, root string, d connector.Delivery) int {
	t.Helper()
	want := fmt.Sprintf("%09d", controlNumber(d.ID))
	shipment := d.Event.ShipmentID
	n := 0
	err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.HasSuffix(p, ".tmp") || strings.HasSuffix(p, ".part") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		ic, err := x12.Parse(data)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if ic.ControlNumber != want {
			return nil
		}
		for _, s := range ic.Segments {
			if (s.ID == "B3" && s.Value(3) == shipment) || (s.ID == "B10" && s.Value(2) == shipment) {
				n++
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// leftovers lists unfinished files under root.
func leftovers(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"*.tmp", "*.part"} {
		m, err := filepath.Glob(filepath.Join(root, pat))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	return out
}

// refused is an invoice whose total does not match its lines.
func refused() store.EventRecord {
	e := connectortest.Invoice(9)
	var inv map[string]any
	_ = json.Unmarshal(e.Data, &inv)
	inv["total"] = "650.47"
	e.Data, _ = json.Marshal(inv)
	return e
}

// closedAddr is a local address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestContractDirectory(t *testing.T) {
	for _, kind := range []struct {
		name  string
		event func(int) store.EventRecord
	}{{"210", connectortest.Invoice}, {"214", connectortest.Milestone}} {
		t.Run(kind.name, func(t *testing.T) {
			root := t.TempDir()
			connectortest.Run(t, connectortest.Destination{
				Connector: func(t *testing.T) connector.Connector {
					return mustNew(t, Config{Name: "partner", URL: root, Options: options(nil)})
				},
				Down: func(t *testing.T) connector.Connector {
					return mustNew(t, Config{Name: "partner", URL: filepath.Join(root, "missing"), Options: options(nil)})
				},
				Held:    func(t *testing.T, d connector.Delivery) int { return held(t, root, d) },
				Event:   kind.event,
				Refused: refused,
				WantRef: true,
			})
			if l := leftovers(t, root); len(l) > 0 {
				t.Errorf("unfinished files left: %v", l)
			}
		})
	}
}

func TestContractSFTP(t *testing.T) {
	srv := startSFTP(t)
	sftpConfig := func(addr string) Config {
		return Config{Name: "partner", URL: "sftp://" + addr + srv.root, Username: testUser, Password: testPassword,
			Timeout: 5 * time.Second, Options: options(map[string]string{"known_hosts": srv.knownHosts})}
	}
	for _, kind := range []struct {
		name  string
		event func(int) store.EventRecord
	}{{"210", connectortest.Invoice}, {"214", connectortest.Milestone}} {
		t.Run(kind.name, func(t *testing.T) {
			connectortest.Run(t, connectortest.Destination{
				Connector: func(t *testing.T) connector.Connector { return mustNew(t, sftpConfig(srv.addr)) },
				Down:      func(t *testing.T) connector.Connector { return mustNew(t, sftpConfig(closedAddr(t))) },
				Held:      func(t *testing.T, d connector.Delivery) int { return held(t, srv.root, d) },
				Event:     kind.event,
				Refused:   refused,
				WantRef:   true,
			})
		})
	}
	if l := leftovers(t, srv.root); len(l) > 0 {
		t.Errorf("unfinished files left: %v", l)
	}
}

// A server without posix-rename@openssh.com (plain SFTP rename refuses
// an existing target) passes the contract too, and a stale file is
// replaced.
func TestSFTPWithoutPosixRename(t *testing.T) {
	if err := sftp.SetSFTPExtensions("statvfs@openssh.com"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = sftp.SetSFTPExtensions("hardlink@openssh.com", "posix-rename@openssh.com", "statvfs@openssh.com")
	})
	srv := startSFTP(t)
	cfg := func(usage string) Config {
		return Config{Name: "partner", URL: "sftp://" + srv.addr + srv.root, Username: testUser, Password: testPassword,
			Options: options(map[string]string{"known_hosts": srv.knownHosts, "usage": usage})}
	}
	connectortest.Run(t, connectortest.Destination{
		Connector: func(t *testing.T) connector.Connector { return mustNew(t, cfg("P")) },
		Down: func(t *testing.T) connector.Connector {
			c := cfg("P")
			c.URL = "sftp://" + closedAddr(t) + srv.root
			return mustNew(t, c)
		},
		Held:  func(t *testing.T, d connector.Delivery) int { return held(t, srv.root, d) },
		Event: connectortest.Invoice,
	})
	d := connectortest.Delivery(connectortest.Invoice(1))
	if _, err := mustNew(t, cfg("T")).Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(srv.root, "*.edi"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if ic, err := x12.Parse(data); err == nil && ic.ControlNumber == fmt.Sprintf("%09d", controlNumber(d.ID)) && ic.Usage != "T" {
			t.Errorf("%s was not replaced", f)
		}
	}
	if n := held(t, srv.root, d); n != 1 {
		t.Errorf("held %d times", n)
	}
	if l := leftovers(t, srv.root); len(l) > 0 {
		t.Errorf("unfinished files left: %v", l)
	}
}

func deliverAll(t *testing.T, c *Connector, dls []connector.Delivery) []error {
	t.Helper()
	errs := make([]error, len(dls))
	var wg sync.WaitGroup
	for i := range dls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Deliver(context.Background(), dls[i])
		}()
	}
	wg.Wait()
	return errs
}

// Sixteen deliveries on a fresh connector log in once; after the server
// dropped the connection, the next deliveries log in once more.
func TestSFTPSharesOneConnection(t *testing.T) {
	srv := startSFTP(t)
	c := mustNew(t, Config{Name: "partner", URL: "sftp://" + testUser + "@" + srv.addr, Password: testPassword,
		Options: options(map[string]string{"known_hosts": srv.knownHosts, "path": srv.root})})
	batch := func(from int) []connector.Delivery {
		dls := make([]connector.Delivery, 16)
		for i := range dls {
			dls[i] = connectortest.Delivery(connectortest.Milestone(from + i))
		}
		return dls
	}
	for i, err := range deliverAll(t, c, batch(0)) {
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	if n := srv.logins.Load(); n != 1 {
		t.Fatalf("%d logins for 16 concurrent deliveries, want 1", n)
	}
	srv.dropAll()
	// Deliveries racing the drop may fail, retryably; the retry succeeds.
	dls := batch(100)
	for i, err := range deliverAll(t, c, dls) {
		if err == nil {
			continue
		}
		if outbox.IsPermanent(err) {
			t.Fatalf("a dropped connection gave a permanent error: %v", err)
		}
		if _, err := c.Deliver(context.Background(), dls[i]); err != nil {
			t.Fatalf("retry of delivery %d: %v", i, err)
		}
	}
	if n := srv.logins.Load(); n != 2 {
		t.Errorf("%d logins in all, want 2 (one after the drop)", n)
	}
	for i, d := range dls {
		if n := held(t, srv.root, d); n != 1 {
			t.Errorf("delivery %d held %d times", i, n)
		}
	}
}

func TestSFTPLogin(t *testing.T) {
	srv := startSFTP(t)
	other := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(other, []byte("[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		password string
		opts     map[string]string
		ok       bool
	}{
		{"password", testPassword, map[string]string{"known_hosts": srv.knownHosts}, true},
		{"key file", "", map[string]string{"known_hosts": srv.knownHosts, "key_file": srv.keyFile}, true},
		{"insecure", testPassword, map[string]string{"insecure_ignore_host_key": "true"}, true},
		{"wrong password", "nope", map[string]string{"known_hosts": srv.knownHosts}, false},
		{"unknown host", testPassword, map[string]string{"known_hosts": other}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := mustNew(t, Config{Name: "partner", URL: "sftp://" + testUser + "@" + srv.addr + srv.root, Password: c.password,
				Timeout: 5 * time.Second, Options: options(c.opts)})
			d := connectortest.Delivery(connectortest.Milestone(500))
			d.ID += c.name
			_, err := conn.Deliver(context.Background(), d)
			if c.ok != (err == nil) {
				t.Fatalf("error %v, want ok=%v", err, c.ok)
			}
			if err != nil && outbox.IsPermanent(err) {
				t.Errorf("a login failure must be retried: %v", err)
			}
			if err != nil && strings.Contains(err.Error(), c.password) {
				t.Errorf("the password is in the error: %v", err)
			}
		})
	}
}

// A write that fails for a reason an operator fixes (no permission, no
// directory, a file where the directory should be) is retried.
func TestDirectoryFailuresAreRetryable(t *testing.T) {
	root := t.TempDir()
	locked := filepath.Join(root, "locked")
	if err := os.Mkdir(locked, 0o500); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{"missing": filepath.Join(root, "missing"), "a file": filepath.Join(root, "file")}
	if err := os.WriteFile(cases["a file"], nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 { // root writes anyway
		cases["read-only"] = locked
	}
	for name, dir := range cases {
		c := mustNew(t, Config{Name: "partner", URL: dir, Options: options(nil)})
		_, err := c.Deliver(context.Background(), connectortest.Delivery(connectortest.Invoice(1)))
		if err == nil || outbox.IsPermanent(err) {
			t.Errorf("%s: %v, want a retryable error", name, err)
		}
	}
}

// A repeat finding other bytes under its name (the options changed)
// replaces them; one finding the same bytes leaves the file alone.
func TestRepeatReplacesAStaleFile(t *testing.T) {
	root := t.TempDir()
	d := connectortest.Delivery(connectortest.Invoice(7))
	first := mustNew(t, Config{Name: "partner", URL: "file://" + root, Options: options(map[string]string{"usage": "T"})})
	if _, err := first.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "*.edi"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(files[0], past, past); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(files[0]); err != nil || !fi.ModTime().Equal(past) {
		t.Fatalf("a repeat rewrote the same file (%v)", err)
	}
	second := mustNew(t, Config{Name: "partner", URL: root, Options: options(nil)})
	if _, err := second.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if ic, err := x12.Parse(data); err != nil || ic.Usage != "P" {
		t.Fatalf("the stale file was not replaced: %v", err)
	}
	if l := leftovers(t, root); len(l) > 0 {
		t.Errorf("unfinished files left: %v", l)
	}
}

func TestDeliverRefusesWhatX12CannotCarry(t *testing.T) {
	root := t.TempDir()
	c := mustNew(t, Config{Name: "partner", URL: root, Options: options(nil)})
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	ev := func(typ, data string) store.EventRecord {
		return store.EventRecord{Source: "s", ID: "e", Type: typ, Subject: "SHP-1", ShipmentID: "SHP-1", Time: at, Data: []byte(data)}
	}
	for _, tc := range []struct {
		name string
		ev   store.EventRecord
		want string
	}{
		{"unsupported type", ev("order.released", `{}`), "no X12 document"},
		{"unknown status", ev("shipment.status_changed", `{"from":"released","to":"teleported"}`), `data.to "teleported"`},
		{"unknown milestone", ev("shipment.milestone", `{"code":"teleported"}`), "data.code"},
		{"half a location", ev("shipment.milestone", `{"code":"arrived","location":{"lat":1}}`), "data.location"},
		{"latitude out of range", ev("shipment.milestone", `{"code":"arrived","location":{"lat":91,"lon":0}}`), "out of range"},
		{"delimiter in stop", ev("shipment.milestone", `{"code":"arrived","stop_id":"S*2"}`), "data.stop_id"},
		{"not json", ev("shipment.milestone", `{`), "data"},
		{"missing customer", ev("invoice.ready", `{"id":"I1","shipment_id":"S1","lines":[{"code":"stop","amount":"1.00"}],"total":"1.00"}`), "data.customer_id: required"},
		{"total off", ev("invoice.ready", `{"id":"I1","shipment_id":"S1","customer_id":"C1","lines":[{"code":"stop","amount":"1.00"}],"subtotal":"1.00","tax":"0.10","total":"1.00"}`), "data.total 1.00 does not match the lines and tax 1.10"},
		{"subtotal off", ev("invoice.ready", `{"id":"I1","shipment_id":"S1","customer_id":"C1","lines":[{"code":"stop","amount":"1.00"}],"subtotal":"2.00","total":"2.00"}`), "data.subtotal"},
		{"three decimals", ev("invoice.ready", `{"id":"I1","shipment_id":"S1","customer_id":"C1","lines":[{"code":"stop","amount":"1.001"}],"total":"1.00"}`), "lines[0].amount"},
		{"no lines", ev("invoice.ready", `{"id":"I1","shipment_id":"S1","customer_id":"C1","lines":[],"total":"0.00"}`), "data.lines"},
		{"bad currency", ev("invoice.ready", `{"id":"I1","shipment_id":"S1","customer_id":"C1","currency":"euro","lines":[{"amount":"1"}],"total":"1"}`), "data.currency"},
		{"non-ascii customer", ev("invoice.ready", `{"id":"I1","shipment_id":"S1","customer_id":"Müller","lines":[{"amount":"1"}],"total":"1"}`), "data.customer_id"},
	} {
		d := connector.Delivery{ID: "d-" + tc.name, Event: tc.ev}
		_, err := c.Deliver(context.Background(), d)
		if err == nil || !outbox.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a permanent error with %q", tc.name, err, tc.want)
		}
	}
	// A status a 214 has no code for sends nothing and is not an error:
	// a subscriber of shipment.status_changed sees planned, invoiced, ….
	for _, to := range []string{"released", "planned", "invoiced"} {
		r, err := c.Deliver(context.Background(), connector.Delivery{ID: "d-" + to, Event: ev("shipment.status_changed", `{"to":"`+to+`"}`)})
		if err != nil || r.Ref != "none: no 214 status for "+to {
			t.Errorf("status %s: %+v %v, want nothing sent", to, r, err)
		}
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("refused deliveries left files: %v", entries)
	}
}

func TestNewNamesTheBadField(t *testing.T) {
	dir := t.TempDir()
	srv := "sftp://edi@127.0.0.1:2222/out"
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no name", Config{URL: dir, Options: partner}, "edi: name: required"},
		{"unknown option", Config{Name: "p", URL: dir, Options: options(map[string]string{"colour": "red", "bogus": "1"})}, "edi: p: options: unknown bogus, colour"},
		{"no sender", Config{Name: "p", URL: dir, Options: map[string]string{"receiver_id": "A"}}, "options: sender_id: required"},
		{"no receiver", Config{Name: "p", URL: dir, Options: map[string]string{"sender_id": "A"}}, "options: receiver_id: required"},
		{"long sender", Config{Name: "p", URL: dir, Options: options(map[string]string{"sender_id": "ABCDEFGHIJKLMNOP"})}, "options: sender_id"},
		{"delimiter", Config{Name: "p", URL: dir, Options: options(map[string]string{"receiver_id": "A*B"})}, "options: receiver_id"},
		{"qualifier", Config{Name: "p", URL: dir, Options: options(map[string]string{"sender_qualifier": "Z"})}, "options: sender_qualifier"},
		{"usage", Config{Name: "p", URL: dir, Options: options(map[string]string{"usage": "X"})}, "options: usage"},
		{"scac", Config{Name: "p", URL: dir, Options: options(map[string]string{"scac": "TOOLONG"})}, "options: scac"},
		{"charge codes", Config{Name: "p", URL: dir, Options: options(map[string]string{"charge_codes": "stop"})}, "options: charge_codes"},
		{"charge code length", Config{Name: "p", URL: dir, Options: options(map[string]string{"charge_codes": "stop=SO"})}, "options: charge_codes"},
		{"filename without delivery", Config{Name: "p", URL: dir, Options: options(map[string]string{"filename": "{type}.edi"})}, "options: filename"},
		{"filename placeholder", Config{Name: "p", URL: dir, Options: options(map[string]string{"filename": "{delivery}-{date}.edi"})}, "unknown placeholder"},
		{"filename path", Config{Name: "p", URL: dir, Options: options(map[string]string{"filename": "../{delivery}.edi"})}, "not a path"},
		{"filename tmp", Config{Name: "p", URL: dir, Options: options(map[string]string{"filename": "{delivery}.tmp"})}, "options: filename"},
		{"no url", Config{Name: "p", Options: partner}, "url"},
		{"other scheme", Config{Name: "p", URL: "ftp://host/dir", Options: partner}, "url"},
		{"file host", Config{Name: "p", URL: "file://host/dir", Options: partner}, "url"},
		{"sftp option on a directory", Config{Name: "p", URL: dir, Options: options(map[string]string{"known_hosts": kh})}, "options: known_hosts: only for sftp"},
		{"password on a directory", Config{Name: "p", URL: dir, Password: "x", Options: partner}, "password: only for sftp"},
		{"negative timeout", Config{Name: "p", URL: dir, Timeout: -time.Second, Options: partner}, "timeout"},
		{"sftp no user", Config{Name: "p", URL: "sftp://127.0.0.1/out", Password: "x", Options: options(map[string]string{"known_hosts": kh})}, "username: required"},
		{"sftp two users", Config{Name: "p", URL: srv, Username: "bob", Password: "x", Options: options(map[string]string{"known_hosts": kh})}, "username: differs"},
		{"sftp password in url", Config{Name: "p", URL: "sftp://edi:hunter2@127.0.0.1/out", Options: options(map[string]string{"known_hosts": kh})}, "edi:xxxxx@"},
		{"sftp no auth", Config{Name: "p", URL: srv, Options: options(map[string]string{"known_hosts": kh})}, "password or options: key_file"},
		{"sftp no known_hosts", Config{Name: "p", URL: srv, Password: "x", Options: partner}, "options: known_hosts: required"},
		{"sftp known_hosts missing", Config{Name: "p", URL: srv, Password: "x", Options: options(map[string]string{"known_hosts": filepath.Join(dir, "nope")})}, "options: known_hosts"},
		{"sftp insecure value", Config{Name: "p", URL: srv, Password: "x", Options: options(map[string]string{"insecure_ignore_host_key": "yes"})}, "options: insecure_ignore_host_key"},
		{"sftp key file missing", Config{Name: "p", URL: srv, Options: options(map[string]string{"known_hosts": kh, "key_file": filepath.Join(dir, "nope")})}, "options: key_file"},
		{"sftp path twice", Config{Name: "p", URL: srv, Password: "x", Options: options(map[string]string{"known_hosts": kh, "path": "/in"})}, "options: path"},
	} {
		_, err := New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the password is in the error: %v", c.name, err)
		}
	}
	for _, cfg := range []Config{
		{Name: "p", URL: dir, Options: partner},
		{Name: "p", URL: "file://" + dir, Options: options(map[string]string{"filename": "XDCK_{type}_{control}_{delivery}.x12", "charge_codes": "stop=SOC, tax="})},
		{Name: "p", URL: "sftp://127.0.0.1", Username: "edi", Password: "x", Options: options(map[string]string{"insecure_ignore_host_key": "true", "path": "in"})},
	} {
		if _, err := New(cfg); err != nil {
			t.Errorf("%+v: %v", cfg.Options, err)
		}
	}
}

func TestFileName(t *testing.T) {
	doc := document{set: "214", control: 42}
	for _, c := range []struct{ tmpl, id, want string }{
		{defaultFilename, "dlv-1", "214-dlv-1.edi"},
		{defaultFilename, "dlv-1-crossdock/billing-inv 1", "214-dlv-1-crossdock%2Fbilling-inv%201.edi"},
		{defaultFilename, "a_b", "214-a_b.edi"},
		{defaultFilename, "a%2Fb", "214-a%252Fb.edi"},
		{"{delivery}", "..", "%2E."},
		{"{control}-{delivery}.x12", "é", "000000042-%C3%A9.x12"},
	} {
		if got := fileName(c.tmpl, doc, c.id); got != c.want {
			t.Errorf("%q %q: %q, want %q", c.tmpl, c.id, got, c.want)
		}
	}
}

// A destination that does not answer in time gives a retryable error
// within Config.Timeout.
func TestSFTPTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c // never answers the SSH handshake
		}
	}()
	c := mustNew(t, Config{Name: "partner", URL: "sftp://edi@" + ln.Addr().String() + "/out", Password: "x", Timeout: 200 * time.Millisecond,
		Options: options(map[string]string{"insecure_ignore_host_key": "true"})})
	start := time.Now()
	_, err = c.Deliver(context.Background(), connectortest.Delivery(connectortest.Milestone(1)))
	if err == nil || outbox.IsPermanent(err) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("%v, want a retryable timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %v", d)
	}
	select {
	case conn := <-accepted:
		conn.Close()
	default:
	}
}
