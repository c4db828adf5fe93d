package x12

import (
	"bytes"
	"fmt"
	"time"
)

// encoder writes segments with one set of delimiters.
type encoder struct {
	buf   bytes.Buffer
	d     Delimiters
	count int // segments written since the last reset
	err   error
}

// seg writes one segment; trailing empty elements are dropped. A value
// holding a delimiter is an error.
func (e *encoder) seg(id string, elems ...string) {
	for len(elems) > 0 && elems[len(elems)-1] == "" {
		elems = elems[:len(elems)-1]
	}
	e.buf.WriteString(id)
	for i, v := range elems {
		if e.err == nil && id != "ISA" {
			e.check(id, i+1, v)
		}
		e.buf.WriteByte(e.d.Element)
		e.buf.WriteString(v)
	}
	e.end()
}

func (e *encoder) end() {
	e.buf.WriteByte(e.d.Segment)
	if e.d.Newline {
		e.buf.WriteByte('\n')
	}
	e.count++
}

func (e *encoder) check(id string, pos int, v string) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == e.d.Element || c == e.d.Segment || c == e.d.Component || (e.d.Repetition != 0 && c == e.d.Repetition) {
			e.err = fmt.Errorf("%s%02d value %q contains a delimiter", id, pos, v)
			return
		}
	}
}

// isa writes a fixed-width ISA segment.
func (e *encoder) isa(senderQ, sender, receiverQ, receiver string, now time.Time, version string, control int, usage string) {
	if e.err != nil {
		return
	}
	for _, f := range []struct {
		name, v string
		n       int
	}{{"ISA05", senderQ, 2}, {"ISA06", sender, 15}, {"ISA07", receiverQ, 2}, {"ISA08", receiver, 15}} {
		if len(f.v) > f.n {
			e.err = fmt.Errorf("%s %q is longer than %d characters", f.name, f.v, f.n)
			return
		}
		e.check("ISA", 0, f.v)
	}
	if e.err != nil {
		return
	}
	rep := "U"
	if e.d.Repetition != 0 {
		rep = string([]byte{e.d.Repetition})
	}
	es := string([]byte{e.d.Element})
	e.buf.WriteString("ISA" + es + "00" + es + pad("", 10) + es + "00" + es + pad("", 10) + es +
		pad(senderQ, 2) + es + pad(sender, 15) + es + pad(receiverQ, 2) + es + pad(receiver, 15) + es +
		now.Format("060102") + es + now.Format("1504") + es + rep + es + version + es +
		fmt.Sprintf("%09d", control) + es + "0" + es + usage + es + string([]byte{e.d.Component}))
	e.end()
}

func pad(s string, n int) string {
	for len(s) < n {
		s += " "
	}
	return s
}

// checkControl validates a control number for ISA13/GS06.
func checkControl(name string, n int) error {
	if n < 1 || n > 999999999 {
		return fmt.Errorf("%s %d is outside 1..999999999", name, n)
	}
	return nil
}

// checkDelimiters rejects delimiter sets a parser could not read back.
func checkDelimiters(d Delimiters) error {
	all := []byte{d.Element, d.Component, d.Segment}
	if d.Repetition != 0 {
		all = append(all, d.Repetition)
	}
	for i, c := range all {
		if isAlnum(c) || c == ' ' || c == 0 {
			return fmt.Errorf("invalid delimiter %q", c)
		}
		for _, o := range all[i+1:] {
			if c == o {
				return fmt.Errorf("delimiter %q is used twice", c)
			}
		}
	}
	if (d.Element == '\n' || d.Element == '\r' || d.Component == '\n' || d.Component == '\r') || (d.Newline && (d.Segment == '\n' || d.Segment == '\r')) {
		return fmt.Errorf("line breaks can only terminate segments")
	}
	return nil
}
