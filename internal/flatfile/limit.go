package flatfile

import (
	"bytes"
	"fmt"
	"io"
)

// bufSize is the read buffer of Read; records are limited up to this much
// more than Spec.MaxLineBytes (see limitReader).
const bufSize = 64 << 10

// limitReader fails once a line, or the bytes read for one record, pass
// the limit, so that encoding/csv never holds more than about that much.
// It returns a *FileError, which encoding/csv passes through unchanged.
type limitReader struct {
	r     io.Reader
	max   int
	lines int   // newlines read
	tail  int   // bytes read since the last newline
	read  int64 // bytes read in all
	mark  int64 // read when the current record began
	start int   // the line the current record begins at (about)
	err   error // sticky
}

// begin records that the next record starts at about line.
func (l *limitReader) begin(line int) {
	l.mark, l.start = l.read, line
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	// The buffer may hold up to bufSize bytes read for earlier records, so
	// only more than max+bufSize bytes read since the record began prove
	// the record itself longer than max.
	if l.read-l.mark > int64(l.max)+bufSize {
		l.err = &FileError{Line: l.start, Reason: fmt.Sprintf("record longer than %d bytes (an unclosed quote?)", l.max)}
		return 0, l.err
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	for rest := p[:n]; ; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			l.tail += len(rest)
			break
		}
		if l.tail += i; l.tail > l.max {
			break
		}
		l.lines++
		l.tail, rest = 0, rest[i+1:]
	}
	if l.tail > l.max {
		l.err = &FileError{Line: l.lines + 1, Reason: fmt.Sprintf("line longer than %d bytes", l.max)}
		return 0, l.err
	}
	if err != nil {
		l.err = err
	}
	return n, err
}
