// Package oracle is the second implementation of docs/rules.md: every
// screening template written as DuckDB SQL over the same claims files. The
// differential test runs it and the Go engine on generated data and requires
// identical finding sets; the benchmark (cmd/duckscreen) uses it as the
// performance anchor of DESIGN §7.
//
// It is a separate Go module (cgo, DuckDB's bundled library) so that the
// main module never links DuckDB.
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

// Options of one oracle run.
type Options struct {
	Input    string // directory with the claims tables
	Format   string // "csv" or "parquet" (default: whichever fee_lines file exists)
	Rules    []rules.Rule
	Progress func(string) // optional, one call per phase
	// Strict reads values exactly as written (the screener's --strict);
	// otherwise they are normalised first (normalize.go).
	Strict bool
}

// Stats of a run.
type Stats struct {
	Lines       int64 // screened lines (cnt > 0) of valid visits
	Findings    int64
	SkippedRule []string // rules whose table (diagnoses, persons) is absent
}

// Finding is one row of the findings table (docs/data-format.md).
type Finding struct {
	RuleID, Category, Template, FixmedinsCode, MdtrtID, PsnNo, HilistCode, FeedetlSn, Amount, Evidence string
}

// Key is the finding identity of docs/rules.md §2 (the engine's
// FindingRow.Key).
func (f Finding) Key() string {
	if f.FeedetlSn != "" {
		return f.RuleID + "\x00L\x00" + f.FeedetlSn
	}
	return f.RuleID + "\x00V\x00" + f.MdtrtID
}

// Screen loads the tables into the database (tables inst, visits, lines,
// diags, persons), evaluates every rule into the table findings and returns
// the run statistics. The caller reads or COPYs findings.
func Screen(ctx context.Context, db *sql.DB, opt Options) (*Stats, error) {
	format := opt.Format
	if format == "" {
		format = "csv"
		if _, err := os.Stat(filepath.Join(opt.Input, "fee_lines.parquet")); err == nil {
			format = "parquet"
		}
	}
	st := &Stats{}
	exec := func(phase, q string) error {
		if opt.Progress != nil {
			opt.Progress(phase)
		}
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("oracle: %s: %w\n%s", phase, err, q)
		}
		return nil
	}
	has := map[string]bool{}
	for _, t := range []string{"institutions", "visits", "fee_lines", "diagnoses", "persons"} {
		path := filepath.Join(opt.Input, t+"."+format)
		if _, err := os.Stat(path); err != nil {
			if t == "diagnoses" || t == "persons" {
				continue
			}
			return nil, fmt.Errorf("oracle: %s: %w", path, err)
		}
		has[t] = true
		if err := exec("read "+t, fmt.Sprintf("CREATE OR REPLACE TEMP VIEW raw_%s AS SELECT * FROM %s", t, reader(path, format))); err != nil {
			return nil, err
		}
		if err := foldHeaders(ctx, db, "raw_"+t, reader(path, format)); err != nil {
			return nil, fmt.Errorf("oracle: headers of %s: %w", path, err)
		}
	}
	staging := stagingSQL(has["diagnoses"], has["persons"], values{opt.Strict})
	if !opt.Strict {
		staging = append(normalizeMacros(), staging...)
	}
	for _, q := range staging {
		if err := exec(q.phase, q.sql); err != nil {
			return nil, err
		}
	}
	if err := exec("findings table", `CREATE OR REPLACE TEMP TABLE findings (rule_id VARCHAR, category VARCHAR, template VARCHAR,
		fixmedins_code VARCHAR, mdtrt_id VARCHAR, psn_no VARCHAR, hilist_code VARCHAR, feedetl_sn VARCHAR,
		amount DECIMAL(18,2), evidence VARCHAR)`); err != nil {
		return nil, err
	}
	for i := range opt.Rules {
		r := &opt.Rules[i]
		if need := rules.Spec(r.Template).Needs; need != "" && !has[need] {
			st.SkippedRule = append(st.SkippedRule, r.ID)
			continue
		}
		q, err := RuleSQL(r)
		if err != nil {
			return nil, err
		}
		if err := exec("rule "+r.ID, "INSERT INTO findings "+q); err != nil {
			return nil, err
		}
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM lines").Scan(&st.Lines); err != nil {
		return nil, err
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM findings").Scan(&st.Findings); err != nil {
		return nil, err
	}
	return st, nil
}

