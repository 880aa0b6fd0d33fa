package oracle

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
	"github.com/medfund/flycheck-operator/internal/screening"
	"github.com/medfund/flycheck-operator/internal/synth"
)

// TestDifferentialAtTheRange: fee lines at the edges of the documented
// range (docs/rules.md §2) are kept or refused alike by the engine and the
// SQL: cnt × pric just below 10^14 yuan is screened, at or above it is not;
// 14 integer digits are a decimal, 15 are not; 4 decimals are, 5 are not.
func TestDifferentialAtTheRange(t *testing.T) {
	dir := t.TempDir()
	cfg := synth.DefaultConfig()
	cfg.Seed, cfg.Cities, cfg.InstitutionsPerCity, cfg.FeeLines, cfg.ViolationRate = 13, 1, 3, 2_000, 0
	if _, err := synth.Generate(dir, synth.Options{Config: cfg, Format: synth.CSV}); err != nil {
		t.Fatal(err)
	}
	// Copies of the last fee line (its visit, person, institution) with
	// new serial numbers and the values under test.
	p := filepath.Join(dir, "fee_lines.csv")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	last := recs[len(recs)-1]
	item := last[col["hilist_code"]]
	add := func(sn, cnt, pric, amt string) {
		r := append([]string(nil), last...)
		r[col["feedetl_sn"]], r[col["cnt"]], r[col["pric"]], r[col["det_item_fee_sumamt"]] = sn, cnt, pric, amt
		recs = append(recs, r)
	}
	add("RANGE-BELOW", "9999999", "10000000", "1")           // product 99 999 990 000 000: screened
	add("RANGE-AT", "10000000", "10000000", "1")             // 10^14: refused
	add("RANGE-ABOVE", "99999999999999", "2", "1")           // refused
	add("RANGE-14", "1", "99999999999999.9999", "5")         // screened
	add("RANGE-15", "1", "123456789012345", "5")             // refused
	add("RANGE-DEC4", "1.0001", "99999.9999", "99999.9999")  // screened
	add("RANGE-DEC5", "1.00001", "99999.9999", "99999.9999") // refused
	add("RANGE-NEG", "-10000000", "10000000", "1")           // refused (not screened either way)
	g, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(g)
	if err := w.WriteAll(recs); err != nil {
		t.Fatal(err)
	}
	g.Close()

	rs := []rules.Rule{{ID: "RANGE-CAP", Category: rules.TemplateCategory(rules.PriceCap), Template: rules.PriceCap,
		Params: rules.Params{Items: []string{item}, MaxPrice: "1"}}}
	res, err := screening.Run(context.Background(), screening.Options{Input: dir, Rules: rs, Output: t.TempDir(), Encoding: screening.EncodingUTF8})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := screening.ReadFindingsParquet(filepath.Join(res.OutputDir, "findings.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r.Key()] = r.Amount
	}
	db := openDB(t)
	if _, err := Screen(context.Background(), db, Options{Input: dir, Format: "csv", Rules: rs}); err != nil {
		t.Fatal(err)
	}
	sqlRows, err := Findings(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, r := range sqlRows {
		want[r.Key()] = r.Amount
	}
	var diffs []string
	for k, a := range want {
		if got[k] != a {
			diffs = append(diffs, "SQL "+k+"="+a+", engine "+got[k])
		}
	}
	for k, b := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "only in engine: "+k+"="+b)
		}
	}
	sort.Strings(diffs)
	for _, d := range diffs {
		t.Error(d)
	}
	flagged := map[string]string{}
	for _, r := range rows {
		if len(r.FeedetlSn) > 6 && r.FeedetlSn[:6] == "RANGE-" {
			flagged[r.FeedetlSn] = r.Amount
		}
	}
	wantFlagged := map[string]string{
		"RANGE-BELOW": "99999980000001.00", // (10000000 − 1) × 9999999
		"RANGE-14":    "99999999999999.00", // ROUND(99999999999998.9999 × 1, 2)
		"RANGE-DEC4":  "100009.00",         // ROUND(99998.9999 × 1.0001, 2)
	}
	if len(flagged) != len(wantFlagged) {
		t.Errorf("flagged %v, want %v", flagged, wantFlagged)
	}
	for sn, a := range wantFlagged {
		if flagged[sn] != a {
			t.Errorf("%s: amount %q, want %s (flagged %v)", sn, flagged[sn], a, flagged)
		}
	}
	if n := res.Stats.LinesRejected; n != 5 {
		t.Errorf("%d lines refused, want 5 (AT, ABOVE, 15, DEC5, NEG)", n)
	}
}
