// Package sim simulates the systems around a hub — a dispatch system, a
// fleet of trucks with GPS and fuel cards, the drivers' app, a carrier
// sending X12 214s, an ops clerk, a finance clerk and an ERP — so that
// `crossdock demo` (and tests) can show the whole flow, orders → GPS →
// milestones → POD → invoice → ERP → reconciliation, on a running hub. It talks to the hub only through its public HTTP API, as a
// real integration would, and owns nothing of the hub's.
//
// # The simulated systems
//
//   - Dispatch releases orders (order.released: a pickup at a depot and one
//     to three deliveries at customer sites, in the same city or a
//     neighbouring one, each with a geofence and a booked window), assigns
//     a truck once it is free (route.assigned) and now and then sees an
//     order cancelled (shipment.cancelled).
//   - The fleet drives the trucks along their routes — straight roads with
//     a bend, 60–85 km/h between cities and 30–45 km/h in town, now and
//     then a traffic jam — and reports a GPS fix every 30 s with a few
//     metres of noise (telemetry.position), all trucks' fixes of a round in
//     one request. Trucks stay at stops for realistic times (loading 20–45
//     min, unloading 15–40 min, sometimes 95–150 min: detention), so the
//     hub derives arrival, departure and dwell from its geofences itself.
//   - The fleet also relays the fuel-card transactions of its own trucks
//     (fuel.purchased, source fuel-card/demo, in the same requests as the
//     fixes): a truck burns 29–35 l/100 km and fills up wherever it is on
//     its road once it has burned 230–380 litres since the last fill,
//     about once a day, at a station under a kilometre off the road named
//     after the nearest city, at 1.659–1.849 EUR a litre. One truck's card,
//     picked by the seed, is also used once between 09:00 and 11:00 at a
//     station at least 400 km from the truck (card misuse).
//   - At noon of every simulated day, once every connector of the hub has
//     delivered its backlog, the finance clerk starts two reconciliation
//     runs (POST /api/v1/reconciliations): invoices over the wall clock
//     since the start (the hub stamps invoices with its own clock) and fuel
//     over the simulated day so far (events carry simulated times); the
//     next day's runs go on from there. It logs their ids, then what they
//     found.
//   - The drivers' app sends each delivery's proof of delivery
//     (delivery.completed with signer, place and pieces). About 15 % report
//     a problem — damaged goods, no signature, pieces short — which opens a
//     case in the hub and holds billing.
//   - The ops clerk resolves most of those cases 30 min to 4 h later
//     (POST /api/v1/cases/{id}/resolve), and the held invoices follow.
//   - A carrier (Options.Carrier, a partner declared in the hub) runs every
//     fourth truck: those send no GPS; the carrier reports their arrivals
//     and departures as X12 214 interchanges (POST
//     /api/v1/partners/{id}/edi with its own key) a few minutes late, one
//     interchange per round, with unique ISA and GS control numbers.
//   - The ERP (ERP, an http.Handler) takes the invoices the hub's rest
//     connector posts, idempotent by Idempotency-Key, and goes down for 15
//     simulated minutes of maintenance (503 with Retry-After) from minute
//     15 of the simulated day, once it has taken two invoices; the hub's
//     circuit breaker opens, its backlog grows, then drains. When it creates
//     its fourth invoice, a clerk in the ERP keys a 10 % discount on the
//     third by hand, so the ERP's total no longer agrees with the hub's
//     (GET /invoices/{id} answers the edited total): the finance clerk's
//     invoices run finds it.
//
// The first shipment of every truck is under way when the day starts and
// finishes in its first 45 simulated minutes, with one damaged delivery
// (resolved soon after), one missing signature (left open for hours) and
// one shortage among them, so every state shows in the first simulated
// hour: released, planned, in transit, delivered on hold, invoiced,
// cancelled, and the ERP's outage with the invoices queued behind it.
//
// # The clock
//
// The simulated clock (Timeline) starts at 08:00 UTC of a day that lies at
// least Behind (12 h) plus 24 h before the wall clock, runs Speed times
// faster than the wall clock, and once it has come within Behind of the
// wall clock keeps that distance at 1×. At 60× the accelerated part lasts
// 24 to 48 simulated hours, 25 to 50 minutes of wall-clock time.
//
// Every event carries its simulated time, so the hub sees real durations:
// an hour's drive between two fixes an hour apart, 25 minutes of dwell
// between arrival and departure, detention after 90 minutes; the timeline
// of a shipment reads like a working day. Event times are never in the
// hub's future: the simulated clock never passes the wall clock minus
// Behind.
//
// Behind is not cosmetic. The hub measures some waits on its own wall
// clock against event times: a POD still missing 4 h after the arrival
// (pod_overdue), a stop not reached when its window ends, rating 2 h after
// the last POD when no departure is seen. Its SLA timers skip a due time
// more than 15 minutes in the past as history. Keeping the simulated day
// more than 12 h behind puts every such wait in the hub's past, so the hub
// judges the day by its facts (an arrival after its window is a
// late_arrival either way) instead of firing timers while the accelerated
// trucks are still driving. For the same reason the drivers' app sends a
// POD once the truck is seen leaving the stop (the POD keeps the time it
// was signed): rating then always follows the departure and bills the
// measured dwell, as it would on a live day.
//
// # Determinism
//
// The scenario — orders, routes, fixes, fuel purchases, exceptions,
// resolutions — is a pure function of the seed, the number of vehicles,
// whether a carrier takes part and the day's origin: each truck draws its
// plan, its GPS noise and its fuel purchases from random streams of its
// own (math/rand/v2 PCG seeded from the seed), so the order in which the
// wall clock lets things happen does not change them. Only when things are
// sent depends on the clock: every tick (Options.Tick) sends what became
// due, system by system, in rounds that keep each truck's events in the
// order they happened. The finance clerk's invoices runs span wall-clock
// periods, so only they depend on when the clock reached noon. With a
// fake Clock the requests themselves are reproducible byte for byte.
package sim
