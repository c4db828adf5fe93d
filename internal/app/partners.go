package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/crossdockhq/crossdock/internal/api"
	"github.com/crossdockhq/crossdock/internal/ingest/amqpin"
	"github.com/crossdockhq/crossdock/internal/ingest/dropdir"
	"github.com/crossdockhq/crossdock/internal/ingest/natsin"
	"github.com/crossdockhq/crossdock/internal/obs"
)

// brokerMessage is what the NATS and AMQP inputs hand over; both packages
// share its shape.
type brokerMessage = natsin.Message

// brokerHandler sends each message's body through the partner's inbound
// mapping. It returns nil once the events are committed or the payload is
// quarantined (the input acknowledges), an error when nothing could be
// committed (the broker redelivers).
func brokerHandler(srv *api.Server, principal, partner, mapping string) func(context.Context, brokerMessage) error {
	return func(ctx context.Context, m brokerMessage) error {
		corr := obs.CorrelationFromHeaders(m.Headers["X-Correlation-ID"]+m.Headers["correlation-id"], m.Headers["traceparent"])
		if corr == "" {
			corr = obs.NewCorrelationID()
		}
		_, err := srv.Inbound(obs.WithCorrelation(ctx, corr), principal, partner, mapping, m.Data, nil)
		return err
	}
}

