package screening

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"sync"
)

// The in-memory model of the reference tables. A run keeps the visits of its
// own institutions (shard and city; ids interned in one arena, records of
// 24 bytes), whatever the --from/--to window, to validate their fee lines.
// When some institution is out of scope, the rest of the visits table is
// only scanned, not kept: a pass marks kept visits whose mdtrt_id an
// earlier valid row elsewhere already used (duplicates), and collects the
// inpatient stays elsewhere of the kept persons (OverlappingStays partners,
// appended to visits out of scope); a second pass drops the partners that
// are themselves duplicates. Fee lines are never all in memory (see
// engine.go).

type institution struct {
	code, name, city, ownership, typ string
	level                            int8
	inScope                          bool // shard and city
}

// visit is a visit's record, 24 bytes: the model holds one per visit of
// the shard's institutions, written once, and fresh memory is what the
// visits phase pays for most (docs/benchmarks.md). So endtime is kept as
// the stay's length (a valid visit ends at most maxStay after it begins),
// and the person number, which only some rules read, in its own array
// (model.visitPerson).
type visit struct {
	begin     int64  // date-time (seconds, wall clock)
	stay      uint32 // endtime − begntime, in seconds
	inst      int32
	age       uint8 // 0–150
	gend      byte  // '1', '2', or 0 for anything else
	inpatient bool
	inScope   bool // institution in scope and inside the window
	inWindow  bool
	dup       bool // repeats an earlier visit's mdtrt_id: rejected, ignored
}

// maxStay is the longest a valid visit lasts: endtime more than 100
// years after begntime is an error in the data (and would not fit
// visit.stay).
const maxStay = 100 * 366 * secondsPerDay

// end is the visit's endtime (seconds, wall clock).
func (v *visit) end() int64 { return v.begin + int64(v.stay) }

type model struct {
	opts   *runConfig
	insts  []institution
	instBy map[string]int32

	visits []visit
	mdtrt  *idIndex // mdtrt_id → visit index
	// stays: the kept inpatient stays in the window by person (indexStays;
	// only with OverlappingStays). stayPsn and the index hold the kept
	// stays only; the partners elsewhere are appended to stayVisit and
	// stayPerson after them (their person looked up in the index).
	stays      *keyIndex
	stayPsn    strArena
	stayVisit  []int32 // stay → visit
	stayPerson []int32 // stay → person (input-wide, first-occurrence order)
	// visitPsn: the psn_no of each loaded visit, in visit order, which is
	// the fee lines' order: the pass compares a line's psn_no with it
	// reading memory in sequence (from a person's key, a cache miss per
	// visit); numberPersons and the deaths read it too.
	visitPsn strArena
	// visitPerson: each visit's person number within its institution
	// (numberPersons), -1 out of scope; nil without a rule that tells
	// persons apart (personOf is -1 then).
	visitPerson []int32

	// per-institution in-scope visits (CSR), built after loading visits
	// when a rule needs them (visitNeeds.instVisits)
	instVisitStart []int32
	instVisits     []int32
	visitsInScope  int64

	// diagnoses (CSR by visit), only for in-scope visits
	hasDiagnoses bool
	diagStart    []int32 // len(visits)+1
	diagCodes    []int32 // ids in diag
	diag         *interner
	principalCat []int32 // visit → category id in diagCat, -1 = none
	diagCat      *interner

	hasPersons bool
	visitDeath []int32 // visit → its person's death day; noDeath if none

	// partial: some valid institution is outside this run's scope (shard,
	// city). Then only the visits of in-scope institutions are kept, plus
	// the inpatient stays elsewhere of their persons (OverlappingStays
	// partners, appended after them with inScope false); visitsSource
	// reopens the visits table for the extra passes that decide, without
	// keeping other visits, which kept rows repeat an earlier mdtrt_id.
	partial      bool
	visitsSource func() (source, error)

	q        *quarantine
	rowsRead map[string]int64

	// strict: no value normalisation; norm counts what normalisation did
	// (values.go).
	strict bool
	norm   map[string]normCounts
}

// shardOf is the documented partition function: FNV-1a 32 of the code.
func shardOf(code []byte, shards int) int {
	if shards <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write(code)
	return int(h.Sum32() % uint32(shards))
}

// owns reports whether this shard reports the rejects of table that no
// institution decides: shard 0, or every shard for the partitions it alone
// reads.
func (c *runConfig) owns(table string) bool { return c.shard == 0 || c.partRead[table] }

