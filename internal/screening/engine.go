package screening

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// Options configure one screening run (one shard).
type Options struct {
	// Input is the directory with the claims tables (docs/data-format.md).
	Input string
	// RuleFiles are RuleSet manifests; if empty, Rules is used.
	RuleFiles []string
	Rules     []rules.Rule
	// Output is the directory for findings, summary, stats and quarantine;
	// a sharded run writes to Output/shard-<i>-of-<n>/. Empty: nothing is
	// written, the Result is only returned.
	Output   string
	Format   Format
	Encoding Encoding // "" = EncodingAuto
	// Columns maps the files' column names to the documented ones (nil:
	// documented names, matched ignoring case and surrounding spaces).
	Columns *ColumnMap
	// Strict turns value normalisation off (docs/data-format.md, "Values"):
	// values must be exactly in the documented forms.
	Strict bool
	// Shard i of Shards (institutions by FNV-1a 32 of fixmedins_code).
	Shard, Shards int
	// City keeps institutions whose admdvs equals it ("" = all).
	City string
	// From and To ("YYYY-MM-DD", inclusive, "" = open) keep visits whose
	// endtime falls in the window.
	From, To string
	// Workers decoding in parallel (default GOMAXPROCS).
	Workers int
	// TempDir for spill files (default Output, else os.TempDir()).
	TempDir string
	// Overwrite lets a run replace an earlier run in Output (otherwise a
	// non-empty Output is refused). The earlier run stays until this one
	// has completed.
	Overwrite bool
	// Spill forces spill mode (for tests and inputs known to be
	// unclustered); normally it is chosen automatically.
	Spill bool
	// MemoryLimit, if > 0, is Go's soft memory limit in bytes for the run
	// (the process's limit is put back afterwards). If the heap the run
	// keeps live outgrows it, the run raises it rather than let the GC run
	// without pause, up to the container's memory limit less 1/16, and
	// reports it in Stats (memlimit.go). 0 leaves the GC settings alone.
	// The limit is the process's: one run with a MemoryLimit at a time
	// (flycheck screen runs one per process).
	MemoryLimit int64
	// Progress, if set, is called every ProgressInterval (default 2s) and
	// at the end of each phase.
	Progress         func(Progress)
	ProgressInterval time.Duration
}

// Progress is a snapshot of a running screening.
type Progress struct {
	Phase     string // "reference tables", "fee lines", "fee lines (spill)", "grouped rules", "done"
	LinesRead int64
	Findings  int64
	Elapsed   time.Duration
}

// Result is what a run produced, also written as summary.json and
// stats.json.
type Result struct {
	Summary   *Summary
	Stats     *Stats
	OutputDir string
}

// runConfig is the resolved scope.
type runConfig struct {
	shard, shards int
	city          string
	from, to      int32
	workers       int
	// partRead: tables of which this shard reads only its partitions; it
	// then reports the rejects it alone sees there (else shard 0 does).
	partRead map[string]bool
}

type engine struct {
	opts    Options
	cfg     runConfig
	m       *model
	c       *compiled
	in      *input
	bidx    []int // rule slot → index in c.bedRules
	feeFile string

	lineWorkers []*lineWorker
	visitAmt    []int64 // units, screened lines; nil without visit-level rules
	instLines   []int64
	instAmt     []int64
	instAbs     []int64 // Σ|amount| of screened lines, units: bounds every sum of them
	finalized   []bool

	partnerStart, partnerVisits []int32

	pending []pendingReject // fee-line rejects decided after the pass

	// planning: the workers plan the lines' retention (planRetain) for
	// the in-order stage; with grouped rules, and not when they spill.
	planning bool

	// Recycled per-institution states and line batches. Not sync.Pools:
	// those are emptied by every other GC, and at 200 rules a run does
	// dozens, so the buffers were grown again and again (over half the
	// pass's allocations), which made still more GCs.
	statePool freeList[instState]
	batchPool freeList[lineBatch]

	linesRead atomic.Int64
	findings  atomic.Int64
	start     time.Time
	phases    map[string]float64 // seconds per phase, for stats.json
	phase     atomic.Value
	mem       *memGuard // nil without Options.MemoryLimit
}

