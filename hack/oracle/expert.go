package oracle

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// Expert is the DuckDB SQL a performance-minded data engineer would write
// for a rule catalogue (DESIGN §7): the performance anchor of `make
// bench-screening`, where the oracle (Screen) is the correctness reference.
// It assumes the extract is in the documented forms (the benchmark's is):
// values are cast (TRY_CAST) instead of validated with regular expressions
// and nothing is normalised. Its finding set must still equal the engine's
// on generated data (TestExpertMatchesEngine).
//
// The plan:
//  1. visits (small): cast once, joined to the institutions' levels.
//  2. Visit-level templates (overlapping stays, readmission) evaluated on
//     the visits alone; the flagged visits are remembered (vflag).
//  3. Duplicate-line candidates: one hash per fee line of the duplicate
//     key, the hashes seen twice (only when a DuplicateLine rule has no
//     item list; otherwise its items pre-filter it like any rule).
//  4. One pre-filtered pass over the fee lines (xl): the lines of an item
//     some rule names, the lines an item-less rule can flag (cheap row
//     conditions), the duplicate candidates and the lines of flagged visits.
//  5. Rule parameters loaded into tables, one per template family, and each
//     family evaluated by one query that joins xl to its table on the item.
//  6. Visit amounts summed from xl for the flagged visits only.
//
// Bed-only days need every line of an inpatient day, so that family reads
// the needed columns once more (only when such a rule is loaded).

// ExpertOptions of one expert run.
type ExpertOptions struct {
	Input    string
	Format   string // "csv" or "parquet" (default: by the files present)
	Rules    []rules.Rule
	Progress func(string)
}

// ExpertScreen evaluates the rules into the table findings (the columns of
// Screen's) and returns the number of findings.
func ExpertScreen(ctx context.Context, db *sql.DB, opt ExpertOptions) (int64, error) {
	format := opt.Format
	if format == "" {
		format = "csv"
		if _, err := os.Stat(filepath.Join(opt.Input, "fee_lines.parquet")); err == nil {
			format = "parquet"
		}
	}
	has := map[string]bool{}
	src := map[string]string{}
	for _, t := range []string{"institutions", "visits", "fee_lines", "diagnoses", "persons"} {
		path := filepath.Join(opt.Input, t+"."+format)
		if _, err := os.Stat(path); err != nil {
			if t == "diagnoses" || t == "persons" {
				continue
			}
			return 0, fmt.Errorf("expert: %s: %w", path, err)
		}
		has[t] = true
		src[t] = reader(path, format)
	}
	e := &expert{ctx: ctx, db: db, progress: opt.Progress, src: src}
	for i := range opt.Rules {
		r := &opt.Rules[i]
		if need := rules.Spec(r.Template).Needs; need != "" && !has[need] {
			continue
		}
		e.add(r)
	}
	if err := e.run(has); err != nil {
		return 0, err
	}
	var n int64
	err := db.QueryRowContext(ctx, "SELECT count(*) FROM findings").Scan(&n)
	return n, err
}

type expert struct {
	ctx      context.Context
	db       *sql.DB
	progress func(string)
	src      map[string]string // table → reader expression
	fams     map[rules.Template]*family
	order    []rules.Template
	perRule  []*rules.Rule // visit-level and per-rule templates
	// pre-filter of the pass over the fee lines: row conditions of the
	// item-less rules (OR-ed with the item list)
	anyLine []string
	dupAll  bool // a DuplicateLine rule without items: hash candidates
	bedOnly []*rules.Rule
}

func (e *expert) exec(phase, q string) error {
	if e.progress != nil {
		e.progress(phase)
	}
	if _, err := e.db.ExecContext(e.ctx, q); err != nil {
		return fmt.Errorf("expert: %s: %w\n%s", phase, err, q)
	}
	return nil
}

// visitType is the visit filter of a rule (docs/rules.md §2) as a
// parameter: A any, I inpatient, O outpatient.
func visitType(r *rules.Rule) string {
	switch {
	case rules.Spec(r.Template).InpatientOnly || r.EffectiveVisitType() == rules.Inpatient:
		return "I"
	case r.EffectiveVisitType() == rules.Outpatient:
		return "O"
	}
	return "A"
}

// vtCond is a visit-type filter as a SQL condition over column inpatient.
func vtCond(vt, inpatient string) string {
	switch vt {
	case "I":
		return inpatient
	case "O":
		return "NOT " + inpatient
	}
	return "TRUE"
}

