// Package web serves the hub's HTML pages. Today that is the public
// tracking page, GET /track/{shipment_id}: a shipment's status, its stops
// with their times, the ETA and a small map drawn server-side as SVG,
// without the customer, prices, the driver or the vehicle's position.
// Templates are embedded; nothing is fetched from elsewhere at run time,
// and every value is escaped by html/template.
package web
