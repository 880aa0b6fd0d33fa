package screening

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
)

// The five input tables and the columns the engine reads from each
// (docs/data-format.md). Extra columns in a file are ignored.
type tableDef struct {
	name     string
	required []string
	optional bool // the whole table may be absent
}

var (
	tInstitutions = tableDef{"institutions", []string{"fixmedins_code", "fixmedins_name", "admdvs", "hosp_lv", "ownership", "fixmedins_type"}, false}
	tVisits       = tableDef{"visits", []string{"mdtrt_id", "psn_no", "fixmedins_code", "med_type", "begntime", "endtime", "gend", "age"}, false}
	tFeeLines     = tableDef{"fee_lines", []string{"feedetl_sn", "mdtrt_id", "setl_id", "psn_no", "fixmedins_code", "hilist_code", "cnt", "pric", "det_item_fee_sumamt", "fee_ocur_time"}, false}
	tDiagnoses    = tableDef{"diagnoses", []string{"mdtrt_id", "diag_code", "maindiag_flag"}, true}
	tPersons      = tableDef{"persons", []string{"psn_no", "death_date"}, true}
)

// hilist_name is a required column of fee_lines in the contract, but the
// engine never needs it; it is checked for presence only.
var feeLinesPresenceOnly = []string{"hilist_name"}

// column is one column of a batch: value i is data[starts[i]:ends[i]], or,
// for a Parquet dictionary page, dictionary entry idx[i] (starts/ends then
// index the dictionary; -1 is null). Values are views into reader buffers,
// valid until the batch's task produces its next batch.
type column struct {
	data   []byte
	starts []uint32
	ends   []uint32
	idx    []int32
	// dictID changes whenever the dictionary changes, so that callers can
	// cache per-entry conversions (item ids, shard of an institution code).
	dictID uint64
	// tc: a typed Parquet page (parquet_typed.go), row i at tc row off+i;
	// the other fields are unused.
	tc  *typedCol
	off int
	// indirect: idx or tc is set (one test keeps at inlined).
	indirect bool
}

// at is value i (small enough to be inlined: the hot loops call it for
// every value).
func (c *column) at(i int) []byte {
	if c.indirect {
		return c.atIndirect(i)
	}
	return c.data[c.starts[i]:c.ends[i]]
}

// atIndirect is at for a dictionary or typed page.
func (c *column) atIndirect(i int) []byte {
	if c.tc != nil {
		return c.tc.textAt(c.off + i)
	}
	j := c.idx[i]
	if j < 0 {
		return nil
	}
	return c.data[c.starts[j]:c.ends[j]]
}

// batch is a run of consecutive rows of one table.
type batch struct {
	n    int
	cols []column
	// Row position for quarantine: CSV physical line of each row (lines !=
	// nil), else 1-based row number firstRow+i.
	lines    []int64
	firstRow int64
	// raw(i) renders row i for quarantine.csv.
	rawCSV   []byte // CSV: the decoded chunk; row i is rawCSV[rawStart[i]:rawEnd[i]]
	rawStart []uint32
	rawEnd   []uint32
	// rejects found while splitting the input into rows (CSV syntax, field
	// counts), already complete.
	rejects []reject
	// ord is the ordinal of row 0 among the rows of the scan (0-based, in
	// input order), or -1 when an earlier task did not know its size (CSV).
	ord int64
}

func (b *batch) lineOf(i int) int64 {
	if b.lines != nil {
		return b.lines[i]
	}
	return b.firstRow + int64(i)
}

func (b *batch) raw(i int) string {
	if b.rawStart != nil {
		return string(b.rawCSV[b.rawStart[i]:b.rawEnd[i]])
	}
	// Parquet: the required columns as one CSV record.
	var out []byte
	for c := range b.cols {
		if c > 0 {
			out = append(out, ',')
		}
		out = appendCSVField(out, b.cols[c].at(i))
	}
	return string(out)
}

// reject is one row for quarantine.csv.
type reject struct {
	file   string
	line   int64
	reason string
	raw    string
}

