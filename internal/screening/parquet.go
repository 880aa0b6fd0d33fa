package screening

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
)

// Parquet input is read page by page, column by column, without building
// rows: a batch is the run of rows for which every needed column still has
// values in its current page, and its columns are views into the decoded
// pages (dictionary pages stay indexes into their dictionary, so per-entry
// work such as interning an item code is done once per dictionary entry).
// Work is split into row ranges of about parquetTaskRows rows
// (feeLineTaskRows for the fee lines; seeking inside large row groups),
// which are decoded by several workers at once.
//
// Accepted column types: BYTE_ARRAY/STRING (the contract), INT32/INT64
// (plain, DECIMAL(scale ≤ 4), DATE, TIMESTAMP as local wall clock), FLOAT/
// DOUBLE (formatted exactly as Go's strconv 'f' -1 and then parsed like
// text, so 0.1 stays 0.1). Required and optional (nullable) columns are
// accepted; a null is an empty value.

const parquetTaskRows = 64 << 10

// feeLineTaskRows is the task size of the fee lines: a page that straddles
// a task boundary is decompressed by both tasks, about a tenth of the
// table's pages at 64 Ki rows. Fee lines are processed in a stream, so
// twice the rows in flight cost a few tens of MiB; the visits keep
// parquetTaskRows, whose tables are smaller and whose parsed rows wait for
// the in-order loader.
const feeLineTaskRows = 2 * parquetTaskRows

// countedLineTaskRows is the fee lines' task size when no loaded rule
// groups lines: a line in flight is then counted, not kept, and tasks
// twice as large cut half as many pages in two (Snappy decompresses a
// page whole, so each task decompresses the page at its boundary). No-rule
// runs, alternating with the 128 Ki-row tasks: 0.87–0.92 of the time on
// both kinds of file (docs/benchmarks.md). With grouped rules the lines
// in flight are kept, and larger tasks only made the collector run more.
const countedLineTaskRows = 4 * parquetTaskRows

// setTaskRows sets the rows per task (pageCuts.next) of the tasks to come.
func (s *parquetSource) setTaskRows(rows int64) { s.taskRows = rows }

type parquetSource struct {
	path     string
	taskRows int64 // rows per task (pageCuts.next)
	f        *os.File
	mapped   *mappedFile // nil: read with pread (mapFile)
	pf       *parquet.File
	cols     []parquetCol // required columns in order
	renamed  map[string]string
}

type parquetCol struct {
	name   string
	index  int
	maxDef int
	kind   parquet.Kind
	logic  *format.LogicalType
	conv   numConv // typed columns (parquet_typed.go)
}

func openParquet(path, table string, required, presence []string, cm *ColumnMap) (source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	var r io.ReaderAt = f
	mapped, ok := mapFile(f, st.Size())
	if ok {
		r = mapped
	}
	pf, err := parquet.OpenFile(r, st.Size(), parquet.SkipBloomFilters(true), parquet.ReadBufferSize(256<<10))
	if err != nil {
		mapped.unmap()
		f.Close()
		return nil, fmt.Errorf("%s: not a readable Parquet file: %w", path, err)
	}
	s := &parquetSource{path: path, f: f, mapped: mapped, pf: pf, taskRows: parquetTaskRows}
	if table == tFeeLines.name {
		s.taskRows = feeLineTaskRows
	}
	schema := pf.Schema()
	var header []string
	for _, fl := range schema.Fields() {
		header = append(header, fl.Name())
	}
	res, err := resolveColumns(path, table, header, cm, append(append([]string(nil), presence...), required...))
	if err != nil {
		s.close()
		return nil, err
	}
	s.renamed = res.renamed
	for k, name := range required {
		leaf, ok := schema.Lookup(header[res.idx[len(presence)+k]])
		if !ok {
			s.close()
			return nil, fmt.Errorf("%s: missing column %q", path, name)
		}
		if leaf.MaxRepetitionLevel > 0 {
			s.close()
			return nil, fmt.Errorf("%s: column %q is repeated; expected a flat column", path, name)
		}
		typ := leaf.Node.Type()
		c := parquetCol{name: name, index: leaf.ColumnIndex, maxDef: leaf.MaxDefinitionLevel, kind: typ.Kind(), logic: typ.LogicalType()}
		switch c.kind {
		case parquet.ByteArray, parquet.Int32, parquet.Int64, parquet.Float, parquet.Double:
		default:
			s.close()
			return nil, fmt.Errorf("%s: column %q has unsupported type %s", path, name, typ)
		}
		if c.logic != nil {
			if d, ok := c.logic.Value.(*format.DecimalType); ok && d.Scale > 4 {
				s.close()
				return nil, fmt.Errorf("%s: column %q is DECIMAL with scale %d; at most 4 is supported", path, name, d.Scale)
			}
		}
		c.conv = newNumConv(c.kind, c.logic)
		s.cols = append(s.cols, c)
	}
	return s, nil
}

