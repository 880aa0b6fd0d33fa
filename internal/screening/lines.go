package screening

import (
	"bytes"
	"fmt"

	"github.com/medfund/flycheck-operator/internal/screening/rules"
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
	rows     int
	lines    []lineRec
	arena    []byte
	rejects  []reject
	syntax   []reject
	findings []finding
	pending  []pendingReject
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
	keyVisit  int32 // visit whose psn and institution code are cached below
	visitPsn  []byte
	visitInst []byte
	dictID    uint64
	dictItems []int32
	// Parsed values per dictionary entry of cnt and pric (Parquet
	// dictionary pages): each distinct value is parsed once.
	cnt, pric dictDecimals
	// The date part of the previous fee_ocur_time and its day.
	lastDate [10]byte
	lastDay  int64
	haveDate bool
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
		return parseDecimal(c.at(i))
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

// loose is get's slow path, for a value that get found invalid: the value
// normalised, cached per dictionary entry like get.
func (d *dictDecimals) loose(c *column, i int, z *normalizer) (int64, normKind, bool) {
	if c.idx == nil {
		return z.decimal(c.at(i))
	}
	j := c.idx[i]
	if j < 0 {
		return 0, 0, false
	}
	if len(d.looseOK) == 0 {
		n := len(c.starts)
		d.looseOK = append(d.looseOK, make([]uint8, n)...)
		d.looseVals = append(d.looseVals[:0], make([]int64, n)...)
		d.looseKinds = append(d.looseKinds[:0], make([]normKind, n)...)
	}
	switch d.looseOK[j] {
	case 1:
		return d.looseVals[j], d.looseKinds[j], true
	case 2:
		return 0, 0, false
	}
	v, k, ok := z.decimal(c.at(i))
	d.looseVals[j], d.looseKinds[j], d.looseOK[j] = v, k, 2
	if ok {
		d.looseOK[j] = 1
	}
	return v, k, ok
}

// parseTime parses fee_ocur_time, reusing the day of the previous line when
// the date part is the same (lines of a visit share a few dates).
func (lw *lineWorker) parseTime(b []byte) (int64, bool) {
	if lw.haveDate && len(b) == 19 && string(b[:10]) == string(lw.lastDate[:]) && b[10] == ' ' && b[13] == ':' && b[16] == ':' {
		h, ok1 := two(b[11], b[12])
		m, ok2 := two(b[14], b[15])
		s, ok3 := two(b[17], b[18])
		if ok1 && ok2 && ok3 && h <= 23 && m <= 59 && s <= 59 {
			return lw.lastDay + int64(h*3600+m*60+s), true
		}
		return 0, false
	}
	t, ok := parseDateTime(b)
	if ok {
		copy(lw.lastDate[:], b[:10])
		lw.haveDate = true
		lw.lastDay = int64(dayOf(t)) * secondsPerDay
	}
	return t, ok
}

func (e *engine) newLineWorker() *lineWorker {
	return &lineWorker{items: newLocalCache(e.c.items), visits: visitFinder{m: e.m, last: -1}, keyVisit: -1,
		norm: make(normCounts, len(tFeeLines.required))}
}

// A fee line's first problem, in the order of docs/rules.md §2 (0: none).
const (
	lineOK uint8 = iota
	lineNoSN
	lineNoSetl
	lineNoItem
	lineBadCnt
	lineBadPric
	lineBadAmt
	lineBadTime
	linePsnDiffers
)

func lineProblem(sn, setl, item []byte, okC, okP, okA, okT, psnOK bool) uint8 {
	switch {
	case len(sn) == 0:
		return lineNoSN
	case len(setl) == 0:
		return lineNoSetl
	case len(item) == 0:
		return lineNoItem
	case !okC:
		return lineBadCnt
	case !okP:
		return lineBadPric
	case !okA:
		return lineBadAmt
	case !okT:
		return lineBadTime
	case !psnOK:
		return linePsnDiffers
	}
	return lineOK
}

// lineReason is the quarantine text of a problem (values as read).
func lineReason(p uint8, cols []column, i int, psn []byte, strict bool) string {
	switch p {
	case lineNoSN:
		return "feedetl_sn is empty"
	case lineNoSetl:
		return "setl_id is empty"
	case lineNoItem:
		return "hilist_code is empty"
	case lineBadCnt:
		return fmt.Sprintf("cnt %q is not a decimal", cols[fCnt].at(i))
	case lineBadPric:
		return fmt.Sprintf("pric %q is not a decimal", cols[fPric].at(i))
	case lineBadAmt:
		return fmt.Sprintf("det_item_fee_sumamt %q is not a decimal", cols[fAmt].at(i))
	case lineBadTime:
		return fmt.Sprintf(dateTimeReason(strict), "fee_ocur_time", cols[fTime].at(i))
	case linePsnDiffers:
		if len(psn) == 0 {
			return "psn_no is empty"
		}
		return "psn_no differs from the visit's"
	}
	return ""
}

// dirtyItem marks an item code the line cache saw needing normalisation.
const dirtyItem = -2

// itemID is the item id of a line's hilist_code through the worker's
// cache; a code that needs normalisation is cached as dirtyItem (the line
// then takes the slow path), so clean codes cost what they always did.
func (lw *lineWorker) itemID(item []byte, strict bool) int32 {
	if id, ok := lw.items.m[string(item)]; ok {
		return id
	}
	if !strict && dirtyCode(item) {
		lw.items.m[string(item)] = dirtyItem
		return dirtyItem
	}
	return lw.items.intern(item)
}

// endsDirty reports whether a code begins or ends with something other
// than printable, non-space ASCII: the fee-line pass's check of
// feedetl_sn and setl_id (docs/data-format.md, "Values").
func endsDirty(b []byte) bool {
	n := len(b)
	return n > 0 && (b[0]-0x21 >= 0x5E || b[n-1]-0x21 >= 0x5E)
}

// cleanEnds: non-empty and not endsDirty.
func cleanEnds(b []byte) bool {
	n := len(b)
	return n > 0 && b[0]-0x21 < 0x5E && b[n-1]-0x21 < 0x5E
}

// slowIDs is slowLine for a line whose ids resolve to no visit as read,
// when one of them has something to normalise.
func (e *engine) slowIDs(lw *lineWorker, out *lineBatch, b *batch, i int) bool {
	if !dirtyCode(b.cols[fMdtrt].at(i)) && !dirtyCode(b.cols[fInst].at(i)) {
		return false
	}
	return e.slowLine(lw, out, b, i)
}

// slowLine is convertLines for one line with value normalisation
// (docs/data-format.md, "Values"), for a line whose ids resolve to no visit
// as read but have something to normalise, or that has a problem, or a
// code that begins or ends with something endsDirty flags. It handles the
// line as convertLines would after normalising (kept, rejected or skipped)
// and returns true — except for ids that resolve to no visit even when
// normalised, which it leaves to the caller (false). The tail that keeps a
// line repeats convertLines'; TestQuirkyValuesGiveTheCleanFindings and the
// differential test compare the two.
func (e *engine) slowLine(lw *lineWorker, out *lineBatch, b *batch, i int) bool {
	m, cols, z := e.m, b.cols, &lw.z
	var nm normMask
	md := normCodeIfDirty(z, false, cols[fMdtrt].at(i), &nm, fMdtrt)
	code := normCodeIfDirty(z, false, cols[fInst].at(i), &nm, fInst)
	vi, v := e.lineVisit(lw, md, code)
	if v == nil {
		if nm == 0 || !m.owned(code) {
			return nm != 0
		}
		lw.norm.add(nm)
		var reason string
		switch {
		case len(code) == 0:
			reason = "fixmedins_code is empty"
		case len(md) == 0:
			reason = "mdtrt_id is empty"
		case vi < 0 && m.partial:
			out.pending = append(out.pending, pendingReject{reject{e.feeFile, b.lineOf(i), "", b.raw(i)}, string(md)})
			return true
		case vi < 0:
			reason = "mdtrt_id is not a valid visit"
		default:
			reason = "fixmedins_code differs from the visit's"
		}
		out.rejects = append(out.rejects, reject{e.feeFile, b.lineOf(i), reason, b.raw(i)})
		return true
	}
	if !m.insts[v.inst].inScope {
		return true
	}
	sn, setl, item, psn := cols[fSN].at(i), cols[fSetl].at(i), cols[fItem].at(i), cols[fPsn].at(i)
	if endsDirty(sn) {
		sn = z.codeInto(sn, &nm, fSN)
	}
	if endsDirty(setl) {
		setl = z.codeInto(setl, &nm, fSetl)
	}
	if dirtyCode(item) {
		item = z.codeInto(item, &nm, fItem)
	}
	if !bytes.Equal(psn, lw.visitPsn) && dirtyCode(psn) {
		psn = z.codeInto(psn, &nm, fPsn)
	}
	var k normKind
	cnt, okC := lw.cnt.get(&cols[fCnt], i)
	if !okC {
		if cnt, k, okC = lw.cnt.loose(&cols[fCnt], i, z); okC {
			nm.set(fCnt, k)
		}
	}
	pric, okP := lw.pric.get(&cols[fPric], i)
	if !okP {
		if pric, k, okP = lw.pric.loose(&cols[fPric], i, z); okP {
			nm.set(fPric, k)
		}
	}
	amt, okA := parseDecimal(cols[fAmt].at(i))
	if !okA {
		if amt, k, okA = z.decimal(cols[fAmt].at(i)); okA {
			nm.set(fAmt, k)
		}
	}
	t, okT := lw.parseTime(cols[fTime].at(i))
	if !okT {
		if t, k, okT = z.dateTime(cols[fTime].at(i)); okT {
			nm.set(fTime, k)
		}
	}
	// Counted for rejected lines and lines in the window, like lines.
	if bad := lineProblem(sn, setl, item, okC, okP, okA, okT, bytes.Equal(psn, lw.visitPsn)); bad != 0 {
		lw.norm.add(nm)
		out.rejects = append(out.rejects, reject{e.feeFile, b.lineOf(i), lineReason(bad, cols, i, psn, false), b.raw(i)})
		return true
	}
	if !v.inWindow {
		return true
	}
	lw.norm.add(nm)
	// The tail of convertLines' loop (the item code normalised, so not
	// cached per dictionary entry: each line counts its normalisation).
	it := lw.items.intern(item)
	rec := lineRec{time: t, cnt: cnt, pric: pric, amt: amt, visit: vi, item: it}
	rec.sn = strRef{uint32(len(out.arena)), uint32(len(sn))}
	out.arena = append(out.arena, sn...)
	if e.c.needsSetl {
		rec.setl = strRef{uint32(len(out.arena)), uint32(len(setl))}
		out.arena = append(out.arena, setl...)
	}
	out.lines = append(out.lines, rec)
	if cnt > 0 {
		e.evalLineRules(out, &out.lines[len(out.lines)-1], v)
	}
	return true
}

// lineVisit returns the kept visit of a line with these mdtrt_id and
// fixmedins_code (nil if none) and the visit index the id resolved to.
func (e *engine) lineVisit(lw *lineWorker, md, code []byte) (int32, *visit) {
	m := e.m
	vi := lw.visits.find(md)
	// A kept visit is a duplicate only in a partial scope, when its id's
	// first valid visit is out of scope: never this line's visit then.
	if vi < 0 || m.visits[vi].dup {
		return vi, nil
	}
	v := &m.visits[vi]
	if vi != lw.keyVisit {
		// The visit's person and institution, copied once per visit so
		// that its lines compare against hot memory.
		lw.keyVisit = vi
		lw.visitPsn = append(lw.visitPsn[:0], m.psn.get(v.psn)...)
		lw.visitInst = append(lw.visitInst[:0], m.insts[v.inst].code...)
	}
	if !bytes.Equal(lw.visitInst, code) {
		return vi, nil
	}
	return vi, v
}

// convertLines parses, validates and scopes a batch of fee lines and runs
// the line-local rules on it (docs/rules.md §2 for the order of checks).
func (e *engine) convertLines(w int, b *batch) *lineBatch {
	lw := e.lineWorkers[w]
	m, c := e.m, e.c
	out := e.getBatch()
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
	for i := 0; i < b.n; i++ {
		md := cols[fMdtrt].at(i)
		code := cols[fInst].at(i)
		vi := lw.visits.find(md)
		var v *visit
		// A kept visit is a duplicate only in a partial scope, when its id's
		// first valid visit is out of scope: never this line's visit then.
		if vi >= 0 && !m.visits[vi].dup {
			v = &m.visits[vi]
			if vi != lw.keyVisit {
				// The visit's person and institution, copied once per visit
				// so that its lines compare against hot memory.
				lw.keyVisit = vi
				lw.visitPsn = append(lw.visitPsn[:0], m.psn.get(v.psn)...)
				lw.visitInst = append(lw.visitInst[:0], m.insts[v.inst].code...)
			}
			if !bytes.Equal(lw.visitInst, code) {
				v = nil
			}
		}
		if v == nil {
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
		sn, setl, item := cols[fSN].at(i), cols[fSetl].at(i), cols[fItem].at(i)
		cnt, okC := lw.cnt.get(&cols[fCnt], i)
		pric, okP := lw.pric.get(&cols[fPric], i)
		amt, okA := parseDecimal(cols[fAmt].at(i))
		t, okT := lw.parseTime(cols[fTime].at(i))
		psn := cols[fPsn].at(i)
		psnOK := bytes.Equal(psn, lw.visitPsn)
		// One test for the clean line: every value valid, and feedetl_sn and
		// setl_id non-empty with nothing endsDirty flags at their ends.
		if !(cleanEnds(sn) && cleanEnds(setl) && len(item) > 0 && okC && okP && okA && okT && psnOK) {
			if !m.strict && e.slowLine(lw, out, b, i) {
				continue
			}
			if bad := lineProblem(sn, setl, item, okC, okP, okA, okT, psnOK); bad != 0 {
				out.rejects = append(out.rejects, reject{file, b.lineOf(i), lineReason(bad, cols, i, psn, true), b.raw(i)})
				continue
			}
		}
		if !v.inWindow {
			continue
		}
		var it int32
		if itemCol.idx != nil {
			j := itemCol.idx[i]
			it = lw.dictItems[j]
			if it < 0 {
				it = lw.itemID(item, m.strict)
				lw.dictItems[j] = it
			}
		} else {
			it = lw.itemID(item, m.strict)
		}
		if it == dirtyItem && e.slowLine(lw, out, b, i) {
			continue // an item code to normalise: checked once per distinct code
		}
		rec := lineRec{time: t, cnt: cnt, pric: pric, amt: amt, visit: vi, item: it}
		rec.sn = strRef{uint32(len(out.arena)), uint32(len(sn))}
		out.arena = append(out.arena, sn...)
		if c.needsSetl {
			rec.setl = strRef{uint32(len(out.arena)), uint32(len(setl))}
			out.arena = append(out.arena, setl...)
		}
		out.lines = append(out.lines, rec)
		if cnt > 0 {
			e.evalLineRules(out, &out.lines[len(out.lines)-1], v)
		}
	}
	return out
}

// evalLineRules applies the line-local rules that name the line's item,
// plus those that apply to every item.
func (e *engine) evalLineRules(out *lineBatch, l *lineRec, v *visit) {
	c := e.c
	for _, u := range c.uses(l.item) {
		r := c.rules[u.rule]
		if u.role == 0 && r.kind == evalLine && r.visitOK(v) {
			e.evalLine(r, out, l, v)
		}
	}
	for _, r := range c.allItemLine {
		if r.visitOK(v) {
			e.evalLine(r, out, l, v)
		}
	}
}

func (e *engine) evalLine(r *crule, out *lineBatch, l *lineRec, v *visit) {
	m := e.m
	amount := roundUnitsToFen(l.amt)
	var ev string
	switch r.tpl {
	case rules.GenderRestriction:
		if v.gend != r.flagGend {
			return
		}
		ev = fmt.Sprintf("item restricted to %s billed to gend %c", r.rule.Params.Gender, v.gend)
	case rules.AgeRestriction:
		if int32(v.age) >= r.minAge && int32(v.age) <= r.maxAge {
			return
		}
		ev = fmt.Sprintf("age %d outside %s", v.age, ageRange(r))
	case rules.CareSettingRestriction:
		if v.inpatient == r.wantInpatient {
			return
		}
		ev = fmt.Sprintf("item payable only %s, billed in a%s visit", r.rule.Params.AllowedVisitType, map[bool]string{true: "n inpatient", false: "n outpatient"}[v.inpatient])
	case rules.FacilityLevelRestriction:
		lv := m.insts[v.inst].level
		if lv >= r.minLevel {
			return
		}
		ev = fmt.Sprintf("item needs hospital level ≥ %d, institution level %d", r.minLevel, lv)
	case rules.CoveredIndication:
		vi := l.visit
		for k := m.diagStart[vi]; k < m.diagStart[vi+1]; k++ {
			if r.covered[m.diagCodes[k]] {
				return
			}
		}
		ev = fmt.Sprintf("no covered diagnosis among %d visit diagnoses", m.diagStart[vi+1]-m.diagStart[vi])
	case rules.PriceCap:
		if l.pric <= r.maxPrice {
			return
		}
		amount = mulUnitsToFen(l.pric-r.maxPrice, l.cnt)
		ev = fmt.Sprintf("price %s above cap %s × cnt %s", formatUnits(l.pric), r.rule.Params.MaxPrice, formatUnits(l.cnt))
	case rules.ChargeAfterDischarge:
		end := dayOf(v.end)
		if dayOf(l.time) <= end+r.graceDays {
			return
		}
		ev = fmt.Sprintf("charged %s, discharged %s", formatDate(dayOf(l.time)), formatDate(end))
	case rules.ChargeAfterDeath:
		death, ok := e.deathDay(v.psn)
		if !ok || dayOf(l.time) <= death {
			return
		}
		ev = fmt.Sprintf("charged %s, died %s", formatDate(dayOf(l.time)), formatDate(death))
	default:
		return
	}
	out.findings = append(out.findings, finding{rule: r.slot, visit: l.visit, item: l.item,
		sn: string(l.sn.in(out.arena)), amount: amount, evidence: ev})
}

func ageRange(r *crule) string {
	lo, hi := "", ""
	if r.rule.Params.MinAge != nil {
		lo = fmt.Sprint(*r.rule.Params.MinAge)
	}
	if r.rule.Params.MaxAge != nil {
		hi = fmt.Sprint(*r.rule.Params.MaxAge)
	}
	return "[" + lo + ", " + hi + "]"
}

func (e *engine) deathDay(psn int32) (int32, bool) {
	d := e.m.deathDay[psn]
	return d, d != noDeath
}

func (e *engine) getBatch() *lineBatch {
	if x := e.batchPool.Get(); x != nil {
		return x.(*lineBatch)
	}
	return &lineBatch{}
}

// releaseBatch recycles a consumed batch; its findings slice now belongs to
// the writer and is not reused.
func (e *engine) releaseBatch(lb *lineBatch) {
	lb.lines = lb.lines[:0]
	lb.arena = lb.arena[:0]
	lb.rejects, lb.syntax, lb.findings, lb.pending = nil, nil, nil, nil
	e.batchPool.Put(lb)
}