// Run screens one shard of the input with the given rules.
func Run(ctx context.Context, opts Options) (*Result, error) {
	e := &engine{opts: opts, start: time.Now(), phases: map[string]float64{}}
	e.batchPool = freeList[lineBatch]{budget: 64 << 20, size: (*lineBatch).bytes}
	e.statePool = freeList[instState]{budget: 128 << 20, size: (*instState).bytes}
	lap := time.Now()
	timePhase := func(name string) {
		e.phases[name] += time.Since(lap).Seconds()
		lap = time.Now()
	}
	e.phase.Store("reference tables")
	cfg, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	e.cfg = cfg
	if e.in, err = newInput(&opts); err != nil {
		return nil, err
	}
	rs, err := loadRules(opts)
	if err != nil {
		return nil, err
	}
	staged, outDir, err := prepareOutput(opts, cfg)
	if err != nil {
		return nil, err
	}
	if staged != nil {
		defer staged.abandon() // a no-op once committed
	}
	q, err := newQuarantine(outDir)
	if err != nil {
		return nil, err
	}
	defer q.close()

	stopProgress := e.startProgress()
	defer stopProgress()
	e.mem = startMemGuard(opts.MemoryLimit)
	defer e.mem.stop()

	e.m = &model{opts: &e.cfg, q: q, rowsRead: map[string]int64{}, strict: opts.Strict}
	tabs, err := e.openTables(rs)
	defer tabs.close()
	if err != nil {
		return nil, err
	}
	if err := e.loadReference(ctx, tabs, timePhase); err != nil {
		return nil, err
	}
	if err := e.compile(rs); err != nil {
		return nil, err
	}
	// The visits phase leaves its scratch as garbage (the workers' id
	// arenas, the ids' hashes, the index's sort buffer), but the heap is
	// far from its next collection: the fee pass would take fresh memory
	// for all its buffers, and the first write to a fresh page is what
	// costs (docs/benchmarks.md). Collected now, that memory is reused:
	// ≈ 60 MiB less at 20 M lines. The live heap is mostly arrays without
	// pointers, so the collection itself takes a few milliseconds.
	runtime.GC()

	// The fee-line pass: streamed institution by institution; if the input
	// turns out not to be clustered by institution, rerun in spill mode.
	timePhase("compile")
	mode := "clustered"
	qOff, qCounts := q.mark()
	fw, err := e.feePass(ctx, outDir, opts.Spill)
	if errors.Is(err, errNotClustered) {
		if err := q.truncate(qOff, qCounts); err != nil {
			return nil, err
		}
		fw, err = e.feePass(ctx, outDir, true)
		mode = "spill"
	} else if opts.Spill {
		mode = "spill"
	}
	if err != nil {
		return nil, err
	}
	if err := e.resolvePending(ctx); err != nil {
		return nil, err
	}
	timePhase("feeLines")
	e.phase.Store("done")
	res := e.result(fw, mode, outDir)
	if staged != nil {
		if err := writeJSON(filepath.Join(outDir, "summary.json"), res.Summary); err != nil {
			return nil, err
		}
		if err := writeJSON(filepath.Join(outDir, "stats.json"), res.Stats); err != nil {
			return nil, err
		}
		if err := q.close(); err != nil { // flushed before the directory moves
			return nil, err
		}
		if err := staged.commit(completion{CompletedAt: time.Now().UTC(), Shard: cfg.shard, Shards: cfg.shards,
			Rules: len(rs), Findings: res.Stats.Findings}); err != nil {
			return nil, err
		}
		res.OutputDir = staged.final
	}
	return res, nil
}

func (e *engine) startProgress() func() {
	if e.opts.Progress == nil {
		return func() {}
	}
	iv := e.opts.ProgressInterval
	if iv <= 0 {
		iv = 2 * time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(iv)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				e.opts.Progress(e.progress())
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		e.opts.Progress(e.progress())
	}
}

func (e *engine) progress() Progress {
	return Progress{Phase: e.phase.Load().(string), LinesRead: e.linesRead.Load(), Findings: e.findings.Load(), Elapsed: time.Since(e.start)}
}

// finalizeJob is an institution handed to the finalizer pool; its findings
// are delivered on res, which the writer reads in order.
type finalizeJob struct {
	inst int32
	st   *instState
	res  chan []finding
}

