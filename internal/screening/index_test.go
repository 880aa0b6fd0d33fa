package screening

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"unsafe"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// Person ids must not depend on the hash seed, which differs per process:
// they number the stays' persons of OverlappingStays, and an order built
// on them must be the same in every run.
func TestKeyIndexIDsFollowFirstOccurrence(t *testing.T) {
	keys := []string{"P7", "P3", "P7", "P9", "P3", "P1", "P9", "P7"}
	want := []int32{0, 1, 0, 2, 1, 3, 2, 0}
	saved := internSeed
	defer func() { internSeed = saved }()
	for run := 0; run < 5; run++ {
		internSeed = maphash.MakeSeed() // as a new process would have
		a := newStrArena(len(keys))
		var hashes []uint32
		for _, k := range keys {
			a.add([]byte(k))
			hashes = append(hashes, hashBytes([]byte(k)))
		}
		x, ids := buildKeyIndex(&a, hashes, 2)
		if !slices.Equal(ids, want) || x.len() != 4 {
			t.Fatalf("seed %d: ids %v (%d keys), want %v (4 keys)", run, ids, x.len(), want)
		}
		for i, k := range keys {
			if got := x.first([]byte(k)); got < 0 || ids[got] != want[i] {
				t.Fatalf("seed %d: first(%s) = %d", run, k, got)
			}
		}
		if x.first([]byte("P2")) != -1 {
			t.Fatalf("seed %d: an unknown key was found", run)
		}
	}
}

func TestReadmissionOrderSameInEveryProcess(t *testing.T) {
	d := newDataset()
	for p := 0; p < 40; p++ {
		psn := fmt.Sprintf("P%03d", (p*17)%40) // persons not in key order
		a, b := fmt.Sprintf("A%03d", p), fmt.Sprintf("B%03d", p)
		d.visit(a, psn, "H1", "21", at("01", "08:00:00"), at("05", "10:00:00"), "1", "60")
		d.visit(b, psn, "H1", "21", at("10", "08:00:00"), at("12", "10:00:00"), "1", "60")
		d.diag(a, "J18.000", "1").diag(b, "J18.000", "1")
	}
	dir := t.TempDir()
	d.write(t, dir, "parquet")
	rs := []rules.Rule{rule("R", rules.Readmission, rules.Inpatient, rules.Params{WithinDays: i32(15)})}
	saved := internSeed
	defer func() { internSeed = saved }()
	var first []string
	for run := 0; run < 4; run++ {
		internSeed = maphash.MakeSeed() // as a new process would have
		fs, _ := screen(t, dir, rs, nil)
		var got []string
		for _, f := range fs {
			got = append(got, f.MdtrtID)
		}
		if len(got) != 40 {
			t.Fatalf("run %d: %d findings, want 40", run, len(got))
		}
		if run == 0 {
			first = got
			// Persons in order of their first visit: B000, B001, ….
			for p, id := range got {
				if want := fmt.Sprintf("B%03d", p); id != want {
					t.Fatalf("finding %d is %s, want %s", p, id, want)
				}
			}
		} else if !slices.Equal(got, first) {
			t.Fatalf("run %d: findings in another order:\n%v\nfirst run:\n%v", run, got, first)
		}
	}
}

// Persons are numbered within each institution, in order of their first
// visit there: the same psn_no at two institutions is two numbers, one
// institution's repeat visit keeps its number, and visits out of scope
// get none.
func TestNumberPersonsWithinEachInstitution(t *testing.T) {
	m := &model{insts: make([]institution, 3)}
	type row struct {
		psn     string
		inst    int32
		inScope bool
	}
	rows := []row{{"P1", 0, true}, {"P2", 0, true}, {"P1", 1, true}, {"P1", 0, true}, {"P3", 1, true},
		{"P2", 1, false}, {"P3", 1, true}, {"P9", 0, true}}
	m.visitPsn = newStrArena(len(rows))
	for _, r := range rows {
		m.visitPsn.add([]byte(r.psn))
	}
	for _, persons := range []bool{true, false} {
		m.visits, m.instVisits, m.instVisitStart, m.visitPerson = m.visits[:0], nil, nil, nil
		for _, r := range rows {
			m.visits = append(m.visits, visit{inst: r.inst, inScope: r.inScope})
		}
		m.indexInstVisits(false, 3) // the count only
		if m.visitsInScope != 7 || m.instVisits != nil {
			t.Fatalf("counted %d visits in scope (CSR %v), want 7 and no CSR", m.visitsInScope, m.instVisits)
		}
		m.indexInstVisits(true, 3)
		if m.visitsInScope != 7 {
			t.Fatalf("%d visits in scope with the CSR, want 7", m.visitsInScope)
		}
		if want := []int32{0, 4, 7, 7}; !slices.Equal(m.instVisitStart, want) {
			t.Fatalf("instVisitStart %v, want %v", m.instVisitStart, want)
		}
		if want := []int32{0, 1, 3, 7, 2, 4, 6}; !slices.Equal(m.instVisits, want) {
			t.Fatalf("instVisits %v, want %v", m.instVisits, want)
		}
		m.numberPersons(persons, 2)
		var got []int32
		for vi := range m.visits {
			got = append(got, m.personOf(int32(vi)))
		}
		want := []int32{0, 1, 0, 0, 1, -1, 1, 2}
		if !persons {
			want = []int32{-1, -1, -1, -1, -1, -1, -1, -1}
		}
		if !slices.Equal(got, want) {
			t.Errorf("persons=%v: numbers %v, want %v", persons, got, want)
		}
	}
}

