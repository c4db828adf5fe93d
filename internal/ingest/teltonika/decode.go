package teltonika

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/crossdockhq/crossdock/internal/ingest"
)

// Codec ids of the AVL data packets this input decodes.
const (
	Codec8    = 0x08
	Codec8Ext = 0x8E
	Codec16   = 0x10
)

// MaxIMEI is the longest device id a login may carry.
const MaxIMEI = 20

// Frame layout sizes: preamble and data length before the data, CRC after it;
// the data holds at least the codec id and the two record counts.
const (
	headerSize  = 8
	crcSize     = 4
	minDataSize = 3
)

// Well-known AVL IO element ids (Teltonika FMB/FMC parameter list).
const (
	ioOdometer = 16  // total odometer, metres
	ioBattery  = 113 // battery level, percent
	ioDallas1  = 72  // Dallas temperature sensors 1-3, 0.1 °C
	ioDallas3  = 74
)

// Dallas temperatures outside this range are the device's "not connected"
// and error sentinels (3000, -1000 in 0.1 °C), not readings; 850 (85.0 °C)
// is the DS18B20's power-on value, "sensor not ready", never a cargo reading.
const (
	minTempC      = -55
	maxTempC      = 125
	notReadyTenth = 850
)

// Errors DecodeLogin and DecodePacket wrap; each error's text names the
// problem after the category ("teltonika: crc: got 0x1234, want 0xabcd").
var (
	ErrIMEI      = errors.New("imei")      // empty, too long or not digits
	ErrTruncated = errors.New("truncated") // fewer bytes than the lengths announce
	ErrLength    = errors.New("length")    // a length field disagrees with the bytes or a limit
	ErrPreamble  = errors.New("preamble")  // the four leading bytes are not zero
	ErrCRC       = errors.New("crc")       // CRC-16/IBM of the data does not match
	ErrCodec     = errors.New("codec")     // not codec 8, 8E or 16
	ErrCount     = errors.New("count")     // the two record counts differ
	ErrRecords   = errors.New("records")   // the records do not fill the data exactly
)

// DecodeLogin decodes a login message, b being the 2-byte big-endian length
// followed by the IMEI in ASCII digits, and returns the IMEI. The error
// wraps ErrIMEI for an empty, too long (over MaxIMEI) or non-numeric IMEI,
// ErrTruncated when b is shorter than announced and ErrLength when bytes
// follow the IMEI.
func DecodeLogin(b []byte) (string, error) {
	if len(b) < 2 {
		return "", fmt.Errorf("teltonika: %w: login has %d of 2 length bytes", ErrTruncated, len(b))
	}
	n := int(binary.BigEndian.Uint16(b))
	if err := checkIMEILength(n); err != nil {
		return "", err
	}
	switch rest := len(b) - 2; {
	case rest < n:
		return "", fmt.Errorf("teltonika: %w: login has %d of %d imei bytes", ErrTruncated, rest, n)
	case rest > n:
		return "", fmt.Errorf("teltonika: %w: %d bytes after the imei", ErrLength, rest-n)
	}
	imei := b[2:]
	for _, c := range imei {
		if c < '0' || c > '9' {
			return "", fmt.Errorf("teltonika: %w: not numeric", ErrIMEI)
		}
	}
	return string(imei), nil
}

// checkIMEILength rejects a login length the server must not wait for.
func checkIMEILength(n int) error {
	switch {
	case n == 0:
		return fmt.Errorf("teltonika: %w: empty", ErrIMEI)
	case n > MaxIMEI:
		return fmt.Errorf("teltonika: %w: length %d over %d", ErrIMEI, n, MaxIMEI)
	}
	return nil
}

// DecodePacket decodes one whole AVL data frame: four zero bytes, the
// 4-byte data length, the data (codec id, record count N1, the records,
// record count N2) and the 4-byte CRC-16/IBM of the data.
//
// It returns the positions of the records that carry a fix, with DeviceID
// set to imei and Raw set to b (shared by all of them, not copied: b must
// not change afterwards), and count, the number of records in the frame
// (N1), which is what the device expects acknowledged. A record without a
// fix (no satellites, latitude and longitude zero) counts but yields no
// position. Values are passed on as read, unchecked.
//
// The error wraps ErrTruncated, ErrLength, ErrPreamble, ErrCRC, ErrCodec,
// ErrCount or ErrRecords and says what is wrong. DecodePacket never panics.
func DecodePacket(b []byte, imei string) ([]ingest.Position, int, error) {
	if len(b) < headerSize+minDataSize+crcSize {
		return nil, 0, fmt.Errorf("teltonika: %w: frame has %d bytes, want at least %d",
			ErrTruncated, len(b), headerSize+minDataSize+crcSize)
	}
	if p := binary.BigEndian.Uint32(b); p != 0 {
		return nil, 0, fmt.Errorf("teltonika: %w: got 0x%08x, want 0", ErrPreamble, p)
	}
	size := uint64(binary.BigEndian.Uint32(b[4:]))
	if size < minDataSize {
		return nil, 0, fmt.Errorf("teltonika: %w: data length %d under %d", ErrLength, size, minDataSize)
	}
	switch have := uint64(len(b) - headerSize - crcSize); {
	case have < size:
		return nil, 0, fmt.Errorf("teltonika: %w: frame has %d of %d data bytes", ErrTruncated, have, size)
	case have > size:
		return nil, 0, fmt.Errorf("teltonika: %w: %d bytes after the frame", ErrLength, have-size)
	}
	data := b[headerSize : len(b)-crcSize]
	if got, want := binary.BigEndian.Uint32(b[len(b)-crcSize:]), uint32(crc16(data)); got != want {
		return nil, 0, fmt.Errorf("teltonika: %w: got 0x%04x, want 0x%04x", ErrCRC, got, want)
	}
	lay, ok := layouts[data[0]]
	if !ok {
		return nil, 0, fmt.Errorf("teltonika: %w: unknown 0x%02x", ErrCodec, data[0])
	}
	n1, n2 := int(data[1]), int(data[len(data)-1])
	if n1 != n2 {
		return nil, 0, fmt.Errorf("teltonika: %w: n1 %d, n2 %d", ErrCount, n1, n2)
	}
	r := reader{b: data[2 : len(data)-1]}
	ps := make([]ingest.Position, 0, n1)
	for i := range n1 {
		p, fix := lay.record(&r)
		if r.short {
			return nil, 0, fmt.Errorf("teltonika: %w: record %d of %d truncated", ErrRecords, i+1, n1)
		}
		if fix {
			p.DeviceID, p.Raw = imei, b
			ps = append(ps, p)
		}
	}
	if rest := len(r.b) - r.off; rest > 0 {
		return nil, 0, fmt.Errorf("teltonika: %w: %d bytes after %d records", ErrRecords, rest, n1)
	}
	return ps, n1, nil
}

