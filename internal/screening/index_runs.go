package screening

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"slices"
	"sort"
)

// Runs of increasing ids (idIndex): the visits' ids in input order are
// split where an id is not above the one before it. Within a run no id
// repeats, so the repeats are found by merging the runs, and an id is
// found by a binary search in each. Exports list visits by institution
// and each institution's by visit, so their ids form few runs (13 in the
// benchmark's 4.3 M: one per city) and the merge takes long stretches
// from one run at a time (galloping). Past maxRuns, the ids are left to
// the hash table.

// maxRuns is the most runs an idIndex merges and searches: a merge step
// goes through a heap of 6 levels, and a lookup (rare, visitFinder) does
// up to 64 binary searches.
const maxRuns = 64

// idRuns records where the runs of an arena's ids start.
type idRuns struct {
	breaks []int32 // first id of each run but the first
	many   bool    // more than maxRuns runs: no longer recorded
}

// batchRuns are the runs within a batch of ids (runsOf).
type batchRuns struct {
	breaks []int32 // positions in the batch
	many   bool
}

// runsOf finds the runs of the ids of a batch (in a worker: the loader
// only adds them).
func runsOf(a *strArena) batchRuns {
	var r batchRuns
	for i := 1; i < a.len(); i++ {
		if !idAbove(a.get(int32(i)), a.get(int32(i-1))) {
			if len(r.breaks) == maxRuns {
				return batchRuns{many: true}
			}
			r.breaks = append(r.breaks, int32(i))
		}
	}
	return r
}

func (r *idRuns) count() int { return len(r.breaks) + 1 }

func (r *idRuns) newRun(at int) {
	if r.many {
		return
	}
	if len(r.breaks)+1 == maxRuns {
		r.breaks, r.many = nil, true
		return
	}
	r.breaks = append(r.breaks, int32(at))
}

// idAbove reports whether a sorts after b (bytes.Compare(a, b) > 0). Ids
// of one length of 8 to 32 bytes — mdtrt_id mostly — are compared as
// big-endian words, the last overlapping (as sameBytes does), without the
// call bytes.Compare makes: the workers compare every visit's id with the
// one before it.
func idAbove(a, b []byte) bool {
	n := len(a)
	if n != len(b) || n < 8 || n > 32 {
		return bytes.Compare(a, b) > 0
	}
	be := binary.BigEndian
	for i := 0; i < n-8; i += 8 {
		if x, y := be.Uint64(a[i:]), be.Uint64(b[i:]); x != y {
			return x > y
		}
	}
	return be.Uint64(a[n-8:]) > be.Uint64(b[n-8:])
}

// noteNext records whether id b, about to be added to a, starts a run.
func (r *idRuns) noteNext(a *strArena, b []byte) {
	if k := a.len(); k > 0 && !r.many && !idAbove(b, a.get(int32(k-1))) {
		r.newRun(k)
	}
}

// noteBatch records the runs of batch b (br), about to be added to a.
func (r *idRuns) noteBatch(a, b *strArena, br batchRuns) {
	if b.len() == 0 || r.many {
		return
	}
	if br.many {
		r.breaks, r.many = nil, true
		return
	}
	k := a.len()
	r.noteNext(a, b.get(0))
	for _, i := range br.breaks {
		r.newRun(k + int(i))
	}
}

// bounds returns run k of the ids [0, n).
func (r *idRuns) bounds(k int, n int32) (lo, hi int32) {
	if k > 0 {
		lo = r.breaks[k-1]
	}
	hi = n
	if k < len(r.breaks) {
		hi = r.breaks[k]
	}
	return lo, hi
}

// searchRuns returns the first position of b among ids [0, n) of a, or
// -1: the runs are searched in order, so a repeat's earlier position wins.
func (r *idRuns) searchRuns(a *strArena, n int32, b []byte) int32 {
	for k := range r.count() {
		lo, hi := r.bounds(k, n)
		if lo == hi || bytes.Compare(b, a.get(lo)) < 0 || bytes.Compare(b, a.get(hi-1)) > 0 {
			continue
		}
		if i := firstAtLeast(a, lo, hi, b); i < hi && bytes.Equal(a.get(i), b) {
			return i
		}
	}
	return -1
}

// firstAtLeast is the first position in [lo, hi) of the increasing ids of
// a whose id is at least key (hi if none), found by galloping from lo:
// probes at lo, lo+1, lo+3, lo+7…, then a binary search between the last
// two, so a merge that takes a few ids from a run pays a few comparisons.
func firstAtLeast(a *strArena, lo, hi int32, key []byte) int32 {
	below, step := lo, int32(1) // every id before below is below key
	probe := lo
	for {
		probe = lo + step - 1
		if probe >= hi {
			probe = hi
			break
		}
		if bytes.Compare(a.get(probe), key) >= 0 {
			break
		}
		below, step = probe+1, step*2
	}
	return below + int32(sort.Search(int(probe-below), func(k int) bool {
		return bytes.Compare(a.get(below+int32(k)), key) >= 0
	}))
}

// runDups merges the runs of ids [0, n) of a and returns the positions of
// the ids that repeat an earlier one, ascending. ok is false when the runs
// interleave so finely (more than n/64 switches from one run to another)
// that the hash table is the cheaper way; the caller builds it then.
func (r *idRuns) runDups(a *strArena, n int32) (dups []int32, ok bool) {
	if r.count() == 1 {
		return nil, true
	}
	h := &runHeap{a: a}
	for k := range r.count() {
		if lo, hi := r.bounds(k, n); lo < hi {
			h.runs = append(h.runs, mergeRun{lo, hi})
		}
	}
	heap.Init(h)
	switches, limit := 0, int(n)/64+maxRuns
	for len(h.runs) > 1 {
		top := &h.runs[0]
		next := 1 // the second smallest head is a child of the root
		if len(h.runs) > 2 && h.Less(2, 1) {
			next = 2
		}
		nx := &h.runs[next]
		if bytes.Equal(a.get(top.pos), a.get(nx.pos)) {
			// Equal heads are ordered by position: the next one repeats the top's.
			dups = append(dups, nx.pos)
			if nx.pos++; nx.pos == nx.end {
				heap.Remove(h, next)
			} else {
				heap.Fix(h, next)
			}
			continue
		}
		if switches++; switches > limit {
			return nil, false
		}
		// The top's ids below the next head are in no other run.
		if top.pos = firstAtLeast(a, top.pos+1, top.end, a.get(nx.pos)); top.pos == top.end {
			heap.Pop(h)
		} else {
			heap.Fix(h, 0)
		}
	}
	slices.Sort(dups)
	return dups, true
}

// mergeRun is the part [pos, end) of a run not yet merged.
type mergeRun struct{ pos, end int32 }

// runHeap orders runs by their head id, then by position.
type runHeap struct {
	a    *strArena
	runs []mergeRun
}

func (h *runHeap) Len() int { return len(h.runs) }
func (h *runHeap) Less(i, j int) bool {
	if c := bytes.Compare(h.a.get(h.runs[i].pos), h.a.get(h.runs[j].pos)); c != 0 {
		return c < 0
	}
	return h.runs[i].pos < h.runs[j].pos
}
func (h *runHeap) Swap(i, j int) { h.runs[i], h.runs[j] = h.runs[j], h.runs[i] }
func (h *runHeap) Push(x any)    { h.runs = append(h.runs, x.(mergeRun)) }
func (h *runHeap) Pop() any {
	x := h.runs[len(h.runs)-1]
	h.runs = h.runs[:len(h.runs)-1]
	return x
}