// The deaths filter may let a stranger through, never drop a person of
// the shard.
func TestHashBitsHasEveryStringAdded(t *testing.T) {
	a := newStrArena(1000)
	for i := 0; i < 1000; i++ {
		a.add([]byte(fmt.Sprintf("P%06d", i)))
	}
	b := newHashBits(&a, 2)
	for i := 0; i < 1000; i++ {
		if !b.has(a.get(int32(i))) {
			t.Fatalf("P%06d was added but is not in the set", i)
		}
	}
	strangers := 0
	for i := 1000; i < 11000; i++ {
		if b.has([]byte(fmt.Sprintf("P%06d", i))) {
			strangers++
		}
	}
	if strangers > 2500 { // about 1 in 8 expected
		t.Errorf("%d of 10000 strangers pass the filter, want about 1250", strangers)
	}
}

// The visit index against a map: every id found at its first occurrence,
// every later occurrence reported as a duplicate, unknown ids not found,
// whatever the ids' order (one run, a few runs merged, runs too many or
// too finely interleaved for the merge: the table), the number of regions
// and workers, and whether lookups stay few or make the table worth it.
func TestIDIndexMatchesMap(t *testing.T) {
	orders := map[string]func(i, n int) string{
		// increasing, as one run
		"sorted": func(i, n int) string { return fmt.Sprintf("MD%07d", i) },
		// the benchmark's shape: per city, its hospitals' ids then its
		// clinics' (H… < P…), so each city's ids are a run that overlaps
		// the next city's
		"cities": func(i, n int) string {
			per := max(1, n/13)
			c, k := i/per, i%per
			kind := "H"
			if k >= per/2 {
				kind = "P"
			}
			return fmt.Sprintf("%s%02d%07d", kind, c, k)
		},
		// two runs interleaved id by id: the merge gives up
		"interleaved": func(i, n int) string { return fmt.Sprintf("MD%07d", i/2+(i%2)*(n/2)) },
		// no order at all: too many runs to record
		"scrambled": func(i, n int) string { return fmt.Sprintf("MD%07d", (i*7919)%max(1, n)) },
	}
	for name, idOf := range orders {
		for _, n := range []int{0, 1, 17, 1000, 5000, 300_000} {
			for _, workers := range []int{1, 2, 3} {
				x := &idIndex{strArena: newStrArena(n)}
				first := map[string]int32{}
				var want []int32
				step := max(97, n/10) // few repeats: each starts a run
				for i := 0; i < n; i++ {
					id := idOf(i, n)
					if i%step == 5 || i%(3*step+1) == 7 { // repeats of earlier ids, some repeated twice
						id = idOf((i*7)%(i/2+1), n)
					}
					if _, ok := first[id]; ok {
						want = append(want, int32(i))
					} else {
						first[id] = int32(i)
					}
					x.add([]byte(id))
				}
				if got := x.lookup([]byte(idOf(0, n))); got != -1 {
					t.Fatalf("%s, n %d: found before build at %d", name, n, got)
				}
				dups := x.build(workers, false)
				if !slices.Equal(dups, want) {
					t.Fatalf("%s, n %d, %d workers: %d duplicates %v…, want %d %v…", name, n, workers, len(dups), dups[:min(5, len(dups))], len(want), want[:min(5, len(want))])
				}
				hashed := x.hashed.Load()
				if merged := name == "sorted" || name == "cities"; hashed == merged && n > 2*maxRuns {
					t.Fatalf("%s, n %d: table built %v, want %v", name, n, hashed, !merged)
				}
				// Every id looked up: past the budget when there are more
				// than it allows, and the table, built on the way, gives
				// the same positions.
				for id, pos := range first {
					if got := x.lookup([]byte(id)); got != pos {
						t.Fatalf("%s, n %d, %d workers: lookup(%s) = %d, want %d (table %v)", name, n, workers, id, got, pos, x.hashed.Load())
					}
				}
				if got := x.lookup([]byte("MD-none")); got != -1 {
					t.Fatalf("%s, n %d: an unknown id found at %d", name, n, got)
				}
				if int64(len(first)) > x.budget+1 && !x.hashed.Load() {
					t.Fatalf("%s, n %d: %d lookups past a budget of %d and no table", name, n, len(first), x.budget)
				}
				if x.hashed.Load() && n > 2*idsPerRegion && x.regBits == 0 {
					t.Fatalf("%s, n %d: one region", name, n)
				}
			}
		}
	}
}

