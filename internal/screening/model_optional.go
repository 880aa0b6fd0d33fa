package screening

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
)

// The optional reference tables: diagnoses and persons (read only when a
// rule needs them).

// loadDiagnoses reads diagnoses of in-scope visits into a CSR by visit and
// computes each visit's principal-diagnosis category (docs/rules.md,
// Readmission).
func (m *model) loadDiagnoses(ctx context.Context, src source, workers int) error {
	m.hasDiagnoses = true
	m.diag = newInterner(1024)
	m.diagCat = newInterner(1024)
	// The consumer counts each visit's rows and keeps its principal
	// diagnosis (the smallest code flagged principal, whatever the rows'
	// order) as the rows arrive, overlapping the workers. Exports list a
	// visit's diagnoses together, in the visits table's order: then the
	// codes arrive in CSR order too. A row out of visit order turns the
	// codes so far into (visit, code) pairs, put in order after the scan by
	// a counting sort (stable, linear).
	m.diagStart = make([]int32, len(m.visits)+1)
	principal := make([]int32, len(m.visits)) // diag id per visit, -1: none
	for i := range principal {
		principal[i] = -1
	}
	type pair struct{ visit, code int32 }
	var codes []int32 // in visit order
	if !m.partial {   // nearly every row is kept: one allocation
		codes = make([]int32, 0, src.rows())
	}
	var pairs []pair // once a row came out of order
	inOrder, last := true, int32(0)
	toPairs := func() {
		pairs = make([]pair, 0, max(src.rows(), int64(len(codes))))
		k := 0
		for v := int32(0); v <= last; v++ {
			for range m.diagStart[v+1] {
				pairs = append(pairs, pair{v, codes[k]})
				k++
			}
		}
		codes, inOrder = nil, false
	}
	file := src.file()
	dw := make([]padded[diagWorker], workers)
	for i := range dw {
		dw[i].v.visits.m = m
	}
	err := scan(ctx, src, workers, func(w int, b *batch) *diagBatch {
		d := &diagBatch{n: b.n, syntax: b.rejects, codes: newStrArena(64), kept: make([]diagRow, 0, b.n)}
		x := &dw[w].v
		x.startBatch(&b.cols[1])
		var z normalizer
		for i := 0; i < b.n; i++ {
			z.reset()
			var norm normMask
			md := normCodeIfDirty(&z, m.strict, b.cols[0].at(i), &norm, 0)
			raw := b.cols[1].at(i)
			code := normCodeIfDirty(&z, m.strict, raw, &norm, 1)
			f := b.cols[2].at(i)
			if len(f) != 1 {
				f = normCodeIfDirty(&z, m.strict, f, &norm, 2)
			}
			var bad string
			switch {
			case len(md) == 0:
				bad = "mdtrt_id is empty"
			case len(code) == 0:
				bad = "diag_code is empty"
			}
			if bad != "" {
				d.odd = append(d.odd, diagOdd{norm: norm, bad: bad, line: b.lineOf(i), raw: b.raw(i)})
				continue
			}
			if norm != 0 {
				d.odd = append(d.odd, diagOdd{norm: norm})
			}
			if v := x.visits.find(md); v >= 0 && m.visits[v].inScope {
				local := x.local(d, &b.cols[1], i, code, m.strict || !dirtyCode(raw))
				d.kept = append(d.kept, diagRow{visit: v, code: local, main: len(f) == 1 && f[0] == '1'})
			}
		}
		return d
	}, func(d *diagBatch) error {
		m.syntaxRejects(tDiagnoses.name, d.syntax)
		m.rowsRead[tDiagnoses.name] += int64(d.n)
		if m.opts.owns(tDiagnoses.name) {
			for _, o := range d.odd {
				m.countNorm(tDiagnoses, o.norm)
				if o.bad != "" {
					m.reject(tDiagnoses.name, reject{file, o.line, o.bad, o.raw})
				}
			}
		}
		// The batch's distinct codes, interned in order of first appearance:
		// the ids are those of interning row by row.
		ids := make([]int32, d.codes.len())
		for k := range ids {
			ids[k], _ = m.diag.intern(d.codes.get(int32(k)))
		}
		for _, r := range d.kept {
			code := ids[r.code]
			if inOrder && r.visit < last {
				toPairs() // from the counts so far
			}
			m.diagStart[r.visit+1]++
			if cur := principal[r.visit]; r.main && (cur < 0 || bytes.Compare(m.diag.get(code), m.diag.get(cur)) < 0) {
				principal[r.visit] = code
			}
			if inOrder {
				last = r.visit
				codes = append(codes, code)
			} else {
				pairs = append(pairs, pair{r.visit, code})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := 1; i < len(m.diagStart); i++ {
		m.diagStart[i] += m.diagStart[i-1]
	}
	if inOrder {
		m.diagCodes = codes
	} else {
		m.diagCodes = make([]int32, len(pairs))
		fill := append([]int32(nil), m.diagStart[:len(m.visits)]...)
		for _, p := range pairs {
			m.diagCodes[fill[p.visit]] = p.code
			fill[p.visit]++
		}
	}
	// Category per diag id, then per visit.
	catOf := make([]int32, m.diag.len())
	for id := range catOf {
		c := m.diag.get(int32(id))
		if len(c) > 3 {
			c = c[:3]
		}
		catOf[id], _ = m.diagCat.intern(c)
	}
	for v, d := range principal {
		if d >= 0 {
			principal[v] = catOf[d]
		}
	}
	m.principalCat = principal
	return nil
}

// diagBatch is a batch of diagnoses parsed by a worker: the rows kept
// (valid, of an in-scope visit) with their code as an index into the
// batch's own distinct codes, and the rows with a normalisation or a
// problem, in row order.
type diagBatch struct {
	n      int
	syntax []reject
	kept   []diagRow
	codes  strArena
	odd    []diagOdd
}

type diagRow struct {
	visit, code int32
	main        bool
}

type diagOdd struct {
	norm normMask
	bad  string
	line int64
	raw  string
}

// diagWorker gives each distinct code of a batch one entry in its codes:
// for a dictionary-encoded diag_code, by dictionary entry; other values
// get an entry each (the consumer's interner merges them).
type diagWorker struct {
	visits visitFinder
	dictID uint64
	seq    uint32
	stamp  []uint32 // dictionary entry → batch seq of entry[…]
	entry  []int32
}

func (x *diagWorker) startBatch(c *column) {
	x.seq++
	if c.idx != nil && c.dictID != x.dictID {
		x.dictID = c.dictID
		n := len(c.starts)
		x.stamp = append(x.stamp[:0], make([]uint32, n)...)
		x.entry = append(x.entry[:0], make([]int32, n)...)
	}
}

// local returns the batch's entry for row i's code; asIs: the code is the
// column's value unchanged (not normalised), so its dictionary entry names it.
func (x *diagWorker) local(d *diagBatch, c *column, i int, code []byte, asIs bool) int32 {
	if c.idx == nil || !asIs {
		return d.codes.add(code)
	}
	j := c.idx[i]
	if x.stamp[j] != x.seq {
		x.stamp[j], x.entry[j] = x.seq, d.codes.add(code)
	}
	return x.entry[j]
}

// loadPersons reads death dates and gives each loaded visit its person's
// (visitDeath). A person's death date is the earliest non-empty death_date
// among its valid rows. The persons who died are kept in a table by
// psn_no and each visit looks its psn_no up there (in parallel): the
// table is small, where an index of every visit's person costs a cache
// miss per visit to build.
func (m *model) loadPersons(ctx context.Context, src source, workers int) error {
	m.hasPersons = true
	died := map[string]int32{}
	// Only the deaths of persons with a loaded visit are kept, so that a
	// shard's memory does not grow with the other shards' persons: a bit
	// per hash of the loaded visits' psn_no filters the rows (a row that
	// passes by chance costs an entry that is never looked up).
	ours := newHashBits(&m.visitPsn, workers)
	type row struct {
		psn  []byte // with a death date: psn_no (a copy)
		day  int32
		bad  string
		line int64
		raw  string
		norm normMask
	}
	file := src.file()
	err := scan(ctx, src, workers, func(_ int, b *batch) loaded[row] {
		rows := make([]row, 0, 16)
		var z normalizer
		for i := 0; i < b.n; i++ {
			var r row
			z.reset()
			p := normCodeIfDirty(&z, m.strict, b.cols[0].at(i), &r.norm, 0)
			day, fast := fastDay(&b.cols[1], i) // a DATE column: no text
			var d []byte
			if !fast {
				d = b.cols[1].at(i)
			}
			if len(d) > 0 && !m.strict && dirtyCode(d) {
				if t := trimSpaces(d); len(t) == 0 { // only white space: no death date
					d = t
					r.norm.set(1, normTrimmed)
				}
			}
			if len(p) == 0 {
				r.bad = "psn_no is empty"
			} else if fast {
				if ours.has(p) {
					r.psn, r.day = bytes.Clone(p), day
				}
			} else if len(d) > 0 {
				day, ok := parseDate(d)
				if !ok && !m.strict {
					var k normKind
					if day, k, ok = z.date(d); ok {
						r.norm.set(1, k)
					}
				}
				if !ok {
					r.bad = fmt.Sprintf(dateReason(m.strict), "death_date", d)
				} else if ours.has(p) {
					r.psn, r.day = bytes.Clone(p), day
				}
			}
			if r.bad != "" {
				r.line, r.raw = b.lineOf(i), b.raw(i)
			}
			if r.bad != "" || r.psn != nil || r.norm != 0 {
				rows = append(rows, r)
			}
		}
		return loaded[row]{rows, b.rejects, b.n}
	}, func(l loaded[row]) error {
		m.syntaxRejects(tPersons.name, l.syntax)
		m.rowsRead[tPersons.name] += int64(l.n)
		for _, r := range l.rows {
			if m.opts.shard == 0 {
				m.countNorm(tPersons, r.norm)
			}
			if r.bad != "" {
				if m.opts.shard == 0 {
					m.reject(tPersons.name, reject{file, r.line, r.bad, r.raw})
				}
				continue
			}
			if r.psn == nil {
				continue
			}
			if d, ok := died[string(r.psn)]; !ok || r.day < d {
				died[string(r.psn)] = r.day
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	m.visitDeath = make([]int32, len(m.visits))
	forChunks(len(m.visits), workers, func(from, to int) {
		for i := from; i < to; i++ {
			m.visitDeath[i] = noDeath
		}
		if len(died) == 0 {
			return
		}
		for i := from; i < to; i++ {
			if d, ok := died[string(m.visitPsn.get(int32(i)))]; ok {
				m.visitDeath[i] = d
			}
		}
	})
	return nil
}

// hashBits is a set of strings as one bit per hash (8 bits per string):
// has is false for every string not added, and for most others.
type hashBits struct {
	words []uint64
	mask  uint32
}

func newHashBits(a *strArena, workers int) hashBits {
	n := 64
	for n < 8*a.len() {
		n <<= 1
	}
	b := hashBits{words: make([]uint64, n/64), mask: uint32(n - 1)}
	forChunks(a.len(), workers, func(from, to int) {
		for i := from; i < to; i++ {
			h := hashBytes(a.get(int32(i))) & b.mask
			atomic.OrUint64(&b.words[h>>6], 1<<(h&63))
		}
	})
	return b
}

func (b hashBits) has(s []byte) bool {
	h := hashBytes(s) & b.mask
	return b.words[h>>6]&(1<<(h&63)) != 0
}
