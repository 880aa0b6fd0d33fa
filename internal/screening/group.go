package screening

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/medfund/flycheck-operator/internal/screening/rules"
)

// instState holds what the grouped rules need of one institution: the
// retained lines (only lines some grouped rule can use), per rule the
// indexes of its lines by role, and for BedOnlyDays the (visit, day) pairs
// that had a line other than bed and nursing.
type instState struct {
	inst     int32
	lines    []lineRec
	arena    []byte
	lists    [][2][]int32 // by group-rule index
	marks    []map[int64]struct{}
	lastMark []int64
}

func (e *engine) newInstState(inst int32) *instState {
	st := &instState{inst: inst, lists: make([][2][]int32, len(e.c.groupRules))}
	if n := len(e.c.bedRules); n > 0 {
		st.marks = make([]map[int64]struct{}, n)
		st.lastMark = make([]int64, n)
		for i := range st.marks {
			st.marks[i] = map[int64]struct{}{}
			st.lastMark[i] = -1
		}
	}
	return st
}

func visitDay(visit int32, day int32) int64 { return int64(visit)<<32 | int64(uint32(day)) }

// relevant reports whether a screened line matters to any grouped rule.
func (e *engine) relevant(l *lineRec, v *visit) bool {
	c := e.c
	for _, u := range c.uses(l.item) {
		r := c.rules[u.rule]
		if r.kind == evalGroup && r.visitOK(v) {
			return true
		}
	}
	for _, r := range c.allItemGroup {
		if r.visitOK(v) {
			return true
		}
	}
	for _, r := range c.bedRules {
		if r.visitOK(v) {
			return true
		}
	}
	return false
}

// retain adds a screened line to the institution state.
func (e *engine) retain(st *instState, l *lineRec, arena []byte) {
	c := e.c
	v := &e.m.visits[l.visit]
	idx := int32(-1)
	add := func() int32 {
		if idx < 0 {
			rec := *l
			rec.sn = strRef{uint32(len(st.arena)), l.sn.n}
			st.arena = append(st.arena, l.sn.in(arena)...)
			rec.setl = strRef{uint32(len(st.arena)), l.setl.n}
			st.arena = append(st.arena, l.setl.in(arena)...)
			idx = int32(len(st.lines))
			st.lines = append(st.lines, rec)
		}
		return idx
	}
	for _, u := range c.uses(l.item) {
		r := c.rules[u.rule]
		if r.kind == evalGroup && r.visitOK(v) {
			g := e.gidx[r.slot]
			st.lists[g][u.role] = append(st.lists[g][u.role], add())
		}
	}
	for _, r := range c.allItemGroup {
		if r.visitOK(v) {
			g := e.gidx[r.slot]
			st.lists[g][0] = append(st.lists[g][0], add())
		}
	}
	for b, r := range c.bedRules {
		if r.visitOK(v) && !c.inList(l.item, r.slot, 0) {
			key := visitDay(l.visit, dayOf(l.time))
			if st.lastMark[b] != key {
				st.marks[b][key] = struct{}{}
				st.lastMark[b] = key
			}
		}
	}
}

// finalize evaluates the grouped and visit-level rules of a complete
// institution. st may be nil (no retained lines).
func (e *engine) finalize(inst int32, st *instState) []finding {
	if st == nil {
		st = e.newInstState(inst)
	}
	var out []finding
	for g, r := range e.c.groupRules {
		out = e.evalGroup(r, st, st.lists[g], out)
	}
	for _, r := range e.c.visitRules {
		out = e.evalVisitRule(r, inst, out)
	}
	return out
}

// lineLess is the line order of docs/rules.md: fee_ocur_time, feedetl_sn.
func (st *instState) lineLess(a, b int32) bool {
	la, lb := &st.lines[a], &st.lines[b]
	if la.time != lb.time {
		return la.time < lb.time
	}
	return bytes.Compare(la.sn.in(st.arena), lb.sn.in(st.arena)) < 0
}