// owned reports whether this shard counts a rejection of a row with this
// raw institution code (docs/rules.md §2).
func (m *model) owned(code []byte) bool {
	if shardOf(code, m.opts.shards) != m.opts.shard {
		return false
	}
	if m.opts.city != "" {
		if i, ok := m.instBy[string(code)]; ok && m.insts[i].city != m.opts.city {
			return false
		}
	}
	return true
}

func (m *model) reject(table string, r reject) { m.q.add(table, r) }

// loadInstitutions reads the whole institutions table (small).
func (m *model) loadInstitutions(ctx context.Context, src source) error {
	m.instBy = map[string]int32{}
	type row struct {
		f    [6][]byte
		line int64
		raw  string
	}
	file := src.file()
	return scan(ctx, src, 1, func(_ int, b *batch) loaded[row] {
		rows := make([]row, b.n)
		for i := 0; i < b.n; i++ {
			for c := 0; c < 6; c++ {
				rows[i].f[c] = bytes.Clone(b.cols[c].at(i))
			}
			rows[i].line = b.lineOf(i)
			rows[i].raw = b.raw(i)
		}
		return loaded[row]{rows, b.rejects, b.n}
	}, func(l loaded[row]) error {
		m.syntaxRejects(tInstitutions.name, l.syntax)
		for _, r := range l.rows {
			m.rowsRead[tInstitutions.name]++
			if !m.strict {
				if nm := m.normInstitution(&r.f); nm != 0 && shardOf(r.f[0], m.opts.shards) == m.opts.shard {
					m.countNorm(tInstitutions, nm)
				}
			}
			code := r.f[0]
			var reason string
			lv := int8(-1)
			if len(r.f[3]) == 1 && r.f[3][0] >= '0' && r.f[3][0] <= '3' {
				lv = int8(r.f[3][0] - '0')
			}
			switch {
			case len(code) == 0:
				reason = "fixmedins_code is empty"
			case lv < 0:
				reason = fmt.Sprintf("hosp_lv %q is not 0, 1, 2 or 3", r.f[3])
			default:
				if _, dup := m.instBy[string(code)]; dup {
					reason = "duplicate fixmedins_code"
				}
			}
			if reason != "" {
				// An invalid row is not a valid institution, so the city
				// filter cannot exempt it; a duplicate is owned like the
				// first row.
				if shardOf(code, m.opts.shards) == m.opts.shard &&
					(reason != "duplicate fixmedins_code" || m.opts.city == "" || m.insts[m.instBy[string(code)]].city == m.opts.city) {
					m.reject(tInstitutions.name, reject{file, r.line, reason, r.raw})
				}
				continue
			}
			in := institution{code: string(code), name: string(r.f[1]), city: string(r.f[2]),
				level: lv, ownership: string(r.f[4]), typ: string(r.f[5])}
			in.inScope = shardOf(code, m.opts.shards) == m.opts.shard && (m.opts.city == "" || in.city == m.opts.city)
			m.instBy[in.code] = int32(len(m.insts))
			m.insts = append(m.insts, in)
			m.partial = m.partial || !in.inScope
		}
		return nil
	})
}

// loaded is what a loader's workers hand to its in-order consumer: parsed
// rows and the rows rejected as malformed CSV records.
type loaded[T any] struct {
	rows   []T
	syntax []reject
	n      int // rows in the batch (when rows holds only some of them)
}

// syntaxRejects counts rows that are not valid CSV records. Their
// institution cannot be known, so shard 0 reports them (docs/rules.md §2).
func (m *model) syntaxRejects(table string, rs []reject) {
	m.rowsRead[table] += int64(len(rs))
	if m.opts.owns(table) {
		for _, r := range rs {
			m.reject(table, r)
		}
	}
}

// visitBatch is a batch of parsed visits rows, column by column, so that
// the in-order loader can append a batch whose rows are all kept to the
// model in a few copies instead of row by row (the loader runs on one
// core beside the workers; row by row it was a quarter of the visits
// phase's CPU). Parsed in place (visitPlace), vis is already where the
// loader keeps it as long as no earlier row was dropped, and then it
// copies nothing of it.
type visitBatch struct {
	vis     []visit   // per row; inst -1 when unknown, dup set by the loader
	md, psn strArena  // mdtrt_id and psn_no of each row (normalised)
	mdRuns  batchRuns // the runs of increasing mdtrt_id in md (idIndex)
	ord     int64     // ordinal of row 0 (batch.ord)
	inPlace bool      // vis is the visitPlace's at ord
	// md and psn are views of the visitPlace's idPlaces; the pooled
	// arenas taken for the batch but not used are in spare
	mdInPlace, psnInPlace bool
	spare                 visitStrs
	line0                 int64 // line of row i: lines[i] (CSV) or line0+i
	lines                 []int64
	odd                   []visitOdd // the rows the loader must look at, ascending
	rejects               []reject
}

