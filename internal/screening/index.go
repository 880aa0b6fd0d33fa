package screening

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
)

// The visit index is the largest hash table of a run (one entry per
// visit; the stays' index of OverlappingStays has one per inpatient stay). Inserting millions of ids into one
// big table from the single in-order loader is dominated by cache misses,
// so the loader only appends the ids to an arena with their hashes, and
// the tables are built afterwards in parallel: the hash's top bits choose
// a partition (the stays: one of indexParts; the visits: one of many small
// regions, idIndex), each filled by one goroutine in input order. Input
// order within a partition is what "first occurrence wins" needs, so the
// result does not depend on the number of workers.

const indexParts = 16

func partOf(h uint32) int { return int(h >> 28) }

// strArena stores strings back to back; id i is data[offs[i]:offs[i+1]].
// While every string has had the same length — the ids of claims mostly
// do: mdtrt_id and psn_no are fixed-width codes — offs is not written and
// id i is data[i·width:(i+1)·width]: 4 bytes less a string of fresh
// memory (34 MB for the visits' two arenas at 20 M lines, the dearest
// kind: docs/benchmarks.md) and no offset to load. The first string of
// another length writes offs for those before it (unfix).
type strArena struct {
	data  []byte
	offs  []uint32 // nil while the arena is of fixed width
	n     int      // strings, while of fixed width
	width int      // their length, while of fixed width (set by the first)
	spare []uint32 // a buffer for offs, until it is needed
}

// newStrArena returns an arena for about capacity strings; the offsets'
// array is reserved, and touched only if the strings' lengths differ.
func newStrArena(capacity int) strArena {
	return strArena{spare: hugePages(make([]uint32, 0, capacity+1))}
}

func (a *strArena) add(b []byte) int32 {
	if len(a.data)+len(b) > cap(a.data) {
		a.grow(len(b), len(b))
	}
	if a.offs == nil {
		if a.n == 0 {
			a.width = len(b)
		}
		if len(b) == a.width {
			a.data = append(a.data, b...)
			a.n++
			return int32(a.n - 1)
		}
		a.unfix()
	}
	a.data = append(a.data, b...)
	a.offs = append(a.offs, uint32(len(a.data)))
	return int32(len(a.offs) - 2)
}

// unfix writes the offsets of the strings so far (of one width), for a
// string of another.
func (a *strArena) unfix() {
	offs := a.spare[:0]
	if cap(offs) < a.n+1 {
		offs = make([]uint32, 0, 2*(a.n+1))
	}
	for i := range a.n + 1 {
		offs = append(offs, uint32(i*a.width))
	}
	a.offs, a.spare, a.n, a.width = offs, nil, 0, 0
}

// grow makes room for n more bytes: by doubling, at least to the expected
// size (capacity for offsets × each, the length of a typical string):
// append's 1.25× steps would copy a 100 MB arena many times.
func (a *strArena) grow(n, each int) {
	want := max(2*cap(a.data), len(a.data)+n, (max(cap(a.offs), cap(a.spare))-1)*each*9/8)
	data := hugePages(make([]byte, len(a.data), want))
	copy(data, a.data)
	a.data = data
}

// addAll adds every string of b, in order.
func (a *strArena) addAll(b *strArena) {
	k := b.len()
	if k == 0 {
		return
	}
	if len(a.data)+len(b.data) > cap(a.data) {
		a.grow(len(b.data), len(b.data)/k)
	}
	if a.offs == nil && b.offs == nil && (a.n == 0 || a.width == b.width) {
		if l := len(a.data); l < cap(a.data) && &a.data[:l+1][l] == &b.data[0] {
			// b follows a's strings in one array (an idPlace): there already
			a.data = a.data[:l+len(b.data)]
		} else {
			a.data = append(a.data, b.data...)
		}
		a.n, a.width = a.n+b.n, b.width
		return
	}
	if a.offs == nil {
		a.unfix()
	}
	base := uint32(len(a.data))
	a.data = append(a.data, b.data...)
	if b.offs == nil {
		for i := 1; i <= b.n; i++ {
			a.offs = append(a.offs, base+uint32(i*b.width))
		}
		return
	}
	for _, o := range b.offs[1:] {
		a.offs = append(a.offs, base+o)
	}
}