// Findings reads the findings table.
func Findings(ctx context.Context, db *sql.DB) ([]Finding, error) {
	rows, err := db.QueryContext(ctx, `SELECT rule_id, category, template, fixmedins_code, mdtrt_id, psn_no,
		coalesce(hilist_code, ''), coalesce(feedetl_sn, ''), CAST(amount AS VARCHAR), evidence FROM findings`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		var f Finding
		if err := rows.Scan(&f.RuleID, &f.Category, &f.Template, &f.FixmedinsCode, &f.MdtrtID, &f.PsnNo, &f.HilistCode, &f.FeedetlSn, &f.Amount, &f.Evidence); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func reader(path, format string) string {
	if format == "parquet" {
		return fmt.Sprintf("read_parquet(%s)", lit(path))
	}
	// Every column as text, as docs/rules.md reads values "exactly as
	// read"; empty fields arrive as NULL and are coalesced to '' below.
	return fmt.Sprintf("read_csv(%s, header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"')", lit(path))
}

// lit quotes a SQL string literal.
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func list(codes []string) string {
	q := make([]string, len(codes))
	for i, c := range codes {
		q[i] = lit(c)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

type stmt struct{ phase, sql string }

// Regular expressions of docs/rules.md §2 (values).
const (
	reDecimal  = `'-?[0-9]+(\.[0-9]{1,4})?'`
	reDateTime = `'[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}'`
	reDate     = `'[0-9]{4}-[0-9]{2}-[0-9]{2}'`
)

func ts(col string) string {
	return fmt.Sprintf("CASE WHEN regexp_full_match(%[1]s, %[2]s) THEN try_strptime(%[1]s, '%%Y-%%m-%%d %%H:%%M:%%S') END", col, reDateTime)
}

// maxProduct bounds |cnt × pric| of a valid fee line (docs/rules.md §2:
// below 10^14 yuan, the range of an amount; the engine's productFits).
// The product is taken in DECIMAL(38,8) (hugeint: DECIMAL(18,4) × DECIMAL(18,4)
// stays in 64 bits and would overflow), so the test is exact; the lines
// keep cnt and pric as DECIMAL(38,4) so that the rules' products are too.
const maxProduct = "100000000000000"

func dec(col string) string {
	return fmt.Sprintf("CASE WHEN regexp_full_match(%[1]s, %[2]s) THEN TRY_CAST(%[1]s AS DECIMAL(18,4)) END", col, reDecimal)
}

// stagingSQL builds the valid, typed tables of docs/rules.md §2. Row
// validity follows the table there; scope (--city, --shard, --from/--to) is
// the whole input.
func stagingSQL(diags, persons bool, v values) []stmt {
	s := []stmt{
		{"institutions", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE inst AS
SELECT code, CAST(lv AS INTEGER) AS lv FROM (
  SELECT code, lv, rn = min(rn) OVER (PARTITION BY code) AS first FROM (
    SELECT %s AS code, %s AS lv,
           row_number() OVER () AS rn
    FROM raw_institutions))
WHERE code <> '' AND lv IN ('0', '1', '2', '3') AND first`, v.code("fixmedins_code"), v.code("hosp_lv"))},
		{"visits", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE visits AS
WITH r AS (
  SELECT %s AS mdtrt_id, %s AS psn_no,
         %s AS inst, %s AS med_type,
         %s AS beg, %s AS fin, %s AS gend,
         %s AS age_s, row_number() OVER () AS rn
  FROM raw_visits),
ok AS (
  SELECT * FROM r
  WHERE mdtrt_id <> '' AND psn_no <> '' AND inst <> '' AND med_type <> '' AND beg IS NOT NULL AND fin IS NOT NULL
    AND fin >= beg AND regexp_full_match(age_s, '[0-9]+') AND length(age_s) <= 3 AND CAST(age_s AS INTEGER) <= 150
    AND inst IN (SELECT code FROM inst)
  QUALIFY rn = min(rn) OVER (PARTITION BY mdtrt_id))
SELECT ok.mdtrt_id, ok.psn_no, ok.inst, starts_with(ok.med_type, '2') AS inpatient, ok.beg, ok.fin,
       CAST(ok.beg AS DATE) AS begd, CAST(ok.fin AS DATE) AS find,
       greatest(1, date_diff('day', CAST(ok.beg AS DATE), CAST(ok.fin AS DATE))) AS los,
       ok.gend, CAST(ok.age_s AS INTEGER) AS age, inst.lv
FROM ok JOIN inst ON inst.code = ok.inst`, v.code("mdtrt_id"), v.code("psn_no"), v.code("fixmedins_code"), v.code("med_type"),
			ts(v.dateTime("begntime")), ts(v.dateTime("endtime")), v.code("gend"), v.code("age"))},
		// Screened lines (cnt > 0) of valid visits, with their visit's
		// attributes: the input of every line template.
		{"fee lines", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE lines AS
WITH r AS (
  SELECT %s AS sn, %s AS mdtrt_id,
         %s AS setl_id, %s AS psn_no,
         %s AS inst, %s AS item,
         %s AS cnt, %s AS pric, %s AS amt, %s AS t
  FROM raw_fee_lines)
SELECT r.sn, r.mdtrt_id, r.setl_id, r.psn_no, r.inst, r.item,
       CAST(r.cnt AS DECIMAL(38,4)) AS cnt, CAST(r.pric AS DECIMAL(38,4)) AS pric, r.amt, r.t, CAST(r.t AS DATE) AS d,
       v.inpatient, v.gend, v.age, v.lv, v.begd, v.find, v.los
FROM r JOIN visits v ON v.mdtrt_id = r.mdtrt_id AND v.psn_no = r.psn_no AND v.inst = r.inst
WHERE r.sn <> '' AND r.setl_id <> '' AND r.item <> '' AND r.cnt IS NOT NULL AND r.pric IS NOT NULL
  AND r.amt IS NOT NULL AND abs(CAST(r.cnt AS DECIMAL(38,4)) * CAST(r.pric AS DECIMAL(38,4))) < %s AND r.t IS NOT NULL AND r.cnt > 0`,
			v.ends("feedetl_sn"), v.code("mdtrt_id"), v.ends("setl_id"), v.code("psn_no"), v.code("fixmedins_code"), v.code("hilist_code"),
			dec(v.decimal("cnt")), dec(v.decimal("pric")), dec(v.decimal("det_item_fee_sumamt")), ts(v.dateTime("fee_ocur_time")),
			maxProduct)},
		{"visit amounts", `CREATE OR REPLACE TEMP TABLE vamt AS
SELECT v.mdtrt_id, v.psn_no, v.inst, v.inpatient, v.beg, v.fin, v.begd, v.find,
       ROUND(coalesce(s.amt, 0), 2) AS amount
FROM visits v LEFT JOIN (SELECT mdtrt_id, sum(amt) AS amt FROM lines GROUP BY mdtrt_id) s ON s.mdtrt_id = v.mdtrt_id`},
	}
	if diags {
		s = append(s, stmt{"diagnoses", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE diags AS
SELECT d.mdtrt_id, d.diag_code, d.main FROM (
  SELECT %s AS mdtrt_id, %s AS diag_code,
         %s = '1' AS main
  FROM raw_diagnoses) d
WHERE d.mdtrt_id <> '' AND d.diag_code <> '' AND d.mdtrt_id IN (SELECT mdtrt_id FROM visits)`, v.code("mdtrt_id"), v.code("diag_code"), v.code("maindiag_flag"))})
	}
	if persons {
		s = append(s, stmt{"persons", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE persons AS
SELECT psn_no, CASE WHEN dd = '' THEN NULL ELSE CAST(dd AS DATE) END AS death FROM (
  SELECT %s AS psn_no, %s AS dd,
         row_number() OVER () AS rn
  FROM raw_persons)
WHERE psn_no <> '' AND (dd = '' OR (regexp_full_match(dd, %s) AND try_strptime(dd, '%%Y-%%m-%%d') IS NOT NULL))
QUALIFY rn = min(rn) OVER (PARTITION BY psn_no)`, v.code("psn_no"), v.date("death_date"), reDate)})
	}
	return s
}