// visitStrs are a visits batch's id arenas. The loader copies them into
// the model's and hands them back (loadVisits), so that the workers reuse
// buffers already in memory instead of leaving ≈ 45 bytes of garbage per
// visit: the visits phase's fresh memory is what costs, on a machine where a
// first touch of a page takes microseconds.
type visitStrs struct{ md, psn strArena }

func visitStrsBytes(s *visitStrs) int {
	return s.md.bytes() + s.psn.bytes()
}

// takeVisitStrs returns empty arenas for n rows with room for the given
// bytes, recycled from f when it has some (f may be nil).
func takeVisitStrs(f *freeList[visitStrs], mdSize, psnSize, n int) (md, psn strArena) {
	var s *visitStrs
	if f != nil {
		s = f.get()
	}
	if s == nil {
		s = &visitStrs{}
	}
	return s.md.reuse(mdSize, n), s.psn.reuse(psnSize, n)
}

// visitPlace is where the loader keeps the visits when it knows the
// table's exact size (exactRows): the workers write row r's at index r,
// so that a table without dropped rows is parsed into place. Only
// whole-table loads use it (a shard keeps a part).
type visitPlace struct {
	vis     []visit
	md, psn idPlace
}

// idPlace is where the workers write the ids of one column of a table
// parsed in place (visitPlace), when they are all of one width, as claims
// ids mostly are: row r's id at r·width. The model's arena is then the
// place itself (strArena.addAll finds a batch already there), instead of
// each batch's ids written to a pooled arena and copied into the model's
// by the loader, which runs alone: 160 MB of copies and ≈ 37 MB of pooled
// arenas at 4.3 M visits (docs/benchmarks.md). A batch whose ids are not
// all of the place's width keeps them in an arena of its own, and the
// loader moves the model's arena out of the place first (settle).
type idPlace struct {
	rows  int
	once  sync.Once
	width int
	data  []byte // rows·width bytes, made for the width of the first id seen
}

// take returns p if ids of the given width go there: the first caller's
// width decides, for the whole table.
func (p *idPlace) take(width int) *idPlace {
	p.once.Do(func() {
		if width > 0 {
			p.width = width
			p.data = hugePages(make([]byte, p.rows*width))
		}
	})
	if p.data == nil || p.width != width {
		return nil
	}
	return p
}

// view is the arena of rows [from, from+n) of p (capped: an append to it
// reallocates).
func (p *idPlace) view(from int64, n int) strArena {
	lo, hi := int(from)*p.width, (int(from)+n)*p.width
	return strArena{data: p.data[lo:hi:hi], n: n, width: p.width}
}

// holds reports whether the arena's strings are in p.
func (p *idPlace) holds(a *strArena) bool {
	return cap(a.data) > 0 && cap(p.data) > 0 && &a.data[:1][0] == &p.data[:1][0]
}

// settle readies the model's arena a for the loader's next batch: the
// start of p if a is empty and the batch is in place; out of p if the
// batch is not, whose ids, of other widths, could run past what is written
// and reach the rows of batches the workers have already placed.
func (p *idPlace) settle(a *strArena, batchInPlace bool) {
	switch {
	case batchInPlace && a.len() == 0 && p.data != nil:
		a.data, a.n, a.width = p.data[:0], 0, p.width
	case !batchInPlace && p.holds(a):
		data := hugePages(make([]byte, len(a.data), cap(a.data)))
		copy(data, a.data)
		a.data = data
	}
}

// placedIDs are a batch's ids of one column while a worker parses it:
// in their place (pl) while each has the place's width, then, from the
// first that has not, in the batch's own arena.
type placedIDs struct {
	pl  *idPlace
	ord int64
}

// add adds id, row i of the batch: own is the batch's arena, and pooled
// gives it a buffer.
func (w *placedIDs) add(i int, id []byte, own *strArena, pooled func()) {
	if w.pl != nil && len(id) != w.pl.width {
		pooled()
		so := w.pl.view(w.ord, i) // the batch's ids so far, from the place
		own.addAll(&so)
		w.pl = nil
	}
	if w.pl != nil {
		copy(w.pl.data[(int(w.ord)+i)*w.pl.width:], id)
	} else {
		own.add(id)
	}
}

func (o *visitBatch) lineOf(i int) int64 {
	if o.lines != nil {
		return o.lines[i]
	}
	return o.line0 + int64(i)
}

