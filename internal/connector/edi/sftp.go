package edi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// sftpDest uploads over one shared SSH connection, dialled on first use
// and again after it broke. One goroutine dials at a time; the others
// wait for its session, so a broken connection costs one login, not one
// per delivery.
type sftpDest struct {
	s    sftpSettings
	dial chan struct{} // a one-slot semaphore held while dialling

	mu  sync.Mutex
	cur *session // nil: none open
}

// session is one SSH connection with its SFTP client.
type session struct {
	ssh   *ssh.Client
	sftp  *sftp.Client
	gone  chan struct{} // closed when the SSH connection ended
	posix bool          // the server has posix-rename@openssh.com
}

func newSFTP(s sftpSettings) *sftpDest {
	return &sftpDest{s: s, dial: make(chan struct{}, 1)}
}

func (d *sftpDest) String() string { return "sftp://" + d.s.addr + d.s.dir }

func (d *sftpDest) close() error {
	d.mu.Lock()
	s := d.cur
	d.cur = nil
	d.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.close()
}

// put uploads in a goroutine so that a stuck server cannot hold the
// delivery past its deadline; on a deadline the connection is dropped
// (its in-flight uploads fail and are retried).
func (d *sftpDest) put(ctx context.Context, name string, body []byte) error {
	s, err := d.session(ctx)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- s.upload(path.Join(d.s.dir, name), body) }()
	select {
	case err := <-done:
		if err != nil && s.broken(err) {
			d.drop(s)
		}
		return err
	case <-ctx.Done():
		if !errors.Is(ctx.Err(), context.Canceled) {
			d.drop(s)
		}
		return context.Cause(ctx)
	}
}

// current is the open session, nil when there is none or it ended.
func (d *sftpDest) current() *session {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur != nil && d.cur.ended() {
		_ = d.cur.close()
		d.cur = nil
	}
	return d.cur
}

// session returns the open session or dials one.
func (d *sftpDest) session(ctx context.Context) (*session, error) {
	if s := d.current(); s != nil {
		return s, nil
	}
	select {
	case d.dial <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	defer func() { <-d.dial }()
	if s := d.current(); s != nil {
		return s, nil
	}
	s, err := d.connect(ctx)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.cur = s
	d.mu.Unlock()
	return s, nil
}

// drop forgets s and closes it, unless another session replaced it.
func (d *sftpDest) drop(s *session) {
	d.mu.Lock()
	if d.cur == s {
		d.cur = nil
	}
	d.mu.Unlock()
	_ = s.close()
}

// connect dials, checks the host key, logs in and starts SFTP, all
// within ctx.
func (d *sftpDest) connect(ctx context.Context) (*session, error) {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", d.s.addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	// The handshake and the SFTP start are bounded by ctx: its deadline
	// on the socket, its cancellation by closing it.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	s, err := d.login(conn)
	if err != nil {
		stop()
		_ = conn.Close()
		return nil, err
	}
	if !stop() { // ctx ended as the login finished
		_ = s.close()
		return nil, context.Cause(ctx)
	}
	_ = conn.SetDeadline(time.Time{})
	return s, nil
}

func (d *sftpDest) login(conn net.Conn) (*session, error) {
	c, chans, reqs, err := ssh.NewClientConn(conn, d.s.addr, d.s.client)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	client := ssh.NewClient(c, chans, reqs)
	sc, err := sftp.NewClient(client)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("start sftp: %w", err)
	}
	s := &session{ssh: client, sftp: sc, gone: make(chan struct{})}
	_, s.posix = sc.HasExtension("posix-rename@openssh.com")
	go func() {
		_ = client.Wait()
		close(s.gone)
	}()
	return s, nil
}

func (s *session) ended() bool {
	select {
	case <-s.gone:
		return true
	default:
		return false
	}
}

// broken reports whether err from s means the connection is no good.
func (s *session) broken(err error) bool {
	return s.ended() || errors.Is(err, sftp.ErrSSHFxConnectionLost) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

func (s *session) close() error {
	_ = s.sftp.Close()
	return s.ssh.Close()
}

// upload makes final hold body: left alone when it does already,
// otherwise written to final.<random>.part, synced where the server
// supports it and renamed into place.
func (s *session) upload(final string, body []byte) (err error) {
	if same, err := s.same(final, body); err != nil || same {
		return err
	}
	part := final + "." + suffix() + ".part"
	f, err := s.sftp.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("create %s: %w", part, err)
	}
	defer func() {
		if err != nil {
			_ = s.sftp.Remove(part)
		}
	}()
	if _, err = f.Write(body); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", part, err)
	}
	if err = f.Sync(); err != nil && !unsupported(err) {
		_ = f.Close()
		return fmt.Errorf("sync %s: %w", part, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", part, err)
	}
	if s.posix {
		err = s.sftp.PosixRename(part, final)
	} else {
		err = s.replace(part, final, body)
	}
	if err != nil {
		return fmt.Errorf("rename %s: %w", part, err)
	}
	return nil
}

// replace renames part to final on a server without posix-rename, whose
// rename refuses an existing target: when another attempt finished first
// with the same bytes, part is dropped; a stale final is removed first
// (readers then briefly see no file, never half of one).
func (s *session) replace(part, final string, body []byte) error {
	err := s.sftp.Rename(part, final)
	if err == nil {
		return nil
	}
	same, serr := s.same(final, body)
	switch {
	case serr != nil:
		return err
	case same:
		_ = s.sftp.Remove(part)
		return nil
	}
	if rerr := s.sftp.Remove(final); rerr != nil {
		return err
	}
	return s.sftp.Rename(part, final)
}

// unsupported reports whether err is the server's "operation
// unsupported" (an SFTP server without fsync@openssh.com).
func unsupported(err error) bool {
	var se *sftp.StatusError
	return errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxOpUnsupported
}

// same reports whether name exists on the server holding body.
func (s *session) same(name string, body []byte) (bool, error) {
	f, err := s.sftp.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	return sameContent(f, body)
}
