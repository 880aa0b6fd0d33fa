package screening

// How the loaders and the fee-line pass use normalize.go: the value as
// read is tried first; the slow path runs only for a code that dirtyCode
// flags or a value whose strict parse failed, and never with Strict.

// countNorm adds a row's normalisations to the table's counts. Callers
// count a row in the shard that owns it (as for rejections), so that the
// shards' counts add up to the unsharded run's.
func (m *model) countNorm(def tableDef, nm normMask) {
	if nm == 0 {
		return
	}
	if m.norm == nil {
		m.norm = map[string]normCounts{}
	}
	c := m.norm[def.name]
	if c == nil {
		c = make(normCounts, len(def.required))
		m.norm[def.name] = c
	}
	c.add(nm)
}

// normalized is stats.json "normalized": the loaders' counts plus the
// fee-line workers' of the last pass.
func (e *engine) normalized() normReport {
	out := normReport{}
	for _, def := range allTables {
		if c := e.m.norm[def.name]; c != nil {
			c.report(def, out)
		}
	}
	lines := make(normCounts, len(tFeeLines.required))
	for _, lw := range e.lineWorkers {
		for col := range lw.norm {
			for k := range lw.norm[col] {
				lines[col][k] += lw.norm[col][k]
			}
		}
	}
	lines.report(tFeeLines, out)
	return out
}

// normInstitution normalises the code columns of an institutions row in
// place (all but the name).
func (m *model) normInstitution(f *[6][]byte) normMask {
	var nm normMask
	var z normalizer
	for _, c := range [...]int{0, 2, 3, 4, 5} {
		if dirtyCode(f[c]) {
			v, k := z.code(f[c])
			f[c] = v
			nm.set(c, k)
		}
	}
	return nm
}

// normCodeIfDirty returns the normalised code when not strict and the code
// may need it; the kinds go to nm under column col.
func normCodeIfDirty(z *normalizer, strict bool, b []byte, nm *normMask, col int) []byte {
	if strict || !dirtyCode(b) {
		return b
	}
	return z.codeInto(b, nm, col)
}

// codeInto is the slow path of normCodeIfDirty.
func (z *normalizer) codeInto(b []byte, nm *normMask, col int) []byte {
	v, k := z.code(b)
	nm.set(col, k)
	return v
}

// Rejection texts: the strict forms name the one layout accepted.
func dateTimeReason(strict bool) string {
	if strict {
		return "%s %q is not YYYY-MM-DD HH:MM:SS"
	}
	return "%s %q is not a date-time in an accepted layout"
}

func dateReason(strict bool) string {
	if strict {
		return "%s %q is not YYYY-MM-DD"
	}
	return "%s %q is not a date in an accepted layout"
}
