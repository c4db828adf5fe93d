// Package osmand is the OsmAnd HTTP input: the protocol of traccar's
// client apps (Traccar Client, OsmAnd's online tracking) and of the
// Transistorsoft background-geolocation JSON they also send.
//
// It owns decoding a request into an ingest.Position and the HTTP handler
// that answers the device. It hands positions to an ingest.Sink and answers
// 200 only after the sink returned, i.e. after the commit; it never
// resolves devices, checks value ranges or writes tables itself.
package osmand
