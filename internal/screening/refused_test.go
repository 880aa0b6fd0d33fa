package screening

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// refusedBase is two screenable BED lines (PriceCap 60: 10.00 each) that
// every case of TestInputItCannotReadIsNotScreenedSilently keeps.
func refusedBase() *dataset {
	d := newDataset()
	d.in("V1", "P1")
	d.in("V2", "P1")
	d.line("L1", "V1", "BED", "1", "70", "2024-03-01 12:00:00")
	d.line("L2", "V1", "BED", "1", "70", "2024-03-02 12:00:00")
	return d
}

func gb18030(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// quarantined reads quarantine.csv as "file:line: reason".
func quarantined(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "quarantine.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs[1:] {
		out = append(out, r[0]+":"+r[1]+": "+r[2])
	}
	return out
}

// checkRowsAddUp asserts stats.json's invariant: rows read = rows screened
// + rows quarantined, per table (an unsharded run without a window).
func checkRowsAddUp(t *testing.T, res *Result) {
	t.Helper()
	s := res.Stats
	if s.LinesRead != s.LinesInScope+s.LinesRejected || s.RowsRead["fee_lines"] != s.LinesRead || s.RowsRejected["fee_lines"] != s.LinesRejected {
		t.Errorf("fee_lines: read %d ≠ screened %d + quarantined %d", s.LinesRead, s.LinesInScope, s.LinesRejected)
	}
	if n := int64(len(res.Summary.Institutions)); s.RowsRead["institutions"] != n+s.RowsRejected["institutions"] {
		t.Errorf("institutions: read %d ≠ screened %d + quarantined %d", s.RowsRead["institutions"], n, s.RowsRejected["institutions"])
	}
	if s.RowsRead["visits"] != s.VisitsInScope+s.RowsRejected["visits"] {
		t.Errorf("visits: read %d ≠ screened %d + quarantined %d", s.RowsRead["visits"], s.VisitsInScope, s.RowsRejected["visits"])
	}
}

