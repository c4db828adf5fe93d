package teltonika

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/crossdockhq/crossdock/internal/ingest"
)

// AppendLogin appends a device's login message (2-byte length and the
// IMEI) to dst. Device simulators and load tools use it; crossdock itself
// only reads logins.
func AppendLogin(dst []byte, imei string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(imei)))
	return append(dst, imei...)
}

// AppendPacket appends a codec 8 AVL packet of ps (at most 255) to dst, as
// a tracker sends it: time in ms, coordinates in 1e-7 degrees, altitude,
// heading and speed rounded to whole units, 12 satellites, and the
// odometer (IO 16, metres), battery (IO 113) and first Dallas temperature
// (IO 72, 0.1 °C) when set. DecodePacket reads it back to the same values
// within that rounding.
func AppendPacket(dst []byte, ps []ingest.Position) ([]byte, error) {
	if len(ps) == 0 || len(ps) > 255 {
		return dst, fmt.Errorf("teltonika: encode: %d records; 1..255 fit a packet", len(ps))
	}
	data := []byte{Codec8, byte(len(ps))}
	for _, p := range ps {
		data = binary.BigEndian.AppendUint64(data, uint64(p.Time.UnixMilli()))
		data = append(data, 0) // priority: low
		data = binary.BigEndian.AppendUint32(data, uint32(int32(math.Round(p.Lon*1e7))))
		data = binary.BigEndian.AppendUint32(data, uint32(int32(math.Round(p.Lat*1e7))))
		data = binary.BigEndian.AppendUint16(data, uint16(int16(round(p.AltitudeM))))
		data = binary.BigEndian.AppendUint16(data, uint16(round(p.Heading)))
		data = append(data, 12) // satellites
		data = binary.BigEndian.AppendUint16(data, uint16(round(p.SpeedKph)))
		var one, two, four [][2]uint64 // IO elements by value size: id, value
		if p.BatteryPct != nil {
			one = append(one, [2]uint64{ioBattery, uint64(round(p.BatteryPct))})
		}
		if p.TemperatureC != nil {
			two = append(two, [2]uint64{ioDallas1, uint64(uint16(int16(math.Round(*p.TemperatureC * 10))))})
		}
		if p.OdometerKm != nil {
			four = append(four, [2]uint64{ioOdometer, uint64(math.Round(*p.OdometerKm * 1000))})
		}
		data = append(data, 0, byte(len(one)+len(two)+len(four))) // event IO id, total IO count
		for _, group := range []struct {
			size int
			els  [][2]uint64
		}{{1, one}, {2, two}, {4, four}, {8, nil}} {
			data = append(data, byte(len(group.els)))
			for _, e := range group.els {
				data = append(data, byte(e[0]))
				for i := group.size - 1; i >= 0; i-- {
					data = append(data, byte(e[1]>>(8*i)))
				}
			}
		}
	}
	data = append(data, byte(len(ps)))
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	dst = append(dst, data...)
	return binary.BigEndian.AppendUint32(dst, uint32(crc16(data))), nil
}

func round(v *float64) float64 {
	if v == nil {
		return 0
	}
	return math.Round(*v)
}
