package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/crossdockhq/crossdock/internal/canonical"
	"github.com/crossdockhq/crossdock/internal/config"
	"github.com/crossdockhq/crossdock/internal/flatfile"
	"github.com/crossdockhq/crossdock/internal/mapping"
	"github.com/crossdockhq/crossdock/internal/pipeline"
	"github.com/crossdockhq/crossdock/internal/store"
)

// fileMapping is a compiled CSV file mapping.
type fileMapping struct {
	spec flatfile.Spec
	m    *mapping.Mapping
}

func fileSpec(f config.FileMapping) flatfile.Spec {
	spec := flatfile.Spec{Delimiter: rune(f.Delimiter[0])}
	if f.Delimiter == "\t" {
		spec.Delimiter = '\t'
	}
	for _, c := range f.Columns {
		spec.Columns = append(spec.Columns, flatfile.Column{Name: c.Name, Header: c.Header, Type: c.Type, Layout: c.Layout, Location: c.Location, Required: c.Required})
	}
	return spec
}

// defaultFileBytes bounds a file sent to the files endpoint unless the
// partner sets max_body_bytes: CSV exports are larger than API bodies.
const defaultFileBytes = 64 << 20

// fileChunk is how many events are handed to the writer at once: each
// chunk commits on its own, so a crash mid-file leaves whole chunks, and
// sending the file again (ids are the mapping's, stable) completes it.
const fileChunk = 1000

// maxRowErrors bounds the row errors listed in a file's answer; all of
// them are in quarantine.
const maxRowErrors = 1000

// RowResult is one refused row of a file.
type RowResult struct {
	Row          int    `json:"row" doc:"Data row number, 1-based, header excluded"`
	Line         int    `json:"line" doc:"Line in the file where the row starts"`
	Column       string `json:"column,omitempty"`
	Reason       string `json:"reason"`
	QuarantineID string `json:"quarantine_id,omitempty"`
}

// ImportFile runs a CSV file through a partner's file mapping: good rows
// become events and are committed in chunks, bad rows (cells that do not
// convert, a failing mapping, an invalid event) are quarantined one by one
// as a two-line CSV (header and row) that replays through the same
// mapping. A file that cannot be read at all (missing required columns,
// not UTF-8) is quarantined whole and answered as a problem. The error is
// non-nil only when something could not be committed: the sender sends
// the file again, and what was committed answers duplicate.
func (s *Server) ImportFile(ctx context.Context, principal, partner, name string, body []byte, replay *store.QuarantineRecord) (FileResponse, *Problem, error) {
	ct := fileContentType + "; partner=" + partner + "; mapping=" + name
	p := Principal{Name: principal, Partner: partner}
	fm := s.opt.Mappings.file(partner, name)
	if fm == nil {
		out, err := s.refuse(ctx, p, ct, body, replay, http.StatusNotFound, "partner "+partner+" has no file mapping "+strconv.Quote(name),
			canonical.FieldError{Field: "mapping", Message: "no file mapping " + strconv.Quote(name) + " for partner " + partner})
		return FileResponse{}, out.Problem, err
	}
	imp := &fileImport{s: s, ctx: ctx, p: p, ct: ct, name: name, fm: fm, replay: replay, resp: FileResponse{Errors: []RowResult{}},
		header: fileHeader(body, fm.spec.Delimiter)}
	sum, err := flatfile.Read(bytes.NewReader(body), fm.spec, imp.row)
	var fe *flatfile.FileError
	if errors.As(err, &fe) {
		out, err := s.refuse(ctx, p, ct, body, replay, http.StatusUnprocessableEntity, "file refused: "+fe.Error(),
			canonical.FieldError{Field: "file", Message: fe.Error()})
		return FileResponse{}, out.Problem, err
	}
	if err == nil {
		err = imp.flush()
	}
	if err != nil {
		return FileResponse{}, nil, err
	}
	imp.resp.Rows = sum.Rows
	imp.resp.Good = sum.Rows - imp.bad
	imp.resp.Bad = imp.bad
	return imp.resp, nil, nil
}

// fileImport is one file's run.
type fileImport struct {
	s      *Server
	ctx    context.Context
	p      Principal
	ct     string
	name   string
	fm     *fileMapping
	replay *store.QuarantineRecord
	header []string

	items   []pipeline.Item
	rows    []int // data row of each pending item
	pending map[int]flatfile.Row
	bad     int
	resp    FileResponse
}

