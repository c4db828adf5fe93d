package teltonika

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vector is one entry of testdata/vectors.txt.
type vector struct {
	source string // "01_traccar_gps_protocols.txt:43-44"
	kind   string // login, packet, reject
	frame  []byte
	want   map[string]string
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	var source string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "# 01_"):
			source, _, _ = strings.Cut(strings.TrimPrefix(line, "# "), " ")
		case strings.HasPrefix(line, "#"):
		default:
			fields := strings.Fields(line)
			if len(fields) < 2 || source == "" {
				t.Fatalf("vectors.txt: bad line %q", line)
			}
			b, err := hex.DecodeString(fields[1])
			if err != nil {
				t.Fatalf("%s: %v", source, err)
			}
			v := vector{source: source, kind: fields[0], frame: b, want: map[string]string{}}
			for _, kv := range fields[2:] {
				k, val, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("%s: bad key=value %q", source, kv)
				}
				v.want[k] = val
			}
			vs = append(vs, v)
			source = ""
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func vectorsOf(t testing.TB, kind string) []vector {
	t.Helper()
	var vs []vector
	for _, v := range loadVectors(t) {
		if v.kind == kind {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		t.Fatalf("no %s vectors", kind)
	}
	return vs
}

func TestDecodePacketVectors(t *testing.T) {
	for _, v := range vectorsOf(t, "packet") {
		t.Run(v.source, func(t *testing.T) {
			ps, count, err := DecodePacket(v.frame, "352093081452251")
			if err != nil {
				t.Fatal(err)
			}
			if want := atoi(t, v.want["len"]); len(v.frame) != want {
				t.Errorf("frame length %d, want %d", len(v.frame), want)
			}
			if want := atoi(t, v.want["records"]); count != want || len(ps) != want {
				t.Fatalf("count %d, positions %d, want %d", count, len(ps), want)
			}
			if codec := strings.ToLower(v.want["codec"]); hex.EncodeToString(v.frame[8:9]) != codec[len(codec)-2:] {
				t.Errorf("codec byte %x, want %s", v.frame[8], codec)
			}
			p := ps[0]
			wantTime, err := time.Parse(time.RFC3339Nano, v.want["t"])
			if err != nil {
				t.Fatal(err)
			}
			if !p.Time.Equal(wantTime) {
				t.Errorf("time %v, want %v", p.Time, wantTime)
			}
			near(t, "lat", p.Lat, atof(t, v.want["lat"]))
			near(t, "lon", p.Lon, atof(t, v.want["lon"]))
			near(t, "altitude", *p.AltitudeM, atof(t, v.want["alt"]))
			near(t, "heading", *p.Heading, atof(t, v.want["course"]))
			near(t, "speed", *p.SpeedKph, atof(t, v.want["speed_kmh"]))
			for i, p := range ps {
				if p.DeviceID != "352093081452251" {
					t.Errorf("record %d: device id %q", i, p.DeviceID)
				}
				if &p.Raw[0] != &v.frame[0] || len(p.Raw) != len(v.frame) {
					t.Errorf("record %d: raw is not the frame", i)
				}
			}
		})
	}
}

func TestDecodeRejectVectors(t *testing.T) {
	sentinels := map[string]error{"codec": ErrCodec, "truncated": ErrTruncated}
	for _, v := range vectorsOf(t, "reject") {
		t.Run(v.source, func(t *testing.T) {
			want := sentinels[v.want["err"]]
			if want == nil {
				t.Fatalf("unknown err=%q", v.want["err"])
			}
			if _, _, err := DecodePacket(v.frame, "1"); !errors.Is(err, want) {
				t.Fatalf("err %v, want %v", err, want)
			}
		})
	}
}

func TestDecodeLoginVectors(t *testing.T) {
	for _, v := range vectorsOf(t, "login") {
		imei, err := DecodeLogin(v.frame)
		if err != nil || imei != v.want["imei"] {
			t.Errorf("%s: got %q, %v; want %q", v.source, imei, err, v.want["imei"])
		}
	}
}

func TestCRC16(t *testing.T) {
	if got := crc16([]byte("123456789")); got != 0xBB3D {
		t.Errorf("check value 0x%04x, want 0xbb3d", got)
	}
	for _, kind := range []string{"packet", "reject"} {
		for _, v := range vectorsOf(t, kind) {
			if len(v.frame) < 15 {
				continue
			}
			data := v.frame[8 : len(v.frame)-4]
			if got, want := uint32(crc16(data)), binary.BigEndian.Uint32(v.frame[len(v.frame)-4:]); got != want {
				t.Errorf("%s: crc 0x%04x, frame has 0x%04x", v.source, got, want)
			}
		}
	}
}

func TestDecodeLogin(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		imei string
		err  error
		text string
	}{
		{"ok", login("356307042441013"), "356307042441013", nil, ""},
		{"one digit", login("7"), "7", nil, ""},
		{"max length", login(strings.Repeat("9", MaxIMEI)), strings.Repeat("9", MaxIMEI), nil, ""},
		{"empty", []byte{0, 0}, "", ErrIMEI, "teltonika: imei: empty"},
		{"too long", login(strings.Repeat("9", MaxIMEI+1)), "", ErrIMEI, "teltonika: imei: length 21 over 20"},
		{"letters", login("35630704244101A"), "", ErrIMEI, "teltonika: imei: not numeric"},
		{"space", login("3563 "), "", ErrIMEI, "teltonika: imei: not numeric"},
		{"nil", nil, "", ErrTruncated, "teltonika: truncated: login has 0 of 2 length bytes"},
		{"one byte", []byte{0}, "", ErrTruncated, "teltonika: truncated: login has 1 of 2 length bytes"},
		{"short", login("12345")[:5], "", ErrTruncated, "teltonika: truncated: login has 3 of 5 imei bytes"},
		{"trailing", append(login("12345"), '6'), "", ErrLength, "teltonika: length: 1 bytes after the imei"},
		{"avl frame", []byte{0, 0, 0, 0, 0, 0, 0, 0x30, 8}, "", ErrIMEI, "teltonika: imei: empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imei, err := DecodeLogin(tt.in)
			if !errors.Is(err, tt.err) || (err != nil && err.Error() != tt.text) {
				t.Fatalf("err %v, want %q", err, tt.text)
			}
			if imei != tt.imei {
				t.Errorf("imei %q, want %q", imei, tt.imei)
			}
		})
	}
}