// feePass reads the fee lines once. In clustered mode grouped rules are
// evaluated each time an institution's run of lines ends; a line of an
// institution whose run already ended aborts with errNotClustered. In spill
// mode the lines grouped rules need go to partition files, evaluated after
// the pass.
func (e *engine) feePass(ctx context.Context, outDir string, spill bool) (*findingsWriter, error) {
	m, c := e.m, e.c
	if spill {
		e.phase.Store("fee lines (spill)")
	} else {
		e.phase.Store("fee lines")
	}
	// Only visit-level rules read a visit's amount (their findings').
	e.visitAmt = nil
	if len(e.c.visitRules) > 0 {
		e.visitAmt = hugePages(make([]int64, len(m.visits)))
	}
	e.instLines = make([]int64, len(m.insts))
	e.instAmt = make([]int64, len(m.insts))
	e.instAbs = make([]int64, len(m.insts))
	e.finalized = make([]bool, len(m.insts))
	e.linesRead.Store(0)
	e.findings.Store(0)
	e.pending = nil
	e.planning = c.anyGroup && !spill
	m.rowsRead[tFeeLines.name] = 0
	e.lineWorkers = make([]*lineWorker, e.cfg.workers)
	for i := range e.lineWorkers {
		e.lineWorkers[i] = e.newLineWorker()
	}
	src, err := e.in.open(tFeeLines)
	if err != nil {
		return nil, err
	}
	defer src.close()
	if ts, ok := src.(taskSizer); ok && !c.anyGroup {
		ts.setTaskRows(countedLineTaskRows)
	}
	fw, err := newFindingsWriter(e, outDir)
	if err != nil {
		return nil, err
	}

	// Writer: findings in order.
	results := make(chan chan []finding, 256)
	writeErr := make(chan error, 1)
	go func() {
		var err error
		for ch := range results {
			fs := <-ch
			if err == nil {
				err = fw.write(fs)
				e.findings.Add(int64(len(fs)))
			}
		}
		writeErr <- err
	}()
	ready := func(fs []finding) {
		ch := make(chan []finding, 1)
		ch <- fs
		results <- ch
	}
	// Finalizer pool.
	jobs := make(chan finalizeJob, e.cfg.workers)
	var pool sync.WaitGroup
	for w := 0; w < e.cfg.workers; w++ {
		pool.Add(1)
		go func() {
			defer pool.Done()
			for j := range jobs {
				j.res <- e.finalize(j.inst, j.st)
			}
		}()
	}
	submit := func(inst int32, st *instState) {
		e.finalized[inst] = true
		ch := make(chan []finding, 1)
		results <- ch
		jobs <- finalizeJob{inst, st, ch}
	}
	shutdown := func() error {
		close(jobs)
		pool.Wait()
		close(results)
		return <-writeErr
	}

	var sp *spiller
	if spill && c.anyGroup {
		dir := e.opts.TempDir
		if dir == "" {
			dir = outDir
		}
		// ~100 bytes per retained line, partitions of ≤ 64 MiB when every
		// line is retained; between 64 and 512 files.
		parts := int(min(512, max(64, src.rows()*100>>26)))
		if sp, err = newSpiller(dir, parts); err != nil {
			shutdown()
			fw.abort()
			return nil, err
		}
		defer sp.remove()
	}

	cur := int32(-1)
	var st *instState
	closed := make([]bool, len(m.insts))
	consume := func(lb *lineBatch) error {
		m.rowsRead[tFeeLines.name] += int64(lb.rows + len(lb.syntax))
		e.linesRead.Add(int64(lb.rows + len(lb.syntax)))
		if e.cfg.owns(tFeeLines.name) {
			for _, r := range lb.syntax {
				m.q.add(tFeeLines.name, r)
			}
		}
		for _, r := range lb.rejects {
			m.q.add(tFeeLines.name, r)
		}
		e.pending = append(e.pending, lb.pending...)
		// The batch's counts first: retaining a line of the next
		// institution submits the previous one, whose visit-level rules
		// read its visits' amounts.
		for _, s := range lb.sums {
			inst := m.visits[s.visit].inst
			e.instLines[inst] += int64(s.lines)
			// Σ|amount| within int64 bounds every sum of these lines
			// (visit, institution, a rule's subset), so those need no
			// checks of their own. A run's own overflow is negative, and
			// keeps the sum so.
			if e.instAbs[inst] += s.abs; e.instAbs[inst] < 0 {
				return screenedOverflow(filepath.Base(e.feeFile), m.insts[inst].code)
			}
			if e.visitAmt != nil {
				e.visitAmt[s.visit] += s.amt
			}
			e.instAmt[inst] += s.amt
		}
		switch {
		case c.anyGroup && sp == nil:
			ji, mi := 0, 0
			for _, run := range lb.runs {
				if run.inst != cur {
					if closed[run.inst] {
						return errNotClustered
					}
					if cur >= 0 {
						closed[cur] = true
						submit(cur, st)
					}
					st = e.newInstState(run.inst)
					cur = run.inst
				}
				ji, mi = st.retainRun(lb, run.end, ji, mi)
			}
		case c.anyGroup:
			for i := range lb.lines {
				l := &lb.lines[i]
				if v := &m.visits[l.visit]; l.cnt > 0 && e.relevant(l, v) {
					if err := sp.write(v.inst, l, lb.arena); err != nil {
						return err
					}
				}
			}
		}
		if len(lb.findings) > 0 {
			ready(lb.findings)
		}
		e.dropBatch(lb)
		return ctx.Err()
	}
	err = scan(ctx, src, e.cfg.workers, e.convertLines, consume)
	if err == nil && c.anyGroup && sp == nil && cur >= 0 {
		submit(cur, st)
	}
	if err == nil && sp != nil {
		e.phase.Store("grouped rules")
		err = sp.replay(e, submit)
	}
	if err == nil {
		// Institutions whose grouped state is complete or empty: visit-level
		// rules (and nothing else) remain.
		for i := range m.insts {
			if m.insts[i].inScope && !e.finalized[i] {
				submit(int32(i), nil)
			}
		}
	}
	if werr := shutdown(); err == nil {
		err = werr
	}
	if err != nil {
		fw.abort()
		return nil, err
	}
	if err := fw.close(); err != nil {
		return nil, err
	}
	return fw, nil
}

