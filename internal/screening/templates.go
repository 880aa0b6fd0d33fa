package screening

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"sort"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// evaluator is the engine's implementation of one template (docs/rules.md
// §4). Exactly one of line, group and visit is set, the one of the
// template's rules.EvalKind; compileRules refuses a rule whose template has
// no evaluator of its kind, and TestEveryTemplateHasAllParts checks the map.
type evaluator struct {
	// line decides one line (EvalLine); hit false means no finding.
	line func(e *engine, r *crule, l *lineRec, v *visit) (amount int64, evidence string, hit bool)
	// group evaluates the retained lines of a complete institution
	// (EvalGroup): lists[0] are the lines of params.items (every line the
	// rule looks at when it has no items), lists[1] those of its second list.
	group func(e *engine, r *crule, st *instState, lists [2][]int32, out []finding) []finding
	// visit evaluates the visits vs of a complete institution (EvalVisit).
	visit func(e *engine, r *crule, vs []int32, out []finding) []finding
	// prepare, if set, compiles what the template needs beyond the common
	// params; it runs for rules that are not skipped.
	prepare func(c *compiled, cr *crule, m *model)
	// partners: the template needs every person's inpatient stays of the
	// whole input, regardless of scope (engine.buildPartners).
	partners bool
	// persons: the template tells persons apart within an institution
	// (model.personOf: a person number per institution); without such a
	// rule it is -1.
	persons bool
}

// evaluatorSet maps every template to its evaluator.
type evaluatorSet map[rules.Template]evaluator

var evaluators = evaluatorSet{
	rules.GenderRestriction:        {line: lineGender},
	rules.AgeRestriction:           {line: lineAge},
	rules.CareSettingRestriction:   {line: lineCareSetting},
	rules.FacilityLevelRestriction: {line: lineFacilityLevel},
	rules.CoveredIndication:        {line: lineCoveredIndication, prepare: prepareCoveredIndication},
	rules.PriceCap:                 {line: linePriceCap},
	rules.MaxUnits:                 {group: groupMaxUnits, persons: true}, // per course
	rules.PerDayExceedsStay:        {group: groupPerDayExceedsStay},
	rules.ChargeAfterDischarge:     {line: lineChargeAfterDischarge},
	rules.ChargeAfterDeath:         {line: lineChargeAfterDeath},
	rules.OverlappingStays:         {visit: visitOverlappingStays, partners: true},
	rules.AddOnWithoutPrimary:      {group: groupAddOnWithoutPrimary},
	rules.InclusivePair:            {group: groupInclusivePair},
	rules.DuplicateLine: {group: groupDuplicateLine, persons: true,
		prepare: func(c *compiled, _ *crule, _ *model) { c.needsSetl = true }},
	rules.UnbundledPackage:  {group: groupUnbundledPackage},
	rules.RepeatExamination: {group: groupRepeatExamination, persons: true},
	rules.Readmission:       {visit: visitReadmission, persons: true},
	rules.BedOnlyDays: {group: groupBedOnlyDays,
		prepare: func(c *compiled, cr *crule, _ *model) { c.bedRules = append(c.bedRules, cr) }},
}

// of returns the evaluator of a template, or an error when the set lacks
// one of the template's kind: a template the engine does not implement is
// never silently a rule that flags nothing.
func (evs evaluatorSet) of(t rules.Template) (evaluator, error) {
	spec := rules.Spec(t)
	if spec == nil {
		return evaluator{}, fmt.Errorf("screening: unknown template %s", t)
	}
	ev, ok := evs[t]
	has := map[rules.EvalKind]bool{rules.EvalLine: ev.line != nil, rules.EvalGroup: ev.group != nil, rules.EvalVisit: ev.visit != nil}
	n := 0
	for _, h := range has {
		if h {
			n++
		}
	}
	if !ok || n != 1 || !has[spec.Kind] {
		return evaluator{}, fmt.Errorf("screening: template %s has no %s evaluator in the engine (internal/screening/templates.go)", t, spec.Kind)
	}
	return ev, nil
}

// wholeLine is the amount of a line-level finding that flags the whole line.
func wholeLine(l *lineRec) int64 { return roundUnitsToFen(l.amt) }

// Line templates.