func TestDecodePacketErrors(t *testing.T) {
	good := vectorsOf(t, "packet")[0].frame
	rec := avlRecord(Codec8, record{ms: 1700000000000, lat: 1, lon: 1, sats: 5})
	tests := []struct {
		name string
		in   []byte
		err  error
		text string
	}{
		{"empty", nil, ErrTruncated, "teltonika: truncated: frame has 0 bytes, want at least 15"},
		{"garbage", []byte{0xff}, ErrTruncated, "teltonika: truncated: frame has 1 bytes, want at least 15"},
		{"preamble", patch(good, 3, 1), ErrPreamble, "teltonika: preamble: got 0x00000001, want 0"},
		{"bad crc", patch(good, len(good)-1, good[len(good)-1]^0xff), ErrCRC, "teltonika: crc: got 0x54aa, want 0x5455"},
		{"bad data byte", patch(good, 20, good[20]^1), ErrCRC, ""},
		{"cut short", good[:len(good)-1], ErrTruncated, "teltonika: truncated: frame has 117 of 118 data bytes"},
		{"trailing", append(clone(good), 0), ErrLength, "teltonika: length: 1 bytes after the frame"},
		{"length under minimum", []byte{0, 0, 0, 0, 0, 0, 0, 2, 8, 0, 0, 0, 0, 0, 0}, ErrLength, "teltonika: length: data length 2 under 3"},
		{"huge length", []byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 8, 1, 1, 0, 0, 0, 0}, ErrTruncated, ""},
		{"unknown codec", frameOf(data(0x0C, 1, 1, rec)), ErrCodec, "teltonika: codec: unknown 0x0c"},
		{"n1 != n2", frameOf(data(Codec8, 2, 1, rec)), ErrCount, "teltonika: count: n1 2, n2 1"},
		{"missing record", frameOf(data(Codec8, 2, 2, rec)), ErrRecords, "teltonika: records: record 2 of 2 truncated"},
		{"trailing record bytes", frameOf(data(Codec8, 1, 1, append(clone(rec), 0, 0))), ErrRecords, "teltonika: records: 2 bytes after 1 records"},
		{"record cut", frameOf(data(Codec8, 1, 1, rec[:len(rec)-1])), ErrRecords, "teltonika: records: record 1 of 1 truncated"},
		{"codec 8 read as 8E", frameOf(data(Codec8Ext, 1, 1, rec)), ErrRecords, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, count, err := DecodePacket(tt.in, "1")
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if tt.text != "" && err.Error() != tt.text {
				t.Errorf("err %q, want %q", err, tt.text)
			}
			if ps != nil || count != 0 {
				t.Errorf("got %d positions, count %d with an error", len(ps), count)
			}
		})
	}
}