// openPartnerInputs adds the broker inputs and drop folders of the config.
func (a *App) openPartnerInputs(srv *api.Server) error {
	for _, n := range a.cfg.Inputs.NATS {
		h := brokerHandler(srv, "nats/"+n.Name, n.Partner, n.Mapping)
		in, err := natsin.New(natsin.Config{
			URL: n.URL, Stream: n.Stream, Subjects: n.Subjects, CreateStream: n.CreateStream, Durable: n.Durable,
			FilterSubject: n.FilterSubject, Name: "crossdock-" + n.Name, Handler: h, Logger: a.log.With("input", "nats/"+n.Name),
		})
		if err != nil {
			return fmt.Errorf("app: nats input %s: %w", n.Name, err)
		}
		a.addBroker("nats/"+n.Name, natsin.Redact(n.URL), in.Start, in.Stop)
	}
	for _, q := range a.cfg.Inputs.AMQP {
		h := brokerHandler(srv, "amqp/"+q.Name, q.Partner, q.Mapping)
		in, err := amqpin.New(amqpin.Config{
			URL: q.URL, Queue: q.Queue, Declare: q.Declare, Exchange: q.Exchange, RoutingKeys: q.RoutingKeys, Prefetch: q.Prefetch,
			Handler: func(ctx context.Context, m amqpin.Message) error { return h(ctx, brokerMessage(m)) },
			Logger:  a.log.With("input", "amqp/"+q.Name),
		})
		if err != nil {
			return fmt.Errorf("app: amqp input %s: %w", q.Name, err)
		}
		a.addBroker("amqp/"+q.Name, amqpin.Redact(q.URL), in.Start, in.Stop)
	}
	for _, p := range a.cfg.Partners {
		for _, f := range p.Files {
			if f.DropDir == "" {
				continue
			}
			if err := a.openDropDir(p.ID, "files/"+f.Name, f.DropDir, p.MaxBodyBytes, a.importFile(srv, p.ID, f.Name)); err != nil {
				return err
			}
		}
		if p.EDI.DropDir != "" {
			if err := a.openDropDir(p.ID, "edi", p.EDI.DropDir, p.MaxBodyBytes, a.importEDI(srv, p.ID, p.EDI.DropDir)); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropped handles one complete file of a drop folder: nil once it is
// durable, a dropdir.Permanent error when it was refused as a whole (and
// quarantined), another error to try again later.
type dropped func(ctx context.Context, name string, body []byte) error

func (a *App) importFile(srv *api.Server, partner, mapping string) dropped {
	log := a.log.With("input", "dropdir", "partner", partner, "mapping", mapping)
	return func(ctx context.Context, name string, body []byte) error {
		out, pr, err := srv.ImportFile(ctx, "dropdir/"+partner, partner, mapping, body, nil)
		switch {
		case err != nil:
			return err
		case pr != nil:
			return dropdir.Permanent(errors.New(pr.Detail))
		}
		log.InfoContext(ctx, "file imported", "file", name, "rows", out.Rows, "bad", out.Bad, "accepted", out.Accepted, "duplicate", out.Dup)
		return nil
	}
}

// importEDI imports an interchange and writes its 997 to dir/acks, where
// the partner's SFTP client picks it up.
func (a *App) importEDI(srv *api.Server, partner, dir string) dropped {
	log := a.log.With("input", "dropdir", "partner", partner, "channel", "edi")
	acks := filepath.Join(dir, "acks")
	return func(ctx context.Context, name string, body []byte) error {
		out, pr, err := srv.EDI(ctx, "dropdir/"+partner, partner, body, nil)
		switch {
		case err != nil:
			return err
		case pr != nil:
			return dropdir.Permanent(errors.New(pr.Detail))
		}
		if err := os.MkdirAll(acks, 0o750); err != nil {
			return fmt.Errorf("acks folder: %w", err)
		}
		// Written before the interchange moves to done/: after a crash in
		// between, the file is imported again (its events are duplicates)
		// and the 997 written again.
		tmp := filepath.Join(acks, "."+name+".997.tmp")
		if err := os.WriteFile(tmp, []byte(out.Ack), 0o640); err != nil {
			return fmt.Errorf("write 997: %w", err)
		}
		if err := os.Rename(tmp, filepath.Join(acks, name+".997")); err != nil {
			return fmt.Errorf("write 997: %w", err)
		}
		log.InfoContext(ctx, "interchange imported", "file", name, "sets", len(out.Results))
		return nil
	}
}

// addBroker registers an input that dials out and runs until stopped.
func (a *App) addBroker(name, addr string, start func(context.Context) error, stop func(context.Context) error) {
	stopped := make(chan struct{})
	a.inputs = append(a.inputs, input{
		name: name, addr: func() string { return addr },
		serve: func() error {
			if err := start(context.Background()); err != nil {
				return err
			}
			<-stopped
			return nil
		},
		stop: func(ctx context.Context) error {
			defer close(stopped)
			return stop(ctx)
		},
	})
}

// fileLimit bounds a dropped file like the files endpoint does.
const fileLimit = 64 << 20

// openDropDir watches dir for a partner's files and hands each to handle.
func (a *App) openDropDir(partner, channel, dir string, maxBytes int64, handle dropped) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("app: drop folder %s: %w", dir, err)
	}
	limit := int64(fileLimit)
	if maxBytes > 0 {
		limit = maxBytes
	}
	log := a.log.With("input", "dropdir", "partner", partner, "channel", channel)
	w, err := dropdir.New(dropdir.Config{Dir: dir, Logger: log, Handle: func(ctx context.Context, name string, f *os.File) error {
		body, err := io.ReadAll(io.LimitReader(f, limit+1))
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if int64(len(body)) > limit {
			return dropdir.Permanent(fmt.Errorf("file is over the limit of %d bytes", limit))
		}
		return handle(obs.WithCorrelation(ctx, obs.NewCorrelationID()), name, body)
	}})
	if err != nil {
		return fmt.Errorf("app: drop folder %s: %w", dir, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	abs, _ := filepath.Abs(dir)
	a.inputs = append(a.inputs, input{
		name: "dropdir/" + partner + "/" + channel, addr: func() string { return abs },
		serve: func() error {
			defer close(done)
			_ = w.Run(ctx)
			return nil
		},
		stop: func(stopCtx context.Context) error {
			cancel()
			select {
			case <-done:
				return nil
			case <-stopCtx.Done():
				return stopCtx.Err()
			}
		},
	})
	return nil
}
