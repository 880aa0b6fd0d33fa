package screening

import (
	"math"
	"sync/atomic"
	"unsafe"
)

// Fee-line columns, in tFeeLines.required order.
const (
	fSN = iota
	fMdtrt
	fSetl
	fPsn
	fInst
	fItem
	fCnt
	fPric
	fAmt
	fTime
)

// strRef locates bytes in an arena.
type strRef struct{ off, n uint32 }

func (r strRef) in(arena []byte) []byte { return arena[r.off : r.off+r.n] }

// lineRec is a fee line after parsing: 56 bytes, no pointers.
type lineRec struct {
	time           int64 // fee_ocur_time, seconds (wall clock)
	cnt, pric, amt int64 // units of 10^-4
	visit          int32
	item           int32
	sn, setl       strRef
}

// finding is one screening hit; institution, visit and person come from
// the visit when it is written.
type finding struct {
	rule     int32
	visit    int32
	item     int32 // -1 for visit-level findings
	sn       string
	amount   int64 // fen
	evidence string
}

// lineBatch is a parsed batch of fee lines handed from a worker to the
// in-order stage: in-scope lines, rejects, and the findings of the
// line-local rules (already evaluated by the worker).
type lineBatch struct {
	// held counts the batch's holders: the in-order stage while it
	// consumes it, and each institution state that retained a line of it
	// (instState). The last to let go recycles it (dropBatch).
	held atomic.Int32
	rows int
	// lines are the kept lines, only for the grouped rules (retained or
	// spilled by the in-order stage); the stage's counts come from sums.
	lines    []lineRec
	sums     []visitSum
	one      lineRec // the line being evaluated when lines are not kept
	arena    []byte
	rejects  []reject
	syntax   []reject
	findings []finding
	pending  []pendingReject
	// With grouped rules, the worker also works out what the in-order
	// stage retains (planRetain), so that the stage, which runs alone,
	// only appends: the institutions' runs of lines, each line's group
	// lists, and the bed rules' (visit, day) marks. Working this out per
	// line in the stage (a visit read and the item's lists) was 5–6 % of
	// a bench-6 run's CPU.
	runs     []instRun
	joins    []lineJoin
	marks    []bedMark
	lastMark []int64 // per bed rule, its last mark in this batch
}

// instRun ends an institution's run of a batch's lines: lines[previous
// run's end:end] are inst's.
type instRun struct{ inst, end int32 }

// lineJoin is a line (index in lineBatch.lines) joining list role of group
// rule g, in line order.
type lineJoin struct {
	line int32
	g    int32
	role uint8
}

// bedMark is a (visit, day) key of bed rule b, first met at line.
type bedMark struct {
	line int32
	b    int32
	key  int64
}

// bytes is the memory a recycled batch keeps (its reusable buffers).
func (lb *lineBatch) bytes() int {
	return cap(lb.lines)*int(unsafe.Sizeof(lineRec{})) + cap(lb.sums)*int(unsafe.Sizeof(visitSum{})) + cap(lb.arena) +
		cap(lb.runs)*int(unsafe.Sizeof(instRun{})) + cap(lb.joins)*int(unsafe.Sizeof(lineJoin{})) +
		cap(lb.marks)*int(unsafe.Sizeof(bedMark{})) + 8*cap(lb.lastMark)
}

// visitSum is a run of a batch's kept lines of one visit, as the in-order
// stage counts them: one update per run instead of per line (input sorted
// by visit has runs of several lines), and no line kept without grouped
// rules — the in-order stage runs alone, so its work per line is the
// run's limit.
type visitSum struct {
	visit int32
	lines int32 // kept lines
	amt   int64 // Σ amount of those with cnt > 0
	abs   int64 // Σ |amount| of those; negative once it overflows int64
}

// count adds a kept line of visit with cnt and amount amt to the
// batch's runs (small enough to be inlined into the worker's loop).
func (lb *lineBatch) count(visit int32, cnt, amt int64) {
	n := len(lb.sums) - 1
	if n < 0 || lb.sums[n].visit != visit {
		n = lb.newRun(visit)
	}
	s := &lb.sums[n]
	s.lines++
	if cnt > 0 {
		s.amt += amt
		// Once negative, a sum stays so: an amount has at most 18 digits
		// in units (decimal.go), so adding one cannot wrap it back.
		if s.abs += max(amt, -amt); s.abs < 0 {
			s.abs = math.MinInt64
		}
	}
}

func (lb *lineBatch) newRun(visit int32) int {
	lb.sums = append(lb.sums, visitSum{visit: visit})
	return len(lb.sums) - 1
}

// pendingReject is a rejected fee line whose reason depends on visits out
// of scope: whether its mdtrt_id is a valid visit elsewhere.
type pendingReject struct {
	reject
	mdtrt string
}