func (e *expert) run(has map[string]bool) error {
	// Typed tables by cast: TRY_CAST reads text and typed Parquet alike.
	stmts := []stmt{
		{"institutions", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE inst AS
SELECT CAST(fixmedins_code AS VARCHAR) AS code, TRY_CAST(hosp_lv AS INTEGER) AS lv FROM %s`, e.src["institutions"])},
		{"visits", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE v AS
SELECT mdtrt_id, psn_no, inst, inpatient, beg, fin, CAST(beg AS DATE) AS begd, CAST(fin AS DATE) AS find,
       greatest(1, date_diff('day', CAST(beg AS DATE), CAST(fin AS DATE))) AS los, gend, age, lv
FROM (SELECT CAST(r.mdtrt_id AS VARCHAR) AS mdtrt_id, CAST(r.psn_no AS VARCHAR) AS psn_no, i.code AS inst,
             starts_with(CAST(r.med_type AS VARCHAR), '2') AS inpatient,
             TRY_CAST(r.begntime AS TIMESTAMP) AS beg, TRY_CAST(r.endtime AS TIMESTAMP) AS fin,
             CAST(r.gend AS VARCHAR) AS gend, TRY_CAST(r.age AS INTEGER) AS age, i.lv
      FROM %s r JOIN inst i ON i.code = CAST(r.fixmedins_code AS VARCHAR))
WHERE beg IS NOT NULL AND fin IS NOT NULL`, e.src["visits"])},
		{"visit amounts (placeholder)", `CREATE OR REPLACE TEMP VIEW vamt AS
SELECT mdtrt_id, psn_no, inst, inpatient, beg, fin, begd, find, CAST(0 AS DECIMAL(18,2)) AS amount FROM v`},
	}
	if has["diagnoses"] {
		stmts = append(stmts, stmt{"diagnoses", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE diags AS
SELECT CAST(mdtrt_id AS VARCHAR) AS mdtrt_id, CAST(diag_code AS VARCHAR) AS diag_code, CAST(maindiag_flag AS VARCHAR) = '1' AS main
FROM %s`, e.src["diagnoses"])})
	}
	if has["persons"] {
		stmts = append(stmts, stmt{"persons", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE persons AS
SELECT CAST(psn_no AS VARCHAR) AS psn_no, TRY_CAST(death_date AS DATE) AS death FROM %s WHERE TRY_CAST(death_date AS DATE) IS NOT NULL`, e.src["persons"])})
	}
	stmts = append(stmts, stmt{"findings table", `CREATE OR REPLACE TEMP TABLE findings (rule_id VARCHAR, category VARCHAR, template VARCHAR,
		fixmedins_code VARCHAR, mdtrt_id VARCHAR, psn_no VARCHAR, hilist_code VARCHAR, feedetl_sn VARCHAR,
		amount DECIMAL(18,2), evidence VARCHAR)`})
	for _, q := range stmts {
		if err := e.exec(q.phase, q.sql); err != nil {
			return err
		}
	}
	// 2. visit-level templates, on the visits alone.
	visitLevel := false
	for _, r := range e.perRule {
		if !rules.Spec(r.Template).VisitLevel || r.Template == rules.BedOnlyDays {
			continue
		}
		q, err := RuleSQL(r)
		if err != nil {
			return err
		}
		if err := e.exec("rule "+r.ID, "INSERT INTO findings "+q); err != nil {
			return err
		}
		visitLevel = true
	}
	// 3. duplicate candidates.
	dupKey := func(r string) string {
		return strings.NewReplacer("$", r).Replace("hash(CAST($psn_no AS VARCHAR), CAST($fixmedins_code AS VARCHAR), CAST($hilist_code AS VARCHAR), TRY_CAST($fee_ocur_time AS TIMESTAMP), TRY_CAST($cnt AS DECIMAL(18,4)), TRY_CAST($pric AS DECIMAL(18,4)))")
	}
	if e.dupAll {
		if err := e.exec("duplicate candidates", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE dupc AS
SELECT h FROM (SELECT %s AS h FROM %s WHERE TRY_CAST(cnt AS DECIMAL(18,4)) > 0) GROUP BY h HAVING count(*) > 1`, dupKey(""), e.src["fee_lines"])); err != nil {
			return err
		}
	}
	// 4. parameter tables (their items drive the pre-filter), then the pass.
	if err := e.exec("items table", "CREATE OR REPLACE TEMP TABLE pitems (item VARCHAR)"); err != nil {
		return err
	}
	for _, t := range e.order {
		if err := e.fams[t].load(e); err != nil {
			return err
		}
	}
	pre := []string{"item IN (SELECT item FROM pitems)"}
	seen := map[string]bool{}
	for _, c := range e.anyLine {
		if !seen[c] {
			seen[c] = true
			pre = append(pre, c)
		}
	}
	dupCol := "FALSE"
	if e.dupAll {
		dupCol = dupKey("r.") + " IN (SELECT h FROM dupc)"
		pre = append(pre, "dup")
	}
	if visitLevel {
		pre = append(pre, "mdtrt_id IN (SELECT mdtrt_id FROM findings WHERE feedetl_sn IS NULL)")
	}
	if err := e.exec("fee lines (one pre-filtered pass)", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE xl AS
SELECT * FROM (
  SELECT CAST(r.feedetl_sn AS VARCHAR) AS sn, v.mdtrt_id, CAST(r.setl_id AS VARCHAR) AS setl_id, v.psn_no, v.inst,
         CAST(r.hilist_code AS VARCHAR) AS item,
         CAST(TRY_CAST(r.cnt AS DECIMAL(18,4)) AS DECIMAL(38,4)) AS cnt, CAST(TRY_CAST(r.pric AS DECIMAL(18,4)) AS DECIMAL(38,4)) AS pric,
         TRY_CAST(r.det_item_fee_sumamt AS DECIMAL(18,4)) AS amt, TRY_CAST(r.fee_ocur_time AS TIMESTAMP) AS t,
         CAST(TRY_CAST(r.fee_ocur_time AS TIMESTAMP) AS DATE) AS d,
         v.inpatient, v.gend, v.age, v.lv, v.begd, v.find, v.los, %s AS dup
  FROM %s r JOIN v ON v.mdtrt_id = CAST(r.mdtrt_id AS VARCHAR) AND v.psn_no = CAST(r.psn_no AS VARCHAR) AND v.inst = CAST(r.fixmedins_code AS VARCHAR)
  WHERE TRY_CAST(r.cnt AS DECIMAL(18,4)) > 0)
WHERE %s`, dupCol, e.src["fee_lines"], strings.Join(pre, "\n   OR "))); err != nil {
		return err
	}
	// 5. one query per template family, then the per-rule templates.
	for _, t := range e.order {
		f := e.fams[t]
		for _, q := range f.prep {
			if q == "ciok" {
				q = e.ciokSQL(f)
			}
			if err := e.exec("prepare "+f.name, q); err != nil {
				return err
			}
		}
		if err := e.exec("family "+f.name, "INSERT INTO findings "+f.query()); err != nil {
			return err
		}
	}
	if err := e.exec("lines view", "CREATE OR REPLACE TEMP VIEW lines AS SELECT * FROM xl"); err != nil {
		return err
	}
	for _, r := range e.perRule {
		if rules.Spec(r.Template).VisitLevel {
			continue
		}
		q, err := RuleSQL(r)
		if err != nil {
			return err
		}
		if err := e.exec("rule "+r.ID, "INSERT INTO findings "+q); err != nil {
			return err
		}
	}
	for _, r := range e.bedOnly {
		if err := e.exec("rule "+r.ID, "INSERT INTO findings "+e.bedOnlySQL(r)); err != nil {
			return err
		}
	}
	// 6. amounts of the flagged visits.
	if visitLevel {
		return e.exec("visit amounts", `UPDATE findings SET amount = s.amount
FROM (SELECT mdtrt_id, ROUND(sum(amt), 2) AS amount FROM xl
      WHERE mdtrt_id IN (SELECT mdtrt_id FROM findings WHERE feedetl_sn IS NULL) GROUP BY mdtrt_id) s
WHERE findings.mdtrt_id = s.mdtrt_id AND findings.feedetl_sn IS NULL AND findings.template IN ('OverlappingStays', 'Readmission')`)
	}
	return nil
}

