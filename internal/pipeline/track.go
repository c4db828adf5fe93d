package pipeline

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/shipment"
	"github.com/crossdockhq/crossdock/internal/store"
	"github.com/crossdockhq/crossdock/internal/telemetry"
	"github.com/crossdockhq/crossdock/internal/vehicle"
	"github.com/crossdockhq/crossdock/internal/workflow"
)

// applyPosition stores a position in the positions table (not the events
// log: raw positions never reach a connector), moves its vehicle's last
// position, and runs the telemetry rules on the shipment the vehicle is
// assigned to, appending what they derive as events.
func (p *Pipeline) applyPosition(pd *pending, it Item, bs *batchState) Result {
	ev := it.Event
	res := Result{ID: ev.ID, Source: ev.Source}
	vid, ok := bs.subject(it)
	if !ok {
		return p.reject(pd, it, unknownDevice(it.DeviceID), bs)
	}
	ev.Subject = vid
	key := store.PositionKey{VehicleID: vid, Time: ev.Time.UTC()}
	if bs.knownPos[key] || bs.seenPos[key] {
		res.Status = Duplicate
		return res
	}
	bs.seenPos[key] = true
	d := it.Data.(*canonical.TelemetryPosition)
	bs.positions = append(bs.positions, store.PositionRecord{
		VehicleID: vid, Time: key.Time, DeviceID: it.DeviceID, Source: ev.Source, EventID: ev.ID,
		ReceivedAt: bs.now, CorrelationID: ev.CorrelationID, Lat: d.Lat, Lon: d.Lon, SpeedKph: d.SpeedKph,
		Heading: d.Heading, OdometerKm: d.OdometerKm, TemperatureC: d.TemperatureC, AltitudeM: d.AltitudeM,
		AccuracyM: d.AccuracyM, BatteryPct: d.BatteryPct,
	})
	vst := bs.vehicles[vid]
	if vehicle.Apply(vst, ev, d) {
		bs.vehDirty[vid] = true
	}
	p.track(vst, ev, d, bs)
	res.Status = Accepted
	return res
}

// track runs the telemetry rules for one position of vehicle vst on the
// shipment it is assigned to — only while that shipment names the vehicle
// back, so a stale assignment on either side drives nothing.
func (p *Pipeline) track(vst *vehicle.State, ev canonical.Event, d *canonical.TelemetryPosition, bs *batchState) {
	a := vst.Assignment
	if a == nil {
		return
	}
	sid := a.ShipmentID
	st := bs.shipments[sid]
	if st == nil || !st.Visible() || st.Assignment == nil || st.Assignment.Data.VehicleID != vst.ID {
		return
	}
	out := telemetry.Step(st, vst.ID, telemetry.Position{
		Time: ev.Time.UTC(), Lat: d.Lat, Lon: d.Lon, SpeedKph: d.SpeedKph, TemperatureC: d.TemperatureC,
	}, p.opt.Telemetry)
	if out.Changed {
		bs.shipDirty[sid] = true
	}
	switch {
	case out.Glitch:
		bs.after = append(bs.after, p.opt.Metrics.TelemetryDropped.WithLabelValues("glitch").Inc)
	case out.Late:
		bs.after = append(bs.after, p.opt.Metrics.TelemetryDropped.WithLabelValues("late").Inc)
	}
	corr := st.CorrelationID
	if corr == "" {
		corr = ev.CorrelationID
	}
	for _, fx := range out.Effects {
		code, stop := effectCode(fx)
		data, err := json.Marshal(fx.Data)
		if err != nil {
			p.opt.Logger.Error("encode telemetry event", "err", err, "shipment", sid)
			continue
		}
		dev := canonical.Event{
			SpecVersion: canonical.SpecVersion, Source: SourceTelemetry, Type: fx.Type, Subject: sid, Time: ev.Time.UTC(),
			ID:            uuid.NewSHA1(telemetryNS, fmt.Appendf(nil, "%s|%d|%s|%s|%s", vst.ID, ev.Time.UnixNano(), fx.Type, code, stop)).String(),
			CorrelationID: corr, CausationID: ev.ID, Data: data,
		}
		before := st.Status()
		var cases []workflow.Case
		if affectsCases(dev.Type) {
			cases = workflow.Cases(st, p.opt.Workflow)
		}
		changed, err := shipment.ApplyRanked(st, dev, fx.Data, p.opt.Precedence.Rank(dev.Source))
		if err != nil {
			p.opt.Logger.Error("apply telemetry event", "err", err, "shipment", sid, "type", fx.Type)
			continue
		}
		if changed {
			bs.shipDirty[sid] = true
		}
		bs.records = append(bs.records, store.EventRecord{
			Source: dev.Source, ID: dev.ID, Type: dev.Type, Subject: sid, ShipmentID: sid, Time: dev.Time,
			ReceivedAt: bs.now, CorrelationID: corr, CausationID: dev.CausationID, Data: data,
		})
		if changed && affectsCases(dev.Type) {
			p.flow(st, cases, dev, bs)
		}
		if changed {
			p.maybeRate(st, dev, bs)
			p.schedule(st, bs)
		}
		if after := st.Status(); after != before {
			bs.records = append(bs.records, statusChanged(dev, before, after, bs.now))
		}
		bs.after = append(bs.after, p.opt.Metrics.TelemetryEvents.WithLabelValues(fx.Type, code).Inc)
	}
}

func effectCode(fx telemetry.Effect) (code, stop string) {
	switch d := fx.Data.(type) {
	case *canonical.ShipmentMilestone:
		return d.Code, d.StopID
	case *canonical.ShipmentException:
		return d.Code, d.StopID
	}
	return "", ""
}