func (e *engine) lineFinding(r *crule, st *instState, i int32, amount int64, ev string) finding {
	l := &st.lines[i]
	return finding{rule: r.slot, visit: l.visit, item: l.item, sn: string(l.sn.in(st.arena)), amount: amount, evidence: ev}
}

func (e *engine) los(v *visit) int32 {
	d := dayOf(v.end) - dayOf(v.begin)
	if d < 1 {
		d = 1
	}
	return d
}

func (e *engine) evalGroup(r *crule, st *instState, lists [2][]int32, out []finding) []finding {
	m := e.m
	switch r.tpl {
	case rules.MaxUnits, rules.PerDayExceedsStay:
		idx := lists[0]
		key := func(i int32) int64 {
			l := &st.lines[i]
			switch {
			case r.tpl == rules.PerDayExceedsStay || r.per == rules.Stay:
				return int64(l.visit)
			case r.per == rules.Day:
				return visitDay(l.visit, dayOf(l.time))
			default: // Course
				return int64(m.visits[l.visit].psn)
			}
		}
		sort.SliceStable(idx, func(a, b int) bool {
			ka, kb := key(idx[a]), key(idx[b])
			if ka != kb {
				return ka < kb
			}
			return st.lineLess(idx[a], idx[b])
		})
		var cum int64
		for n, i := range idx {
			l := &st.lines[i]
			if n == 0 || key(idx[n-1]) != key(i) {
				cum = 0
			}
			cum += l.cnt
			allowed := r.maxUnits
			if r.tpl == rules.PerDayExceedsStay {
				allowed = int64(e.los(&m.visits[l.visit])+r.extraDays) * scale
			}
			if cum > allowed {
				ex := min(l.cnt, cum-allowed)
				var ev string
				if r.tpl == rules.PerDayExceedsStay {
					ev = fmt.Sprintf("%s units of per-day items in a stay of %d day(s) (+%d allowed)", formatUnits(cum), e.los(&m.visits[l.visit]), r.extraDays)
				} else {
					ev = fmt.Sprintf("%s units per %s, max %s", formatUnits(cum), r.per, r.rule.Params.MaxUnits)
				}
				out = append(out, e.lineFinding(r, st, i, mulUnitsToFen(ex, l.pric), ev))
			}
		}
	case rules.AddOnWithoutPrimary:
		has := map[int64]bool{}
		for _, i := range lists[1] {
			l := &st.lines[i]
			has[visitDay(l.visit, dayOf(l.time))] = true
		}
		for _, i := range lists[0] {
			l := &st.lines[i]
			if !has[visitDay(l.visit, dayOf(l.time))] {
				out = append(out, e.lineFinding(r, st, i, roundUnitsToFen(l.amt), "add-on item without its primary item on "+formatDate(dayOf(l.time))))
			}
		}
	case rules.InclusivePair:
		has := map[int64]bool{}
		k := func(l *lineRec) int64 {
			if r.per == rules.Stay {
				return int64(l.visit)
			}
			return visitDay(l.visit, dayOf(l.time))
		}
		for _, i := range lists[0] {
			has[k(&st.lines[i])] = true
		}
		for _, i := range lists[1] {
			l := &st.lines[i]
			if has[k(l)] {
				out = append(out, e.lineFinding(r, st, i, roundUnitsToFen(l.amt), fmt.Sprintf("item included in an item billed the same %s", map[bool]string{true: "stay", false: "day"}[r.per == rules.Stay])))
			}
		}
	case rules.UnbundledPackage:
		pkg := map[int64]bool{}
		for _, i := range lists[0] {
			l := &st.lines[i]
			pkg[visitDay(l.visit, dayOf(l.time))] = true
		}
		type vdItem struct {
			vd   int64
			item int32
		}
		distinct := map[vdItem]bool{}
		count := map[int64]int32{}
		for _, i := range lists[1] {
			l := &st.lines[i]
			vd := visitDay(l.visit, dayOf(l.time))
			if !distinct[vdItem{vd, l.item}] {
				distinct[vdItem{vd, l.item}] = true
				count[vd]++
			}
		}
		for _, i := range lists[1] {
			l := &st.lines[i]
			vd := visitDay(l.visit, dayOf(l.time))
			if pkg[vd] && count[vd] >= r.minComponents {
				out = append(out, e.lineFinding(r, st, i, roundUnitsToFen(l.amt), fmt.Sprintf("component billed with its package on %s (%d component(s))", formatDate(dayOf(l.time)), count[vd])))
			}
		}
	case rules.DuplicateLine:
		idx := lists[0]
		same := func(a, b *lineRec) bool {
			return m.visits[a.visit].psn == m.visits[b.visit].psn && a.item == b.item && a.time == b.time && a.cnt == b.cnt && a.pric == b.pric
		}
		sort.SliceStable(idx, func(x, y int) bool {
			a, b := &st.lines[idx[x]], &st.lines[idx[y]]
			pa, pb := m.visits[a.visit].psn, m.visits[b.visit].psn
			switch {
			case pa != pb:
				return pa < pb
			case a.item != b.item:
				return a.item < b.item
			case a.time != b.time:
				return a.time < b.time
			case a.cnt != b.cnt:
				return a.cnt < b.cnt
			case a.pric != b.pric:
				return a.pric < b.pric
			}
			return bytes.Compare(a.setl.in(st.arena), b.setl.in(st.arena)) < 0
		})
		var first int32 = -1
		for n, i := range idx {
			l := &st.lines[i]
			if n == 0 || !same(&st.lines[idx[n-1]], l) {
				first = i
				continue
			}
			minSetl := st.lines[first].setl.in(st.arena)
			if bytes.Compare(l.setl.in(st.arena), minSetl) > 0 {
				out = append(out, e.lineFinding(r, st, i, roundUnitsToFen(l.amt),
					fmt.Sprintf("same line as %s in settlement %s", st.lines[first].sn.in(st.arena), minSetl)))
			}
		}
	case rules.RepeatExamination:
		idx := lists[0]
		sort.SliceStable(idx, func(a, b int) bool {
			pa, pb := m.visits[st.lines[idx[a]].visit].psn, m.visits[st.lines[idx[b]].visit].psn
			if pa != pb {
				return pa < pb
			}
			return st.lineLess(idx[a], idx[b])
		})
		for n := 1; n < len(idx); n++ {
			l, p := &st.lines[idx[n]], &st.lines[idx[n-1]]
			if m.visits[l.visit].psn != m.visits[p.visit].psn {
				continue
			}
			if d := dayOf(l.time) - dayOf(p.time); d <= r.withinDays {
				out = append(out, e.lineFinding(r, st, idx[n], roundUnitsToFen(l.amt),
					fmt.Sprintf("repeated %d day(s) after %s (%s)", d, p.sn.in(st.arena), formatDate(dayOf(p.time)))))
			}
		}
	case rules.BedOnlyDays:
		b := e.bidx[r.slot]
		marks := st.marks[b]
		type acc struct {
			days int32
			amt  int64
			seen map[int32]bool
		}
		per := map[int32]*acc{}
		var order []int32
		for _, i := range lists[0] {
			l := &st.lines[i]
			d := dayOf(l.time)
			if _, non := marks[visitDay(l.visit, d)]; non {
				continue
			}
			a := per[l.visit]
			if a == nil {
				a = &acc{seen: map[int32]bool{}}
				per[l.visit] = a
				order = append(order, l.visit)
			}
			if !a.seen[d] {
				a.seen[d] = true
				a.days++
			}
			a.amt += l.amt
		}
		sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
		for _, vi := range order {
			a := per[vi]
			if a.days >= r.minDays {
				out = append(out, finding{rule: r.slot, visit: vi, item: -1, amount: roundUnitsToFen(a.amt),
					evidence: fmt.Sprintf("%d day(s) with only bed/nursing charges (min %d)", a.days, r.minDays)})
			}
		}
	}
	return out
}