func TestDecodePacketRecords(t *testing.T) {
	ms := uint64(1735689600123) // 2025-01-01T00:00:00.123Z
	base := record{ms: ms, lat: 523456789, lon: 134567890, alt: -12, angle: 359, sats: 9, speed: 87}
	with := func(io ...ioElem) record { r := base; r.io = io; return r }
	f := func(v float64) *float64 { return &v }
	type want struct {
		odometer, battery, temp *float64
	}
	tests := []struct {
		name  string
		codec byte
		rec   record
		want  want
	}{
		{"codec 8 no io", Codec8, base, want{}},
		{"codec 8 odometer battery", Codec8, with(ioElem{16, 4, 123456}, ioElem{113, 1, 87}, ioElem{66, 2, 12800}), want{odometer: f(123.456), battery: f(87)}},
		{"codec 8E odometer battery", Codec8Ext, with(ioElem{16, 4, 5000}, ioElem{113, 1, 100}), want{odometer: f(5), battery: f(100)}},
		{"codec 16 odometer battery", Codec16, with(ioElem{16, 4, 1}, ioElem{113, 1, 3}), want{odometer: f(0.001), battery: f(3)}},
		{"dallas 1", Codec8, with(ioElem{72, 4, 45}), want{temp: f(4.5)}},
		{"dallas negative", Codec8Ext, with(ioElem{72, 4, uint64(0xffffffff - 180 + 1)}), want{temp: f(-18)}},
		{"dallas negative 2 bytes", Codec16, with(ioElem{73, 2, 0xff38}), want{temp: f(-20)}},
		{"dallas 1 not connected, 2 valid", Codec8, with(ioElem{72, 4, 3000}, ioElem{73, 4, 21}), want{temp: f(2.1)}},
		{"dallas sensor order wins over element order", Codec8, with(ioElem{74, 4, 50}, ioElem{73, 4, 40}), want{temp: f(4)}},
		{"dallas -1000 sentinel", Codec8Ext, with(ioElem{72, 4, uint64(0xffffffff - 1000 + 1)}), want{}},
		{"dallas range edges", Codec8, with(ioElem{72, 4, uint64(0xffffffff - 550 + 1)}, ioElem{73, 4, 1250}), want{temp: f(-55)}},
		{"dallas above range", Codec8, with(ioElem{72, 4, 1251}), want{}},
		{"dallas 85.0 is the sensor not ready", Codec8, with(ioElem{72, 4, 850}, ioElem{73, 4, 40}), want{temp: f(4)}},
		{"8 byte element", Codec8Ext, with(ioElem{78, 8, 0x1122334455667788}, ioElem{113, 1, 50}), want{battery: f(50)}},
		{"8E variable-length elements", Codec8Ext, func() record { r := with(ioElem{113, 1, 9}); r.nx = [][]byte{{1, 2, 3}, {}}; return r }(), want{battery: f(9)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := frameOf(data(tt.codec, 2, 2, append(avlRecord(tt.codec, tt.rec), avlRecord(tt.codec, tt.rec)...)))
			ps, count, err := DecodePacket(frame, "42")
			if err != nil {
				t.Fatal(err)
			}
			if count != 2 || len(ps) != 2 {
				t.Fatalf("count %d, positions %d, want 2", count, len(ps))
			}
			p := ps[1]
			if !p.Time.Equal(time.UnixMilli(int64(ms))) || p.Time.Location() != time.UTC {
				t.Errorf("time %v", p.Time)
			}
			near(t, "lat", p.Lat, 52.3456789)
			near(t, "lon", p.Lon, 13.456789)
			near(t, "altitude", *p.AltitudeM, -12)
			near(t, "heading", *p.Heading, 359)
			near(t, "speed", *p.SpeedKph, 87)
			same(t, "odometer", p.OdometerKm, tt.want.odometer)
			same(t, "battery", p.BatteryPct, tt.want.battery)
			same(t, "temperature", p.TemperatureC, tt.want.temp)
			if p.AccuracyM != nil {
				t.Errorf("accuracy %v, want nil", *p.AccuracyM)
			}
		})
	}
}

func TestDecodePacketNoFix(t *testing.T) {
	noFix := record{ms: 1735689600000}
	fix := record{ms: 1735689600000, lat: 1, sats: 0}
	frame := frameOf(data(Codec8Ext, 3, 3, concat(avlRecord(Codec8Ext, noFix), avlRecord(Codec8Ext, fix), avlRecord(Codec8Ext, noFix))))
	ps, count, err := DecodePacket(frame, "1")
	if err != nil {
		t.Fatal(err)
	}
	if count != 3 || len(ps) != 1 || ps[0].Lat != 1e-7 {
		t.Fatalf("count %d, positions %+v; want 3 and the one with a fix", count, ps)
	}
	ps, count, err = DecodePacket(frameOf(data(Codec8, 0, 0, nil)), "1")
	if err != nil || count != 0 || len(ps) != 0 {
		t.Fatalf("empty packet: %d, %d, %v", len(ps), count, err)
	}
}

