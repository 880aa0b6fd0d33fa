package synth

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/medfund/flycheck-operator/internal/screening"
)

// TestQuirkyExtractGivesTheCleanFindings: an extract written with the
// quirks of platform exports is screened into exactly the findings of the
// same extract written cleanly, every kind of normalisation is exercised,
// and --strict loses findings to the quarantine.
func TestQuirkyExtractGivesTheCleanFindings(t *testing.T) {
	rs := loadRules(t, defaultRuleFiles(t)...)
	for _, enc := range []string{"UTF-8", "GB18030"} {
		t.Run(enc, func(t *testing.T) {
			run := func(dir string, strict bool) (map[string]string, *screening.Stats) {
				t.Helper()
				res, err := screening.Run(context.Background(), screening.Options{Input: dir, Rules: rs, Output: t.TempDir(), Strict: strict})
				if err != nil {
					t.Fatal(err)
				}
				rows, err := screening.ReadFindingsCSV(filepath.Join(res.OutputDir, "findings.csv"))
				if err != nil {
					t.Fatal(err)
				}
				out := map[string]string{}
				for _, r := range rows {
					out[r.Key()] = r.Amount
				}
				return out, res.Stats
			}
			clean, quirky := t.TempDir(), t.TempDir()
			opt := smallOptions(31, rs, 0.03)
			opt.Encoding = enc
			if _, err := Generate(clean, opt); err != nil {
				t.Fatal(err)
			}
			opt.Quirks = true
			m, err := Generate(quirky, opt)
			if err != nil {
				t.Fatal(err)
			}
			if !m.Quirks {
				t.Error("manifest does not say quirks")
			}
			want, _ := run(clean, false)
			got, st := run(quirky, false)
			if len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("quirky extract: %d findings, clean %d (equal: %v)", len(got), len(want), reflect.DeepEqual(got, want))
			}
			if st.LinesRejected != 0 || len(st.RowsRejected) != 0 {
				t.Errorf("quirky extract: rejected %v", st.RowsRejected)
			}
			kinds := map[string]int64{}
			for _, cols := range st.Normalized {
				for _, ks := range cols {
					for k, n := range ks {
						kinds[k] += n
					}
				}
			}
			for _, k := range []string{"trimmed", "fullWidth", "thousandsSeparator", "dateTimeLayout", "fractionalSeconds", "dateLayout"} {
				if kinds[k] == 0 {
					t.Errorf("no value normalised as %s: %v", k, kinds)
				}
			}
			if st.Inputs["fee_lines"].Encoding != enc || st.Inputs["visits"].BOM != enc || st.Inputs["visits"].Columns["mdtrt_id"] != "MDTRT_ID" {
				t.Errorf("inputs %+v", st.Inputs)
			}
			raw, err := os.ReadFile(filepath.Join(quirky, "fee_lines.csv"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(raw, []byte("\r\n")) || bytes.Count(raw, []byte("\n")) != bytes.Count(raw, []byte("\r\n")) {
				t.Error("fee_lines.csv does not end its lines with CRLF")
			}
			strictFound, sst := run(quirky, true)
			if len(strictFound) >= len(want) || sst.LinesRejected == 0 {
				t.Errorf("strict on the quirky extract: %d findings (clean %d), %d lines rejected", len(strictFound), len(want), sst.LinesRejected)
			}
			t.Logf("%d findings; normalised %v; strict: %d findings, rejected %v", len(got), kinds, len(strictFound), sst.RowsRejected)
		})
	}
}

func TestQuirkHelpers(t *testing.T) {
	for in, want := range map[string]string{"1234.50": "1,234.50", "-1234567": "-1,234,567", "12345.5": "12,345.5"} {
		if got, ok := thousands(in); !ok || got != want {
			t.Errorf("thousands(%q) = %q, %v", in, got, ok)
		}
	}
	if _, ok := thousands("999.99"); ok {
		t.Error("thousands(999.99) grouped")
	}
	if got := fullWidth("H1-a"); got != "Ｈ１－ａ" {
		t.Errorf("fullWidth %q", got)
	}
	if got := fullWidthDigits("2024-03-01"); !strings.HasPrefix(got, "２０２４-") {
		t.Errorf("fullWidthDigits %q", got)
	}
}