// lineWorker is a decoding worker's private state.
type lineWorker struct {
	items     *localCache
	visits    visitFinder
	lineBytes int    // most bytes a batch's arena has needed per line
	keyVisit  int32  // visit whose psn_no is visitPsn
	visitPsn  []byte // a view of model.visitPsn (unchanged during the pass)
	// Item id per dictionary entry of hilist_code (-1 = not yet looked
	// up, emptyItem, dirtyItem).
	dictID    uint64
	dictItems []int32
	// Institution per dictionary entry of fixmedins_code (-2 = not yet
	// looked up, -1 = none).
	instDict  uint64
	dictInsts []int32
	// Parsed values per dictionary entry of cnt and pric (Parquet
	// dictionary pages): each distinct value is parsed once.
	cnt, pric dictDecimals
	// The date part of the previous fee_ocur_time and its day.
	times dateTimes
	// Typed cnt, pric, det_item_fee_sumamt and fee_ocur_time of the
	// batch, made at its first line in scope; by column (fCnt…fTime).
	fast [fTime + 1]fastCol
	// Value normalisation (slow path only): scratch and counts per column.
	z    normalizer
	norm normCounts
}

type dictDecimals struct {
	id   uint64
	vals []int64
	ok   []uint8 // 0 unknown, 1 valid, 2 invalid
	// The slow path's results per entry (values that are invalid as
	// written): 0 unknown, 1 valid after normalisation, 2 invalid.
	looseOK    []uint8
	looseVals  []int64
	looseKinds []normKind
}

func (d *dictDecimals) get(c *column, i int) (int64, bool) {
	if c.idx == nil {
		return decimalAt(c, i)
	}
	if c.dictID != d.id {
		d.id = c.dictID
		n := len(c.starts)
		d.vals = append(d.vals[:0], make([]int64, n)...)
		d.ok = append(d.ok[:0], make([]uint8, n)...)
		d.looseOK = d.looseOK[:0]
	}
	j := c.idx[i]
	if j < 0 {
		return 0, false
	}
	switch d.ok[j] {
	case 1:
		return d.vals[j], true
	case 2:
		return 0, false
	}
	v, ok := parseDecimal(c.at(i))
	d.vals[j] = v
	d.ok[j] = 2
	if ok {
		d.ok[j] = 1
	}
	return v, ok
}

func (e *engine) newLineWorker() *lineWorker {
	return &lineWorker{items: newLocalCache(e.c.items), visits: visitFinder{m: e.m, last: -1}, keyVisit: -1,
		norm: make(normCounts, len(tFeeLines.required))}
}

