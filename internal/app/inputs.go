package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/crossdockhq/crossdock/internal/ingest/mqtt"
	"github.com/crossdockhq/crossdock/internal/ingest/osmand"
	"github.com/crossdockhq/crossdock/internal/ingest/teltonika"
)

// input is one running device input: started by Serve, stopped before the
// HTTP server and the pipeline, so what it has in flight still commits.
type input struct {
	ln    net.Listener // nil for inputs that dial out (MQTT)
	name  string
	addr  func() string
	serve func() error                    // blocks until stop
	stop  func(ctx context.Context) error // finish in-flight work, then return
}

// openInputs binds every enabled device input. On error it closes the
// ones already bound.
func (a *App) openInputs() error {
	c := a.cfg.Inputs
	if c.OsmAnd.Addr != "" {
		h, err := osmand.NewHandler(osmand.Config{}, a.pipeline, a.log)
		if err != nil {
			return fmt.Errorf("app: osmand: %w", err)
		}
		ln, err := net.Listen("tcp", c.OsmAnd.Addr)
		if err != nil {
			return fmt.Errorf("app: osmand: listen %s: %w", c.OsmAnd.Addr, err)
		}
		srv := osmand.NewServer(h, a.log)
		a.inputs = append(a.inputs, input{
			ln: ln, name: osmand.Input, addr: ln.Addr().String,
			serve: func() error {
				if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			},
			stop: srv.Shutdown,
		})
	}
	if m := c.MQTT; m.URL != "" {
		sub, err := mqtt.New(mqtt.Config{URL: m.URL, ClientID: m.ClientID, Topic: m.Topic, Username: m.Username, Password: m.Password},
			a.pipeline, a.log)
		if err != nil {
			return fmt.Errorf("app: mqtt: %w", err)
		}
		stopped := make(chan struct{})
		a.inputs = append(a.inputs, input{
			name: mqtt.Input, addr: func() string { return mqtt.Redact(m.URL) },
			serve: func() error {
				if err := sub.Start(context.Background()); err != nil {
					return err
				}
				<-stopped
				return nil
			},
			stop: func(ctx context.Context) error {
				defer close(stopped)
				return sub.Close(ctx)
			},
		})
	}
	if c.Teltonika.Addr != "" {
		srv, err := teltonika.New(teltonika.Config{
			Addr: c.Teltonika.Addr, IdleTimeout: c.Teltonika.IdleTimeout.D(), MaxConns: c.Teltonika.MaxConnections,
		}, a.pipeline, a.log)
		if err != nil {
			return fmt.Errorf("app: teltonika: %w", err)
		}
		ln, err := net.Listen("tcp", c.Teltonika.Addr)
		if err != nil {
			return fmt.Errorf("app: teltonika: listen %s: %w", c.Teltonika.Addr, err)
		}
		a.metrics.RegisterConnections(teltonika.Input, srv.Connections)
		a.inputs = append(a.inputs, input{
			ln: ln, name: teltonika.Input, addr: ln.Addr().String,
			serve: func() error { return srv.Serve(ln) },
			stop:  srv.Shutdown,
		})
	}
	return nil
}

// closeInputs releases the listeners of inputs that never served (Open
// failed after binding them).
func (a *App) closeInputs() {
	for _, in := range a.inputs {
		if in.ln != nil {
			_ = in.ln.Close()
		}
	}
}

// serveInputs runs every input until stopInputs; an input that fails
// reports on errc.
func (a *App) serveInputs(errc chan<- error) {
	for _, in := range a.inputs {
		a.log.Info("input listening", "input", in.name, "addr", in.addr())
		a.inputsWG.Go(func() {
			if err := in.serve(); err != nil {
				errc <- fmt.Errorf("app: input %s: %w", in.name, err)
			}
		})
	}
}

// stopInputs stops every input concurrently and waits for them.
func (a *App) stopInputs(ctx context.Context) {
	var wg sync.WaitGroup
	errs := make([]error, len(a.inputs))
	for i, in := range a.inputs {
		wg.Go(func() { errs[i] = in.stop(ctx) })
	}
	wg.Wait()
	a.inputsWG.Wait()
	if err := errors.Join(errs...); err != nil {
		a.log.Error("input shutdown", "err", err)
	}
}

// InputAddr is the address input name listens on ("" when it is off).
func (a *App) InputAddr(name string) string {
	for _, in := range a.inputs {
		if in.name == name {
			return in.addr()
		}
	}
	return ""
}
