package synth

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// The same seed written as string Parquet and as typed Parquet (DECIMAL,
// TIMESTAMP, DATE) must give the engine the same finding set, amounts and
// evidence included, with the default catalogue and with bench-200.
func TestTypedParquetSameFindings(t *testing.T) {
	def := loadRules(t, defaultRuleFiles(t)...)
	bench := loadRules(t, "../../config/rules/bench/bench-200.yaml")
	for _, tc := range []struct {
		name string
		seed uint64
		rs   []rules.Rule
	}{{"default", 31, def}, {"bench-200", 32, bench}} {
		t.Run(tc.name, func(t *testing.T) {
			rs := tc.rs
			found := map[string]map[string]string{}
			for _, types := range []string{ParquetStrings, ParquetTyped} {
				dir := t.TempDir()
				opt := smallOptions(tc.seed, rs, 0.03)
				opt.Format, opt.ParquetTypes = Parquet, types
				if _, err := Generate(dir, opt); err != nil {
					t.Fatal(err)
				}
				if types == ParquetTyped {
					checkTyped(t, filepath.Join(dir, "fee_lines.parquet"))
				}
				m := map[string]string{}
				for k, r := range screen(t, dir, Parquet, "", rs) {
					m[k] = r.Amount + " " + r.Evidence
				}
				found[types] = m
			}
			s, ty := found[ParquetStrings], found[ParquetTyped]
			if len(s) == 0 {
				t.Fatal("no findings on the string files")
			}
			for k, v := range s {
				if ty[k] != v {
					t.Errorf("finding %q: strings %q, typed %q", k, v, ty[k])
				}
			}
			for k, v := range ty {
				if _, ok := s[k]; !ok {
					t.Errorf("finding %q only in the typed file (%s)", k, v)
				}
			}
			t.Logf("%d findings, identical", len(s))
		})
	}
}

// checkTyped asserts the typed file really is typed.
func checkTyped(t *testing.T, path string) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(fh, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	for col, want := range map[string]string{"cnt": "decimal", "pric": "decimal", "det_item_fee_sumamt": "decimal", "fee_ocur_time": "timestamp"} {
		leaf, ok := f.Schema().Lookup(col)
		if !ok {
			t.Fatalf("%s: no column %s", path, col)
		}
		lt := leaf.Node.Type().LogicalType()
		got := ""
		if lt != nil {
			switch lt.Value.(type) {
			case *format.DecimalType:
				got = "decimal"
			case *format.TimestampType:
				got = "timestamp"
			}
		}
		if got != want {
			t.Errorf("%s: column %s is %v, want %s", path, col, leaf.Node.Type(), want)
		}
	}
}