// convertLines parses, validates and scopes a batch of fee lines and runs
// the line-local rules on it (docs/rules.md §2 for the order of checks).
func (e *engine) convertLines(w int, b *batch) *lineBatch {
	lw := e.lineWorkers[w]
	m := e.m
	out := e.getBatch(b.n, b.n*lw.lineBytes)
	out.rows, out.syntax = b.n, b.rejects
	cols := b.cols
	file := e.feeFile
	itemCol := &cols[fItem]
	if itemCol.idx != nil && itemCol.dictID != lw.dictID {
		lw.dictID = itemCol.dictID
		lw.dictItems = lw.dictItems[:0]
		for range itemCol.starts {
			lw.dictItems = append(lw.dictItems, -1)
		}
	}
	if !m.strict {
		lw.z.reset()
	}
	// One allocation, of a power of two (getBatch), when the batch is too
	// small, rather than append's chain of doublings.
	if e.c.anyGroup {
		if cap(out.lines) < b.n {
			out.lines = make([]lineRec, 0, roomFor(b.n))
		}
		if n := b.n * lw.lineBytes; cap(out.arena) < n {
			out.arena = make([]byte, 0, roomFor(n))
		}
	}
	converted := false
	for i := 0; i < b.n; i++ {
		md := cols[fMdtrt].at(i)
		vi := lw.visits.find(md)
		var v *visit
		// A kept visit is a duplicate only in a partial scope, when its id's
		// first valid visit is out of scope: never this line's visit then.
		if vi >= 0 && !m.visits[vi].dup {
			v = &m.visits[vi]
			if vi != lw.keyVisit {
				lw.keyVisit, lw.visitPsn = vi, m.psnOf(vi)
			}
			if !lw.instIs(m, &cols[fInst], i, v.inst) {
				v = nil
			}
		}
		if v == nil {
			code := cols[fInst].at(i)
			if !m.strict && e.slowIDs(lw, out, b, i) {
				continue // the ids resolve once normalised, or were rejected as such
			}
			if !m.owned(code) {
				continue
			}
			var reason string
			switch {
			case len(code) == 0:
				reason = "fixmedins_code is empty"
			case len(md) == 0:
				reason = "mdtrt_id is empty"
			case vi < 0 && m.partial:
				// The id may be a valid visit out of scope ("differs") or
				// none: decided after the pass (engine.resolvePending).
				out.pending = append(out.pending, pendingReject{reject{file, b.lineOf(i), "", b.raw(i)}, string(md)})
				continue
			case vi < 0:
				reason = "mdtrt_id is not a valid visit"
			default:
				reason = "fixmedins_code differs from the visit's"
			}
			out.rejects = append(out.rejects, reject{file, b.lineOf(i), reason, b.raw(i)})
			continue
		}
		if !m.insts[v.inst].inScope {
			continue
		}
		if !converted { // not for the batches of other shards' lines
			converted = true
			lw.fast[fCnt].fastDecimals(&cols[fCnt], b.n)
			lw.fast[fPric].fastDecimals(&cols[fPric], b.n)
			lw.fast[fAmt].fastDecimals(&cols[fAmt], b.n)
			lw.fast[fTime].fastDateTimes(&cols[fTime], b.n)
		}
		sn, setl := cols[fSN].at(i), cols[fSetl].at(i)
		// On a dictionary page, an entry's item id (or emptiness) is
		// looked up once, and the line reads no item bytes.
		var item []byte
		it, itemOK := int32(0), true
		if itemCol.idx == nil {
			item = itemCol.at(i)
			itemOK = len(item) > 0
		} else if j := itemCol.idx[i]; j < 0 {
			it, itemOK = emptyItem, false
		} else {
			if it = lw.dictItems[j]; it == -1 {
				it = lw.lookUpDictItem(itemCol, j, m.strict)
			}
			itemOK = it != emptyItem
		}
		cnt, okC := lw.fast[fCnt].at(i)
		if !okC {
			cnt, okC = lw.cnt.get(&cols[fCnt], i)
		}
		pric, okP := lw.fast[fPric].at(i)
		if !okP {
			pric, okP = lw.pric.get(&cols[fPric], i)
		}
		amt, okA := lw.fast[fAmt].at(i)
		if !okA {
			amt, okA = decimalAt(&cols[fAmt], i)
		}
		t, okT := lw.fast[fTime].at(i)
		if !okT {
			t, okT = lw.times.at(&cols[fTime], i)
		}
		psn := cols[fPsn].at(i)
		psnOK := sameBytes(psn, lw.visitPsn)
		okX := productFits(cnt, pric)
		// One test for the clean line: every value valid, and feedetl_sn and
		// setl_id non-empty with nothing endsDirty flags at their ends.
		if !(cleanEnds(sn) && cleanEnds(setl) && itemOK && okC && okP && okA && okX && okT && psnOK) {
			if !m.strict && e.slowLine(lw, out, b, i) {
				continue
			}
			if bad := lineProblem(sn, setl, itemCol.at(i), okC, okP, okA, okX, okT, psnOK); bad != 0 {
				out.rejects = append(out.rejects, reject{file, b.lineOf(i), lineReason(bad, cols, i, psn, true), b.raw(i)})
				continue
			}
		}
		if !v.inWindow {
			continue
		}
		if itemCol.idx == nil {
			it = lw.itemID(item, m.strict)
		}
		if it == dirtyItem && e.slowLine(lw, out, b, i) {
			continue // an item code to normalise: checked once per distinct code
		}
		var rec lineRec // set field by field: a literal is built aside and copied
		rec.time, rec.cnt, rec.pric, rec.amt, rec.visit, rec.item = t, cnt, pric, amt, vi, it
		e.keepLine(out, v, &rec, sn, setl)
	}
	if n := len(out.lines); n > 0 && e.c.anyGroup {
		lw.lineBytes = max(lw.lineBytes, len(out.arena)/n+1)
	}
	return out
}

// instIs reports whether fixmedins_code of line i is institution inst's
// code. On a dictionary page the institution of each entry is looked up
// once.
func (lw *lineWorker) instIs(m *model, c *column, i int, inst int32) bool {
	if c.idx == nil {
		return string(c.at(i)) == m.insts[inst].code
	}
	if c.dictID != lw.instDict {
		lw.instDict = c.dictID
		lw.dictInsts = lw.dictInsts[:0]
		for range c.starts {
			lw.dictInsts = append(lw.dictInsts, -2)
		}
	}
	j := c.idx[i]
	if j < 0 {
		return m.insts[inst].code == ""
	}
	k := lw.dictInsts[j]
	if k == -2 {
		k = -1
		if id, ok := m.instBy[string(c.at(i))]; ok {
			k = id
		}
		lw.dictInsts[j] = k
	}
	return k == inst
}

// lookUpDictItem fills entry j of the item dictionary cache from c's
// dictionary: emptyItem for an empty code, else itemID's.
func (lw *lineWorker) lookUpDictItem(c *column, j int32, strict bool) int32 {
	it := int32(emptyItem)
	if item := c.data[c.starts[j]:c.ends[j]]; len(item) > 0 {
		it = lw.itemID(item, strict)
	}
	lw.dictItems[j] = it
	return it
}

