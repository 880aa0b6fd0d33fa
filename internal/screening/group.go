package screening

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
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

// newInstState returns an empty state, reusing a released one so that the
// retained-line buffers are allocated once per worker, not per institution.
func (e *engine) newInstState(inst int32) *instState {
	if x := e.statePool.Get(); x != nil {
		st := x.(*instState)
		st.inst = inst
		return st
	}
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

func (e *engine) releaseInstState(st *instState) {
	st.lines = st.lines[:0]
	st.arena = st.arena[:0]
	for g := range st.lists {
		st.lists[g][0] = st.lists[g][0][:0]
		st.lists[g][1] = st.lists[g][1][:0]
	}
	for i := range st.marks {
		clear(st.marks[i])
		st.lastMark[i] = -1
	}
	e.statePool.Put(st)
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
	var out []finding
	if st != nil {
		for g, r := range e.c.groupRules {
			out = e.evalGroup(r, st, st.lists[g], out)
		}
		e.releaseInstState(st)
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
		sort.Slice(idx, func(a, b int) bool {
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
		out = e.evalDuplicates(r, st, lists[0], out)
	case rules.RepeatExamination:
		idx := lists[0]
		sort.Slice(idx, func(a, b int) bool {
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

// evalDuplicates groups the rule's lines by (person, item, time, cnt, pric)
// with a hash table (linear, no sort) and flags every line whose setl_id is
// above its group's smallest. Findings come in retention order.
func (e *engine) evalDuplicates(r *crule, st *instState, idx []int32, out []finding) []finding {
	if len(idx) < 2 {
		return out
	}
	m := e.m
	size := 1
	for size < 2*len(idx) {
		size <<= 1
	}
	mask := uint64(size - 1)
	head := make([]int32, size) // slot → position in idx + 1 of the group head
	next := make([]int32, len(idx))
	group := make([]int32, len(idx)) // position → position of its group head
	dup := false
	for p, i := range idx {
		l := &st.lines[i]
		psn := m.visits[l.visit].psn
		h := uint64(psn)*0x9E3779B97F4A7C15 ^ uint64(l.item)*0xC2B2AE3D27D4EB4F ^ uint64(l.time)*0x165667B19E3779F9 ^
			uint64(l.cnt)*0xD6E8FEB86659FD93 ^ uint64(l.pric)*0xFF51AFD7ED558CCD
		h ^= h >> 29
		slot := h & mask
		group[p] = int32(p)
		next[p] = -1
		for {
			hp := head[slot]
			if hp == 0 {
				head[slot] = int32(p) + 1
				break
			}
			g := &st.lines[idx[hp-1]]
			if m.visits[g.visit].psn == psn && g.item == l.item && g.time == l.time && g.cnt == l.cnt && g.pric == l.pric {
				group[p] = hp - 1
				next[p] = next[hp-1]
				next[hp-1] = int32(p)
				dup = true
				break
			}
			slot = (slot + 1) & mask
		}
	}
	if !dup {
		return out
	}
	// smallest setl per group (by head position)
	minPos := make(map[int32]int32)
	for p := range idx {
		if next[p] < 0 && group[p] == int32(p) {
			continue // a group of one
		}
		g := group[p]
		cur, ok := minPos[g]
		if !ok || bytes.Compare(st.lines[idx[p]].setl.in(st.arena), st.lines[idx[cur]].setl.in(st.arena)) < 0 {
			minPos[g] = int32(p)
		}
	}
	for p, i := range idx {
		mp, ok := minPos[group[p]]
		if !ok {
			continue
		}
		l, first := &st.lines[i], &st.lines[idx[mp]]
		if bytes.Compare(l.setl.in(st.arena), first.setl.in(st.arena)) > 0 {
			out = append(out, e.lineFinding(r, st, i, roundUnitsToFen(l.amt),
				fmt.Sprintf("same line as %s in settlement %s", first.sn.in(st.arena), first.setl.in(st.arena))))
		}
	}
	return out
}