func (f *fileImport) row(r flatfile.Row) error {
	raw := f.rowCSV(r)
	if len(r.Errs) > 0 {
		fes := make([]canonical.FieldError, 0, len(r.Errs))
		for _, e := range r.Errs {
			fes = append(fes, canonical.FieldError{Field: "row " + strconv.Itoa(r.Number) + " column " + e.Column, Message: e.Error()})
		}
		f.addItem(r, pipeline.Item{Raw: raw, Err: &canonical.ValidationError{Errors: fes}})
		return f.maybeFlush()
	}
	obj := make(map[string]any, len(r.Values)+1)
	for k, v := range r.Values {
		obj[k] = v
	}
	obj["row"] = r.Number
	evs, err := f.fm.m.Run(f.ctx, obj)
	if err != nil {
		if f.ctx.Err() != nil {
			return f.ctx.Err()
		}
		f.addItem(r, pipeline.Item{Raw: raw, Err: &canonical.ValidationError{Errors: []canonical.FieldError{{Field: "row " + strconv.Itoa(r.Number), Message: err.Error()}}}})
		return f.maybeFlush()
	}
	for _, it := range f.s.mappedItems(f.ctx, f.p.Partner, f.name, evs, raw) {
		f.addItem(r, it)
	}
	return f.maybeFlush()
}

func (f *fileImport) addItem(r flatfile.Row, it pipeline.Item) {
	if f.pending == nil {
		f.pending = map[int]flatfile.Row{}
	}
	f.pending[r.Number] = r
	f.items = append(f.items, it)
	f.rows = append(f.rows, r.Number)
}

func (f *fileImport) maybeFlush() error {
	if len(f.items) < fileChunk {
		return nil
	}
	return f.flush()
}

// flush commits the pending items and records the outcome per row.
func (f *fileImport) flush() error {
	if len(f.items) == 0 {
		return nil
	}
	f.s.prepare(f.p, f.items)
	results, err := f.s.opt.Pipeline.Submit(f.ctx, pipeline.Submission{
		Items: f.items, Principal: f.p.Name, Partner: f.p.Partner, ContentType: f.ct, Replay: f.replay,
	})
	if err != nil {
		return err
	}
	f.s.countPartnerItems(f.p.Partner, "files", results)
	badRows := map[int]bool{}
	for i, res := range results {
		switch res.Status {
		case pipeline.Accepted:
			if f.items[i].Err == nil {
				f.resp.Accepted++
			}
		case pipeline.Duplicate:
			f.resp.Dup++
		case pipeline.Rejected:
			n := f.rows[i]
			if !badRows[n] {
				badRows[n] = true
				f.bad++
			}
			if len(f.resp.Errors) >= maxRowErrors {
				continue
			}
			rr := RowResult{Row: n, Line: f.pending[n].Line, QuarantineID: res.QuarantineID}
			if len(res.Errors) > 0 {
				rr.Reason = res.Errors[0].Message
				if f := res.Errors[0].Field; f != "" && !strings.HasPrefix(f, "row ") {
					rr.Reason = f + ": " + rr.Reason
				}
				if errs := f.pending[n].Errs; len(errs) > 0 {
					rr.Column = errs[0].Column
				}
			}
			f.resp.Errors = append(f.resp.Errors, rr)
		}
	}
	f.items, f.rows, f.pending = f.items[:0], f.rows[:0], nil
	return nil
}

// rowCSV is a replayable two-line CSV: the file's header and the row.
func (f *fileImport) rowCSV(r flatfile.Row) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma = f.fm.spec.Delimiter
	_ = w.Write(f.header)
	if r.Raw != nil {
		_ = w.Write(r.Raw)
	}
	w.Flush()
	return b.Bytes()
}

// fileHeader reads the header record of body, as flatfile will see it.
func fileHeader(body []byte, delim rune) []string {
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))))
	cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes = delim, -1, true
	h, _ := cr.Read()
	return h
}

// postFile is POST /api/v1/partners/{id}/files/{mapping}.
func (s *Server) postFile(w http.ResponseWriter, r *http.Request) {
	call := s.openPartnerCall(w, r, defaultFileBytes)
	if call == nil {
		return
	}
	out, pr, err := s.ImportFile(r.Context(), call.p.Name, call.partner, r.PathValue("mapping"), call.body, nil)
	switch {
	case err != nil:
		s.submitFailed(w, r, err)
	case pr != nil:
		writeProblem(w, r, pr)
	default:
		writeJSON(w, http.StatusAccepted, out)
	}
}