// layout is how a codec sizes the IO section of a record.
type layout struct {
	eventSize int  // event IO id
	genType   bool // a generation type byte follows the event id (codec 16)
	countSize int  // element counts
	idSize    int  // element ids
	varLen    bool // a section of variable-length elements follows (codec 8E)
}

var layouts = map[byte]layout{
	Codec8:    {eventSize: 1, countSize: 1, idSize: 1},
	Codec8Ext: {eventSize: 2, countSize: 2, idSize: 2, varLen: true},
	Codec16:   {eventSize: 2, genType: true, countSize: 1, idSize: 2},
}

// record reads one AVL record; fix is false for a record without a fix.
// On short data it sets r.short and returns garbage.
func (l layout) record(r *reader) (p ingest.Position, fix bool) {
	ms := r.uint(8)
	r.skip(1) // priority
	lon := int32(r.uint(4))
	lat := int32(r.uint(4))
	alt := int16(r.uint(2))
	angle := r.uint(2)
	sats := r.uint(1)
	speed := r.uint(2)

	p.Time = time.UnixMilli(int64(ms)).UTC()
	p.Lat, p.Lon = float64(lat)/1e7, float64(lon)/1e7
	v := &[3]float64{float64(alt), float64(angle), float64(speed)} // one allocation for the three
	p.AltitudeM, p.Heading, p.SpeedKph = &v[0], &v[1], &v[2]
	l.io(r, &p)
	return p, sats != 0 || lat != 0 || lon != 0
}

// io reads the IO section of a record and maps the well-known elements.
func (l layout) io(r *reader, p *ingest.Position) {
	r.skip(l.eventSize)
	if l.genType {
		r.skip(1)
	}
	r.skip(l.countSize) // total element count, implied by the groups
	var temps [ioDallas3 - ioDallas1 + 1]*float64
	for _, size := range [...]int{1, 2, 4, 8} {
		n := r.uint(l.countSize)
		for range n {
			id := r.uint(l.idSize)
			v := r.uint(size)
			if r.short {
				return
			}
			switch {
			case id == ioOdometer:
				p.OdometerKm = ptr(float64(v) / 1000)
			case id == ioBattery:
				p.BatteryPct = ptr(float64(v))
			case id >= ioDallas1 && id <= ioDallas3:
				if raw := signed(v, size); raw != notReadyTenth {
					if t := float64(raw) / 10; t >= minTempC && t <= maxTempC {
						temps[id-ioDallas1] = ptr(t)
					}
				}
			}
		}
	}
	if l.varLen {
		n := r.uint(2)
		for range n {
			r.skip(2) // id
			r.skip(int(r.uint(2)))
			if r.short {
				return
			}
		}
	}
	for _, t := range temps {
		if t != nil {
			p.TemperatureC = t
			break
		}
	}
}

// signed sign-extends the size-byte big-endian value v.
func signed(v uint64, size int) int64 {
	shift := 64 - 8*size
	return int64(v<<shift) >> shift
}

func ptr(v float64) *float64 { return &v }

// reader reads big-endian fields; reading past the end sets short and
// yields zeros, so a record is checked once after it is read.
type reader struct {
	b     []byte
	off   int
	short bool
}

func (r *reader) skip(n int) {
	if r.short || n > len(r.b)-r.off {
		r.short = true
		return
	}
	r.off += n
}

// uint reads an n-byte (n <= 8) unsigned big-endian value.
func (r *reader) uint(n int) uint64 {
	start := r.off
	r.skip(n)
	if r.short {
		return 0
	}
	var v uint64
	for _, c := range r.b[start:r.off] {
		v = v<<8 | uint64(c)
	}
	return v
}

// crc16 is CRC-16/IBM (ARC): polynomial 0xA001 reflected, initial value 0.
func crc16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc = crc>>8 ^ crcTable[byte(crc)^c]
	}
	return crc
}

var crcTable = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
		t[i] = crc
	}
	return t
}()
