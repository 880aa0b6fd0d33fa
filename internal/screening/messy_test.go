package screening

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// The messy-extract fixture (testdata/messy/README.md): GB18030, CRLF,
// quoted fields with commas and a line break, three header spellings and
// the value quirks of real platform exports, with four planted violations.

const messyDir = "testdata/messy"

func messyOptions(t *testing.T, dir string) Options {
	t.Helper()
	cols, err := LoadColumnMap(filepath.Join(messyDir, "columns.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return Options{Input: dir, RuleFiles: []string{filepath.Join(messyDir, "rules.yaml")}, Columns: cols, Workers: 2}
}

func runMessy(t *testing.T, dir string, mod func(*Options)) ([]FindingRow, *Result) {
	t.Helper()
	o := messyOptions(t, dir)
	if mod != nil {
		mod(&o)
	}
	return screen(t, dir, nil, func(p *Options) { in, out := p.Input, p.Output; *p = o; p.Input, p.Output = in, out })
}

func TestMessyFixtureFindsEveryPlantedViolation(t *testing.T) {
	fs, res := runMessy(t, messyDir, nil)
	want := []string{"BPS-PSA/F0501=80.00", "DC-DUP/F0202=35.50", "EQ-BED-PRICE/F0101=20.00", "FC-DISCH/F0302=1200.00"}
	if got := keys(fs); !sameKeys(got, want) {
		t.Errorf("findings %v, want %v", got, want)
	}
	if res.Stats.AmountAtRisk != "1335.50" {
		t.Errorf("amount at risk %s", res.Stats.AmountAtRisk)
	}
	q := readQuarantine(t, res.OutputDir)
	wantQ := []string{
		`visits.csv:5: begntime "2020/13/1 08:00:00" is not a date-time in an accepted layout`,
		`fee_lines.csv:11: mdtrt_id is not a valid visit`,
	}
	if !reflect.DeepEqual(q, wantQ) {
		t.Errorf("quarantine %q, want %q", q, wantQ)
	}
	wantNorm := normReport{
		"institutions": {"hosp_lv": {"fullWidth": 1}},
		"visits":       {"fixmedins_code": {"trimmed": 1}, "begntime": {"dateTimeLayout": 1}, "endtime": {"dateTimeLayout": 1}},
		"fee_lines": {"cnt": {"fullWidth": 1}, "pric": {"thousandsSeparator": 2}, "det_item_fee_sumamt": {"thousandsSeparator": 2},
			"fee_ocur_time": {"dateTimeLayout": 2}},
	}
	if !sameJSON(t, res.Stats.Normalized, wantNorm) {
		t.Errorf("normalized %s", toJSON(t, res.Stats.Normalized))
	}
	in := res.Stats.Inputs
	if in["institutions"].Encoding != "GB18030" || in["fee_lines"].Encoding != "GB18030" || in["visits"].Encoding != "UTF-8" {
		t.Errorf("encodings %+v", in)
	}
	if in["institutions"].Columns["admdvs"] != "city_code" || in["fee_lines"].Columns["hilist_code"] != "医保目录编码" ||
		in["visits"].Columns["mdtrt_id"] != "MDTRT_ID" || in["institutions"].Columns["fixmedins_name"] != " fixmedins_name " {
		t.Errorf("columns %+v", in)
	}
	// The quoted name with a comma, doubled quotes and a line break.
	var names []string
	for _, s := range res.Summary.Institutions {
		names = append(names, s.Name)
	}
	if want := []string{"南京市第一医院,总院", "鼓楼区\"康宁\"诊所\r\n(门诊部)", "南京仁和大药房"}; !reflect.DeepEqual(names, want) {
		t.Errorf("names %q, want %q", names, want)
	}
}

// With --strict the reader is today's: one finding of four, and the
// quarantine says why every other violation was lost.
func TestMessyFixtureStrict(t *testing.T) {
	fs, res := runMessy(t, messyDir, func(o *Options) { o.Strict = true })
	if got, want := keys(fs), []string{"BPS-PSA/F0501=80.00"}; !sameKeys(got, want) {
		t.Errorf("strict findings %v, want %v", got, want)
	}
	q := readQuarantine(t, res.OutputDir)
	wantQ := []string{
		`institutions.csv:5: hosp_lv "０" is not 0, 1, 2 or 3`,
		`visits.csv:2: fixmedins_code is not a valid institution`,
		`visits.csv:3: begntime "2020/2/3 9:15:00" is not YYYY-MM-DD HH:MM:SS`,
		`visits.csv:5: begntime "2020/13/1 08:00:00" is not YYYY-MM-DD HH:MM:SS`,
		`fee_lines.csv:2: mdtrt_id is not a valid visit`,
		`fee_lines.csv:3: mdtrt_id is not a valid visit`,
		`fee_lines.csv:4: mdtrt_id is not a valid visit`,
		`fee_lines.csv:5: mdtrt_id is not a valid visit`,
		`fee_lines.csv:7: mdtrt_id is not a valid visit`,
		`fee_lines.csv:8: mdtrt_id is not a valid visit`,
		`fee_lines.csv:10: pric "1,200.00" is not a decimal`,
		`fee_lines.csv:11: mdtrt_id is not a valid visit`,
	}
	if !reflect.DeepEqual(q, wantQ) {
		t.Errorf("strict quarantine\n got %q\nwant %q", q, wantQ)
	}
	if len(res.Stats.Normalized) != 0 {
		t.Errorf("strict normalized %v", res.Stats.Normalized)
	}
}

// TestMessyFixtureEncodings: the same extract in UTF-8, UTF-8 with BOM,
// GB18030 and GB18030 with BOM gives identical findings and summaries
// under --encoding auto, and stats.json says what was read.
func TestMessyFixtureEncodings(t *testing.T) {
	type variant struct {
		name, enc, bom string
	}
	variants := []variant{{"UTF-8", "UTF-8", ""}, {"UTF-8+BOM", "UTF-8", "UTF-8"}, {"GB18030", "GB18030", ""}, {"GB18030+BOM", "GB18030", "GB18030"}}
	var first []string
	var firstSum *Summary
	for _, v := range variants {
		dir := t.TempDir()
		for _, table := range []string{"institutions", "visits", "fee_lines"} {
			gb, err := os.ReadFile(filepath.Join(messyDir, table+".csv"))
			if err != nil {
				t.Fatal(err)
			}
			data := gb
			if v.enc == "UTF-8" {
				if data, err = simplifiedchinese.GB18030.NewDecoder().Bytes(gb); err != nil {
					t.Fatal(err)
				}
				if table == "fee_lines" && bytes.Equal(data, gb) {
					t.Fatal("the fixture has no GB18030 text")
				}
			}
			switch v.bom {
			case "UTF-8":
				data = append(append([]byte(nil), bomUTF8...), data...)
			case "GB18030":
				data = append(append([]byte(nil), bomGB18030...), data...)
			}
			if err := os.WriteFile(filepath.Join(dir, table+".csv"), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		fs, res := runMessy(t, dir, nil)
		got := keys(fs)
		if len(got) != 4 {
			t.Errorf("%s: findings %v", v.name, got)
		}
		if first == nil {
			first, firstSum = got, res.Summary
		} else if !sameKeys(got, first) || !reflect.DeepEqual(res.Summary, firstSum) {
			t.Errorf("%s: findings %v, summary %+v; %s gave %v, %+v", v.name, got, res.Summary, variants[0].name, first, firstSum)
		}
		fee := res.Stats.Inputs["fee_lines"]
		if fee.Encoding != v.enc || fee.BOM != v.bom {
			t.Errorf("%s: fee_lines read as %q with BOM %q", v.name, fee.Encoding, fee.BOM)
		}
	}
}