// keepLine counts a kept line in the batch's runs and applies the
// line-local rules to it. The line itself, with copies of its feedetl_sn
// and (if a rule needs it) setl_id, is kept only for the grouped rules
// (retained or spilled by the in-order stage); without any, a finding
// takes feedetl_sn from the column. rec is passed by pointer: a copy of
// the record at every call, read back in wider loads than it was written
// in, stalled the fee pass (2.5 % of a no-rule run's CPU, perf annotate).
func (e *engine) keepLine(out *lineBatch, v *visit, rec *lineRec, sn, setl []byte) {
	out.count(rec.visit, rec.cnt, rec.amt)
	l := &out.one
	if e.c.anyGroup {
		rec.sn = strRef{uint32(len(out.arena)), uint32(len(sn))}
		out.arena = append(out.arena, sn...)
		if e.c.needsSetl {
			rec.setl = strRef{uint32(len(out.arena)), uint32(len(setl))}
			out.arena = append(out.arena, setl...)
		}
		out.lines = append(out.lines, *rec)
		l = &out.lines[len(out.lines)-1]
		if e.planning {
			e.planRetain(out, v, l)
		}
	}
	if rec.cnt <= 0 {
		return
	}
	if rs := e.c.lineRules(rec.item, v); len(rs) > 0 {
		if !e.c.anyGroup {
			*l = *rec
		}
		for _, r := range rs {
			e.evalLine(r, out, l, v, sn)
		}
	}
}

// evalLine runs a line rule's evaluator (templates.go) and records its
// finding.
func (e *engine) evalLine(r *crule, out *lineBatch, l *lineRec, v *visit, sn []byte) {
	amount, ev, hit := r.eval.line(e, r, l, v)
	if !hit {
		return
	}
	out.findings = append(out.findings, finding{rule: r.slot, visit: l.visit, item: l.item,
		sn: string(sn), amount: amount, evidence: ev})
}

// planRetain adds kept line l of visit v, the batch's last, to the
// batch's retention plan (lineBatch.runs), which the in-order stage
// follows (instState.retainRun).
func (e *engine) planRetain(out *lineBatch, v *visit, l *lineRec) {
	c := e.c
	k := int32(len(out.lines) - 1)
	if n := len(out.runs); n == 0 || out.runs[n-1].inst != v.inst {
		out.runs = append(out.runs, instRun{inst: v.inst})
	}
	out.runs[len(out.runs)-1].end = k + 1
	if l.cnt <= 0 {
		return
	}
	for _, g := range c.groupSteps(l.item, v) {
		out.joins = append(out.joins, lineJoin{line: k, g: g.g, role: g.role})
	}
	for b, r := range c.bedRules {
		if r.visitOK(v) && !c.inList(l.item, r.slot, 0) {
			key := visitDay(l.visit, dayOf(l.time))
			if out.lastMark[b] != key { // a visit's lines of one day mostly come together
				out.marks = append(out.marks, bedMark{line: k, b: int32(b), key: key})
				out.lastMark[b] = key
			}
		}
	}
}

// getBatch returns an empty batch, with grouped rules one recycled with
// room for rows lines of arena bytes when the pool has one. New buffers get
// a power of two of room (roomFor), so that they fit most later batches:
// batches end where a page of some column does, and their sizes vary.
func (e *engine) getBatch(rows, arena int) *lineBatch {
	var lb *lineBatch
	if e.c.anyGroup {
		lb = e.batchPool.getFit(func(lb *lineBatch) bool { return cap(lb.lines) >= rows && cap(lb.arena) >= arena })
	} else {
		lb = e.batchPool.get()
	}
	if lb == nil {
		lb = &lineBatch{lastMark: make([]int64, len(e.c.bedRules))}
	}
	for b := range lb.lastMark {
		lb.lastMark[b] = -1
	}
	lb.held.Store(1) // the in-order stage's
	return lb
}

// dropBatch lets go of a batch: recycled by its last holder.
func (e *engine) dropBatch(lb *lineBatch) {
	if lb.held.Add(-1) == 0 {
		e.releaseBatch(lb)
	}
}

// releaseBatch recycles a consumed batch; its findings slice now belongs to
// the writer and is not reused.
func (e *engine) releaseBatch(lb *lineBatch) {
	lb.lines = lb.lines[:0]
	lb.sums = lb.sums[:0]
	lb.arena = lb.arena[:0]
	lb.runs, lb.joins, lb.marks = lb.runs[:0], lb.joins[:0], lb.marks[:0]
	lb.rejects, lb.syntax, lb.findings, lb.pending = nil, nil, nil, nil
	e.batchPool.put(lb)
}