// task is a unit of reading work (a CSV chunk, a Parquet row range). run
// emits the task's batches in order; emit returns only after the batch has
// been converted, so the task may reuse its buffers afterwards.
type task interface {
	run(ctx context.Context, emit func(*batch) error) error
}

// sizedTask is a task that knows beforehand how many rows it emits
// (Parquet: a row range), so that scan can give each batch its rows'
// ordinal (batch.ord) before the batches before it are read.
type sizedTask interface {
	task
	numRows() int64
}

// source is an opened input table.
type source interface {
	// file is the path shown in messages.
	file() string
	// rows estimates the number of data rows (exact for Parquet, from the
	// file size for CSV), for sizing.
	rows() int64
	// info describes the file for stats.json (complete once it was read).
	info() TableInput
	// tasks produces the table's tasks in order into ch and closes it.
	tasks(ctx context.Context, ch chan<- task) error
	close() error
}

// Format selects the input file type.
type Format string

const (
	FormatAuto    Format = "auto"
	FormatCSV     Format = "csv"
	FormatParquet Format = "parquet"
)

// Encoding of CSV input.
type Encoding string

const (
	// EncodingAuto (also "") reads a file as UTF-8 when it is valid UTF-8,
	// else as GB18030; a BOM decides by itself.
	EncodingAuto    Encoding = "auto"
	EncodingUTF8    Encoding = "UTF-8"
	EncodingGB18030 Encoding = "GB18030"
)

var errTableAbsent = errors.New("table absent")

// taskSizer is a source whose tasks' size can be chosen (Parquet's).
type taskSizer interface{ setTaskRows(rows int64) }

// resultsPerTask is room for all the batches of one task, so that a worker
// never waits for the consumer to reach its task: a Parquet task (up to
// 1½ × countedLineTaskRows rows) is cut at every page boundary of every
// column (about 400 batches with pages of 10 000 rows in each of ten
// columns); a CSV task is one batch. Memory
// stays bounded by the rows of the tasks in flight, not by this count.
const resultsPerTask = 1024

// input opens the tables of one run: where they are, in which format and
// encoding, and how their headers map to the documented columns. It keeps
// the last source of each table for stats.json "inputs".
type input struct {
	dir     string
	format  Format
	enc     Encoding
	columns *ColumnMap
	// shard of shards: which partitions of a partitioned table to open.
	shard, shards int
	// whole: partitionable tables to read in full even when partitioned
	// (visits, when OverlappingStays needs the stays elsewhere).
	whole  map[string]bool
	mu     sync.Mutex
	opened map[string]source
	// files and bytes opened per table, for stats.json.
	files map[string]int
	bytes map[string]int64
}

func newInput(o *Options) (*input, error) {
	switch o.Encoding {
	case "", EncodingAuto, EncodingUTF8, EncodingGB18030:
	default:
		return nil, fmt.Errorf("unknown encoding %q (auto, UTF-8 or GB18030)", o.Encoding)
	}
	if err := o.Columns.Validate(); err != nil {
		return nil, err
	}
	return &input{dir: o.Input, format: o.Format, enc: o.Encoding, columns: o.Columns, opened: map[string]source{},
		shard: o.Shard, shards: max(o.Shards, 1), whole: map[string]bool{}, files: map[string]int{}, bytes: map[string]int64{}}, nil
}

// partial reports whether this run reads only its partitions of table.
func (in *input) partial(table string) bool {
	if !partitionable[table] || in.whole[table] || in.shards <= 1 {
		return false
	}
	files, n, err := partFiles(filepath.Join(in.dir, table), in.ext())
	return err == nil && len(selectParts(files, in.shard, in.shards)) < n
}

func (in *input) ext() string {
	switch in.format {
	case FormatCSV:
		return "csv"
	case FormatParquet:
		return "parquet"
	}
	return ""
}

// open finds <dir>/<table>.csv or .parquet, or the partition directory
// <dir>/<table>/, and opens it, checking the required columns. An absent
// optional table returns errTableAbsent.
func (in *input) open(def tableDef) (source, error) { return in.openScope(def, false) }