// Two goroutines look up ids at once, as the fee pass's workers do, past
// the budget: one builds the table while the other still searches the
// runs or waits for it (go test -race checks how the table is published).
func TestIDIndexTableBuiltDuringLookups(t *testing.T) {
	const n = 20_000
	x := &idIndex{strArena: newStrArena(n)}
	for i := 0; i < n; i++ {
		x.add(benchVisitID(i, n))
	}
	if x.build(2, false); x.hashed.Load() {
		t.Fatal("the table built for 13 runs")
	}
	var wg sync.WaitGroup
	errs := make(chan string, 2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 2 {
				if got := x.lookup(benchVisitID(i, n)); got != int32(i) {
					errs <- fmt.Sprintf("lookup of id %d gave %d", i, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if !x.hashed.Load() {
		t.Errorf("%d lookups past a budget of %d and no table", n, x.budget)
	}
}

// The runs of a batch and of the arena they are added to: a break where an
// id is not above the one before it, also across batches.
func TestIDRunsAcrossBatches(t *testing.T) {
	x := &idIndex{strArena: newStrArena(16)}
	batch := func(ids ...string) {
		b := newStrArena(len(ids))
		for _, id := range ids {
			b.add([]byte(id))
		}
		x.addAll(&b, runsOf(&b))
	}
	batch("A1", "A2", "A3")
	batch("A4", "B1", "A5") // a break in the batch, at A5
	batch("A5", "A6")       // a repeat across batches: a break
	x.add([]byte("A7"))
	x.add([]byte("A0"))
	if want := []int32{5, 6, 9}; !slices.Equal(x.breaks, want) || x.many {
		t.Fatalf("breaks %v (many %v), want %v", x.breaks, x.many, want)
	}
	if dups := x.build(1, false); !slices.Equal(dups, []int32{6}) || x.hashed.Load() {
		t.Fatalf("duplicates %v (table %v), want [6] from the merge", dups, x.hashed.Load())
	}
	var ids []string
	for i := range maxRuns + 1 {
		ids = append(ids, fmt.Sprintf("Z%03d", maxRuns-i))
	}
	batch(ids...)
	if !x.many || x.breaks != nil {
		t.Fatalf("a batch of %d runs: breaks %v, many %v", maxRuns+1, x.breaks, x.many)
	}
}

// benchVisitID is visit id i of n shaped as the benchmark set's: 13
// cities, each its hospitals' ids (H…) then its clinics' (P…), so 13 runs
// of increasing ids that overlap.
func benchVisitID(i, n int) []byte {
	city, k := i/(n/13+1), i%(n/13+1)
	kind := "H"
	if k > n/26 {
		kind = "P"
	}
	return fmt.Appendf(nil, "%s32%02d%013d", kind, city, k)
}

// BenchmarkIDIndexBuild builds the visit index of 4.3 M ids (the 20 M-line
// benchmark set's visits) on two workers: the table, and the merge of 13
// runs shaped as the benchmark's (runDups).
func BenchmarkIDIndexBuild(b *testing.B) {
	const n = 4_300_000
	for _, shape := range []string{"table", "runs"} {
		b.Run(shape, func(b *testing.B) {
			a := newStrArena(n)
			for i := 0; i < n; i++ {
				a.add(benchVisitID(i, n))
			}
			for b.Loop() {
				x := &idIndex{}
				x.noteBatch(&x.strArena, &a, runsOf(&a)) // as the loader does
				x.strArena = a
				if dups := x.build(2, shape == "table"); len(dups) != 0 {
					b.Fatalf("%d duplicates", len(dups))
				}
			}
		})
	}
}

// BenchmarkIDIndexLookupRuns looks up random ids of 4.3 M in the
// benchmark's 13 city runs, without the table: what a lookup costs before
// the budget (idIndex.build) makes the table worth building.
func BenchmarkIDIndexLookupRuns(b *testing.B) {
	const n = 4_300_000
	x := &idIndex{strArena: newStrArena(n)}
	for i := 0; i < n; i++ {
		x.add(benchVisitID(i, n))
	}
	if x.build(2, false); x.count() != 13 || x.hashed.Load() {
		b.Fatalf("%d runs, table %v", x.count(), x.hashed.Load())
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		id := int32(rng.IntN(n))
		if got := x.searchRuns(&x.strArena, x.n, x.get(id)); got != id {
			b.Fatalf("found %d for %d", got, id)
		}
	}
}

// sameBytes must agree with bytes.Equal for every length, whichever byte
// differs: the 8-byte loads, the last overlapping, cover every byte.
func TestSameBytesIsBytesEqual(t *testing.T) {
	for n := range 40 {
		a := make([]byte, n)
		for i := range a {
			a[i] = byte('0' + i%10)
		}
		if !sameBytes(a, bytes.Clone(a)) {
			t.Fatalf("length %d: equal bytes differ", n)
		}
		for i := range n {
			b := bytes.Clone(a)
			b[i] ^= 0x40
			if sameBytes(a, b) || sameBytes(b, a) {
				t.Fatalf("length %d: a change at byte %d goes unseen", n, i)
			}
		}
		if sameBytes(a, append(bytes.Clone(a), '0')) {
			t.Fatalf("length %d: a longer slice is equal", n)
		}
	}
}

// roomFor rounds up to a power of two, at least 1 Ki: a recycled arena
// must have room for any batch no larger than the one it was made for.
func TestRoomForIsAPowerOfTwoAtLeastN(t *testing.T) {
	for _, n := range []int{0, 1, 1023, 1024, 1025, 4096, 70000, 1 << 20, 1<<20 + 1} {
		r := roomFor(n)
		if r < n || r < 1024 || r&(r-1) != 0 || r > 1024 && r/2 >= n {
			t.Errorf("roomFor(%d) = %d", n, r)
		}
	}
}

// A strArena reads back what was added, whether its strings keep one width
// (no offsets), change width after many (unfix), or come in batches
// (addAll) of one width, of another, or mixed, from reused arenas too.
func TestStrArenaMatchesSlices(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	str := func(w int) []byte {
		b := make([]byte, w)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		return b
	}
	check := func(a *strArena, want [][]byte, what string) {
		t.Helper()
		if a.len() != len(want) {
			t.Fatalf("%s: len %d, want %d", what, a.len(), len(want))
		}
		for i, w := range want {
			if got := a.get(int32(i)); !bytes.Equal(got, w) {
				t.Fatalf("%s: string %d is %q, want %q", what, i, got, w)
			}
		}
	}
	fixedSeen, unfixed := false, false
	for round := range 300 {
		a := newStrArena(rng.IntN(50))
		if round%3 == 1 {
			a = strArena{} // the zero arena as well
		}
		var want [][]byte
		width := rng.IntN(4) * 7 // 0 (empty strings) too
		var batch strArena
		for step := range 40 {
			switch rng.IntN(3) {
			case 0: // single strings, now and then of another width
				for range rng.IntN(30) {
					w := width
					if rng.IntN(40) == 0 {
						w = rng.IntN(30)
					}
					b := str(w)
					if id := a.add(b); int(id) != len(want) {
						t.Fatalf("add returned id %d, want %d", id, len(want))
					}
					want = append(want, b)
				}
			default: // a batch, in a reused arena, of this width, another or mixed
				k := rng.IntN(20)
				batch = batch.reuse(rng.IntN(200), k)
				bw := width
				if rng.IntN(4) == 0 {
					bw = rng.IntN(30)
				}
				var bwant [][]byte
				for range k {
					w := bw
					if rng.IntN(10) == 0 {
						w = rng.IntN(30)
					}
					b := str(w)
					batch.add(b)
					bwant = append(bwant, b)
				}
				check(&batch, bwant, fmt.Sprintf("round %d step %d batch", round, step))
				a.addAll(&batch)
				want = append(want, bwant...)
			}
			check(&a, want, fmt.Sprintf("round %d step %d", round, step))
			if a.offs == nil && a.len() > 1 {
				fixedSeen = true
			} else if a.offs != nil {
				unfixed = true
			}
		}
	}
	if !fixedSeen || !unfixed {
		t.Fatalf("the test did not reach both forms: fixed width %v, with offsets %v", fixedSeen, unfixed)
	}
}

// Two workers' states must not share a cache line (64 bytes; 128 with the
// neighbouring line the core prefetches): padded keeps them that far apart.
func TestPaddedKeepsWorkersApart(t *testing.T) {
	states := make([]padded[diagWorker], 3)
	for i := 0; i+1 < len(states); i++ {
		end := uintptr(unsafe.Pointer(&states[i].v)) + unsafe.Sizeof(states[i].v)
		if gap := uintptr(unsafe.Pointer(&states[i+1].v)) - end; gap < 128 {
			t.Fatalf("states %d and %d are %d bytes apart, want at least 128", i, i+1, gap)
		}
	}
}
