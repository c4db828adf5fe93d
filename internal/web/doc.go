// Package web serves the hub's HTML: the console and the public tracking
// page.
//
// The console (GET / and /console/) logs a user in with an API key and
// shows the dashboards the key's scopes open: operations (ops), finance
// (finance), support (read) and platform (admin). It is a client of the
// hub's own API, called in process with the session's key, so the API's
// authorization, partner isolation and validation decide everything; the
// key itself stays in this process's memory behind a random session id.
// Forms carry a per-session CSRF token, cross-site requests are refused,
// and open dashboards are kept current over server-sent events whose
// panels htmx swaps in. Scripts (htmx and its SSE extension) are vendored
// and embedded, charts are SVG drawn here: nothing is fetched from the
// internet.
//
// The tracking page, GET /track/{shipment_id}, shows a shipment's status,
// its stops with their times, the ETA and a small map, without the
// customer, prices, the driver or the vehicle's position. Every value in
// every page is escaped by html/template.
package web
