package screening

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// A run's set-up: the options resolved, the rules loaded, the output
// staged, the tables opened, the reference tables loaded and the rules
// compiled — everything before the fee-line pass.

func resolve(o Options) (runConfig, error) {
	c := runConfig{shard: o.Shard, shards: o.Shards, city: o.City, from: math.MinInt32, to: math.MaxInt32, workers: o.Workers}
	if c.shards <= 0 {
		c.shards = 1
	}
	if c.shard < 0 || c.shard >= c.shards {
		return c, fmt.Errorf("shard %d out of range for %d shard(s)", c.shard, c.shards)
	}
	if c.workers <= 0 {
		c.workers = runtime.GOMAXPROCS(0)
	}
	if o.From != "" {
		d, ok := parseDate([]byte(o.From))
		if !ok {
			return c, fmt.Errorf("--from %q is not YYYY-MM-DD", o.From)
		}
		c.from = d
	}
	if o.To != "" {
		d, ok := parseDate([]byte(o.To))
		if !ok {
			return c, fmt.Errorf("--to %q is not YYYY-MM-DD", o.To)
		}
		c.to = d
	}
	if c.from > c.to {
		return c, fmt.Errorf("--from %s is after --to %s", o.From, o.To)
	}
	if o.Input == "" {
		return c, errors.New("no input directory")
	}
	return c, nil
}

// loadRules reads the rule files, or validates the rules given in Options.
func loadRules(opts Options) ([]rules.Rule, error) {
	if len(opts.RuleFiles) > 0 {
		cat, err := rules.LoadFiles(opts.RuleFiles...)
		if err != nil {
			return nil, err
		}
		return cat.Rules, nil
	}
	if err := rules.Validate(opts.Rules); err != nil {
		return nil, err
	}
	return opts.Rules, nil
}

// prepareOutput stages the output directory (nil and "" when nothing is
// written) and removes spill files of killed runs. The caller abandons the
// staged directory unless it commits it.
func prepareOutput(opts Options, cfg runConfig) (*stagedOutput, string, error) {
	var staged *stagedOutput
	outDir := opts.Output
	if outDir != "" {
		if cfg.shards > 1 {
			outDir = filepath.Join(outDir, fmt.Sprintf("shard-%d-of-%d", cfg.shard, cfg.shards))
		}
		var err error
		if staged, err = stageOutput(outDir, opts.Overwrite); err != nil {
			return nil, "", err
		}
		outDir = staged.staging
	}
	// Spill files of killed runs (the default place, the staging
	// directory, went with the interrupted run above).
	if opts.TempDir != "" {
		removeStaleSpills(opts.TempDir)
	} else if outDir == "" {
		removeStaleSpills(os.TempDir())
	}
	return staged, outDir, nil
}

// runTables are the sources opened for the reference phase (nil: absent
// or not needed). The fee lines are reopened per pass.
type runTables struct {
	inst, visits, diag, persons source
	needOverlap                 bool
	needPersons                 bool // a rule tells persons apart within an institution
	needInstVisits              bool // the in-scope visits of each institution (model.instVisits)
}

func (t *runTables) close() {
	for _, s := range []source{t.inst, t.visits, t.diag, t.persons} {
		if s != nil {
			s.close()
		}
	}
}

// openTables opens every table the rules need first, so that a missing
// column anywhere fails fast. The tables opened are returned (to close)
// even on error.
func (e *engine) openTables(rs []rules.Rule) (*runTables, error) {
	t := &runTables{}
	needDiag, needPersons := false, false
	for _, r := range rs {
		t.needOverlap = t.needOverlap || evaluators[r.Template].partners
		t.needPersons = t.needPersons || evaluators[r.Template].persons
		// Visit-level rules go through an institution's visits, and so
		// does the numbering of persons.
		t.needInstVisits = t.needInstVisits || evaluators[r.Template].visit != nil || evaluators[r.Template].persons
		switch rules.Spec(r.Template).Needs {
		case "diagnoses":
			needDiag = true
		case "persons":
			needPersons = true
		}
	}
	open := func(def tableDef, need bool) (source, error) {
		if !need {
			return nil, nil
		}
		s, err := e.in.open(def)
		if errors.Is(err, errTableAbsent) {
			return nil, nil
		}
		return s, err
	}
	// OverlappingStays needs the stays of the shard's persons at every
	// institution: the whole visits table, even when partitioned.
	e.in.whole[tVisits.name] = t.needOverlap
	e.cfg.partRead = map[string]bool{}
	for name := range partitionable {
		e.cfg.partRead[name] = e.in.partial(name)
	}
	var err error
	if t.inst, err = open(tInstitutions, true); err != nil {
		return t, err
	}
	if t.visits, err = open(tVisits, true); err != nil {
		return t, err
	}
	srcFee, err := open(tFeeLines, true)
	if err != nil {
		return t, err
	}
	srcFee.close() // reopened per pass
	e.feeFile = srcFee.file()
	if t.diag, err = open(tDiagnoses, needDiag); err != nil {
		return t, err
	}
	if t.persons, err = open(tPersons, needPersons); err != nil {
		return t, err
	}
	return t, nil
}

// loadReference loads institutions, visits and the optional tables into
// the model.
func (e *engine) loadReference(ctx context.Context, t *runTables, timePhase func(string)) error {
	m := e.m
	if err := m.loadInstitutions(ctx, t.inst); err != nil {
		return err
	}
	m.visitsSource = func() (source, error) { return e.in.open(tVisits) }
	if err := m.loadVisits(ctx, t.visits, e.cfg.workers, visitNeeds{overlap: t.needOverlap, persons: t.needPersons, instVisits: t.needInstVisits}); err != nil {
		return err
	}
	timePhase("visits")
	if t.diag != nil {
		if err := m.loadDiagnoses(ctx, t.diag, e.cfg.workers); err != nil {
			return err
		}
	}
	if t.persons != nil {
		if err := m.loadPersons(ctx, t.persons, e.cfg.workers); err != nil {
			return err
		}
	}
	timePhase("diagnosesPersons")
	return nil
}

// compile builds the evaluators of the rules against the loaded model.
func (e *engine) compile(rs []rules.Rule) error {
	var err error
	if e.c, err = compileRules(rs, e.m); err != nil {
		return err
	}
	e.bidx = make([]int, len(e.c.rules))
	for b, r := range e.c.bedRules {
		e.bidx[r.slot] = b
	}
	if e.c.needsOverlap {
		e.buildPartners()
	}
	return nil
}
