package oracle

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"testing"

	"github.com/medfund/flycheck-operator/internal/screening"
	"github.com/medfund/flycheck-operator/internal/synth"
)

// The expert SQL (the benchmark's anchor) must give the engine's finding
// set — identities and amounts — on generated data with violations, for
// the default catalogue and bench-200, on CSV, string Parquet and typed
// Parquet. On the typed files the oracle is run too (it reads DECIMAL,
// TIMESTAMP and DATE columns through its text casts).
func TestExpertMatchesEngine(t *testing.T) {
	def := loadRules(t, "../../config/rules/*.yaml")
	bench := loadRules(t, "../../config/rules/bench/bench-200.yaml")
	for _, tc := range []struct {
		name   string
		seed   uint64
		format synth.Format
		types  string
		bench  bool
	}{
		{"default-csv", 41, synth.CSV, "", false},
		{"default-parquet", 42, synth.Parquet, synth.ParquetStrings, false},
		{"default-parquet-typed", 43, synth.Parquet, synth.ParquetTyped, false},
		{"bench200-csv", 44, synth.CSV, "", true},
		{"bench200-parquet", 45, synth.Parquet, synth.ParquetStrings, true},
		{"bench200-parquet-typed", 46, synth.Parquet, synth.ParquetTyped, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, rate := def, 0.03
			if tc.bench {
				rs, rate = bench, 0.01
			}
			dir := t.TempDir()
			cfg := synth.DefaultConfig()
			cfg.Seed, cfg.Cities, cfg.InstitutionsPerCity, cfg.FeeLines, cfg.ViolationRate = tc.seed, 3, 12, 40_000, rate
			if _, err := synth.Generate(dir, synth.Options{Config: cfg, Rules: rs, Format: tc.format, ParquetTypes: tc.types}); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			res, err := screening.Run(context.Background(), screening.Options{Input: dir, Rules: rs, Output: out,
				Format: screening.Format(tc.format), Encoding: screening.EncodingUTF8})
			if err != nil {
				t.Fatal(err)
			}
			rows, err := screening.ReadFindingsParquet(filepath.Join(res.OutputDir, "findings.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			engine := map[string]string{}
			for _, f := range rows {
				engine[f.Key()] = f.Amount
			}
			if len(engine) == 0 {
				t.Fatal("the engine found nothing: the comparison proves nothing")
			}
			db := openDB(t)
			n, err := ExpertScreen(context.Background(), db, ExpertOptions{Input: dir, Format: string(tc.format), Rules: rs})
			if err != nil {
				t.Fatal(err)
			}
			expert := sqlFindings(t, db)
			compareFindings(t, "expert", expert, engine)
			if int(n) != len(expert) {
				t.Errorf("ExpertScreen counted %d findings, the table holds %d distinct", n, len(expert))
			}
			if tc.types == synth.ParquetTyped {
				odb := openDB(t)
				if _, err := Screen(context.Background(), odb, Options{Input: dir, Format: string(tc.format), Rules: rs, Strict: true}); err != nil {
					t.Fatal(err)
				}
				compareFindings(t, "oracle", sqlFindings(t, odb), engine)
			}
			t.Logf("%d findings, identical", len(engine))
		})
	}
}

func sqlFindings(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := Findings(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, f := range rows {
		if _, dup := m[f.Key()]; dup {
			t.Errorf("SQL: duplicate identity %q", f.Key())
		}
		m[f.Key()] = f.Amount
	}
	return m
}

func compareFindings(t *testing.T, who string, got, engine map[string]string) {
	t.Helper()
	var diffs []string
	for k, a := range got {
		if b, ok := engine[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("only in %s: %q amount %s", who, k, a))
		} else if a != b {
			diffs = append(diffs, fmt.Sprintf("amount of %q: %s %s, engine %s", k, who, a, b))
		}
	}
	for k, b := range engine {
		if _, ok := got[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("only in engine (not %s): %q amount %s", who, k, b))
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
}
