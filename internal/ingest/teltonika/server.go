package teltonika

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crossdockhq/crossdock/internal/ingest"
)

// Input is the input name handed to the Sink.
const Input = "teltonika"

const contentType = "application/octet-stream"

// Defaults for the zero Config fields.
const (
	DefaultIdleTimeout = 10 * time.Minute
	DefaultMaxFrame    = 64 << 10
	DefaultMaxConns    = 20000
)

// readBufSize keeps idle connections small: typical frames are a few
// hundred bytes, and bigger ones are read past the buffer into their own
// slice.
const readBufSize = 512

// Config configures a Server.
type Config struct {
	Addr        string        // listen address, e.g. "127.0.0.1:5027"; required
	IdleTimeout time.Duration // close a connection silent this long; default 10m
	MaxFrame    int           // largest AVL data length accepted; default 65536
	MaxConns    int           // connections held at once; default 20000; further ones are closed at once
}

// Server is the Teltonika TCP input. Each connection is served by one
// goroutine: login, then packets, each acknowledged after the Sink
// committed its positions.
type Server struct {
	cfg  Config
	sink ingest.Sink
	log  *slog.Logger

	// ctx is the context of Sink calls; cancelled when Shutdown gives up.
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	shutdown  bool
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	wg        sync.WaitGroup // connection goroutines
	open      atomic.Int64
}

// New returns a Server with cfg's zero fields defaulted. A nil log
// discards.
func New(cfg Config, sink ingest.Sink, log *slog.Logger) (*Server, error) {
	if cfg.Addr == "" {
		return nil, errors.New("teltonika: addr: required")
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("teltonika: addr: %w", err)
	}
	if sink == nil {
		return nil, errors.New("teltonika: sink: required")
	}
	if cfg.IdleTimeout < 0 || cfg.MaxFrame < 0 || cfg.MaxConns < 0 {
		return nil, errors.New("teltonika: config: idle timeout, max frame and max conns must not be negative")
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxFrame == 0 {
		cfg.MaxFrame = DefaultMaxFrame
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg: cfg, sink: sink, log: log.With("input", Input),
		ctx: ctx, cancel: cancel,
		listeners: map[net.Listener]struct{}{},
		conns:     map[*conn]struct{}{},
	}, nil
}

// Serve accepts connections on ln until Shutdown, then returns nil. It
// closes ln. Any other accept error, after retrying temporary ones, is
// returned.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		_ = ln.Close()
	}()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing() {
				return nil
			}
			if temporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept", "err", err, "retry_in", backoff)
				if !s.wait(backoff) {
					return nil
				}
				continue
			}
			return fmt.Errorf("teltonika: accept: %w", err)
		}
		backoff = 0
		s.start(nc)
	}
}

// temporary reports an accept error worth retrying (EMFILE and the like).
func temporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// wait waits d; false when the server shut down meanwhile.
func (s *Server) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return !s.closing()
	case <-s.ctx.Done():
		return false
	}
}

func (s *Server) closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

// start registers nc and serves it, or closes it at once when the server
// is full or shutting down.
func (s *Server) start(nc net.Conn) {
	s.mu.Lock()
	if s.shutdown || len(s.conns) >= s.cfg.MaxConns {
		full := !s.shutdown
		s.mu.Unlock()
		if full {
			s.log.Warn("connection refused: limit reached", "remote", nc.RemoteAddr().String(), "max_conns", s.cfg.MaxConns)
		}
		_ = nc.Close()
		return
	}
	c := &conn{s: s, nc: nc, br: bufio.NewReaderSize(nc, readBufSize)}
	s.conns[c] = struct{}{}
	s.open.Add(1)
	s.wg.Add(1)
	s.mu.Unlock()
	go c.serve()
}

// Connections returns how many connections are open.
func (s *Server) Connections() int { return int(s.open.Load()) }

// Shutdown stops accepting, closes idle connections, lets every
// connection answer the frame it is reading or committing and then closes
// it, and waits for all of them. When ctx ends first, it cancels the Sink
// calls in flight, closes every connection and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	for ln := range s.listeners {
		_ = ln.Close()
	}
	for c := range s.conns {
		c.stop()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		s.mu.Lock()
		for c := range s.conns {
			_ = c.nc.Close()
		}
		s.mu.Unlock()
		return fmt.Errorf("teltonika: shutdown: %w", ctx.Err())
	}
}

// conn is one device connection.
type conn struct {
	s    *Server
	nc   net.Conn
	br   *bufio.Reader
	imei string

	mu      sync.Mutex
	idle    bool // waiting for the first byte of a message
	stopped bool // Shutdown asked to close after the message in flight
}

// stop asks the connection to end after the message in flight; an idle
// one ends at once.
func (c *conn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.idle {
		_ = c.nc.SetReadDeadline(time.Unix(1, 0))
	}
}

func (c *conn) serve() {
	defer func() {
		_ = c.nc.Close()
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.open.Add(-1)
		c.s.mu.Unlock()
		c.s.wg.Done()
	}()
	if !c.login() {
		return
	}
	for c.packet() {
	}
}