// lineRuns gives each kept visit its input line, for the quarantine of a
// duplicate mdtrt_id (rare): runs of visits on consecutive lines (about
// one per batch) instead of a line per visit.
type lineRuns struct {
	visit []int32 // first visit of each run
	line  []int64 // its line
}

func (r *lineRuns) add(v int32, line int64) {
	if n := len(r.visit); n > 0 && line-r.line[n-1] == int64(v-r.visit[n-1]) {
		return
	}
	r.visit = append(r.visit, v)
	r.line = append(r.line, line)
}

// addBatch adds every row of o, as visits k, k+1, …
func (r *lineRuns) addBatch(k int32, o *visitBatch) {
	if o.lines == nil { // consecutive lines: one run at most
		if len(o.vis) > 0 {
			r.add(k, o.line0)
		}
		return
	}
	for i, line := range o.lines {
		r.add(k+int32(i), line)
	}
}

func (r *lineRuns) of(v int32) int64 {
	k := sort.Search(len(r.visit), func(k int) bool { return r.visit[k] > v }) - 1
	return r.line[k] + int64(v-r.visit[k])
}

// visitOdd is a row that is rejected or had values normalised: the loader
// rejects or counts it if the row's institution is the shard's.
type visitOdd struct {
	row    int
	reason string // "" when the row is valid
	raw    string
	code   []byte // fixmedins_code (normalised)
	norm   normMask
}

// visitRef is a valid visits row as the partial-scope scans see it.
type visitRef struct {
	mdtrt, psn []byte
	begin, end int64
	inpatient  bool
}

// parseVisits parses and checks a batch of visits rows and finds their
// institutions: everything but the uniqueness of mdtrt_id. It reads the
// model's institutions and window, which do not change while visits load.
// With place, rows are parsed into their place when the batch has an
// ordinal.
func (m *model) parseVisits(b *batch, place *visitPlace, strs *freeList[visitStrs]) *visitBatch {
	strict := m.strict
	o := &visitBatch{ord: b.ord, line0: b.firstRow, rejects: b.rejects}
	if b.lines != nil {
		o.lines = slices.Clone(b.lines[:b.n]) // the chunk's, reused
	}
	if end := b.ord + int64(b.n); place != nil && b.ord >= 0 && end <= int64(len(place.vis)) {
		o.vis, o.inPlace = place.vis[b.ord:end:end], true
	} else {
		o.vis = make([]visit, b.n)
	}
	// The ids go to their place when the first of the batch has the
	// place's width; from the first that has not, to pooled arenas.
	mdIDs, psnIDs := placedIDs{ord: b.ord}, placedIDs{ord: b.ord}
	if o.inPlace && b.n > 0 {
		mdIDs.pl, psnIDs.pl = place.md.take(len(b.cols[0].at(0))), place.psn.take(len(b.cols[1].at(0)))
	}
	pooled := false
	takePooled := func() {
		if pooled {
			return
		}
		pooled = true
		mdSize, psnSize := 0, 0
		for i := 0; i < b.n; i++ {
			mdSize += len(b.cols[0].at(i))
			psnSize += len(b.cols[1].at(i))
		}
		o.md, o.psn = takeVisitStrs(strs, mdSize, psnSize, b.n)
	}
	if mdIDs.pl == nil || psnIDs.pl == nil {
		takePooled()
	}
	var z normalizer
	var times dateTimes // begntime and endtime: one date, or the previous row's
	lastInst := int32(-1)
	for i := 0; i < b.n; i++ {
		var nm normMask
		z.reset()
		md, psn, code := b.cols[0].at(i), b.cols[1].at(i), b.cols[2].at(i)
		if !strict && (dirtyCode(md) || dirtyCode(psn) || dirtyCode(code)) {
			md = normCodeIfDirty(&z, false, md, &nm, 0)
			psn = normCodeIfDirty(&z, false, psn, &nm, 1)
			code = normCodeIfDirty(&z, false, code, &nm, 2)
		}
		mdIDs.add(i, md, &o.md, takePooled)
		psnIDs.add(i, psn, &o.psn, takePooled)
		v := &o.vis[i] // zero: fresh, in place too (each row is parsed once)
		med := b.cols[3].at(i)
		if !strict && endsDirty(med) {
			med = normCodeIfDirty(&z, false, med, &nm, 3) // only its first byte and emptiness matter
		}
		var ok1, ok2 bool
		var k normKind
		var end int64
		v.begin, ok1 = times.at(&b.cols[4], i)
		if !ok1 && !strict {
			if v.begin, k, ok1 = z.dateTime(b.cols[4].at(i)); ok1 {
				nm.set(4, k)
			}
		}
		end, ok2 = times.at(&b.cols[5], i)
		if !ok2 && !strict {
			if end, k, ok2 = z.dateTime(b.cols[5].at(i)); ok2 {
				nm.set(5, k)
			}
		}
		g := b.cols[6].at(i)
		if len(g) != 1 {
			g = normCodeIfDirty(&z, strict, g, &nm, 6)
		}
		if len(g) == 1 && (g[0] == '1' || g[0] == '2') {
			v.gend = g[0]
		}
		age, okAge := fastSmallInt(&b.cols[7], i)
		if !okAge {
			age, okAge = parseSmallInt(b.cols[7].at(i))
		}
		if !okAge && !strict {
			var a []byte
			if a, k = z.code(b.cols[7].at(i)); k != 0 {
				if age, okAge = parseSmallInt(a); okAge {
					nm.set(7, k)
				}
			}
		}
		v.age = uint8(min(age, 255)) // rejected past 150
		v.inpatient = len(med) > 0 && med[0] == '2'
		var reason, raw string
		switch {
		case len(md) == 0:
			reason = "mdtrt_id is empty"
		case len(psn) == 0:
			reason = "psn_no is empty"
		case len(code) == 0:
			reason = "fixmedins_code is empty"
		case len(med) == 0:
			reason = "med_type is empty"
		case !ok1:
			reason = fmt.Sprintf(dateTimeReason(strict), "begntime", b.cols[4].at(i))
		case !ok2:
			reason = fmt.Sprintf(dateTimeReason(strict), "endtime", b.cols[5].at(i))
		case end < v.begin:
			reason = "endtime before begntime"
		case end-v.begin > maxStay:
			reason = "endtime more than 100 years after begntime"
		case !okAge || age > 150:
			reason = fmt.Sprintf("age %q is not an integer 0..150", b.cols[7].at(i))
		}
		if reason != "" {
			raw = b.raw(i)
		}
		v.inst = -1
		if reason == "" {
			if lastInst >= 0 && m.insts[lastInst].code == string(code) {
				v.inst = lastInst
			} else if id, ok := m.instBy[string(code)]; ok {
				v.inst, lastInst = id, id
			} else {
				reason, raw = "fixmedins_code is not a valid institution", string(md)+",…"
			}
		}
		if reason != "" || nm != 0 {
			o.odd = append(o.odd, visitOdd{row: i, reason: reason, raw: raw, code: bytes.Clone(code), norm: nm})
		}
		v.stay = uint32(min(max(end-v.begin, 0), maxStay)) // the value when valid
		if v.inst >= 0 {
			d := dayOf(end)
			v.inWindow = d >= m.opts.from && d <= m.opts.to
			v.inScope = v.inWindow && m.insts[v.inst].inScope
		}
	}
	if mdIDs.pl != nil {
		o.spare.md, o.md, o.mdInPlace = o.md, mdIDs.pl.view(b.ord, b.n), true
	}
	if psnIDs.pl != nil {
		o.spare.psn, o.psn, o.psnInPlace = o.psn, psnIDs.pl.view(b.ord, b.n), true
	}
	o.mdRuns = runsOf(&o.md)
	return o
}