// bedOnlySQL reads the three columns it needs of every inpatient line once
// more: a day counts when all its lines are bed or nursing items.
func (e *expert) bedOnlySQL(r *rules.Rule) string {
	param := func(name string) int32 { v, _ := r.IntParam(name); return v }
	items := "TRUE"
	if len(r.Params.Items) > 0 {
		items = "item IN " + list(r.Params.Items)
	}
	return fmt.Sprintf(`SELECT %s, %s, %s, inst, mdtrt_id, psn_no, NULL, NULL, ROUND(sum(amt), 2), '仅床位护理 '||count(*)||' 天'
FROM (SELECT v.inst, v.mdtrt_id, v.psn_no, CAST(TRY_CAST(r.fee_ocur_time AS TIMESTAMP) AS DATE) AS d,
             sum(TRY_CAST(r.det_item_fee_sumamt AS DECIMAL(18,4))) AS amt
      FROM (SELECT mdtrt_id, psn_no, fixmedins_code, fee_ocur_time, det_item_fee_sumamt, CAST(hilist_code AS VARCHAR) AS item, cnt FROM %s) r
      JOIN v ON v.mdtrt_id = CAST(r.mdtrt_id AS VARCHAR) AND v.psn_no = CAST(r.psn_no AS VARCHAR) AND v.inst = CAST(r.fixmedins_code AS VARCHAR)
      WHERE TRY_CAST(r.cnt AS DECIMAL(18,4)) > 0 AND %s
      GROUP BY ALL HAVING bool_and(%s))
GROUP BY inst, mdtrt_id, psn_no HAVING count(*) >= %d`,
		lit(r.ID), lit(string(r.Category)), lit(string(r.Template)), e.src["fee_lines"], vtCond(visitType(r), "v.inpatient"), items, param(rules.ParamMinDays))
}