func (s *parquetSource) file() string { return s.path }
func (s *parquetSource) info() TableInput {
	return TableInput{File: filepath.Base(s.path), Columns: s.renamed}
}
func (s *parquetSource) rows() int64 { return s.pf.NumRows() }
func (s *parquetSource) close() error {
	err := s.mapped.unmap()
	if e := s.f.Close(); err == nil {
		err = e
	}
	return err
}

func (s *parquetSource) tasks(ctx context.Context, ch chan<- task) error {
	defer close(ch)
	var first int64
	for ri, rg := range s.pf.RowGroups() {
		n := rg.NumRows()
		cuts := s.taskCuts(rg)
		for start := int64(0); start < n; {
			end := cuts.next(start, n)
			t := &parquetTask{src: s, rg: rg, rgIndex: ri, start: start, end: end, firstRow: first + start + 1}
			select {
			case ch <- t:
			case <-ctx.Done():
				return nil
			}
			start = end
		}
		first += n
	}
	return nil
}

// pageCuts chooses where a row group's tasks end. Decompression works on
// whole pages, so a page that straddles a task boundary is decompressed by
// both tasks: with 64 Ki-row tasks and pages of 32 Ki rows that is half as
// much again of the column. A boundary is therefore put, within
// [¾, 1½] × the task size of the task's start, on the row that wastes the
// fewest compressed bytes over the needed columns (0 where every column
// starts a page there), as the offset index tells; the last task of a row
// group takes the rest when that is at most 1½ × the task size.
type pageCuts struct {
	rows int64        // rows per task
	cols []pageStarts // nil: no offset index, fixed-size tasks
}

type pageStarts struct {
	first []int64 // first row of each page
	size  []int64 // compressed bytes of each page
}

func (s *parquetSource) taskCuts(rg parquet.RowGroup) pageCuts {
	chunks := rg.ColumnChunks()
	pc := pageCuts{rows: s.taskRows}
	for _, c := range s.cols {
		oi, err := chunks[c.index].OffsetIndex()
		if err != nil || oi == nil || oi.NumPages() == 0 {
			return pageCuts{rows: s.taskRows}
		}
		var ps pageStarts
		for k := 0; k < oi.NumPages(); k++ {
			ps.first = append(ps.first, oi.FirstRowIndex(k))
			ps.size = append(ps.size, oi.CompressedPageSize(k))
		}
		pc.cols = append(pc.cols, ps)
	}
	return pc
}

// waste is the compressed bytes decoded twice if a task boundary is at row r.
func (pc pageCuts) waste(r int64) int64 {
	var w int64
	for _, c := range pc.cols {
		k := sort.Search(len(c.first), func(k int) bool { return c.first[k] > r }) - 1
		if k >= 0 && c.first[k] != r {
			w += c.size[k]
		}
	}
	return w
}

