package reconcile

import (
	"context"
)

// checkFuel runs CheckFuel over the run's period and counts the vehicles
// checked. A scheduled run then allocates each vehicle's fuel cost to the
// shipments it delivered in the period (trip.cost): the nightly batch, so
// that a one-off run over an odd period never fixes a shipment's cost.
func (r *Runner) checkFuel(ctx context.Context, w *writer) error {
	vs, err := CheckFuel(ctx, r.opt.Store, w.run.From, w.run.To, r.opt.Fuel, func(f Finding) error { return w.add(ctx, f) })
	if err != nil {
		return err
	}
	if err := w.progress(ctx, len(vs)); err != nil {
		return err
	}
	if w.run.Trigger != TriggerSchedule {
		return nil
	}
	return r.tripCosts(ctx, w, vs)
}
