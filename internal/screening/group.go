package screening

import (
	"bytes"
	"unsafe"
)

// instState holds what the grouped rules need of one institution: the
// retained lines (only lines some grouped rule can use), per rule the
// indexes of its lines by role, and for BedOnlyDays the (visit, day) pairs
// that had a line other than bed and nursing.
//
// A retained line stays in the line batch it came in (refs: which batch,
// which row), and the state holds those batches until it is finalized:
// copying every line and its feedetl_sn and setl_id a second time, in the
// single in-order stage, was the largest cost the grouped rules added.
type instState struct {
	inst     int32
	refs     []lineRef    // retained lines, in arrival order
	batches  []*lineBatch // the batches they are in, each held once
	lists    [][2][]int32 // by group-rule index: indexes into refs
	marks    [][]int64    // per bed rule: (visit, day) keys, in arrival order
	lastMark []int64
	scratch  []int32     // groupDuplicateLine's tables, reused
	keyTags  []uint64    // its lines' hashes
	slots    []uint64    // and its hash table
	keyed    []keyedLine // cumulative's sort, reused
	keys     map[int64]bool
}

// lineRef is a retained line: row i of the state's batch b.
type lineRef struct{ b, i int32 }

// at returns retained line k and the arena of its batch.
func (st *instState) at(k int32) (*lineRec, []byte) {
	r := st.refs[k]
	b := st.batches[r.b]
	return &b.lines[r.i], b.arena
}

// line returns retained line k.
func (st *instState) line(k int32) *lineRec {
	l, _ := st.at(k)
	return l
}

// sn and setl return feedetl_sn and setl_id of retained line k.
func (st *instState) sn(k int32) []byte {
	l, a := st.at(k)
	return l.sn.in(a)
}

func (st *instState) setl(k int32) []byte {
	l, a := st.at(k)
	return l.setl.in(a)
}

// keySet returns an empty set of (visit, day) or visit keys, reusing the
// state's: a map grown again for every rule of every institution was a
// visible cost at 200 rules.
func (st *instState) keySet() map[int64]bool {
	if st.keys == nil {
		st.keys = map[int64]bool{}
	}
	clear(st.keys)
	return st.keys
}

// newInstState returns an empty state, reusing a released one so that the
// retained-line buffers are allocated once per worker, not per institution.
func (e *engine) newInstState(inst int32) *instState {
	if st := e.statePool.get(); st != nil {
		st.inst = inst
		return st
	}
	st := &instState{inst: inst, lists: make([][2][]int32, len(e.c.groupRules))}
	if n := len(e.c.bedRules); n > 0 {
		st.marks = make([][]int64, n)
		st.lastMark = make([]int64, n)
		for i := range st.marks {
			st.lastMark[i] = -1
		}
	}
	return st
}

// bytes is the memory a recycled state keeps (its reusable buffers).
func (st *instState) bytes() int {
	n := 8*cap(st.refs) + 8*cap(st.batches) + 4*cap(st.scratch) + 8*cap(st.keyTags) + 8*cap(st.slots) +
		int(unsafe.Sizeof(keyedLine{}))*cap(st.keyed) + 16*len(st.keys)
	for _, l := range st.lists {
		n += 4 * (cap(l[0]) + cap(l[1]))
	}
	for _, m := range st.marks {
		n += 8 * cap(m)
	}
	return n
}

func (e *engine) releaseInstState(st *instState) {
	st.refs = st.refs[:0]
	for i, b := range st.batches {
		e.dropBatch(b)
		st.batches[i] = nil
	}
	st.batches = st.batches[:0]
	for g := range st.lists {
		st.lists[g][0] = st.lists[g][0][:0]
		st.lists[g][1] = st.lists[g][1][:0]
	}
	for i := range st.marks {
		st.marks[i] = st.marks[i][:0]
		st.lastMark[i] = -1
	}
	e.statePool.put(st)
}

func visitDay(visit int32, day int32) int64 { return int64(visit)<<32 | int64(uint32(day)) }

// relevant reports whether a screened line matters to any grouped rule.
func (e *engine) relevant(l *lineRec, v *visit) bool {
	if len(e.c.groupSteps(l.item, v)) > 0 {
		return true
	}
	for _, r := range e.c.bedRules {
		if r.visitOK(v) {
			return true
		}
	}
	return false
}