// next returns the end of the task that starts at start (n rows).
func (pc pageCuts) next(start, n int64) int64 {
	lo, hi := pc.rows*3/4, pc.rows*3/2
	if pc.cols == nil {
		return min(n, start+pc.rows)
	}
	if n-start <= hi {
		return n // the rest in one task: no boundary at all
	}
	best, bestWaste := start+pc.rows, pc.waste(start+pc.rows)
	for _, c := range pc.cols {
		i := sort.Search(len(c.first), func(k int) bool { return c.first[k] >= start+lo })
		for ; i < len(c.first) && c.first[i] <= start+hi; i++ {
			r := c.first[i]
			w := pc.waste(r)
			if w < bestWaste || w == bestWaste && abs64(r-start-pc.rows) < abs64(best-start-pc.rows) {
				best, bestWaste = r, w
			}
		}
	}
	return best
}

func abs64(x int64) int64 { return max(x, -x) }

type parquetTask struct {
	src        *parquetSource
	rg         parquet.RowGroup
	rgIndex    int
	start, end int64
	firstRow   int64
}

func (t *parquetTask) numRows() int64 { return t.end - t.start }

var dictCounter atomic.Uint64

// colReader walks the pages of one column.
type colReader struct {
	c      *parquetCol
	pages  pageSource
	page   *pageView
	view   column // the whole current page
	n, pos int
	// conversion buffers, reused across pages
	text     []byte
	starts   []uint32
	ends     []uint32
	idx      []int32
	lastDict *pageDict
	dictView column
	// typed columns (c.conv.kind != numNone): the page as integers, its
	// text made only when asked for.
	tc       typedCol
	values   encoding.Values // the current page's values
	defs     []byte
	dictText bool // dictView holds the dictionary's text
}

func (t *parquetTask) run(ctx context.Context, emit func(*batch) error) error {
	s := t.src
	chunks := t.rg.ColumnChunks()
	readers := make([]*colReader, len(s.cols))
	defer func() {
		for _, r := range readers {
			if r != nil {
				r.pages.close()
			}
		}
	}()
	for i := range s.cols {
		pages, err := t.pages(chunks, &s.cols[i])
		if err != nil {
			return fmt.Errorf("%s: column %s: seek to row %d: %w", s.path, s.cols[i].name, t.start, err)
		}
		readers[i] = &colReader{c: &s.cols[i], pages: pages}
		if s.cols[i].conv.kind != numNone {
			r := readers[i]
			r.tc.conv, r.tc.make = &r.c.conv, r.typedText
		}
	}
	b := &batch{cols: make([]column, len(s.cols))}
	row := t.start
	for row < t.end {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := int(t.end - row)
		for _, r := range readers {
			if r.pos == r.n {
				if err := r.next(s.path); err != nil {
					return err
				}
			}
			k = min(k, r.n-r.pos)
		}
		for i, r := range readers {
			b.cols[i] = r.view.slice(r.pos, r.pos+k)
			r.pos += k
		}
		b.n = k
		b.firstRow = t.firstRow + (row - t.start)
		if err := emit(b); err != nil {
			return err
		}
		row += int64(k)
	}
	return nil
}

// pages returns the reader of column c's pages from the task's first row:
// the file's own (mappedPages) where it can, else parquet-go's.
func (t *parquetTask) pages(chunks []parquet.ColumnChunk, c *parquetCol) (pageSource, error) {
	s := t.src
	if s.mapped != nil {
		rgs := s.pf.Metadata().RowGroups
		if t.rgIndex < len(rgs) && c.index < len(rgs[t.rgIndex].Columns) {
			if cc := &rgs[t.rgIndex].Columns[c.index]; mappable(cc, int64(len(s.mapped.data))) {
				oi, err := chunks[c.index].OffsetIndex()
				if err != nil {
					oi = nil
				}
				return newMappedPages(s.mapped.data, true, cc, c, oi, t.start)
			}
		}
	}
	pages := chunks[c.index].Pages()
	if t.start > 0 {
		if err := pages.SeekToRow(t.start); err != nil {
			pages.Close()
			return nil, err
		}
	}
	return &goPages{pages: pages, maxDef: c.maxDef}, nil
}