func FuzzDecodePacket(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.frame)
	}
	rec := avlRecord(Codec8Ext, record{ms: 1, lat: 1, io: []ioElem{{72, 4, 45}, {16, 4, 9}}, nx: [][]byte{{1}}})
	f.Add(frameOf(data(Codec8Ext, 1, 1, rec)))
	f.Add(frameOf(data(Codec16, 1, 1, avlRecord(Codec16, record{ms: 1, lat: 1, io: []ioElem{{113, 1, 5}}}))))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, count, err := DecodePacket(b, "1")
		if err != nil {
			if ps != nil || count != 0 {
				t.Fatalf("positions with error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "teltonika: ") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		if len(ps) > count || count > 255 {
			t.Fatalf("%d positions of %d records", len(ps), count)
		}
		for _, p := range ps {
			if p.DeviceID != "1" || len(p.Raw) != len(b) || p.SpeedKph == nil || p.Heading == nil || p.AltitudeM == nil {
				t.Fatalf("bad position %+v", p)
			}
			if p.TemperatureC != nil && (*p.TemperatureC < minTempC || *p.TemperatureC > maxTempC) {
				t.Fatalf("temperature %v out of range", *p.TemperatureC)
			}
		}
	})
}

func FuzzDecodeLogin(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.frame)
	}
	f.Add(login("356307042441013"))
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		imei, err := DecodeLogin(b)
		if err != nil {
			if imei != "" {
				t.Fatalf("imei %q with error %v", imei, err)
			}
			return
		}
		if imei == "" || len(imei) > MaxIMEI || strings.Trim(imei, "0123456789") != "" || len(b) != 2+len(imei) {
			t.Fatalf("accepted %q from %x", imei, b)
		}
	})
}

func BenchmarkDecodePacket(b *testing.B) {
	for _, source := range []string{"01_traccar_gps_protocols.txt:82-83", "01_traccar_gps_protocols.txt:43-44"} {
		var frame []byte
		for _, v := range vectorsOf(b, "packet") {
			if v.source == source {
				frame = v.frame
			}
		}
		if frame == nil {
			b.Fatalf("no vector %s", source)
		}
		b.Run(source, func(b *testing.B) {
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := DecodePacket(frame, "352093081452251"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Frame building for synthetic tests.

type ioElem struct {
	id   uint16
	size int // 1, 2, 4 or 8 bytes
	v    uint64
}

type record struct {
	ms       uint64
	lat, lon int32
	alt      int16
	angle    uint16
	sats     byte
	speed    uint16
	io       []ioElem
	nx       [][]byte // codec 8E variable-length values
}

// avlRecord encodes r in codec's layout.
func avlRecord(codec byte, r record) []byte {
	l := layouts[codec]
	var b []byte
	put := func(n int, v uint64) {
		for i := n - 1; i >= 0; i-- {
			b = append(b, byte(v>>(8*i)))
		}
	}
	put(8, r.ms)
	put(1, 0)
	put(4, uint64(uint32(r.lon)))
	put(4, uint64(uint32(r.lat)))
	put(2, uint64(uint16(r.alt)))
	put(2, uint64(r.angle))
	put(1, uint64(r.sats))
	put(2, uint64(r.speed))
	put(l.eventSize, 0)
	if l.genType {
		put(1, 1)
	}
	put(l.countSize, uint64(len(r.io)+len(r.nx)))
	for _, size := range []int{1, 2, 4, 8} {
		var group []ioElem
		for _, e := range r.io {
			if e.size == size {
				group = append(group, e)
			}
		}
		put(l.countSize, uint64(len(group)))
		for _, e := range group {
			put(l.idSize, uint64(e.id))
			put(size, e.v)
		}
	}
	if l.varLen {
		put(2, uint64(len(r.nx)))
		for i, v := range r.nx {
			put(2, uint64(1000+i))
			put(2, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return b
}

// data is the data part of a frame: codec, n1, records, n2.
func data(codec, n1, n2 byte, records []byte) []byte {
	return concat([]byte{codec, n1}, records, []byte{n2})
}

// frameOf wraps d in preamble, length and its CRC.
func frameOf(d []byte) []byte {
	b := make([]byte, 8, len(d)+12)
	binary.BigEndian.PutUint32(b[4:], uint32(len(d)))
	b = append(b, d...)
	return binary.BigEndian.AppendUint32(b, uint32(crc16(d)))
}

func login(imei string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(imei))), imei...)
}

func concat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func patch(b []byte, i int, v byte) []byte {
	b = clone(b)
	b[i] = v
	return b
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 5e-8 {
		t.Errorf("%s %v, want %v", name, got, want)
	}
}

func same(t *testing.T, name string, got, want *float64) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s %v, want %v", name, deref(got), deref(want))
	default:
		near(t, name, *got, *want)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