// reuse empties a for n strings of size bytes in all, keeping its buffers
// when they are large enough. New buffers get a power of two of room, so
// that a recycled buffer fits most later batches: at exact sizes, 748 of
// the 4 704 buffers the 20 M-line set's visits batches asked for were
// new (48 MiB, all fresh pages, the dearest kind: docs/benchmarks.md);
// rounded, 363 (34 MiB). The offsets' buffer is made only when a batch's
// strings differ in length (unfix).
func (a strArena) reuse(size, n int) strArena {
	if cap(a.data) < size {
		a.data = make([]byte, 0, roomFor(size))
	}
	spare := a.spare
	if a.offs != nil {
		spare = a.offs
	}
	if cap(spare) < n+1 {
		spare = nil
	}
	return strArena{data: a.data[:0], spare: spare[:0]}
}

// bytes is the memory a holds.
func (a *strArena) bytes() int { return cap(a.data) + 4*(cap(a.offs)+cap(a.spare)) }

// roomFor is the power of two at least n, and at least 1 Ki.
func roomFor(n int) int { return 1 << max(10, bits.Len(uint(max(n, 1)-1))) }

func (a *strArena) get(id int32) []byte {
	if a.offs == nil {
		o := int(id) * a.width
		return a.data[o : o+a.width]
	}
	return a.data[a.offs[id]:a.offs[id+1]]
}

func (a *strArena) str(id int32) string { return string(a.get(id)) }

func (a *strArena) len() int {
	if a.offs == nil {
		return a.n
	}
	return len(a.offs) - 1
}

// partTable is one partition's open-addressing table of hash<<32 | id+1.
type partTable struct {
	slots []uint64
	mask  uint32
}

func newPartTable(n int) partTable {
	var t partTable
	t.reset(n)
	return t
}

// reset empties the table and sizes it for n entries, reusing its slots
// when they are enough.
func (t *partTable) reset(n int) {
	size := 16
	for size*3 < n*4 {
		size <<= 1
	}
	t.slots, t.mask = resize(t.slots, size), uint32(size-1)
	clear(t.slots)
}

// find returns the id stored for b (hash h), or -1 and the free slot.
func (t *partTable) find(a *strArena, b []byte, h uint32) (int32, uint32) {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		e := t.slots[i]
		if e == 0 {
			return -1, i
		}
		if uint32(e>>32) == h {
			if id := int32(uint32(e)) - 1; bytes.Equal(a.get(id), b) {
				return id, i
			}
		}
	}
}

// insert adds id of a (hash h) unless an earlier id has the same bytes,
// and returns that id, or -1 once added. Unlike find with the id's bytes,
// it reads them only when a slot has the same hash: the ids a partition
// holds are spread over the arena, and reading each would miss the cache.
func (t *partTable) insert(a *strArena, id int32, h uint32) int32 {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		e := t.slots[i]
		if e == 0 {
			t.slots[i] = uint64(h)<<32 | uint64(id+1)
			return -1
		}
		if first := int32(e) - 1; uint32(e>>32) == h && bytes.Equal(a.get(first), a.get(id)) {
			return first
		}
	}
}

// partitionIDs groups ids by partition, each group in id order.
func partitionIDs(hashes []uint32) (start [indexParts + 1]int, order []int32) {
	var count [indexParts]int
	for _, h := range hashes {
		count[partOf(h)]++
	}
	for p := 0; p < indexParts; p++ {
		start[p+1] = start[p] + count[p]
	}
	order = hugePages(make([]int32, len(hashes)))
	fill := start
	for id, h := range hashes {
		p := partOf(h)
		order[fill[p]] = int32(id)
		fill[p]++
	}
	return start, order
}

