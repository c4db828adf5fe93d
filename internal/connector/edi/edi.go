package edi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/crossdockhq/crossdock/internal/connector"
	"github.com/crossdockhq/crossdock/internal/outbox"
)

// Connector writes each event as an X12 file to a directory or an SFTP
// server. It is safe for concurrent use.
type Connector struct {
	name     string
	timeout  time.Duration
	env      envelope
	filename string
	dest     destination
}

var _ connector.Connector = (*Connector)(nil)

// destination stores finished files.
type destination interface {
	// put makes name hold body: written aside and renamed into place, or
	// left alone when it already holds body. Every error is retryable.
	put(ctx context.Context, name string, body []byte) error
	// close releases connections; put may be called again afterwards.
	close() error
	// String says where the files go, without secrets.
	String() string
}

// New checks c and returns the connector. It reads key_file and
// known_hosts but connects to nothing: the first delivery does.
func New(c Config) (*Connector, error) {
	s, err := c.check()
	if err != nil {
		if c.Name == "" {
			return nil, fmt.Errorf("edi: %w", err)
		}
		return nil, fmt.Errorf("edi: %s: %w", c.Name, err)
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	conn := &Connector{name: c.Name, timeout: timeout, env: s.env, filename: s.filename}
	if s.sftp != nil {
		conn.dest = newSFTP(*s.sftp)
	} else {
		conn.dest = directory{dir: s.dir}
	}
	return conn, nil
}

// Name implements connector.Connector.
func (c *Connector) Name() string { return c.name }

// Close closes the SFTP connection, if one is open. Deliveries after Close
// open a new one.
func (c *Connector) Close() error { return c.dest.close() }

// Deliver implements connector.Connector: it renders the event as one
// X12 interchange and stores it under the file name of the delivery. An
// event that cannot become a valid document is a permanent error; every
// failure to store the file is retryable. The receipt's Ref is the
// interchange control number (ISA13), which the partner's 997 and TA1
// quote.
func (c *Connector) Deliver(ctx context.Context, d connector.Delivery) (connector.Receipt, error) {
	doc, err := c.env.render(d)
	if st := (*noStatusError)(nil); errors.As(err, &st) {
		// A subscriber of shipment.status_changed gets the statuses a
		// 214 can say; the others are not the partner's business.
		return connector.Receipt{Ref: "none: no 214 status for " + st.status}, nil
	}
	if err != nil {
		return connector.Receipt{}, outbox.Permanent(fmt.Errorf("%s: %w", c.name, err))
	}
	name := fileName(c.filename, doc, d.ID)
	if err := ctx.Err(); err != nil {
		return connector.Receipt{}, fmt.Errorf("%s: %s: %w", c.name, name, err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout, errTimeout)
	defer cancel()
	if err := c.dest.put(ctx, name, doc.body); err != nil {
		if errors.Is(context.Cause(ctx), errTimeout) || errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("%w after %v: %w", errTimeout, c.timeout, err)
		}
		return connector.Receipt{}, fmt.Errorf("%s: put %s on %s: %w", c.name, name, c.dest, err)
	}
	return connector.Receipt{Ref: fmt.Sprintf("%09d", doc.control)}, nil
}

// errTimeout is the cause of a delivery that ran out of Config.Timeout.
var errTimeout = errors.New("timed out")