func (e *engine) evalVisitRule(r *crule, inst int32, out []finding) []finding {
	m := e.m
	vs := m.instVisits[m.instVisitStart[inst]:m.instVisitStart[inst+1]]
	switch r.tpl {
	case rules.OverlappingStays:
		for _, vi := range vs {
			v := &m.visits[vi]
			if !v.inpatient {
				continue
			}
			best := int32(-1)
			for _, wi := range e.partners(v.psn) {
				w := &m.visits[wi]
				if wi == vi || w.inst == v.inst || !(v.begin < w.end && w.begin < v.end) {
					continue
				}
				if best < 0 || bytes.Compare(m.mdtrt.get(wi), m.mdtrt.get(best)) < 0 {
					best = wi
				}
			}
			if best >= 0 {
				w := &m.visits[best]
				out = append(out, finding{rule: r.slot, visit: vi, item: -1, amount: roundUnitsToFen(e.visitAmt[vi]),
					evidence: fmt.Sprintf("overlaps stay %s at %s (%s – %s)", m.mdtrt.get(best), m.insts[w.inst].code, formatDateTime(w.begin), formatDateTime(w.end))})
			}
		}
	case rules.Readmission:
		var ins []int32
		for _, vi := range vs {
			if m.visits[vi].inpatient && m.principalCat[vi] >= 0 {
				ins = append(ins, vi)
			}
		}
		sort.Slice(ins, func(i, j int) bool {
			a, b := &m.visits[ins[i]], &m.visits[ins[j]]
			if a.psn != b.psn {
				return a.psn < b.psn
			}
			if a.begin != b.begin {
				return a.begin < b.begin
			}
			return bytes.Compare(m.mdtrt.get(ins[i]), m.mdtrt.get(ins[j])) < 0
		})
		for n, bi := range ins {
			b := &m.visits[bi]
			for k := n - 1; k >= 0; k-- {
				ai := ins[k]
				a := &m.visits[ai]
				if a.psn != b.psn {
					break
				}
				gap := dayOf(b.begin) - dayOf(a.end)
				if gap >= 0 && gap <= r.withinDays && m.principalCat[ai] == m.principalCat[bi] {
					out = append(out, finding{rule: r.slot, visit: bi, item: -1, amount: roundUnitsToFen(e.visitAmt[bi]),
						evidence: fmt.Sprintf("readmitted %d day(s) after stay %s, diagnosis category %s", gap, m.mdtrt.get(ai), m.diagCat.get(m.principalCat[bi]))})
					break
				}
			}
		}
	}
	return out
}

// partners returns the valid inpatient visits in the window of a person.
func (e *engine) partners(psn int32) []int32 {
	if int(psn)+1 >= len(e.partnerStart) {
		return nil
	}
	return e.partnerVisits[e.partnerStart[psn]:e.partnerStart[psn+1]]
}

// buildPartners indexes every valid inpatient visit in the window by
// person, regardless of shard and city (docs/rules.md, OverlappingStays).
func (e *engine) buildPartners() {
	m := e.m
	e.partnerStart = make([]int32, m.psn.len()+1)
	for _, v := range m.visits {
		if v.inpatient && v.inWindow {
			e.partnerStart[v.psn+1]++
		}
	}
	for i := 1; i < len(e.partnerStart); i++ {
		e.partnerStart[i] += e.partnerStart[i-1]
	}
	e.partnerVisits = make([]int32, e.partnerStart[len(e.partnerStart)-1])
	fill := append([]int32(nil), e.partnerStart[:len(e.partnerStart)-1]...)
	for i, v := range m.visits {
		if v.inpatient && v.inWindow {
			e.partnerVisits[fill[v.psn]] = int32(i)
			fill[v.psn]++
		}
	}
}