// padded is a worker's state alone on its cache lines. Workers update
// their state at every row, and two states on one line made it move
// between the cores at each write (false sharing): the diagnoses' visit
// lookups, whose two finders were neighbours in one slice, took ≈ 80 ns
// each, most of it at the first load of the finder (perf annotate).
type padded[T any] struct {
	v T
	_ [128]byte // two lines: the neighbouring line is prefetched too
}

// forEach calls fn(w, i) for every i in [0, n), on workers goroutines
// that take the next i as they finish (items of uneven size balance); w
// is the goroutine's number, for scratch space of its own.
func forEach(n, workers int, fn func(w, i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < max(1, workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(w, i)
			}
		}()
	}
	wg.Wait()
}

// forChunksW calls fn(w, from, to) on workers contiguous parts of [0, n) at
// once, part w on goroutine w.
func forChunksW(n, workers int, fn func(w, from, to int)) {
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(w, n*w/workers, n*(w+1)/workers)
		}()
	}
	wg.Wait()
}

// forChunks calls fn on workers contiguous parts of [0, n) at once (for
// loops whose items are too small to hand out one by one).
func forChunks(n, workers int, fn func(from, to int)) {
	forChunksW(n, max(1, workers), func(_, from, to int) { fn(from, to) })
}

// idIndex maps visit ids (mdtrt_id) to their position. Ids are added in
// input order; build reports the positions whose id repeats an earlier
// one, and lookup finds an id's first position.
//
// Exports list visits in an order their ids mostly follow (by institution,
// then by visit: a few runs of increasing ids). While the ids added form
// at most maxRuns such runs, build finds the repeats by merging the runs
// (index_runs.go) and lookup searches them: the fee pass, which finds
// nearly every line's visit next to the previous line's (visitFinder),
// looks up a few hundred ids at 20 M lines, and the hash table below
// would cost more to build (two thirds of the visits' index phase, and
// 100 MB of fresh memory: docs/benchmarks.md) than all those lookups. If
// lookups turn out many (lines not in visit order), the table is built
// then, once.
//
// The table is one array of regions, a region per value of the hash's top
// bits, each an open-addressing table (partTable) of 512 to 1 024 ids in
// 8 or 16 KiB of slots, which stay in the L1 cache while it is filled.
// hashAll sorts the (hash, id) pairs into their regions first — a
// counting sort, stable, so that each region is filled in input order
// ("first occurrence wins") — then fills the regions in parallel, reading
// an id's bytes only when a slot has its hash. Inserting in input order
// into 16 tables of 4 MiB missed the cache about once an id
// (BenchmarkIDIndexBuild, 4.3 M ids: 77–105 against 157–214 ms;
// docs/benchmarks.md).
type idIndex struct {
	strArena
	idRuns
	n       int32 // the ids build indexed (later ones are only stored)
	workers int

	// The table: written by hashAll, read once hashed is set.
	hashed  atomic.Bool
	once    sync.Once
	slots   []uint64 // the regions, back to back
	regBits uint     // log2 of the regions' number; region of h: h >> (32 - regBits)
	slotLog uint     // log2 of a region's slots
	// lookups searched in the runs, and how many make the table worth it
	lookups atomic.Int64
	budget  int64
}

func (x *idIndex) add(b []byte) int32 {
	x.noteNext(&x.strArena, b)
	return x.strArena.add(b)
}

// addAll adds every id of b, whose runs of increasing ids start at breaks
// (past the first; idRuns.noteBatch).
func (x *idIndex) addAll(b *strArena, br batchRuns) {
	x.noteBatch(&x.strArena, b, br)
	x.strArena.addAll(b)
}

// idsPerRegion is the mean number of ids in a region (at most; at least
// half as many): 1 024 ids in 2 048 slots of 8 bytes fill half the L1.
const idsPerRegion = 1024

