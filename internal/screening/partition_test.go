package screening

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

func TestPartFilesChecksTheSet(t *testing.T) {
	mk := func(names ...string) string {
		dir := t.TempDir()
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	var twelve []string
	for k := 0; k < 12; k++ {
		twelve = append(twelve, fmt.Sprintf("part-%d-of-12.csv", k))
	}
	files, n, err := partFiles(mk(twelve...), "")
	if err != nil || n != 12 || filepath.Base(files[10]) != "part-10-of-12.csv" {
		t.Fatalf("12 partitions: n=%d err=%v files=%v", n, err, files)
	}
	if got := selectParts(files, 1, 4); len(got) != 3 || filepath.Base(got[2]) != "part-9-of-12.csv" {
		t.Errorf("shard 1 of 4 of 12: %v", got)
	}
	if got := selectParts(files, 1, 5); len(got) != 12 {
		t.Errorf("5 shards do not divide 12: every partition, got %d", len(got))
	}
	for name, dir := range map[string]string{
		"missing":  mk("part-0-of-3.csv", "part-2-of-3.csv"),
		"two N":    mk("part-0-of-2.csv", "part-1-of-2.csv", "part-0-of-3.csv"),
		"both":     mk("part-0-of-1.csv", "part-0-of-1.parquet"),
		"beyond N": mk("part-0-of-1.csv", "part-1-of-1.csv"),
		"none":     mk("fee_lines.csv"),
	} {
		if _, _, err := partFiles(dir, ""); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, n, err := partFiles(mk("part-0-of-1.csv", "part-0-of-1.parquet"), "parquet"); err != nil || n != 1 {
		t.Errorf("--format parquet picks the .parquet partitions: n=%d err=%v", n, err)
	}
}

// writeParts writes rows into dir/<table>/part-<k>-of-<n>.csv by the
// institution code in column col (or, for diagnoses, of the visit).
func writeParts(t *testing.T, dir, table string, header []string, rows [][]string, n int, code func([]string) string) {
	t.Helper()
	parts := make([][][]string, n)
	for _, r := range rows {
		k := shardOf([]byte(code(r)), n)
		parts[k] = append(parts[k], r)
	}
	if err := os.MkdirAll(filepath.Join(dir, table), 0o755); err != nil {
		t.Fatal(err)
	}
	for k, rs := range parts {
		if err := writeCSVTable(filepath.Join(dir, table, fmt.Sprintf("part-%d-of-%d.csv", k, n)), header, rs); err != nil {
			t.Fatal(err)
		}
	}
}

// quarantineReasons lists table and reason of every quarantined row.
func quarantineReasons(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "quarantine.csv"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rec := range recs[1:] {
		out = append(out, strings.Join(rec[:1], "")+"|"+rec[2]+"|"+rec[len(rec)-1])
	}
	return out
}

// Rejects that no institution decides (bad diagnosis rows, visits with an
// unknown institution) are reported once over the shards of a partitioned
// run, as the unpartitioned run reports them; findings are the same.
func TestPartitionedRejectsReportedOnce(t *testing.T) {
	d := newDataset()
	codes := []string{"H1", "H2", "H3", "H4", "H5", "H6"}
	for _, c := range codes[1:] {
		d.inst(c, "3")
	}
	for i, c := range codes {
		v := fmt.Sprintf("V%d", i)
		d.visit(v, fmt.Sprintf("P%d", i), c, "11", "2024-03-01 09:00:00", "2024-03-01 11:00:00", "1", "40")
		d.lineS(v+"-1", v, "S1", "X1", "1", "10", "2024-03-01 09:30:00")
		d.lineS(v+"-2", v, "S2", "X1", "1", "10", "2024-03-01 09:30:00")
		d.diag(v, "", "1") // empty diag_code: rejected
	}
	d.visit("VX", "PX", "NOPE", "11", "2024-03-01 09:00:00", "2024-03-01 11:00:00", "1", "40")
	rs := []rules.Rule{rule("DUP", rules.DuplicateLine, "", rules.Params{}),
		rule("C", rules.CoveredIndication, "", rules.Params{Items: []string{"PSA"}, DiagCodes: []string{"I10"}})}

	whole, part := t.TempDir(), t.TempDir()
	d.write(t, whole, "csv")
	if err := writeCSVTable(filepath.Join(part, "institutions.csv"), instHeader, d.insts); err != nil {
		t.Fatal(err)
	}
	const n = 4
	instOf := map[string]string{}
	for _, v := range d.visits {
		instOf[v[0]] = v[2]
	}
	writeParts(t, part, "visits", visitHeader, d.visits, n, func(r []string) string { return r[2] })
	writeParts(t, part, "fee_lines", lineHeader, d.lines, n, func(r []string) string { return r[4] })
	writeParts(t, part, "diagnoses", diagHeader, d.diags, n, func(r []string) string { return instOf[r[0]] })

	wantF, wantRes := screen(t, whole, rs, nil)
	want := quarantineReasons(t, wantRes.OutputDir)
	if len(wantF) != len(codes) || len(want) != len(codes)+1 {
		t.Fatalf("unpartitioned: %d findings, quarantine %v", len(wantF), want)
	}
	var gotF []FindingRow
	var got []string
	for i := 0; i < 2; i++ {
		fs, res := screen(t, part, rs, func(o *Options) { o.Shard, o.Shards = i, 2 })
		gotF = append(gotF, fs...)
		got = append(got, quarantineReasons(t, res.OutputDir)...)
		if f := res.Stats.Inputs["fee_lines"].Files; f != n/2 {
			t.Errorf("shard %d opened %d fee-line partitions, want %d", i, f, n/2)
		}
	}
	strip := func(ss []string) []string { // file names differ: keep table-free reason
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = s[strings.Index(s, "|")+1:]
		}
		sort.Strings(out)
		return out
	}
	if w, g := strip(want), strip(got); strings.Join(w, "\n") != strings.Join(g, "\n") {
		t.Errorf("quarantine over the shards:\n%s\nunpartitioned:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
	if !sameKeys(keys(gotF), keys(wantF)) {
		t.Errorf("findings %v, unpartitioned %v", keys(gotF), keys(wantF))
	}
}