// TestInputItCannotReadIsNotScreenedSilently: each kind of input the
// screener cannot read correctly gives its documented result (docs/rules.md
// §2, "Valid rows" and "Input that is refused"): a counted, reasoned
// quarantine row, or an error that stops the run.
func TestInputItCannotReadIsNotScreenedSilently(t *testing.T) {
	const fee = "fee_lines.csv"
	row := func(sn, cnt, pric, amt string) string {
		return sn + ",V1,S-V1,P1,H1,BED,床位费," + cnt + "," + pric + "," + amt + ",2024-03-03 12:00:00\n"
	}
	many := func(n int, cnt, pric, amt string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(row(fmt.Sprintf("X%04d", i), cnt, pric, amt))
		}
		return b.String()
	}
	// n lines of visits V1 and V2 in turn: no visit's lines alone overflow.
	alternating := func(n int, amt string) string {
		var b strings.Builder
		for i := range n {
			v := []string{"V1", "V2"}[i%2]
			fmt.Fprintf(&b, "Y%04d,%s,S-%s,P1,H1,BED,床位费,1,1,%s,2024-03-03 12:00:00\n", i, v, v, amt)
		}
		return b.String()
	}
	cases := []struct {
		name     string
		prefix   []byte // before fee_lines.csv
		suffix   []byte // after it
		encoding Encoding
		// quarantine rows of fee_lines.csv besides nothing, and findings
		// besides L1 and L2; or the run's error.
		reasons  []string
		findings []string
		err      []string
	}{{
		name: "declared UTF-8 (--encoding UTF-8), a GB18030 row", encoding: EncodingUTF8,
		suffix:  append(gb18030(t, row("B1", "1", "70", "70")), row("L3", "1", "75", "75")...),
		reasons: []string{"4: " + reasonNotUTF8}, findings: []string{"P/L3=15.00"},
	}, {
		name: "declared UTF-8 (a UTF-8 BOM), a GB18030 row", prefix: bomUTF8,
		suffix:  append(gb18030(t, row("B1", "1", "70", "70")), row("L3", "1", "75", "75")...),
		reasons: []string{"4: " + reasonNotUTF8}, findings: []string{"P/L3=15.00"},
	}, {
		name:    "truncated inside a quoted field of the last record",
		suffix:  []byte(row("L3", "1", "75", "75") + `B2,V1,S-V1,P1,H1,BED,"床位`),
		reasons: []string{"5: " + reasonTruncated}, findings: []string{"P/L3=15.00"},
	}, {
		name:    "truncated inside a quoted field, with a final line break",
		suffix:  []byte(`B2,V1,S-V1,P1,H1,BED,"床位` + "\r\n"),
		reasons: []string{"4: " + reasonTruncated},
	}, {
		name:   "a quote never closed swallows the lines after it",
		suffix: []byte(`B3,V1,S-V1,P1,H1,BED,"床位费,1,70,70,2024-03-03 12:00:00` + "\n" + row("L3", "1", "75", "75") + row("L4", "1", "75", "75")),
		err:    []string{fee, "the quoted field opened on line 4 is never closed: the file ends inside it, 2 line(s) later (a truncated file, or a stray quote)"},
	}, {
		name: "GB18030 BOM with --encoding UTF-8", prefix: bomGB18030, encoding: EncodingUTF8,
		err: []string{fee, "starts with a GB18030 byte-order mark, but --encoding UTF-8 was given: leave --encoding at auto or convert the file"},
	}, {
		name: "UTF-8 BOM with --encoding GB18030", prefix: bomUTF8, encoding: EncodingGB18030,
		err: []string{fee, "starts with a UTF-8 byte-order mark, but --encoding GB18030 was given"},
	}, {
		name: "numbers beyond the documented range",
		suffix: []byte(row("B4", "1", "123456789012345", "70") + row("B5", "1.00001", "70", "70") +
			row("B6", "1", "70", "-123456789012345.5") + row("B7", "1", "70", `"1,234,567,890,123,456"`) +
			row("B8", "1", "abc", "70") + row("L3", "1", "99999999999999.9999", "99999999999999.9999")),
		reasons: []string{
			`4: pric "123456789012345" is out of range (at most 14 integer digits)`,
			`5: cnt "1.00001" is out of range (at most 4 decimal places)`,
			`6: det_item_fee_sumamt "-123456789012345.5" is out of range (at most 14 integer digits)`,
			`7: det_item_fee_sumamt "1,234,567,890,123,456" is out of range (at most 14 integer digits)`,
			`8: pric "abc" is not a decimal`,
		},
		findings: []string{"P/L3=99999999999940.00"},
	}, {
		name:    "cnt × pric beyond exact arithmetic",
		suffix:  []byte(row("B9", "10000000", "10000000", "1") + row("B10", "-20000000", "5000000.0001", "1") + row("L3", "9999999", "10000000", "1")),
		reasons: []string{`4: cnt "10000000" × pric "10000000" is out of range (the product exceeds exact arithmetic)`, `5: cnt "-20000000" × pric "5000000.0001" is out of range (the product exceeds exact arithmetic)`},
		// Just below 10^14 yuan: (10000000 − 60) × 9999999.
		findings: []string{"P/L3=99999390000060.00"},
	}, {
		name:   "screened amounts that would overflow an institution's sum",
		suffix: []byte(many(10, "1", "1", "99999999999999.99")),
		err:    []string{fee, "institution H1", "±922 337 203 685 477.5807 yuan"},
	}, {
		name:   "screened amounts of several visits that would overflow an institution's sum",
		suffix: []byte(alternating(10, "99999999999999.99")),
		err:    []string{fee, "institution H1", "±922 337 203 685 477.5807 yuan"},
	}, {
		name:   "amounts at risk that would overflow",
		suffix: []byte(many(1000, "9999999", "9999999", "0")),
		err:    []string{"institution H1: the amount at risk of its findings adds up beyond ±92 233 720 368 547 758.07 yuan"},
	}}
	rs := []rules.Rule{rule("P", rules.PriceCap, "", rules.Params{Items: []string{"BED"}, MaxPrice: "60"})}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			refusedBase().write(t, dir, "csv")
			p := filepath.Join(dir, fee)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data = append(append(append([]byte(nil), tc.prefix...), data...), tc.suffix...)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			res, err := Run(context.Background(), Options{Input: dir, Rules: rs, Output: out, Workers: 2, Encoding: tc.encoding})
			if tc.err != nil {
				if err == nil {
					t.Fatalf("the run succeeded; want an error with %q", tc.err)
				}
				for _, want := range tc.err {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
				if _, serr := os.Stat(filepath.Join(out, "stats.json")); serr == nil {
					t.Error("a failed run left stats.json")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, q := range quarantined(t, res.OutputDir) {
				if r, ok := strings.CutPrefix(q, fee+":"); ok {
					got = append(got, r)
				}
			}
			if !reflect.DeepEqual(got, tc.reasons) {
				t.Errorf("quarantine\n got %q\nwant %q", got, tc.reasons)
			}
			fs, err := ReadFindingsCSV(filepath.Join(res.OutputDir, "findings.csv"))
			if err != nil {
				t.Fatal(err)
			}
			want := append([]string{"P/L1=10.00", "P/L2=10.00"}, tc.findings...)
			if k := keys(fs); !sameKeys(k, want) {
				t.Errorf("findings %v, want %v", k, want)
			}
			if res.Stats.LinesRejected != int64(len(tc.reasons)) {
				t.Errorf("lines rejected %d, want %d", res.Stats.LinesRejected, len(tc.reasons))
			}
			checkRowsAddUp(t, res)
		})
	}
}