// build indexes every id added so far and returns the positions of the
// repeated ones, ascending. hash: build the table now whatever the ids'
// order (lookups will be many: the partial scope's second pass).
func (x *idIndex) build(workers int, hash bool) []int32 {
	x.n, x.workers = int32(x.len()), max(1, workers)
	if !hash && !x.many {
		if dups, ok := x.runDups(&x.strArena, x.n); ok {
			// Lookups in the runs (each searches up to every run) stop
			// paying once they add up to a tenth or so of the table's
			// build: ≈ 5 000 of them at 4.3 M ids in 13 runs, 2.8 µs
			// each (BenchmarkIDIndexLookupRuns) against 180–230 ms of
			// CPU for the table (BenchmarkIDIndexBuild). A clustered
			// 20 M-line run looks up 61–181.
			x.budget = max(1024, int64(x.n)/(64*int64(x.count())))
			return dups
		}
	}
	var dups []int32
	x.once.Do(func() { dups = x.hashAll(x.workers) })
	return dups
}

// hashAll builds the table of ids [0, n) and returns the repeated ones.
func (x *idIndex) hashAll(workers int) []int32 {
	n := int(x.n)
	x.regBits = 0
	for n>>x.regBits > idsPerRegion && x.regBits < 20 {
		x.regBits++
	}
	regions := 1 << x.regBits
	shift := 32 - x.regBits // a uint32 shifted by 32 is 0: one region
	// Each worker hashes and counts the regions of a contiguous part of
	// the ids, then puts them in place after the earlier parts' ids of the
	// same region.
	hashes := hugePages(make([]uint32, n))
	count := make([][]int, workers)
	forChunksW(n, workers, func(w, from, to int) {
		c := make([]int, regions)
		for id := from; id < to; id++ {
			h := hashBytes(x.get(int32(id)))
			hashes[id] = h
			c[h>>shift]++
		}
		count[w] = c
	})
	start := make([]int, regions+1)
	most := 0
	for r, pos := 0, 0; r < regions; r++ {
		start[r] = pos
		for w := range count {
			c := count[w][r]
			count[w][r] = pos // now where worker w's next id of region r goes
			pos += c
		}
		most = max(most, pos-start[r])
		start[r+1] = pos
	}
	pairs := hugePages(make([]uint64, n)) // hash<<32 | id, by region
	forChunksW(n, workers, func(w, from, to int) {
		next := count[w]
		for id := from; id < to; id++ {
			h := hashes[id]
			r := h >> shift
			pairs[next[r]] = uint64(h)<<32 | uint64(id)
			next[r]++
		}
	})
	// Regions of one size, the largest region's ids at most ¾ full.
	size := 16
	for size*3 < most*4 {
		size <<= 1
	}
	x.slotLog = uint(bits.TrailingZeros(uint(size)))
	x.slots = hugePages(make([]uint64, regions*size))
	dups := make([][]int32, workers)
	forEach(regions, workers, func(w, r int) {
		t := x.region(uint32(r))
		for _, p := range pairs[start[r]:start[r+1]] {
			if id := int32(uint32(p)); t.insert(&x.strArena, id, uint32(p>>32)) >= 0 {
				dups[w] = append(dups[w], id)
			}
		}
	})
	x.hashed.Store(true)
	var all []int32
	for _, d := range dups {
		all = append(all, d...)
	}
	slices.Sort(all)
	return all
}

// region returns region r's table.
func (x *idIndex) region(r uint32) partTable {
	lo := int(r) << x.slotLog
	hi := lo + 1<<x.slotLog
	return partTable{slots: x.slots[lo:hi:hi], mask: uint32(1)<<x.slotLog - 1}
}

// lookup returns the first position of id b, or -1 (before build too).
func (x *idIndex) lookup(b []byte) int32 {
	if !x.hashed.Load() {
		if x.lookups.Add(1) <= x.budget {
			return x.searchRuns(&x.strArena, x.n, b)
		}
		if x.workers == 0 {
			return -1 // not built
		}
		x.once.Do(func() { x.hashAll(x.workers) })
	}
	h := hashBytes(b)
	t := x.region(h >> (32 - x.regBits))
	id, _ := t.find(&x.strArena, b, h)
	return id
}

