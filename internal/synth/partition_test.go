package synth

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// shardRun screens shard i of n of dir and returns its findings (identity
// key → amount and evidence) and stats.
func shardRun(t *testing.T, dir string, f Format, rs []rules.Rule, i, n int) (map[string]string, *screening.Stats) {
	t.Helper()
	out := t.TempDir()
	opts := screening.Options{Input: dir, Rules: rs, Output: out, Format: screening.FormatCSV, Shard: i, Shards: n}
	if f == Parquet {
		opts.Format = screening.FormatParquet
	}
	res, err := screening.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.LinesRejected != 0 {
		t.Errorf("shard %d of %d rejected %d generated lines", i, n, res.Stats.LinesRejected)
	}
	rows, err := screening.ReadFindingsCSV(filepath.Join(res.OutputDir, "findings.csv"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, r := range rows {
		m[r.Key()] = r.Amount + " " + r.Evidence
	}
	return m, res.Stats
}

func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		st, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		n += st.Size()
	}
	return n
}

// The same seed written whole and in 8 partitions gives the same findings:
// one unsharded run on the whole tables against the union of 4 shards (each
// opening 2 partitions) and of 3 shards (8 is no multiple of 3: every
// shard opens every partition).
func TestPartitionedInputSameFindings(t *testing.T) {
	all := loadRules(t, defaultRuleFiles(t)...)
	var noOverlap []rules.Rule
	for _, r := range all {
		if r.Template != rules.OverlappingStays {
			noOverlap = append(noOverlap, r)
		}
	}
	const parts = 8
	for _, f := range []Format{CSV, Parquet} {
		t.Run(string(f), func(t *testing.T) {
			whole, part := t.TempDir(), t.TempDir()
			opt := smallOptions(23, all, 0.02)
			opt.Format = f
			mw, err := Generate(whole, opt)
			if err != nil {
				t.Fatal(err)
			}
			opt.Partitions = parts
			mp, err := Generate(part, opt)
			if err != nil {
				t.Fatal(err)
			}
			if mw.Counts != mp.Counts || mp.Partitions != parts {
				t.Fatalf("counts differ: whole %+v, partitioned %+v (partitions %d)", mw.Counts, mp.Counts, mp.Partitions)
			}
			for _, tb := range partitionedTables {
				if _, err := os.Stat(filepath.Join(part, tb+"."+string(f))); !os.IsNotExist(err) {
					t.Errorf("%s.%s left beside its partitions (%v)", tb, f, err)
				}
			}
			for _, rs := range [][]rules.Rule{all, noOverlap} {
				want, _ := shardRun(t, whole, f, rs, 0, 1)
				if len(want) == 0 {
					t.Fatal("no findings to compare")
				}
				for _, n := range []int{4, 3} {
					got := map[string]string{}
					var feeBytes int64
					for i := 0; i < n; i++ {
						m, st := shardRun(t, part, f, rs, i, n)
						for k, v := range m {
							got[k] = v
						}
						fee, visits := st.Inputs["fee_lines"], st.Inputs["visits"]
						feeBytes += fee.Bytes
						wantFiles := parts / 4
						if n != 4 {
							wantFiles = parts
						}
						if fee.Files != wantFiles || st.Inputs["diagnoses"].Files != wantFiles {
							t.Errorf("%d shards, shard %d: opened %d fee-line and %d diagnosis partitions, want %d",
								n, i, fee.Files, st.Inputs["diagnoses"].Files, wantFiles)
						}
						// OverlappingStays needs every stay of the shard's persons.
						wantVisits := wantFiles
						if len(rs) == len(all) {
							wantVisits = parts
						}
						if visits.Files != wantVisits {
							t.Errorf("%d shards, shard %d (%d rules): opened %d visit partitions, want %d", n, i, len(rs), visits.Files, wantVisits)
						}
					}
					if n == 4 {
						if total := dirBytes(t, filepath.Join(part, "fee_lines")); feeBytes != total {
							t.Errorf("4 shards opened %d fee-line bytes in all, the partitions hold %d", feeBytes, total)
						}
					}
					if len(got) != len(want) {
						t.Errorf("%d shards, %d rules: %d findings, unpartitioned %d", n, len(rs), len(got), len(want))
					}
					var diff []string
					for k, v := range want {
						if got[k] != v {
							diff = append(diff, k)
						}
					}
					sort.Strings(diff)
					if len(diff) > 0 {
						t.Errorf("%d shards, %d rules: %d findings differ from the unpartitioned run, e.g. %s", n, len(rs), len(diff), diff[0])
					}
				}
			}
		})
	}
}
