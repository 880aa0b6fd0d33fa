package screening

import (
	"bytes"
	"context"
	"fmt"
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
	type pair struct {
		visit, code int32
		main        bool
	}
	var pairs []pair
	type row struct {
		visit int32
		code  []byte
		main  bool
		bad   string
		line  int64
		raw   string
		norm  normMask
	}
	file := src.file()
	finders := make([]visitFinder, workers)
	for i := range finders {
		finders[i].m = m
	}
	err := scan(ctx, src, workers, func(w int, b *batch) loaded[row] {
		rows := make([]row, b.n)
		var z normalizer
		for i := 0; i < b.n; i++ {
			r := &rows[i]
			z.reset()
			md := normCodeIfDirty(&z, m.strict, b.cols[0].at(i), &r.norm, 0)
			code := normCodeIfDirty(&z, m.strict, b.cols[1].at(i), &r.norm, 1)
			f := b.cols[2].at(i)
			if len(f) != 1 {
				f = normCodeIfDirty(&z, m.strict, f, &r.norm, 2)
			}
			r.visit = -1
			switch {
			case len(md) == 0:
				r.bad = "mdtrt_id is empty"
			case len(code) == 0:
				r.bad = "diag_code is empty"
			}
			if r.bad != "" {
				r.line, r.raw = b.lineOf(i), b.raw(i)
				continue
			}
			if v := finders[w].find(md); v >= 0 && m.visits[v].inScope {
				r.visit = v
				r.code = bytes.Clone(code)
				r.main = len(f) == 1 && f[0] == '1'
			}
		}
		return loaded[row]{rows, b.rejects, b.n}
	}, func(l loaded[row]) error {
		m.syntaxRejects(tDiagnoses.name, l.syntax)
		for _, r := range l.rows {
			m.rowsRead[tDiagnoses.name]++
			if m.opts.owns(tDiagnoses.name) {
				m.countNorm(tDiagnoses, r.norm)
			}
			if r.bad != "" {
				if m.opts.owns(tDiagnoses.name) {
					m.reject(tDiagnoses.name, reject{file, r.line, r.bad, r.raw})
				}
				continue
			}
			if r.visit >= 0 {
				id, _ := m.diag.intern(r.code)
				pairs = append(pairs, pair{r.visit, id, r.main})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Counting sort by visit (stable, linear).
	m.diagStart = make([]int32, len(m.visits)+1)
	for _, p := range pairs {
		m.diagStart[p.visit+1]++
	}
	for i := 1; i < len(m.diagStart); i++ {
		m.diagStart[i] += m.diagStart[i-1]
	}
	sorted := make([]pair, len(pairs))
	fill := append([]int32(nil), m.diagStart[:len(m.visits)]...)
	for _, p := range pairs {
		sorted[fill[p.visit]] = p
		fill[p.visit]++
	}
	pairs, sorted, fill = sorted, nil, nil
	m.diagStart = make([]int32, len(m.visits)+1)
	m.diagCodes = make([]int32, len(pairs))
	// Principal diagnosis = smallest code among rows flagged principal;
	// kept as a diag id per visit (no per-visit allocation).
	principal := make([]int32, len(m.visits))
	for i := range principal {
		principal[i] = -1
	}
	for i, p := range pairs {
		m.diagStart[p.visit+1]++
		m.diagCodes[i] = p.code
		if p.main {
			cur := principal[p.visit]
			if cur < 0 || bytes.Compare(m.diag.get(p.code), m.diag.get(cur)) < 0 {
				principal[p.visit] = p.code
			}
		}
	}
	pairs = nil
	for i := 1; i < len(m.diagStart); i++ {
		m.diagStart[i] += m.diagStart[i-1]
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

// loadPersons reads death dates of persons who have visits. A person's death
// date is the earliest non-empty death_date among its valid rows.
func (m *model) loadPersons(ctx context.Context, src source, workers int) error {
	m.hasPersons = true
	m.deathDay = make([]int32, m.psn.len())
	for i := range m.deathDay {
		m.deathDay[i] = noDeath
	}
	type row struct {
		psn  int32
		day  int32
		bad  string
		line int64
		raw  string
		norm normMask
	}
	file := src.file()
	return scan(ctx, src, workers, func(_ int, b *batch) loaded[row] {
		rows := make([]row, 0, 16)
		var z normalizer
		for i := 0; i < b.n; i++ {
			r := row{psn: -1}
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
				r.psn, r.day = m.psn.lookup(p), day
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
				} else {
					r.psn, r.day = m.psn.lookup(p), day
				}
			}
			if r.bad != "" {
				r.line, r.raw = b.lineOf(i), b.raw(i)
			}
			if r.bad != "" || r.psn >= 0 || r.norm != 0 {
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
			if r.psn < 0 {
				continue
			}
			if r.day < m.deathDay[r.psn] {
				m.deathDay[r.psn] = r.day
			}
		}
		return nil
	})
}
