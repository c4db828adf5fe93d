// Package reconcile checks the hub's records against the ERP and against
// the fleet's own data, and reports what does not agree as findings.
//
// A run checks one kind over a period [From, To):
//
//   - invoices: each invoice against what the ERP connectors hold for it
//     (missing_in_erp, amount_mismatch, unknown_in_hub, stuck_ready);
//   - shipments: shipments against their invoices and proofs of delivery
//     (delivered_not_invoiced, distance_changed_after_invoice,
//     duplicate_pod, inferred_departure);
//   - fuel: fuel purchases against the vehicles' positions
//     (fuel_far_from_vehicle, consumption_outlier), with the fuel cost of
//     each shipment allocated by its share of the vehicle's distance.
//
// Runs are jobs in the outbox scheduler, so exactly one node works on a
// run, and a run whose node died is taken over. Finding ids derive from
// what they are about, so a run taken over stores nothing twice; findings
// about a shipment open a non-blocking reconciliation_* case on it.
package reconcile
