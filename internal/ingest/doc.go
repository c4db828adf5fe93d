// Package ingest holds what every device input shares: the decoded
// Position, the Sink that makes positions durable, and the result values.
//
// Each input lives in its own package below (osmand, teltonika, mqtt). An
// input decodes its protocol into Positions, hands them to a Sink, and
// acknowledges the device only after the Sink returned without error —
// that is when every position is durable or kept in quarantine. Inputs
// never write tables, resolve devices to vehicles, or validate values:
// the Sink (the pipeline) does, so every input rejects bad coordinates,
// times and speeds the same way.
package ingest