// TestGB18030BOMIsReadAsGB18030: under --encoding auto a GB18030 BOM (84 31
// 95 33) decides the encoding (names intact, stats.json says so), as does
// --encoding GB18030 with the same file.
func TestGB18030BOMIsReadAsGB18030(t *testing.T) {
	d := chineseData()
	utf := t.TempDir()
	d.write(t, utf, "csv")
	gb := t.TempDir()
	for _, name := range []string{"institutions.csv", "visits.csv", "fee_lines.csv"} {
		data, err := os.ReadFile(filepath.Join(utf, name))
		if err != nil {
			t.Fatal(err)
		}
		enc := append([]byte("\x84\x31\x95\x33"), gb18030(t, string(data))...)
		if err := os.WriteFile(filepath.Join(gb, name), enc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, ref := screen(t, utf, someRules(), nil)
	for _, enc := range []Encoding{EncodingAuto, EncodingGB18030} {
		got, res := screen(t, gb, someRules(), func(o *Options) { o.Encoding = enc })
		if !sameKeys(keys(got), keys(want)) || len(want) == 0 {
			t.Errorf("%s: findings %v, want %v", enc, keys(got), keys(want))
		}
		if !reflect.DeepEqual(res.Summary, ref.Summary) {
			t.Errorf("%s: summary %+v, want %+v", enc, res.Summary, ref.Summary)
		}
		if name := res.Summary.Institutions[0].Name; name != `南京市第一医院, "总院"` {
			t.Errorf("%s: name %q", enc, name)
		}
		for _, tb := range []string{"institutions", "visits", "fee_lines"} {
			if in := res.Stats.Inputs[tb]; in.Encoding != "GB18030" || in.BOM != "GB18030" {
				t.Errorf("%s: %s read as %q with BOM %q, want GB18030 and GB18030", enc, tb, in.Encoding, in.BOM)
			}
		}
		if res.Stats.LinesRejected != 0 {
			t.Errorf("%s: %d lines rejected", enc, res.Stats.LinesRejected)
		}
		checkRowsAddUp(t, res)
	}
	// Without its BOM the same bytes are still told apart by content.
	for _, name := range []string{"institutions.csv", "visits.csv", "fee_lines.csv"} {
		p := filepath.Join(gb, name)
		data, _ := os.ReadFile(p)
		if err := os.WriteFile(p, bytes.TrimPrefix(data, bomGB18030), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, res := screen(t, gb, someRules(), nil); res.Stats.Inputs["fee_lines"].BOM != "" || res.Stats.Inputs["fee_lines"].Encoding != "GB18030" {
		t.Errorf("no BOM: %+v", res.Stats.Inputs["fee_lines"])
	}
}