// openAll opens every partition of a partitioned table (resolving fee-line
// rejects against visits elsewhere).
func (in *input) openAll(def tableDef) (source, error) { return in.openScope(def, true) }

func (in *input) openScope(def tableDef, all bool) (source, error) {
	if st, err := os.Stat(filepath.Join(in.dir, def.name)); err == nil && st.IsDir() {
		return in.openParts(def, all)
	}
	src, err := in.openFile(def)
	if err == nil {
		in.mu.Lock()
		in.files[def.name], in.bytes[def.name] = 1, fileSizes([]string{src.file()})
		in.mu.Unlock()
	}
	return src, err
}

// openParts opens the partitions of def this shard needs, as one source.
func (in *input) openParts(def tableDef, all bool) (source, error) {
	tdir := filepath.Join(in.dir, def.name)
	files, n, err := partFiles(tdir, in.ext())
	if err != nil {
		return nil, err
	}
	name := filepath.Join(tdir, fmt.Sprintf("part-*-of-%d%s", n, filepath.Ext(files[0])))
	if partitionable[def.name] && !in.whole[def.name] && !all {
		files = selectParts(files, in.shard, in.shards)
	}
	ms := &multiSource{name: name}
	for _, f := range files {
		src, err := in.openPath(f, def, filepath.Ext(f) == ".parquet")
		if err != nil {
			ms.close()
			return nil, err
		}
		ms.parts = append(ms.parts, src)
	}
	if !all {
		in.mu.Lock()
		in.opened[def.name] = ms
		in.files[def.name], in.bytes[def.name] = len(files), fileSizes(files)
		in.mu.Unlock()
	}
	return ms, nil
}

func (in *input) openPath(path string, def tableDef, isParquet bool) (source, error) {
	presence := []string(nil)
	if def.name == tFeeLines.name {
		presence = feeLinesPresenceOnly
	}
	if isParquet {
		return openParquet(path, def.name, def.required, presence, in.columns)
	}
	return openCSV(path, def.name, def.required, presence, in.enc, in.columns)
}

func (in *input) openFile(def tableDef) (source, error) {
	dir := in.dir
	csvPath := filepath.Join(dir, def.name+".csv")
	pqPath := filepath.Join(dir, def.name+".parquet")
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	var path string
	var isParquet bool
	switch in.format {
	case FormatCSV:
		path = csvPath
	case FormatParquet:
		path, isParquet = pqPath, true
	case FormatAuto, "":
		c, p := exists(csvPath), exists(pqPath)
		switch {
		case c && p:
			return nil, fmt.Errorf("%s: both %s.csv and %s.parquet exist; choose one with --format", dir, def.name, def.name)
		case p:
			path, isParquet = pqPath, true
		default:
			path = csvPath
		}
	default:
		return nil, fmt.Errorf("unknown format %q (auto, csv or parquet)", in.format)
	}
	if !exists(path) {
		if def.optional {
			return nil, errTableAbsent
		}
		return nil, fmt.Errorf("%s: required table %s not found", path, def.name)
	}
	src, err := in.openPath(path, def, isParquet)
	if err == nil {
		in.mu.Lock()
		in.opened[def.name] = src
		in.mu.Unlock()
	}
	return src, err
}