func (c column) slice(i, j int) column {
	if c.tc != nil {
		c.off += i
		return c
	}
	if c.idx != nil {
		c.idx = c.idx[i:j]
		return c
	}
	c.starts, c.ends = c.starts[i:j], c.ends[i:j]
	return c
}

// next reads the next page of the column and prepares its view.
func (r *colReader) next(path string) error {
	r.page = nil
	p, err := r.pages.next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: column %s: fewer rows than the row group declares", path, r.c.name)
		}
		return fmt.Errorf("%s: column %s: %w", path, r.c.name, err)
	}
	r.page = p
	r.n, r.pos = p.rows, p.skip
	values := p.values
	defs := p.defs
	if r.c.conv.kind != numNone {
		r.nextTyped(p, values, defs)
		return nil
	}
	if dict := p.dict; dict != nil {
		if dict != r.lastDict {
			r.lastDict = dict
			// The dictionary's text must outlive r.text (reused per page).
			data, starts, ends := r.c.toText(&dict.values, dict.n, nil, nil, nil)
			r.dictView = column{data: data, starts: starts, ends: ends, dictID: dict.id}
		}
		ix := values.Int32()
		r.view = r.dictView
		if defs != nil {
			r.idx = expandIndexes(r.idx[:0], ix, defs, r.c.maxDef)
			r.view.idx, r.view.indirect = r.idx, true
		} else {
			r.view.idx, r.view.indirect = ix[:r.n], true
		}
		return nil
	}
	nv := p.nonNull
	var data []byte
	var starts, ends []uint32
	data, starts, ends = r.c.toText(&values, nv, r.text[:0], r.starts[:0], r.ends[:0])
	if r.c.kind != parquet.ByteArray {
		r.text, r.starts, r.ends = data, starts, ends
	}
	r.view = column{data: data, starts: starts, ends: ends}
	if defs != nil {
		r.view.starts, r.view.ends = expandNulls(r.view.starts, r.view.ends, defs, r.c.maxDef, &r.idx)
	}
	return nil
}

// nextTyped prepares the view of a typed page: its integers, or its
// dictionary's with the page's indexes; the text only on demand.
func (r *colReader) nextTyped(p *pageView, values encoding.Values, defs []byte) {
	t := &r.tc
	r.values, r.defs = values, defs
	t.ready, t.idx, t.null = false, nil, nil
	if dict := p.dict; dict != nil {
		if dict != r.lastDict {
			r.lastDict, r.dictText = dict, false
		}
		t.setInts(r.c.kind, &dict.values, dict.n)
		ix := values.Int32()
		if defs != nil {
			r.idx = expandIndexes(r.idx[:0], ix, defs, r.c.maxDef)
			t.idx = r.idx
		} else {
			t.idx = ix[:r.n]
		}
	} else if defs == nil || p.nonNull == p.rows {
		t.setInts(r.c.kind, &values, r.n)
	} else {
		t.spreadNulls(r.c.kind, &values, p.nonNull, defs, r.c.maxDef)
	}
	r.view = column{tc: t, indirect: true}
}

// typedText is the current typed page as text (toText), as next makes it
// for a text page.
func (r *colReader) typedText() column {
	p := r.page
	if d := p.dict; d != nil {
		if !r.dictText {
			// The dictionary's text outlives r.text (reused per page).
			data, starts, ends := r.c.toText(&d.values, d.n, nil, nil, nil)
			r.dictView, r.dictText = column{data: data, starts: starts, ends: ends, dictID: d.id}, true
		}
		v := r.dictView
		v.idx, v.indirect = r.tc.idx, true
		return v
	}
	nv := p.nonNull
	data, starts, ends := r.c.toText(&r.values, nv, r.text[:0], r.starts[:0], r.ends[:0])
	r.text, r.starts, r.ends = data, starts, ends
	v := column{data: data, starts: starts, ends: ends}
	if r.defs != nil {
		v.starts, v.ends = expandNulls(v.starts, v.ends, r.defs, r.c.maxDef, nil)
	}
	return v
}