// valid reports whether row i of o is valid, with the next odd row to
// look at; it passes over row i's entry.
func (o *visitBatch) valid(i int, next *int) (visitOdd, bool) {
	if *next < len(o.odd) && o.odd[*next].row == i {
		x := o.odd[*next]
		*next++
		return x, x.reason == ""
	}
	return visitOdd{}, true
}

// visitNeeds are what the loaded rules need of the visits beyond their
// records and ids. overlap: index the inpatient stays by person and
// collect those elsewhere (OverlappingStays); persons: number persons
// within each institution (model.visitPerson); instVisits: each
// institution's in-scope visits (visit-level rules, and persons).
type visitNeeds struct{ overlap, persons, instVisits bool }

// loadVisits reads the visits table: rows are parsed by workers, then
// validated and interned in order (duplicates are decided by input order).
func (m *model) loadVisits(ctx context.Context, src source, workers int, need visitNeeds) error {
	n := int(min(src.rows(), 1<<28))
	if m.partial {
		// Expected share of the in-scope institutions' visits.
		in := 0
		for i := range m.insts {
			if m.insts[i].inScope {
				in++
			}
		}
		n = int(int64(n)*int64(in)*5/int64(4*max(1, len(m.insts)))) + 1024
	}
	var ords []int64 // kept visit → ordinal of its row among parsed rows
	ord := int64(-1)
	m.mdtrt = &idIndex{strArena: newStrArena(n)}
	psnArena := newStrArena(n)
	var lines lineRuns
	var place *visitPlace
	if !m.partial && exactRows(src) && int64(n) == src.rows() {
		// Parsed into place: m.visits grows over what the workers wrote.
		// It must never be reallocated during the scan.
		place = &visitPlace{vis: hugePages(make([]visit, n)), md: idPlace{rows: n}, psn: idPlace{rows: n}}
		m.visits = place.vis[:0]
	} else {
		m.visits = hugePages(make([]visit, 0, n))
	}
	file := src.file()
	strs := &freeList[visitStrs]{budget: 32 << 20, size: visitStrsBytes}
	err := scan(ctx, src, workers, func(_ int, b *batch) *visitBatch { return m.parseVisits(b, place, strs) }, func(o *visitBatch) error {
		// The model's arenas stay in the places while every batch is.
		if place != nil {
			place.md.settle(&m.mdtrt.strArena, o.mdInPlace)
			place.psn.settle(&psnArena, o.psnInPlace)
		}
		defer func() { // the pooled arenas back, once copied below
			s := visitStrs{o.md, o.psn}
			if o.mdInPlace {
				s.md = o.spare.md
			}
			if o.psnInPlace {
				s.psn = o.spare.psn
			}
			if cap(s.md.data) > 0 || cap(s.psn.data) > 0 {
				strs.put(&s)
			}
		}()
		m.syntaxRejects(tVisits.name, o.rejects)
		n := len(o.vis)
		m.rowsRead[tVisits.name] += int64(n)
		if place != nil && len(m.visits)+n > len(place.vis) {
			return fmt.Errorf("%s: more rows than the file declares (%d)", file, len(place.vis))
		}
		k := int32(len(m.visits))
		if len(o.odd) == 0 && !m.partial { // every row kept: the batch as it is
			ord += int64(n)
			if o.inPlace && int64(k) == o.ord { // already there
				m.visits = m.visits[:int(k)+n]
			} else {
				m.visits = append(m.visits, o.vis...)
			}
			m.mdtrt.addAll(&o.md, o.mdRuns)
			psnArena.addAll(&o.psn)
			lines.addBatch(k, o)
			return nil
		}
		next := 0
		for i := 0; i < n; i++ {
			ord++
			x, ok := o.valid(i, &next)
			if x.norm != 0 && m.owned(x.code) {
				m.countNorm(tVisits, x.norm)
			}
			if !ok {
				if m.owned(x.code) {
					m.reject(tVisits.name, reject{file, o.lineOf(i), x.reason, x.raw})
				}
				continue
			}
			v := o.vis[i]
			if m.partial && !m.insts[v.inst].inScope {
				continue
			}
			if m.partial {
				ords = append(ords, ord)
			}
			lines.add(int32(len(m.visits)), o.lineOf(i))
			m.mdtrt.add(o.md.get(int32(i)))
			psnArena.add(o.psn.get(int32(i)))
			m.visits = append(m.visits, v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Index visit ids and stays in parallel, the two at once (each has
	// sequential steps the other fills); a repeated mdtrt_id makes the
	// later visit a rejected duplicate.
	var dups []int32
	built := make(chan struct{})
	go func() {
		defer close(built)
		// The partial scope's pass over the visits out of scope looks up
		// every valid one: the table then.
		dups = m.mdtrt.build(workers, m.partial)
	}()
	m.visitPsn = psnArena
	if need.overlap {
		m.indexStays(workers)
	}
	// Meanwhile, the CSR of the visits in scope, as if no id repeated: its
	// passes over the visits would otherwise run alone after the build.
	// Without a rule that needs it, only their number (for the summary).
	m.indexInstVisits(need.instVisits, workers)
	<-built
	var partners []foreignStay
	if m.partial {
		var ext []int32
		ext, partners, err = m.scanOutOfScope(ctx, workers, ords, need.overlap)
		if err != nil {
			return err
		}
		if len(ext) > 0 {
			dups = append(dups, ext...)
			sort.Slice(dups, func(i, j int) bool { return dups[i] < dups[j] })
		}
	}
	for _, d := range dups {
		v := &m.visits[d]
		v.dup, v.inScope, v.inWindow, v.inpatient = true, false, false, false
		code := m.insts[v.inst].code
		if m.owned([]byte(code)) {
			raw := string(appendCSVField(nil, m.mdtrt.get(d))) + "," + string(appendCSVField(nil, m.psnOf(d))) + "," + string(appendCSVField(nil, []byte(code))) + ",…"
			m.reject(tVisits.name, reject{file, lines.of(d), "duplicate mdtrt_id", raw})
		}
	}
	if len(dups) > 0 { // rejected duplicates are no longer in scope
		m.indexInstVisits(need.instVisits, workers)
	}
	m.numberPersons(need.persons, workers)
	// Partners elsewhere: visits out of scope, not in the id index (only in
	// its arena, for the evidence text, and in visitPsn, as every visit).
	for _, p := range partners {
		m.mdtrt.strArena.add([]byte(p.mdtrt))
		m.visitPsn.add([]byte(p.psnNo))
		m.stayVisit = append(m.stayVisit, int32(len(m.visits)))
		m.stayPerson = append(m.stayPerson, p.psn)
		m.visits = append(m.visits, visit{begin: p.begin, stay: uint32(p.end - p.begin), inst: p.inst, inpatient: true, inWindow: true})
		if m.visitPerson != nil {
			m.visitPerson = append(m.visitPerson, -1)
		}
	}
	return nil
}

// indexStays indexes the kept inpatient stays in the window by psn_no
// (OverlappingStays compares a person's stays across institutions, so its
// persons are input-wide, unlike model.visitPerson): a copy of their
// psn_no in visit order, and each stay's visit and person. Stays are a
// fraction of the visits, so this costs that fraction of an index of
// every visit.
func (m *model) indexStays(workers int) {
	n := 0
	for i := range m.visits {
		if m.visits[i].inpatient && m.visits[i].inWindow {
			n++
		}
	}
	m.stayPsn = newStrArena(n)
	m.stayVisit = make([]int32, 0, n)
	hashes := make([]uint32, 0, n)
	for i := range m.visits {
		if m.visits[i].inpatient && m.visits[i].inWindow {
			b := m.visitPsn.get(int32(i))
			m.stayPsn.add(b)
			hashes = append(hashes, hashBytes(b))
			m.stayVisit = append(m.stayVisit, int32(i))
		}
	}
	m.stays, m.stayPerson = buildKeyIndex(&m.stayPsn, hashes, workers)
}

// stayPersonOf returns the person (indexStays) of psn_no b, or -1 if no
// kept inpatient stay in the window has it.
func (m *model) stayPersonOf(b []byte) int32 {
	if pos := m.stays.first(b); pos >= 0 {
		return m.stayPerson[pos]
	}
	return -1
}

// indexInstVisits builds the CSR of the in-scope visits per institution,
// in input order (instVisitStart, instVisits), or with csr false only
// counts them (visitsInScope): a pass that runs alone at the end of the
// visits phase, and 17 MB of fresh memory at 4.3 M visits, which a run
// without visit-level rules or persons never reads.
func (m *model) indexInstVisits(csr bool, workers int) {
	if !csr {
		counts := make([]int64, max(1, workers))
		forChunksW(len(m.visits), max(1, workers), func(w, from, to int) {
			n := int64(0)
			for i := range m.visits[from:to] {
				if m.visits[from+i].inScope {
					n++
				}
			}
			counts[w] = n
		})
		m.visitsInScope = 0
		for _, n := range counts {
			m.visitsInScope += n
		}
		return
	}
	m.instVisitStart = make([]int32, len(m.insts)+1)
	for _, v := range m.visits {
		if v.inScope {
			m.instVisitStart[v.inst+1]++
		}
	}
	for i := 1; i < len(m.instVisitStart); i++ {
		m.instVisitStart[i] += m.instVisitStart[i-1]
	}
	m.instVisits = resize(m.instVisits, int(m.instVisitStart[len(m.insts)]))
	fill := append([]int32(nil), m.instVisitStart[:len(m.insts)]...)
	for i, v := range m.visits {
		if v.inScope {
			m.instVisits[fill[v.inst]] = int32(i)
			fill[v.inst]++
		}
	}
	m.visitsInScope = int64(len(m.instVisits))
}

// numberPersons sets the person number (visitPerson) of every in-scope
// visit to its person's number within its institution, in order of the
// person's first visit there; -1 elsewhere, and without persons there
// are no numbers (personOf is -1). Every template that tells persons apart compares them
// within one institution (docs/rules.md: psn_no together with
// fixmedins_code), so no input-wide index is needed for them: the
// institutions are numbered in parallel, each in a small table that stays
// in cache, where the input-wide index costs a cache miss per visit.
func (m *model) numberPersons(persons bool, workers int) {
	if !persons {
		return
	}
	m.visitPerson = make([]int32, len(m.visits))
	forChunks(len(m.visits), workers, func(from, to int) {
		for i := range m.visitPerson[from:to] {
			m.visitPerson[from+i] = -1
		}
	})
	tables := make([]partTable, max(1, workers)) // one per goroutine, reused
	forEach(len(m.insts), workers, func(w, inst int) {
		t := &tables[w]
		vs := m.instVisits[m.instVisitStart[inst]:m.instVisitStart[inst+1]]
		t.reset(len(vs))
		n := int32(0)
		for _, vi := range vs {
			key := m.visitPsn.get(vi)
			h := hashBytes(key)
			if first, slot := t.find(&m.visitPsn, key, h); first >= 0 {
				m.visitPerson[vi] = m.visitPerson[first]
			} else {
				t.slots[slot] = uint64(h)<<32 | uint64(vi+1)
				m.visitPerson[vi] = n
				n++
			}
		}
	})
}

// personOf is visit vi's person number within its institution
// (numberPersons), or -1.
func (m *model) personOf(vi int32) int32 {
	if m.visitPerson == nil {
		return -1
	}
	return m.visitPerson[vi]
}

// resize returns s with length n, reusing its array when large enough.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return hugePages(make([]T, n))
	}
	return s[:n]
}

// foreignStay is a valid inpatient stay in the window at an institution out
// of scope, of a person who has a kept visit: a possible OverlappingStays
// partner.
type foreignStay struct {
	mdtrt      string
	psnNo      string
	begin, end int64
	inst, psn  int32
	ord        int64
}

// scanValidVisits reads the visits table again and calls fn, in input
// order, for every row that passes the checks of loadVisits other than the
// uniqueness of mdtrt_id, with its institution and its ordinal (the same
// ordinals as loadVisits). Nothing is counted or rejected.
func (m *model) scanValidVisits(ctx context.Context, workers int, fn func(r *visitRef, inst int32, ord int64)) error {
	return m.scanValidVisitsIn(ctx, m.visitsSource, workers, fn)
}

func (m *model) scanValidVisitsIn(ctx context.Context, open func() (source, error), workers int, fn func(r *visitRef, inst int32, ord int64)) error {
	src, err := open()
	if err != nil {
		return err
	}
	defer src.close()
	ord := int64(-1)
	return scan(ctx, src, workers, func(_ int, b *batch) *visitBatch { return m.parseVisits(b, nil, nil) }, func(o *visitBatch) error {
		next := 0
		for i := range o.vis {
			ord++
			if _, ok := o.valid(i, &next); !ok {
				continue
			}
			v := &o.vis[i]
			fn(&visitRef{mdtrt: o.md.get(int32(i)), psn: o.psn.get(int32(i)), begin: v.begin, end: v.end(), inpatient: v.inpatient}, v.inst, ord)
		}
		return nil
	})
}

// scanOutOfScope is the pass over the visits of institutions out of scope
// (partial scope only). A kept visit whose mdtrt_id appears in an earlier
// valid row out of scope is a duplicate (returned, to be rejected); with
// overlap, the valid inpatient stays in the window of the kept persons are
// returned as partners — after a second pass that drops those whose mdtrt_id
// appears in an earlier valid row (which makes them duplicates).
func (m *model) scanOutOfScope(ctx context.Context, workers int, ords []int64, overlap bool) ([]int32, []foreignStay, error) {
	var ext []int32
	var cands []foreignStay
	err := m.scanValidVisits(ctx, workers, func(r *visitRef, inst int32, ord int64) {
		if m.insts[inst].inScope {
			return
		}
		if k := m.mdtrt.lookup(r.mdtrt); k >= 0 && ord < ords[k] && !m.visits[k].dup {
			m.visits[k].dup = true
			ext = append(ext, k)
		}
		if overlap && r.inpatient {
			if d := dayOf(r.end); d >= m.opts.from && d <= m.opts.to {
				if p := m.stayPersonOf(r.psn); p >= 0 {
					cands = append(cands, foreignStay{mdtrt: string(r.mdtrt), psnNo: string(r.psn), begin: r.begin, end: r.end, inst: inst, psn: p, ord: ord})
				}
			}
		}
	})
	if err != nil || len(cands) == 0 {
		return ext, nil, err
	}
	first := make(map[string]int64, len(cands))
	for _, c := range cands {
		first[c.mdtrt] = math.MaxInt64
	}
	err = m.scanValidVisits(ctx, workers, func(r *visitRef, _ int32, ord int64) {
		if f, ok := first[string(r.mdtrt)]; ok && ord < f {
			first[string(r.mdtrt)] = ord
		}
	})
	if err != nil {
		return nil, nil, err
	}
	valid := cands[:0]
	for _, c := range cands {
		if first[c.mdtrt] == c.ord {
			valid = append(valid, c)
		}
	}
	return ext, valid, nil
}

func parseSmallInt(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 4 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

const noDeath = math.MaxInt32

var errNotClustered = errors.New("fee lines are not clustered by institution")