func lineGender(e *engine, r *crule, l *lineRec, v *visit) (int64, string, bool) {
	if v.gend != r.flagGend {
		return 0, "", false
	}
	return wholeLine(l), fmt.Sprintf("item restricted to %s billed to gend %c", r.rule.Params.Gender, v.gend), true
}

func lineAge(e *engine, r *crule, l *lineRec, v *visit) (int64, string, bool) {
	if int32(v.age) >= r.minAge && int32(v.age) <= r.maxAge {
		return 0, "", false
	}
	return wholeLine(l), fmt.Sprintf("age %d outside %s", v.age, ageRange(r)), true
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

func lineCareSetting(e *engine, r *crule, l *lineRec, v *visit) (int64, string, bool) {
	if v.inpatient == r.wantInpatient {
		return 0, "", false
	}
	return wholeLine(l), fmt.Sprintf("item payable only %s, billed in a%s visit", r.rule.Params.AllowedVisitType,
		map[bool]string{true: "n inpatient", false: "n outpatient"}[v.inpatient]), true
}

func lineFacilityLevel(e *engine, r *crule, l *lineRec, v *visit) (int64, string, bool) {
	lv := e.m.insts[v.inst].level
	if lv >= r.minLevel {
		return 0, "", false
	}
	return wholeLine(l), fmt.Sprintf("item needs hospital level ≥ %d, institution level %d", r.minLevel, lv), true
}

// prepareCoveredIndication marks, per diagnosis id, whether the code is in
// the rule's covered set (exact codes and prefixes).
func prepareCoveredIndication(c *compiled, cr *crule, m *model) {
	p := &cr.rule.Params
	cr.covered = make([]bool, m.diag.len())
	for id := int32(0); id < int32(m.diag.len()); id++ {
		code := m.diag.get(id)
		for _, d := range p.DiagCodes {
			if string(code) == d {
				cr.covered[id] = true
			}
		}
		for _, pre := range p.DiagPrefixes {
			if bytes.HasPrefix(code, []byte(pre)) {
				cr.covered[id] = true
			}
		}
	}
}

func lineCoveredIndication(e *engine, r *crule, l *lineRec, v *visit) (int64, string, bool) {
	m := e.m
	vi := l.visit
	for k := m.diagStart[vi]; k < m.diagStart[vi+1]; k++ {
		if r.covered[m.diagCodes[k]] {
			return 0, "", false
		}
	}
	return wholeLine(l), fmt.Sprintf("no covered diagnosis among %d visit diagnoses", m.diagStart[vi+1]-m.diagStart[vi]), true
}

func linePriceCap(e *engine, r *crule, l *lineRec, v *visit) (int64, string, bool) {
	if l.pric <= r.maxPrice {
		return 0, "", false
	}
	return mulUnitsToFen(l.pric-r.maxPrice, l.cnt),
		fmt.Sprintf("price %s above cap %s × cnt %s", formatUnits(l.pric), r.rule.Params.MaxPrice, formatUnits(l.cnt)), true
}

func lineChargeAfterDischarge(e *engine, r *crule, l *lineRec, v *visit) (int64, string, bool) {
	end := dayOf(v.end())
	if dayOf(l.time) <= end+r.graceDays {
		return 0, "", false
	}
	return wholeLine(l), fmt.Sprintf("charged %s, discharged %s", formatDate(dayOf(l.time)), formatDate(end)), true
}

func lineChargeAfterDeath(e *engine, r *crule, l *lineRec, v *visit) (int64, string, bool) {
	death := e.m.visitDeath[l.visit] // noDeath: never
	if dayOf(l.time) <= death {
		return 0, "", false
	}
	return wholeLine(l), fmt.Sprintf("charged %s, died %s", formatDate(dayOf(l.time)), formatDate(death)), true
}

// Group templates.

// cumulative flags the lines of idx whose running total of cnt within their
// group (key) exceeds allowed, in line order; the amount is the price of the
// excess units (MaxUnits, PerDayExceedsStay).
func cumulative(e *engine, r *crule, st *instState, idx []int32, key func(*lineRec) int64,
	allowed func(*lineRec) int64, evidence func(l *lineRec, cum int64) string, out []finding) []finding {
	// Keys computed once per line, not per comparison; lines usually come
	// in order already (by visit, then time), which the check sees in one
	// pass. Stable: lines equal in key, time and feedetl_sn keep retention
	// order.
	ks := st.keyed[:0]
	for _, i := range idx {
		l := st.line(i)
		ks = append(ks, keyedLine{key(l), l.time, i})
	}
	order := func(a, b keyedLine) int {
		if a.key != b.key {
			return cmp.Compare(a.key, b.key)
		}
		if a.time != b.time {
			return cmp.Compare(a.time, b.time)
		}
		return bytes.Compare(st.sn(a.i), st.sn(b.i))
	}
	if !slices.IsSortedFunc(ks, order) {
		slices.SortStableFunc(ks, order)
	}
	st.keyed = ks
	var cum int64
	for n, k := range ks {
		l := st.line(k.i)
		if n == 0 || ks[n-1].key != k.key {
			cum = 0
		}
		cum = addSaturating(cum, l.cnt)
		if lim := allowed(l); cum > lim {
			ex := min(l.cnt, cum-lim)
			out = append(out, e.lineFinding(r, st, k.i, mulUnitsToFen(ex, l.pric), evidence(l, cum)))
		}
	}
	return out
}

type keyedLine struct {
	key, time int64
	i         int32
}

func groupMaxUnits(e *engine, r *crule, st *instState, lists [2][]int32, out []finding) []finding {
	m := e.m
	key := func(l *lineRec) int64 {
		switch r.per {
		case rules.Stay:
			return int64(l.visit)
		case rules.Day:
			return visitDay(l.visit, dayOf(l.time))
		default: // Course
			return int64(m.personOf(l.visit))
		}
	}
	return cumulative(e, r, st, lists[0], key,
		func(*lineRec) int64 { return r.maxUnits },
		func(_ *lineRec, cum int64) string {
			return fmt.Sprintf("%s units per %s, max %s", formatUnits(cum), r.per, r.rule.Params.MaxUnits)
		}, out)
}

func groupPerDayExceedsStay(e *engine, r *crule, st *instState, lists [2][]int32, out []finding) []finding {
	m := e.m
	return cumulative(e, r, st, lists[0],
		func(l *lineRec) int64 { return int64(l.visit) },
		func(l *lineRec) int64 { return int64(e.los(&m.visits[l.visit])+r.extraDays) * scale },
		func(l *lineRec, cum int64) string {
			return fmt.Sprintf("%s units of per-day items in a stay of %d day(s) (+%d allowed)", formatUnits(cum), e.los(&m.visits[l.visit]), r.extraDays)
		}, out)
}

func groupAddOnWithoutPrimary(e *engine, r *crule, st *instState, lists [2][]int32, out []finding) []finding {
	has := st.keySet()
	for _, i := range lists[1] {
		l := st.line(i)
		has[visitDay(l.visit, dayOf(l.time))] = true
	}
	for _, i := range lists[0] {
		l := st.line(i)
		if !has[visitDay(l.visit, dayOf(l.time))] {
			out = append(out, e.lineFinding(r, st, i, wholeLine(l), "add-on item without its primary item on "+formatDate(dayOf(l.time))))
		}
	}
	return out
}

func groupInclusivePair(e *engine, r *crule, st *instState, lists [2][]int32, out []finding) []finding {
	has := st.keySet()
	k := func(l *lineRec) int64 {
		if r.per == rules.Stay {
			return int64(l.visit)
		}
		return visitDay(l.visit, dayOf(l.time))
	}
	for _, i := range lists[0] {
		has[k(st.line(i))] = true
	}
	for _, i := range lists[1] {
		l := st.line(i)
		if has[k(l)] {
			out = append(out, e.lineFinding(r, st, i, wholeLine(l), fmt.Sprintf("item included in an item billed the same %s",
				map[bool]string{true: "stay", false: "day"}[r.per == rules.Stay])))
		}
	}
	return out
}

func groupUnbundledPackage(e *engine, r *crule, st *instState, lists [2][]int32, out []finding) []finding {
	pkg := map[int64]bool{}
	for _, i := range lists[0] {
		l := st.line(i)
		pkg[visitDay(l.visit, dayOf(l.time))] = true
	}
	type vdItem struct {
		vd   int64
		item int32
	}
	distinct := map[vdItem]bool{}
	count := map[int64]int32{}
	for _, i := range lists[1] {
		l := st.line(i)
		vd := visitDay(l.visit, dayOf(l.time))
		if !distinct[vdItem{vd, l.item}] {
			distinct[vdItem{vd, l.item}] = true
			count[vd]++
		}
	}
	for _, i := range lists[1] {
		l := st.line(i)
		vd := visitDay(l.visit, dayOf(l.time))
		if pkg[vd] && count[vd] >= r.minComponents {
			out = append(out, e.lineFinding(r, st, i, wholeLine(l), fmt.Sprintf("component billed with its package on %s (%d component(s))", formatDate(dayOf(l.time)), count[vd])))
		}
	}
	return out
}

func groupRepeatExamination(e *engine, r *crule, st *instState, lists [2][]int32, out []finding) []finding {
	m := e.m
	idx := lists[0]
	sort.Slice(idx, func(a, b int) bool {
		pa, pb := m.personOf(st.line(idx[a]).visit), m.personOf(st.line(idx[b]).visit)
		if pa != pb {
			return pa < pb
		}
		return st.lineLess(idx[a], idx[b])
	})
	for n := 1; n < len(idx); n++ {
		l, p := st.line(idx[n]), st.line(idx[n-1])
		if m.personOf(l.visit) != m.personOf(p.visit) {
			continue
		}
		if d := dayOf(l.time) - dayOf(p.time); d <= r.withinDays {
			out = append(out, e.lineFinding(r, st, idx[n], wholeLine(l),
				fmt.Sprintf("repeated %d day(s) after %s (%s)", d, st.sn(idx[n-1]), formatDate(dayOf(p.time)))))
		}
	}
	return out
}

func groupBedOnlyDays(e *engine, r *crule, st *instState, lists [2][]int32, out []finding) []finding {
	// The (visit, day) pairs with another line, sorted once here: appending
	// them as lines arrive and searching them costs less than a map's
	// insert per line.
	marks := st.marks[e.bidx[r.slot]]
	slices.Sort(marks)
	type acc struct {
		days int32
		amt  int64
		seen map[int32]bool
	}
	per := map[int32]*acc{}
	var order []int32
	for _, i := range lists[0] {
		l := st.line(i)
		d := dayOf(l.time)
		if _, non := slices.BinarySearch(marks, visitDay(l.visit, d)); non {
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
	return out
}

// groupDuplicateLine groups the rule's lines by (person, item, time, cnt,
// pric) with a hash table (linear, no sort) and flags every line whose
// setl_id is above its group's smallest. Findings come in retention order.
// A slot keeps the key's hash beside the line, so that a probe compares
// lines only when their hashes match: most lines are in no group.
//
// A large institution's lines are first split by hash into parts of about
// dupPartLines, each with a table that stays in the core's cache: one
// table over 90 000 lines missed the cache on most probes (half of a
// bench-6 run's grouped evaluation). Equal keys have equal hashes, so a
// group never spans parts, and each part is probed in retention order, so
// that a group's head is its first line as with one table.
// dupPartLines: a part's table of 8 Ki slots is 64 KiB.
const dupPartLines = 4096

func groupDuplicateLine(e *engine, r *crule, st *instState, lists [2][]int32, out []finding) []finding {
	idx := lists[0]
	n := len(idx)
	if n < 2 {
		return out
	}
	m := e.m
	parts, shift := 1, uint(32)
	for parts*dupPartLines < n {
		parts <<= 1
		shift--
	}
	// keyed: hash<<32 | position in idx, by position, then (parts > 1)
	// by part; group: position → position of its group head.
	st.keyTags = resize(st.keyTags, 2*n)
	st.scratch = resize(st.scratch, 2*n+parts+1)
	keyed, byPart := st.keyTags[:n], st.keyTags[n:]
	next, group, start := st.scratch[:n], st.scratch[n:2*n], st.scratch[2*n:]
	clear(start)
	for p, i := range idx {
		l := st.line(i)
		psn := m.personOf(l.visit)
		h := uint64(psn)*0x9E3779B97F4A7C15 ^ uint64(l.item)*0xC2B2AE3D27D4EB4F ^ uint64(l.time)*0x165667B19E3779F9 ^
			uint64(l.cnt)*0xD6E8FEB86659FD93 ^ uint64(l.pric)*0xFF51AFD7ED558CCD
		h ^= h >> 29
		keyed[p] = h>>32<<32 | uint64(p)
		group[p] = int32(p)
		next[p] = -1
		start[h>>32>>shift+1]++ // one part: shift 32, all in part 0
	}
	for k := 1; k <= parts; k++ {
		start[k] += start[k-1]
	}
	if parts > 1 {
		for _, kp := range keyed { // stable: positions stay in order within a part
			k := kp >> 32 >> shift
			byPart[start[k]] = kp
			start[k]++
		}
		copy(start[1:], start[:parts]) // back to each part's start
		start[0] = 0
		keyed = byPart
	}
	dup := false
	for k := 0; k < parts; k++ {
		part := keyed[start[k]:start[k+1]]
		size := 1
		for size < 2*len(part) {
			size <<= 1
		}
		mask := uint64(size - 1)
		// slots: hash<<32 | position in idx + 1 of a group head.
		st.slots = resize(st.slots, size)
		slots := st.slots
		clear(slots)
		for _, kp := range part {
			tag, p := kp>>32, int32(uint32(kp))
			slot := tag & mask
			for {
				s := slots[slot]
				if s == 0 {
					slots[slot] = tag<<32 | uint64(p+1)
					break
				}
				if s>>32 == tag {
					hp := int32(uint32(s)) - 1
					g, l := st.line(idx[hp]), st.line(idx[p])
					if m.personOf(g.visit) == m.personOf(l.visit) && g.item == l.item && g.time == l.time && g.cnt == l.cnt && g.pric == l.pric {
						group[p] = hp
						next[p] = next[hp]
						next[hp] = p
						dup = true
						break
					}
				}
				slot = (slot + 1) & mask
			}
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
		if !ok || bytes.Compare(st.setl(idx[p]), st.setl(idx[cur])) < 0 {
			minPos[g] = int32(p)
		}
	}
	for p, i := range idx {
		mp, ok := minPos[group[p]]
		if !ok {
			continue
		}
		l, first := st.line(i), idx[mp]
		if bytes.Compare(st.setl(i), st.setl(first)) > 0 {
			out = append(out, e.lineFinding(r, st, i, wholeLine(l),
				fmt.Sprintf("same line as %s in settlement %s", st.sn(first), st.setl(first))))
		}
	}
	return out
}

// Visit templates.

func visitOverlappingStays(e *engine, r *crule, vs []int32, out []finding) []finding {
	m := e.m
	for _, vi := range vs {
		v := &m.visits[vi]
		if !v.inpatient {
			continue
		}
		best := int32(-1)
		for _, wi := range e.partners(m.stayPersonOf(m.psnOf(vi))) {
			w := &m.visits[wi]
			if wi == vi || w.inst == v.inst || !(v.begin < w.end() && w.begin < v.end()) {
				continue
			}
			if best < 0 || bytes.Compare(m.mdtrt.get(wi), m.mdtrt.get(best)) < 0 {
				best = wi
			}
		}
		if best >= 0 {
			w := &m.visits[best]
			out = append(out, finding{rule: r.slot, visit: vi, item: -1, amount: roundUnitsToFen(e.visitAmt[vi]),
				evidence: fmt.Sprintf("overlaps stay %s at %s (%s – %s)", m.mdtrt.get(best), m.insts[w.inst].code, formatDateTime(w.begin), formatDateTime(w.end()))})
		}
	}
	return out
}

func visitReadmission(e *engine, r *crule, vs []int32, out []finding) []finding {
	m := e.m
	var ins []int32
	for _, vi := range vs {
		if m.visits[vi].inpatient && m.principalCat[vi] >= 0 {
			ins = append(ins, vi)
		}
	}
	sort.Slice(ins, func(i, j int) bool {
		a, b := &m.visits[ins[i]], &m.visits[ins[j]]
		if pa, pb := m.personOf(ins[i]), m.personOf(ins[j]); pa != pb {
			return pa < pb
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
			if m.personOf(ai) != m.personOf(bi) {
				break
			}
			gap := dayOf(b.begin) - dayOf(a.end())
			if gap >= 0 && gap <= r.withinDays && m.principalCat[ai] == m.principalCat[bi] {
				out = append(out, finding{rule: r.slot, visit: bi, item: -1, amount: roundUnitsToFen(e.visitAmt[bi]),
					evidence: fmt.Sprintf("readmitted %d day(s) after stay %s, diagnosis category %s", gap, m.mdtrt.get(ai), m.diagCat.get(m.principalCat[bi]))})
				break
			}
		}
	}
	return out
}