// retainRun adds to the institution state the lines of batch lb before
// line `to` that its plan (planRetain) has from cursors ji (joins) and mi
// (marks) on: a line joins the state's group lists its plan names, and is
// retained (refs) when it joins one. The state holds lb (lineBatch.held)
// from its first retained line until it is finalized; an institution's
// lines arrive in order, so lb is the last batch held or a new one. It
// returns the cursors past `to`.
func (st *instState) retainRun(lb *lineBatch, to int32, ji, mi int) (int, int) {
	last := int32(-1)
	for ; ji < len(lb.joins) && lb.joins[ji].line < to; ji++ {
		j := lb.joins[ji]
		if j.line != last {
			if n := len(st.batches); n == 0 || st.batches[n-1] != lb {
				lb.held.Add(1)
				st.batches = append(st.batches, lb)
			}
			st.refs = append(st.refs, lineRef{int32(len(st.batches) - 1), j.line})
			last = j.line
		}
		st.lists[j.g][j.role] = append(st.lists[j.g][j.role], int32(len(st.refs)-1))
	}
	for ; mi < len(lb.marks) && lb.marks[mi].line < to; mi++ {
		k := lb.marks[mi]
		if st.lastMark[k.b] != k.key {
			st.marks[k.b] = append(st.marks[k.b], k.key)
			st.lastMark[k.b] = k.key
		}
	}
	return ji, mi
}

// finalize evaluates the grouped and visit-level rules of a complete
// institution. st may be nil (no retained lines).
func (e *engine) finalize(inst int32, st *instState) []finding {
	var out []finding
	if st != nil {
		for g, r := range e.c.groupRules {
			out = r.eval.group(e, r, st, st.lists[g], out)
		}
		e.releaseInstState(st)
	}
	if len(e.c.visitRules) > 0 { // else the model has no instVisits
		m := e.m
		vs := m.instVisits[m.instVisitStart[inst]:m.instVisitStart[inst+1]]
		for _, r := range e.c.visitRules {
			out = r.eval.visit(e, r, vs, out)
		}
	}
	return out
}

// lineLess is the line order of docs/rules.md: fee_ocur_time, feedetl_sn.
func (st *instState) lineLess(a, b int32) bool {
	la, lb := st.line(a), st.line(b)
	if la.time != lb.time {
		return la.time < lb.time
	}
	return bytes.Compare(st.sn(a), st.sn(b)) < 0
}

func (e *engine) lineFinding(r *crule, st *instState, i int32, amount int64, ev string) finding {
	l := st.line(i)
	return finding{rule: r.slot, visit: l.visit, item: l.item, sn: string(st.sn(i)), amount: amount, evidence: ev}
}

func (e *engine) los(v *visit) int32 {
	d := dayOf(v.end()) - dayOf(v.begin)
	if d < 1 {
		d = 1
	}
	return d
}

// partners returns the valid inpatient visits in the window of a person
// (model.stayPerson; -1: none).
func (e *engine) partners(psn int32) []int32 {
	if psn < 0 || int(psn)+1 >= len(e.partnerStart) {
		return nil
	}
	return e.partnerVisits[e.partnerStart[psn]:e.partnerStart[psn+1]]
}

// buildPartners indexes every valid inpatient visit in the window by
// person, regardless of shard and city (docs/rules.md, OverlappingStays).
func (e *engine) buildPartners() {
	m := e.m
	e.partnerStart = make([]int32, m.stays.len()+1)
	for s, vi := range m.stayVisit { // dropped duplicates are no longer stays
		if v := &m.visits[vi]; v.inpatient && v.inWindow {
			e.partnerStart[m.stayPerson[s]+1]++
		}
	}
	for i := 1; i < len(e.partnerStart); i++ {
		e.partnerStart[i] += e.partnerStart[i-1]
	}
	e.partnerVisits = make([]int32, e.partnerStart[len(e.partnerStart)-1])
	fill := append([]int32(nil), e.partnerStart[:len(e.partnerStart)-1]...)
	for s, vi := range m.stayVisit {
		if v := &m.visits[vi]; v.inpatient && v.inWindow {
			p := m.stayPerson[s]
			e.partnerVisits[fill[p]] = vi
			fill[p]++
		}
	}
}