// resolvePending quarantines the fee lines of this scope whose mdtrt_id is
// no visit kept here (partial scope only): "fixmedins_code differs from the
// visit's" when the id is a valid visit out of scope, else "mdtrt_id is not
// a valid visit" — as an unsharded run decides. They follow the pass's
// other rejects in quarantine.csv.
func (e *engine) resolvePending(ctx context.Context) error {
	if len(e.pending) == 0 {
		return nil
	}
	valid := make(map[string]bool, len(e.pending))
	for _, p := range e.pending {
		valid[p.mdtrt] = false
	}
	// Every partition: the visit may be elsewhere.
	err := e.m.scanValidVisitsIn(ctx, func() (source, error) { return e.in.openAll(tVisits) }, e.cfg.workers, func(r *visitRef, _ int32, _ int64) {
		if _, ok := valid[string(r.mdtrt)]; ok {
			valid[string(r.mdtrt)] = true
		}
	})
	if err != nil {
		return err
	}
	for _, p := range e.pending {
		p.reason = "mdtrt_id is not a valid visit"
		if valid[p.mdtrt] {
			p.reason = "fixmedins_code differs from the visit's"
		}
		e.m.q.add(tFeeLines.name, p.reject)
	}
	e.pending = nil
	return nil
}

// result assembles the summary and statistics.
func (e *engine) result(fw *findingsWriter, mode, outDir string) *Result {
	m := e.m
	sum := &Summary{Institutions: []InstitutionSummary{}}
	st := &Stats{Shard: e.cfg.shard, Shards: e.cfg.shards, Mode: mode, Rules: len(e.c.rules),
		SkippedRules: []string{}, RowsRead: m.rowsRead, RowsRejected: map[string]int64{},
		FindingsByRule: map[string]int64{}, FindingsByCat: map[string]int64{},
		DiagnosesPresent: m.hasDiagnoses, PersonsPresent: m.hasPersons, InputFormat: filepath.Ext(e.feeFile)[1:]}
	for k, v := range m.q.count {
		st.RowsRejected[k] = v
	}
	st.LinesRead = m.rowsRead[tFeeLines.name]
	st.LinesRejected = m.q.count[tFeeLines.name]
	for i := range m.insts {
		in := &m.insts[i]
		if !in.inScope {
			continue
		}
		cats := 0
		byCat := map[string]int64{}
		for k, cat := range rules.Categories {
			if n := fw.instByCat[i][k]; n > 0 {
				byCat[string(cat)] = n
				cats++
			}
		}
		screened := roundUnitsToFen(e.instAmt[i])
		sum.Institutions = append(sum.Institutions, InstitutionSummary{
			Code: in.code, Name: in.name, CityCode: in.city, Level: int(in.level), Ownership: in.ownership, Type: in.typ,
			Lines: e.instLines[i], ScreenedAmount: formatFen(screened), Findings: fw.instFindings[i],
			FindingsByCategory: byCat, AmountAtRisk: formatFen(fw.instAtRisk[i]),
			RiskScore: formatMicro(RiskScore(fw.instAtRisk[i], screened, cats)),
		})
		st.Institutions++
		st.LinesInScope += e.instLines[i]
		if fw.instFindings[i] > 0 {
			st.FlaggedInsts++
		}
	}
	sort.Slice(sum.Institutions, func(i, j int) bool { return sum.Institutions[i].Code < sum.Institutions[j].Code })
	st.VisitsInScope = m.visitsInScope
	for _, r := range e.c.rules {
		if r.skipped {
			st.SkippedRules = append(st.SkippedRules, r.id)
		}
		st.FindingsByRule[r.id] = fw.byRule[r.slot]
		st.FindingsByCat[string(r.cat)] += fw.byRule[r.slot]
	}
	st.Findings = fw.total
	st.Inputs, st.Normalized, st.Strict = e.in.report(), e.normalized(), e.opts.Strict
	st.PhaseSeconds = e.phases
	st.AmountAtRisk = formatFen(fw.atRisk)
	st.Seconds = time.Since(e.start).Seconds()
	if st.Seconds > 0 {
		st.LinesPerSecond = float64(st.LinesInScope) / st.Seconds
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.PeakHeapBytes = ms.HeapSys
	if e.mem != nil {
		st.MemoryLimitBytes = e.mem.set
		st.LiveHeapBytes, st.MemoryLimitRaisedTo = e.mem.stop()
	}
	return &Result{Summary: sum, Stats: st, OutputDir: outDir}
}