// await waits for the first byte of the next message, then gives the
// whole message IdleTimeout to arrive. False ends the connection.
func (c *conn) await() bool {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return false
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
	c.idle = true
	c.mu.Unlock()

	_, err := c.br.Peek(1)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.idle = false
	if err != nil {
		if !c.stopped {
			c.debug("connection closed", "reason", closeReason(err))
		}
		return false
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
	return true
}

// login reads the IMEI and answers 0x01, or 0x00 and false.
func (c *conn) login() bool {
	if !c.await() {
		return false
	}
	msg := make([]byte, 2, 2+MaxIMEI)
	if n, err := io.ReadFull(c.br, msg); err != nil {
		c.reject(msg[:n], truncated("login", n, 2, err))
		return false
	}
	if n := int(binary.BigEndian.Uint16(msg)); checkIMEILength(n) == nil {
		msg = msg[:2+n]
		if got, err := io.ReadFull(c.br, msg[2:]); err != nil {
			c.reject(msg[:2+got], truncated("login", 2+got, 2+n, err))
			return false
		}
	}
	imei, err := DecodeLogin(msg)
	if err != nil {
		c.reject(msg, err)
		_ = c.write([]byte{0x00})
		return false
	}
	if err := c.write([]byte{0x01}); err != nil {
		c.debug("login answer", "err", err)
		return false
	}
	c.imei = imei
	c.debug("login")
	return true
}

// packet reads one AVL frame, commits its positions and acknowledges it.
// False ends the connection.
func (c *conn) packet() bool {
	if !c.await() {
		return false
	}
	var head [headerSize]byte
	if n, err := io.ReadFull(c.br, head[:]); err != nil {
		c.reject(head[:n], truncated("frame", n, headerSize, err))
		return false
	}
	if p := binary.BigEndian.Uint32(head[:]); p != 0 {
		c.reject(head[:], fmt.Errorf("teltonika: %w: got 0x%08x, want 0", ErrPreamble, p))
		return false
	}
	size := binary.BigEndian.Uint32(head[4:])
	if uint64(size) > uint64(c.s.cfg.MaxFrame) {
		c.reject(head[:], fmt.Errorf("teltonika: %w: data length %d over limit %d", ErrLength, size, c.s.cfg.MaxFrame))
		return false
	}
	frame := make([]byte, headerSize+int(size)+crcSize)
	copy(frame, head[:])
	if n, err := io.ReadFull(c.br, frame[headerSize:]); err != nil {
		c.reject(frame[:headerSize+n], truncated("frame", headerSize+n, len(frame), err))
		return false
	}
	ps, count, err := DecodePacket(frame, c.imei)
	if err != nil {
		c.reject(frame, err)
		return false
	}
	if len(ps) > 0 {
		if _, err := c.s.sink.Positions(c.s.ctx, Input, ps); err != nil {
			c.s.log.Warn("positions not committed; closing without ack", "imei", c.imei,
				"remote", c.nc.RemoteAddr().String(), "records", count, "err", err)
			return false
		}
	}
	var ack [4]byte
	binary.BigEndian.PutUint32(ack[:], uint32(count))
	if err := c.write(ack[:]); err != nil {
		c.debug("ack", "err", err)
		return false
	}
	return true
}

// write sends b, giving it IdleTimeout.
func (c *conn) write(b []byte) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
	_, err := c.nc.Write(b)
	return err
}

// reject quarantines the bytes of a message that could not be decoded
// (the connection is closed afterwards by the caller).
func (c *conn) reject(raw []byte, err error) {
	reason := strings.TrimPrefix(err.Error(), "teltonika: ")
	attrs := []any{"imei", c.imei, "remote", c.nc.RemoteAddr().String(), "reason", reason, "bytes", len(raw)}
	if len(raw) == 0 {
		c.s.log.Debug("connection closed", attrs...)
		return
	}
	id, qerr := c.s.sink.Quarantine(c.s.ctx, Input, contentType, raw, reason)
	if qerr != nil {
		c.s.log.Warn("frame rejected; quarantine failed", append(attrs, "err", qerr)...)
		return
	}
	c.s.log.Warn("frame rejected", append(attrs, "quarantine_id", id)...)
}

func (c *conn) debug(msg string, args ...any) {
	c.s.log.Debug(msg, append([]any{"imei", c.imei, "remote", c.nc.RemoteAddr().String()}, args...)...)
}

// truncated describes a message cut short after got of want bytes.
func truncated(what string, got, want int, cause error) error {
	return fmt.Errorf("teltonika: %w: %s has %d of %d bytes (%s)", ErrTruncated, what, got, want, closeReason(cause))
}

// closeReason names why a read ended, for logs and quarantine reasons.
func closeReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed by device"
	case errors.As(err, &ne) && ne.Timeout():
		return "idle timeout"
	default:
		return err.Error()
	}
}