// TableInput is what stats.json says about one input table.
type TableInput struct {
	File string `json:"file"`
	// Encoding a CSV file was read in: UTF-8 or GB18030 (with --encoding
	// auto: UTF-8 when the file is valid UTF-8).
	Encoding string `json:"encoding,omitempty"`
	// BOM found and skipped at the start of a CSV file: UTF-8 or GB18030.
	BOM string `json:"bom,omitempty"`
	// Columns read under another name: documented name → header in the file.
	Columns map[string]string `json:"columns,omitempty"`
	// Files opened (1, or the partitions this shard read) and their size
	// in bytes: what the shard had to read at most (Parquet reads only the
	// column chunks it needs of them).
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

func (in *input) report() map[string]TableInput {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := map[string]TableInput{}
	for t, s := range in.opened {
		ti := s.info()
		ti.Files, ti.Bytes = in.files[t], in.bytes[t]
		out[t] = ti
	}
	return out
}

// exactRows reports whether src.rows() is exactly the number of rows its
// tasks emit (Parquet, one file or partitions), so that a loader can place
// rows by their ordinal (batch.ord) in arrays of that size.
func exactRows(src source) bool {
	switch s := src.(type) {
	case *parquetSource:
		return true
	case *multiSource:
		for _, p := range s.parts {
			if !exactRows(p) {
				return false
			}
		}
		return true
	}
	return false
}

// runJob runs task t (its first row's ordinal ord, or -1), sending each
// batch's conversion to res, which it closes.
func runJob[R any](ctx context.Context, src source, t task, ord int64, res chan R, convert func(*batch) R) (err error) {
	defer close(res)
	defer func() {
		if r := recover(); r != nil {
			if err = faultError(src, r); err == nil {
				panic(r)
			}
		}
	}()
	return t.run(ctx, func(b *batch) error {
		b.ord = ord
		if ord >= 0 {
			ord += int64(b.n)
		}
		r := convert(b)
		select {
		case res <- r:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	})
}

// faultError is the error for a panic of a memory fault (recovered value
// r, debug.SetPanicOnFault), or nil for any other panic. A read of a
// mapped file past its end faults: the file was cut short since it was
// opened.
func faultError(src source, r any) error {
	if f, ok := r.(interface{ Addr() uintptr }); ok {
		if e, ok := r.(error); ok && f.Addr() != 0 {
			return fmt.Errorf("%s: the file changed while it was read (cut short since it was opened?): %w", src.file(), e)
		}
	}
	return nil
}

// scan reads a source with `workers` goroutines: convert runs in the
// workers (in parallel, worker index w for per-worker caches), consume runs
// in the calling goroutine and sees the results in input order.
func scan[R any](ctx context.Context, src source, workers int,
	convert func(w int, b *batch) R, consume func(R) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	type job struct {
		t   task
		ord int64 // of the task's first row; -1 unknown
		res chan R
	}
	tasks := make(chan task)
	work := make(chan job)
	// A worker must be able to finish its task while the consumer is still
	// on an earlier one, or only one worker would run at a time: each task
	// gets room for resultsPerTask results, and workers*2 tasks may be in
	// flight (memory: a few times workers × task size).
	order := make(chan chan R, workers*2)
	var wg sync.WaitGroup

	wg.Add(1)
	go func() { // produce tasks
		defer wg.Done()
		if err := src.tasks(ctx, tasks); err != nil {
			cancel(err)
		}
	}()
	wg.Add(1)
	go func() { // dispatch: FIFO to workers, result channels in order
		defer wg.Done()
		defer close(work)
		defer close(order)
		var ord int64 // rows of the tasks so far; -1 once one is unsized
		for t := range tasks {
			j := job{t, ord, make(chan R, resultsPerTask)}
			if st, ok := t.(sizedTask); ok && ord >= 0 {
				ord += st.numRows()
			} else {
				ord = -1
			}
			select {
			case order <- j.res:
			case <-ctx.Done():
				return
			}
			select {
			case work <- j:
			case <-ctx.Done():
				close(j.res)
				return
			}
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			// Parquet pages are read from a memory map (mmap_linux.go): a
			// file cut short while it is read faults, which is an error of
			// the run, not a crash of the process (faultError).
			debug.SetPanicOnFault(true)
			for j := range work {
				if err := runJob(ctx, src, j.t, j.ord, j.res, func(b *batch) R { return convert(w, b) }); err != nil {
					cancel(err)
				}
			}
		}(w)
	}

	var cerr error
	for res := range order {
		for r := range res {
			if cerr == nil {
				if cerr = consume(r); cerr != nil {
					cancel(cerr)
				}
			}
		}
	}
	// Drain so producers can exit.
	go func() {
		for range tasks {
		}
	}()
	wg.Wait()
	if cerr != nil {
		return cerr
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}
