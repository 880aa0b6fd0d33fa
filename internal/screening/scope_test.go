package screening

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// A shard or city keeps only its institutions' visits (plus the stays
// elsewhere of its persons); what it decides from other institutions'
// visits — duplicate mdtrt_ids, OverlappingStays partners (valid ones
// only), the reason a fee line is rejected — must be as in the whole run.
func TestPartialScopeMatchesWholeRun(t *testing.T) {
	d := newDataset()
	for _, h := range []string{"H2", "H3", "H4", "H5", "H6", "H7", "H8"} {
		d.inst(h, "2")
	}
	for i := range d.insts {
		if i%2 == 1 {
			d.insts[i][2] = "320200"
		}
	}
	raw := func(sn, md, psn, inst string) {
		d.lines = append(d.lines, []string{sn, md, "S-" + md, psn, inst, "PSA", "x", "1", "80", "80.00", "2024-03-02 09:10:00"})
	}
	// An id first used out of scope (H6 outpatient), reused by an
	// inpatient stay overlapping V1 elsewhere: that stay is no partner.
	d.visit("D0", "P9", "H6", "11", "2024-03-01 09:00:00", "2024-03-01 10:00:00", "1", "40")
	d.visit("E0", "P8", "H3", "11", "2024-03-01 09:00:00", "2024-03-01 10:00:00", "1", "40")
	d.visit("F1", "P3", "H5", "11", "2024-03-01 09:00:00", "2024-03-01 10:00:00", "1", "40")
	d.in("V1", "P1")
	d.visit("V2", "P2", "H2", "21", "2024-03-10 08:00:00", "2024-03-12 10:00:00", "1", "40")
	d.visit("V3", "P5", "H8", "21", "2024-03-10 08:00:00", "2024-03-12 10:00:00", "2", "40")
	d.visit("X1", "P1", "H5", "21", "2024-03-04 08:00:00", "2024-03-08 10:00:00", "1", "40") // partner of V1
	d.visit("D0", "P1", "H7", "21", "2024-03-02 08:00:00", "2024-03-03 10:00:00", "1", "40") // duplicate id
	d.visit("E0", "P2", "H4", "21", "2024-03-11 08:00:00", "2024-03-11 10:00:00", "1", "40") // duplicate id
	d.visit("F1", "P4", "H2", "11", "2024-03-01 09:00:00", "2024-03-01 10:00:00", "2", "40") // duplicate id
	d.visit("V4", "P5", "H1", "21", "2024-03-11 08:00:00", "2024-03-13 10:00:00", "1", "40") // overlaps V3
	d.visit("V3", "P5", "H3", "21", "2024-02-10 08:00:00", "2024-02-12 10:00:00", "1", "40") // duplicate id
	for _, v := range []string{"V1", "V2", "V3", "V4", "X1"} {
		d.line("L"+v, v, "PSA", "1", "80", "2024-03-02 09:00:00")
	}
	raw("LF1", "F1", "P3", "H5")
	raw("LF1b", "F1", "P4", "H2")  // differs: F1 is H5's visit
	raw("LV1", "V1", "P1", "H3")   // differs
	raw("LX1", "X1", "P1", "H1")   // differs
	raw("LNO", "NOPE", "P1", "H4") // not a valid visit
	raw("LD0", "D0", "P1", "H7")   // differs: D0 is H6's visit
	raw("LE0", "E0", "P2", "H4")   // differs
	d.diag("V1", "I10", "1")
	d.person("P1", "2024-03-01")
	dir := t.TempDir()
	d.write(t, dir, "csv")
	rs := []rules.Rule{
		rule("O", rules.OverlappingStays, "", rules.Params{}),
		rule("G", rules.GenderRestriction, "", rules.Params{Items: []string{"PSA"}, Gender: rules.Male}),
		rule("C", rules.CoveredIndication, "", rules.Params{Items: []string{"PSA"}, DiagCodes: []string{"I10"}}),
		rule("D", rules.ChargeAfterDeath, "", rules.Params{}),
	}
	quarantine := func(r *Result) []string {
		b, err := os.ReadFile(filepath.Join(r.OutputDir, "quarantine.csv"))
		if err != nil {
			t.Fatal(err)
		}
		rows := strings.Split(strings.TrimSpace(string(b)), "\n")[1:]
		sort.Strings(rows)
		return rows
	}
	whole, wr := screen(t, dir, rs, nil)
	wantQ := quarantine(wr)
	for _, k := range []string{"O/visit:V1=", "O/visit:X1=", "O/visit:V4=", "O/visit:V3="} {
		found := false
		for _, f := range keys(whole) {
			found = found || strings.HasPrefix(f, k)
		}
		if !found {
			t.Errorf("whole run lacks %s…: %v", k, keys(whole))
		}
	}
	for _, k := range keys(whole) {
		if strings.HasPrefix(k, "O/visit:V2=") {
			t.Errorf("V2 flagged by a duplicate stay: %v", keys(whole))
		}
	}
	for _, city := range []string{"", "320100", "320200"} {
		for _, n := range []int{2, 4, 8} {
			var union []FindingRow
			var q []string
			for i := 0; i < n; i++ {
				fs, r := screen(t, dir, rs, func(o *Options) { o.Shard, o.Shards, o.City = i, n, city })
				union = append(union, fs...)
				q = append(q, quarantine(r)...)
			}
			want := whole
			if city != "" {
				want = nil
				for _, f := range whole {
					if (f.FixmedinsCode[1]-'0')%2 == map[string]byte{"320100": 1, "320200": 0}[city] {
						want = append(want, f)
					}
				}
				q = nil // rows of other cities are nobody's: compared unsharded only
			}
			if !sameKeys(keys(union), keys(want)) {
				t.Errorf("city %q, %d shards: findings\n got %v\nwant %v", city, n, keys(union), keys(want))
			}
			if city == "" {
				sort.Strings(q)
				if strings.Join(q, "\n") != strings.Join(wantQ, "\n") {
					t.Errorf("%d shards: quarantine\n got %q\nwant %q", n, q, wantQ)
				}
			}
		}
	}
}