// keyIndex assigns dense ids to distinct keys (person numbers), in order
// of first occurrence. It keeps no copy of the keys: its tables point at
// each key's first position in src (model.stayPsn, the inpatient stays'
// psn_no); the model keeps each position's key id (model.stayPerson).
type keyIndex struct {
	src   *strArena
	n     int // distinct keys
	parts [indexParts]partTable
}

// buildKeyIndex indexes the keys of src (with their hashes) and returns
// the index and each entry's key id.
func buildKeyIndex(src *strArena, hashes []uint32, workers int) (*keyIndex, []int32) {
	start, order := partitionIDs(hashes)
	// First the partitions, in parallel: a first occurrence is marked -1,
	// a repeat holds its first occurrence's position.
	ids := make([]int32, len(hashes))
	x := &keyIndex{src: src}
	forEach(indexParts, workers, func(_, p int) {
		pos := order[start[p]:start[p+1]]
		t := newPartTable(len(pos) / 2)
		n := 0
		for _, i := range pos {
			if found := t.insert(src, i, hashes[i]); found >= 0 {
				ids[i] = found
			} else {
				ids[i] = -1
				n++
				if uint64(n)*4 > uint64(t.mask)*3 {
					t = regrow(t)
				}
			}
		}
		x.parts[p] = t
	})
	// Then ids in order of first occurrence, which, unlike the partitions
	// (the hash is seeded per process), is the same in every run.
	for i, f := range ids {
		if f < 0 {
			ids[i] = int32(x.n)
			x.n++
		} else {
			ids[i] = ids[f]
		}
	}
	return x, ids
}

func regrow(t partTable) partTable {
	n := partTable{slots: make([]uint64, len(t.slots)*2), mask: uint32(len(t.slots)*2 - 1)}
	for _, e := range t.slots {
		if e != 0 {
			i := uint32(e>>32) & n.mask
			for n.slots[i] != 0 {
				i = (i + 1) & n.mask
			}
			n.slots[i] = e
		}
	}
	return n
}

func (x *keyIndex) len() int { return x.n }

// first returns the position in src of b's first occurrence, or -1.
func (x *keyIndex) first(b []byte) int32 {
	h := hashBytes(b)
	t := &x.parts[partOf(h)]
	if t.slots == nil {
		return -1
	}
	pos, _ := t.find(x.src, b, h)
	return pos
}

// visitFinder resolves mdtrt_id to a visit index. Tables exported visit by
// visit list a visit's rows together and visits in the visits table's
// order, so the next visit is tried before the hash table.
type visitFinder struct {
	m    *model
	last int32
	md   []byte
}

func (f *visitFinder) find(md []byte) int32 {
	if f.md != nil && sameBytes(md, f.md) {
		return f.last
	}
	m := f.m
	v := int32(-1)
	if next := f.last + 1; f.md != nil && f.last >= 0 && int(next) < len(m.visits) && sameBytes(m.mdtrt.get(next), md) && !m.visits[next].dup {
		v = next
	} else {
		v = m.mdtrt.lookup(md)
	}
	f.md = append(f.md[:0], md...)
	f.last = v
	return v
}

// psnOf is the psn_no of visit vi.
func (m *model) psnOf(vi int32) []byte { return m.visitPsn.get(vi) }

// sameBytes is bytes.Equal for the ids the fee pass compares on every
// line (mdtrt_id with the previous line's, psn_no with the visit's): one
// of 8–32 bytes is compared 8 bytes at a time, the last 8 overlapping,
// instead of in a call to the runtime's general comparison, whose call
// and set-up were most of its 3.5 % of a no-rule run (perf, 20 M strings).
func sameBytes(a, b []byte) bool {
	n := len(a)
	if n != len(b) {
		return false
	}
	if n < 8 || n > 32 {
		return string(a) == string(b)
	}
	for i := 0; i < n-8; i += 8 {
		if binary.LittleEndian.Uint64(a[i:]) != binary.LittleEndian.Uint64(b[i:]) {
			return false
		}
	}
	return binary.LittleEndian.Uint64(a[n-8:]) == binary.LittleEndian.Uint64(b[n-8:])
}
