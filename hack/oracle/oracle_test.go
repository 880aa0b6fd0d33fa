package oracle

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
	"github.com/medfund/flycheck-operator/internal/screening"
	"github.com/medfund/flycheck-operator/internal/synth"
)

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // temp tables live in one connection
	t.Cleanup(func() { db.Close() })
	return db
}

func loadRules(t *testing.T, patterns ...string) []rules.Rule {
	t.Helper()
	var files []string
	for _, p := range patterns {
		m, _ := filepath.Glob(p)
		files = append(files, m...)
	}
	cat, err := rules.LoadFiles(files...)
	if err != nil {
		t.Fatal(err)
	}
	return cat.Rules
}

// TestDifferential: the Go engine and the SQL oracle produce identical
// finding sets (identity key and amount) on generated data of several
// seeds, in CSV and Parquet, with the default and the 200-rule catalogues.
func TestDifferential(t *testing.T) {
	def := loadRules(t, "../../config/rules/*.yaml")
	bench := loadRules(t, "../../config/rules/bench/bench-200.yaml")
	cases := []struct {
		seed     uint64
		format   synth.Format
		rules    []rules.Rule
		name     string
		rate     float64
		encoding string
		// shards > 1: the engine runs shard by shard (as a ScreeningJob's
		// pods do, each keeping only its institutions' visits) and the
		// union of the shards is compared with the SQL over everything.
		shards int
		// quirks: the CSV is written as platforms export it (synth
		// Options.Quirks); both sides normalise (docs/data-format.md,
		// "Values"), the engine detecting the encoding (auto).
		quirks bool
		// strict: both sides read values exactly as written (--strict).
		strict bool
	}{
		{1, synth.CSV, def, "default", 0.03, "", 1, false, false},
		{6, synth.CSV, def, "default", 0.03, "GB18030", 1, false, false},
		{2, synth.Parquet, def, "default", 0.03, "", 1, false, false},
		{3, synth.CSV, bench, "bench-200", 0.01, "", 1, false, false},
		{4, synth.Parquet, bench, "bench-200", 0.01, "", 1, false, false},
		{5, synth.Parquet, def, "default", 0, "", 1, false, false},
		{7, synth.Parquet, def, "default", 0.03, "", 3, false, false},
		{8, synth.CSV, bench, "bench-200", 0.01, "", 4, false, false},
		{9, synth.CSV, def, "default", 0.03, "", 1, true, false},
		{10, synth.CSV, def, "default", 0.03, "GB18030", 3, true, false},
		{11, synth.CSV, bench, "bench-200", 0.01, "", 1, true, false},
		{12, synth.CSV, def, "default", 0.03, "", 2, true, true},
	}
	for _, tc := range cases {
		quirky := ""
		if tc.quirks {
			quirky = "-quirks"
		}
		if tc.strict {
			quirky += "-strict"
		}
		t.Run(fmt.Sprintf("seed%d-%s%s%s-%s-%dshards", tc.seed, tc.format, tc.encoding, quirky, tc.name, tc.shards), func(t *testing.T) {
			dir := t.TempDir()
			cfg := synth.DefaultConfig()
			cfg.Seed, cfg.Cities, cfg.InstitutionsPerCity, cfg.FeeLines, cfg.ViolationRate = tc.seed, 3, 12, 40_000, tc.rate
			m, err := synth.Generate(dir, synth.Options{Config: cfg, Rules: tc.rules, Format: tc.format, Encoding: tc.encoding, Quirks: tc.quirks})
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			enc := screening.EncodingUTF8
			switch {
			case tc.quirks:
				enc = screening.EncodingAuto
			case tc.encoding != "":
				enc = screening.Encoding(tc.encoding)
			}
			var normalized int64
			var engine []screening.FindingRow
			for shard := range tc.shards {
				res, err := screening.Run(context.Background(), screening.Options{Input: dir, Rules: tc.rules, Output: out,
					Format: screening.Format(tc.format), Encoding: enc, Shard: shard, Shards: tc.shards, Strict: tc.strict})
				if err != nil {
					t.Fatal(err)
				}
				for _, cols := range res.Stats.Normalized {
					for _, kinds := range cols {
						for _, n := range kinds {
							normalized += n
						}
					}
				}
				rows, err := screening.ReadFindingsParquet(filepath.Join(res.OutputDir, "findings.parquet"))
				if err != nil {
					t.Fatal(err)
				}
				engine = append(engine, rows...)
			}
			sqlDir := dir
			if tc.encoding == "GB18030" {
				// DuckDB reads GB18030 only through an extension it would
				// download; the SQL side reads a UTF-8 transcoding, the
				// engine the GB18030 files themselves.
				sqlDir = transcode(t, dir)
			}
			db := openDB(t)
			st, err := Screen(context.Background(), db, Options{Input: sqlDir, Format: string(tc.format), Rules: tc.rules, Strict: tc.strict})
			if err != nil {
				t.Fatal(err)
			}
			sqlRows, err := Findings(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, f := range engine {
				if _, dup := got[f.Key()]; dup {
					t.Errorf("engine: %q found twice (by two shards?)", f.Key())
				}
				got[f.Key()] = f.Amount
			}
			want := map[string]string{}
			byTemplate := map[string]int{}
			for _, f := range sqlRows {
				if _, dup := want[f.Key()]; dup {
					t.Errorf("oracle: duplicate identity %q", f.Key())
				}
				want[f.Key()] = f.Amount
				byTemplate[f.Template]++
			}
			var diffs []string
			for k, a := range want {
				if b, ok := got[k]; !ok {
					diffs = append(diffs, fmt.Sprintf("only in SQL: %q amount %s", k, a))
				} else if a != b {
					diffs = append(diffs, fmt.Sprintf("amount of %q: SQL %s, engine %s", k, a, b))
				}
			}
			for k, b := range got {
				if _, ok := want[k]; !ok {
					diffs = append(diffs, fmt.Sprintf("only in engine: %q amount %s", k, b))
				}
			}
			sort.Strings(diffs)
			for i, d := range diffs {
				if i == 20 {
					t.Errorf("… %d differences in all", len(diffs))
					break
				}
				t.Error(d)
			}
			if tc.rate > 0 && len(want) == 0 {
				t.Error("no findings at all: the comparison proves nothing")
			}
			if (tc.quirks && !tc.strict) != (normalized > 0) {
				t.Errorf("quirks %v but the engine normalised %d values", tc.quirks, normalized)
			}
			t.Logf("%d fee lines (%d screened by SQL), %d expected by the generator; findings engine %d, SQL %d; %d values normalised; by template %v",
				m.Counts.FeeLines, st.Lines, m.Violations.Findings, len(got), len(want), normalized, byTemplate)
		})
	}
}

// transcode copies the CSV tables of dir to a new directory as UTF-8.
func transcode(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	for _, table := range []string{"institutions", "visits", "fee_lines", "diagnoses", "persons"} {
		f := filepath.Join(dir, table+".csv")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		utf8, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
		if err != nil {
			t.Fatal(err)
		}
		if table == "institutions" && bytes.Equal(utf8, data) {
			t.Fatalf("%s: GB18030 file has no non-ASCII text", f)
		}
		if err := os.WriteFile(filepath.Join(out, filepath.Base(f)), utf8, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestRuleSQLCoversEveryTemplate is the oracle's part of the template
// checklist (docs/contributing.md): every template of the table has SQL.
// The example catalogue holds one rule per template.
func TestRuleSQLCoversEveryTemplate(t *testing.T) {
	byTemplate := map[rules.Template]*rules.Rule{}
	for _, r := range loadRules(t, "../../api/v1alpha1/rules/testdata/example.yaml") {
		byTemplate[r.Template] = &r
	}
	for _, tpl := range rules.Templates() {
		r := byTemplate[tpl]
		if r == nil {
			t.Errorf("template %s: no rule in api/v1alpha1/rules/testdata/example.yaml", tpl)
			continue
		}
		if q, err := RuleSQL(r); err != nil || q == "" {
			t.Errorf("template %s: %v", tpl, err)
		}
	}
	if _, err := RuleSQL(&rules.Rule{ID: "X", Template: "NoSuchTemplate"}); err == nil {
		t.Error("an unknown template must be an error")
	}
}
