// Package teltonika is the Teltonika TCP device input: it accepts device
// connections, reads the IMEI login and the AVL data packets of codec 8,
// codec 8 extended (8E) and codec 16, hands the decoded records to an
// ingest.Sink as "teltonika" positions, and acknowledges each packet with
// its record count only after the Sink committed it.
//
// It owns the wire protocol: framing, CRC, record and IO element layout,
// the per-connection goroutines, their deadlines and the connection limit.
// Frames it cannot decode are kept with Sink.Quarantine and end only the
// connection that sent them.
//
// It must not touch storage, resolve devices to vehicles or validate
// values (ranges, NaN, times): the Sink does that for every input alike.
// It sends no commands to devices (codec 12/13/14 are not spoken).
package teltonika
