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
}

// lineWorker is a decoding worker's private state.
type lineWorker struct {
	items     *localCache
	lastMd    []byte
	lastVisit int32
	dictID    uint64
	dictItems []int32
}

func (e *engine) newLineWorker() *lineWorker {
	return &lineWorker{items: newLocalCache(e.c.items), lastVisit: -1}
}

// convertLines parses, validates and scopes a batch of fee lines and runs
// the line-local rules on it (docs/rules.md §2 for the order of checks).
func (e *engine) convertLines(w int, b *batch) *lineBatch {
	lw := e.lineWorkers[w]
	m, c := e.m, e.c
	out := &lineBatch{rows: b.n, syntax: b.rejects, lines: make([]lineRec, 0, b.n)}
	out.arena = make([]byte, 0, b.n*24)
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
	for i := 0; i < b.n; i++ {
		md := cols[fMdtrt].at(i)
		code := cols[fInst].at(i)
		vi := lw.lastVisit
		if !bytes.Equal(md, lw.lastMd) || lw.lastMd == nil {
			vi = m.mdtrt.lookup(md)
			lw.lastMd = append(lw.lastMd[:0], md...)
			lw.lastVisit = vi
		}
		var v *visit
		if vi >= 0 {
			v = &m.visits[vi]
			if m.insts[v.inst].code != string(code) {
				v = nil
			}
		}
		if v == nil {
			if !m.owned(code) {
				continue
			}
			var reason string
			switch {
			case len(code) == 0:
				reason = "fixmedins_code is empty"
			case len(md) == 0:
				reason = "mdtrt_id is empty"
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
		cnt, okC := parseDecimal(cols[fCnt].at(i))
		pric, okP := parseDecimal(cols[fPric].at(i))
		amt, okA := parseDecimal(cols[fAmt].at(i))
		t, okT := parseDateTime(cols[fTime].at(i))
		var reason string
		switch {
		case len(sn) == 0:
			reason = "feedetl_sn is empty"
		case len(setl) == 0:
			reason = "setl_id is empty"
		case len(item) == 0:
			reason = "hilist_code is empty"
		case !okC:
			reason = fmt.Sprintf("cnt %q is not a decimal", cols[fCnt].at(i))
		case !okP:
			reason = fmt.Sprintf("pric %q is not a decimal", cols[fPric].at(i))
		case !okA:
			reason = fmt.Sprintf("det_item_fee_sumamt %q is not a decimal", cols[fAmt].at(i))
		case !okT:
			reason = fmt.Sprintf("fee_ocur_time %q is not YYYY-MM-DD HH:MM:SS", cols[fTime].at(i))
		case !bytes.Equal(cols[fPsn].at(i), m.psn.get(v.psn)):
			if len(cols[fPsn].at(i)) == 0 {
				reason = "psn_no is empty"
			} else {
				reason = "psn_no differs from the visit's"
			}
		}
		if reason != "" {
			out.rejects = append(out.rejects, reject{file, b.lineOf(i), reason, b.raw(i)})
			continue
		}
		if !v.inWindow {
			continue
		}
		var it int32
		if itemCol.idx != nil {
			j := itemCol.idx[i]
			it = lw.dictItems[j]
			if it < 0 {
				it = lw.items.intern(item)
				lw.dictItems[j] = it
			}
		} else {
			it = lw.items.intern(item)
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
	d, ok := e.m.deathDay[psn]
	return d, ok
}
