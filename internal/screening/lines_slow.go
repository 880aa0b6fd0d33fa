package screening

import (
	"bytes"
	"fmt"
)

// The fee-line pass's slow path (docs/data-format.md, "Values"): a line
// that convertLines cannot take as read — an id that resolves to no visit,
// a value that fails its strict parse, a feedetl_sn or setl_id with
// something at an end, an item code the cache saw needing normalisation —
// is handled here, once, with its values normalised. Clean lines never get
// here.

// A fee line's first problem, in the order of docs/rules.md §2 (0: none).
const (
	lineOK uint8 = iota
	lineNoSN
	lineNoSetl
	lineNoItem
	lineBadCnt
	lineBadPric
	lineBadAmt
	lineBadProduct
	lineBadTime
	linePsnDiffers
)

func lineProblem(sn, setl, item []byte, okC, okP, okA, okX, okT, psnOK bool) uint8 {
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
	case !okX:
		return lineBadProduct
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
		return decimalReason("cnt", cols[fCnt].at(i), strict)
	case lineBadPric:
		return decimalReason("pric", cols[fPric].at(i), strict)
	case lineBadAmt:
		return decimalReason("det_item_fee_sumamt", cols[fAmt].at(i), strict)
	case lineBadProduct:
		return fmt.Sprintf("cnt %q × pric %q is out of range (the product exceeds exact arithmetic)", cols[fCnt].at(i), cols[fPric].at(i))
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

// dirtyItem marks an item code the line cache saw needing normalisation;
// emptyItem, an empty one (a dictionary entry's, cached as such).
const (
	dirtyItem = -2
	emptyItem = -3
)

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
	amt, okA := decimalAt(&cols[fAmt], i)
	if !okA {
		if amt, k, okA = z.decimal(cols[fAmt].at(i)); okA {
			nm.set(fAmt, k)
		}
	}
	t, okT := lw.times.at(&cols[fTime], i)
	if !okT {
		if t, k, okT = z.dateTime(cols[fTime].at(i)); okT {
			nm.set(fTime, k)
		}
	}
	// Counted for rejected lines and lines in the window, like lines.
	if bad := lineProblem(sn, setl, item, okC, okP, okA, productFits(cnt, pric), okT, bytes.Equal(psn, lw.visitPsn)); bad != 0 {
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
	var rec lineRec // set field by field: a literal is built aside and copied
	rec.time, rec.cnt, rec.pric, rec.amt, rec.visit, rec.item = t, cnt, pric, amt, vi, it
	e.keepLine(out, v, &rec, sn, setl)
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
		lw.keyVisit, lw.visitPsn = vi, m.psnOf(vi)
	}
	if string(code) != m.insts[v.inst].code {
		return vi, nil
	}
	return vi, v
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