// toText returns n values as a text column. BYTE_ARRAY values are returned
// as views (no copy); numbers are formatted into text.
func (c *parquetCol) toText(v *encoding.Values, n int, text []byte, starts, ends []uint32) ([]byte, []uint32, []uint32) {
	if c.kind == parquet.ByteArray {
		data, offs := v.ByteArray()
		return data, offs[:n], offs[1 : n+1]
	}
	add := func(from int) {
		starts = append(starts, uint32(from))
		ends = append(ends, uint32(len(text)))
	}
	var dec *format.DecimalType
	var date, ts bool
	var unit int64 = 1
	if c.logic != nil {
		switch l := c.logic.Value.(type) {
		case *format.DecimalType:
			dec = l
		case *format.DateType:
			date = true
		case *format.TimestampType:
			ts = true
			switch l.Unit.Value.(type) {
			case *format.MilliSeconds:
				unit = 1000
			case *format.MicroSeconds:
				unit = 1000000
			case *format.NanoSeconds:
				unit = 1000000000
			}
		}
	}
	appendInt := func(x int64) {
		from := len(text)
		switch {
		case dec != nil && dec.Scale > 0:
			neg := x < 0
			if neg {
				x = -x
				text = append(text, '-')
			}
			p := int64(math.Pow10(int(dec.Scale)))
			text = strconv.AppendInt(text, x/p, 10)
			// the fraction with its leading zeros: p + x%p has one more
			// digit than the scale, which is dropped.
			text = append(text, '.')
			at := len(text)
			text = strconv.AppendInt(text, x%p+p, 10)
			text = append(text[:at], text[at+1:]...)
		case date:
			text = appendDate(text, int32(x))
		case ts:
			sec := x / unit
			if x%unit < 0 {
				sec--
			}
			text = appendDateTime(text, sec)
		default:
			text = strconv.AppendInt(text, x, 10)
		}
		add(from)
	}
	switch c.kind {
	case parquet.Int32:
		for _, x := range v.Int32()[:n] {
			appendInt(int64(x))
		}
	case parquet.Int64:
		for _, x := range v.Int64()[:n] {
			appendInt(x)
		}
	case parquet.Float:
		for _, x := range v.Float()[:n] {
			from := len(text)
			text = strconv.AppendFloat(text, float64(x), 'f', -1, 32)
			add(from)
		}
	case parquet.Double:
		for _, x := range v.Double()[:n] {
			from := len(text)
			text = strconv.AppendFloat(text, x, 'f', -1, 64)
			add(from)
		}
	}
	return text, starts, ends
}

// expandIndexes spreads the non-null dictionary indexes of an optional
// column over its rows (null = -1).
func expandIndexes(dst []int32, ix []int32, defs []byte, maxDef int) []int32 {
	j := 0
	for _, d := range defs {
		if int(d) == maxDef {
			dst = append(dst, ix[j])
			j++
		} else {
			dst = append(dst, -1)
		}
	}
	return dst
}

// expandNulls spreads the non-null values of an optional column over its
// rows (null = empty value). The result is built in fresh slices because
// starts/ends may be views of the page's offsets.
func expandNulls(starts, ends []uint32, defs []byte, maxDef int, _ *[]int32) ([]uint32, []uint32) {
	s := make([]uint32, len(defs))
	e := make([]uint32, len(defs))
	j := 0
	for i, d := range defs {
		if int(d) == maxDef {
			s[i], e[i] = starts[j], ends[j]
			j++
		}
	}
	return s, e
}
