package screening

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// Each normalisation has values it accepts and near misses it still
// rejects (docs/data-format.md, "Values").

func TestNormalizeDecimal(t *testing.T) {
	accept := []struct {
		in    string
		units int64
		kinds normKind
	}{
		{"1,200.00", 12000000, normThousands},
		{"-1,234,567.5", -12345675000, normThousands},
		{"12,345", 123450000, normThousands},
		{" 12.5 ", 125000, normTrimmed},
		{"１２.５", 125000, normFullWidth},
		{"１，２００．００", 12000000, normFullWidth | normThousands},
		{"\u300040\u3000", 400000, normTrimmed},
		{"40\u00a0", 400000, normTrimmed},
	}
	for _, c := range accept {
		var z normalizer
		if _, ok := parseDecimal([]byte(c.in)); ok {
			t.Errorf("%q passes the strict parse: not a slow-path case", c.in)
		}
		v, k, ok := z.decimal([]byte(c.in))
		if !ok || v != c.units || k != c.kinds {
			t.Errorf("decimal(%q) = %d, %b, %v; want %d, %b", c.in, v, k, ok, c.units, c.kinds)
		}
	}
	for _, in := range []string{"1,2,3.4", "12,00", "1,2000", ",100", "1,200,", "1,200.0,0", "1.200,00", "1 200.00",
		"+12", "1e3", "12.34567", "１,２,３", "", " ", "1,234.56789", "1234,567"} {
		var z normalizer
		if v, k, ok := z.decimal([]byte(in)); ok {
			t.Errorf("decimal(%q) accepted as %d (%b)", in, v, k)
		}
	}
}

func TestNormalizeDateTime(t *testing.T) {
	want := int64(daysFromCivil(2020, 2, 3))*secondsPerDay + 9*3600 + 15*60
	accept := []struct {
		in    string
		kinds normKind
	}{
		{"2020/2/3 9:15:00", normDateTimeLayout},
		{"2020/02/03 09:15:00", normDateTimeLayout},
		{"2020-02-03T09:15:00", normDateTimeLayout},
		{"20200203091500", normDateTimeLayout},
		{"2020-02-03 9:15:00", normDateTimeLayout},
		{"2020-02-03 09:15:00.000", normFractionalSeconds},
		{"2020-02-03 09:15:00.987654321", normFractionalSeconds},
		{"2020-02-03T09:15:00.5", normDateTimeLayout | normFractionalSeconds},
		{"20200203091500.25", normDateTimeLayout | normFractionalSeconds},
		{"2020/2/3 9:15:00.1", normDateTimeLayout | normFractionalSeconds},
		{" 2020-02-03 09:15:00", normTrimmed},
		{"２０２０-０２-０３ ０９:１５:００", normFullWidth},
		{"２０２０／２／３　９：１５：００", normFullWidth | normDateTimeLayout},
	}
	for _, c := range accept {
		var z normalizer
		got, k, ok := z.dateTime([]byte(c.in))
		if !ok || got != want || k != c.kinds {
			t.Errorf("dateTime(%q) = %s, %b, %v; want 2020-02-03 09:15:00, %b", c.in, formatDateTime(got), k, ok, c.kinds)
		}
	}
	for _, in := range []string{"2020/13/1 09:15:00", "2020/2/30 09:15:00", "2020-2-3 09:15:00", "2020/02/03T09:15:00",
		"20200203 091500", "2020020309150", "2020-02-03 24:00:00", "2020-02-03 09:60:00", "2020-02-03 09:15",
		"2020-02-03 09:15:00.", "2020-02-03 09:15:00.1234567890", "2020-02-03 09:15:00Z", "2020-02-03 09:15:00+08:00",
		"2020/2/3", "2020-02-03", "2020/2/3  9:15:00", "2020/123/3 09:15:00", "2020.02.03 09:15:00", "2020-02-03 009:15:00"} {
		var z normalizer
		if got, k, ok := z.dateTime([]byte(in)); ok {
			t.Errorf("dateTime(%q) accepted as %s (%b)", in, formatDateTime(got), k)
		}
	}
}

func TestNormalizeDate(t *testing.T) {
	want := daysFromCivil(2020, 2, 3)
	for _, c := range []struct {
		in    string
		kinds normKind
	}{
		{"2020/2/3", normDateLayout}, {"2020/02/03", normDateLayout}, {"20200203", normDateLayout},
		{" 2020-02-03 ", normTrimmed}, {"２０２０/２/３", normFullWidth | normDateLayout},
	} {
		var z normalizer
		got, k, ok := z.date([]byte(c.in))
		if !ok || got != want || k != c.kinds {
			t.Errorf("date(%q) = %s, %b, %v; want 2020-02-03, %b", c.in, formatDate(got), k, ok, c.kinds)
		}
	}
	for _, in := range []string{"2020/13/1", "2020/2/30", "2020-2-3", "202023", "2020020", "202002031", "2020/2/3 0:00:00", "2020-02-03T00:00:00"} {
		var z normalizer
		if got, _, ok := z.date([]byte(in)); ok {
			t.Errorf("date(%q) accepted as %s", in, formatDate(got))
		}
	}
}

func TestNormalizeCode(t *testing.T) {
	for _, c := range []struct {
		in, out string
		kinds   normKind
	}{
		{"H001 ", "H001", normTrimmed},
		{"\tH001", "H001", normTrimmed},
		{"H001\u3000", "H001", normTrimmed},
		{"Ｈ００１", "H001", normFullWidth},
		{" Ｈ００１\u00a0", "H001", normFullWidth | normTrimmed},
		{"H0 01", "H0 01", 0}, // inner space: kept, so the code does not match
		{"南京", "南京", 0},
	} {
		if !dirtyCode([]byte(c.in)) && c.kinds != 0 {
			t.Errorf("dirtyCode(%q) = false", c.in)
		}
		var z normalizer
		got, k := z.code([]byte(c.in))
		if string(got) != c.out || k != c.kinds {
			t.Errorf("code(%q) = %q, %b; want %q, %b", c.in, got, k, c.out, c.kinds)
		}
	}
	for _, clean := range []string{"H001", "001102000010000", "MD2020000000000000001", "a"} {
		if dirtyCode([]byte(clean)) {
			t.Errorf("dirtyCode(%q) = true: clean codes must stay on the fast path", clean)
		}
	}
}

// quirkData is a visit whose every value is written in an accepted quirky
// form, and its clean twin.
func quirkData(quirky bool) *dataset {
	d := newDataset()
	if quirky {
		d.insts[0][0] = "H1 "
		d.insts[0][3] = "３"
	}
	begin, end, fee := "2024-03-01 08:00:00", "2024-03-05 10:00:00", "2024-03-06 12:00:00"
	age, cnt, pric := "40", "2", "700"
	if quirky {
		begin, end, fee = "2024/3/1 8:00:00", "20240305100000", "2024-03-06T12:00:00.000"
		age, cnt, pric = "４０", "２", "700.00"
	}
	d.visit("V1", "P1", "H1", "21", begin, end, "2", age)
	d.line("L1", "V1", "BED", cnt, pric, fee)
	d.line("L2", "V1", "PSA", "1", "80", "2024-03-02 09:00:00")
	if quirky {
		d.lines[0][9] = "1,400.00" // det_item_fee_sumamt
		d.lines[0][4] = "\u3000H1" // fixmedins_code
		d.lines[1][1] = "V1 "      // mdtrt_id
		d.lines[1][0] = "Ｌ2"       // feedetl_sn
		d.lines[1][3] = " P1"      // psn_no
		d.visits[0][6] = "２"       // gend
		d.visits[0][0] = "V1\t"    // mdtrt_id in visits
		d.persons = [][]string{{"P1", " 2024/3/5 "}}
	} else {
		d.persons = [][]string{{"P1", "2024-03-05"}}
	}
	return d
}

func quirkRules() []rules.Rule {
	return []rules.Rule{
		rule("G", rules.GenderRestriction, "", rules.Params{Items: []string{"PSA"}, Gender: rules.Male}),
		rule("P", rules.PriceCap, "", rules.Params{Items: []string{"BED"}, MaxPrice: "600"}),
		rule("D", rules.ChargeAfterDischarge, rules.Inpatient, rules.Params{}),
		rule("X", rules.ChargeAfterDeath, "", rules.Params{}),
		rule("F", rules.FacilityLevelRestriction, "", rules.Params{Items: []string{"BED"}, MinLevel: i32(3)}),
		rule("A", rules.AgeRestriction, "", rules.Params{Items: []string{"BED"}, MaxAge: i32(39)}),
	}
}

func TestQuirkyValuesGiveTheCleanFindings(t *testing.T) {
	clean, quirky := t.TempDir(), t.TempDir()
	quirkData(false).write(t, clean, "csv")
	quirkData(true).write(t, quirky, "csv")
	want, _ := screen(t, clean, quirkRules(), nil)
	if len(want) == 0 {
		t.Fatal("the clean twin has no findings: the comparison proves nothing")
	}
	for _, format := range []string{"csv", "parquet"} {
		dir := quirky
		if format == "parquet" {
			dir = t.TempDir()
			quirkData(true).write(t, dir, "parquet")
		}
		got, res := screen(t, dir, quirkRules(), nil)
		// Identities: the normalised sn of L2 is "L2" in both.
		if !sameKeys(keys(got), keys(want)) {
			t.Errorf("%s: quirky %v, clean %v", format, keys(got), keys(want))
		}
		if n := res.Stats.RowsRejected; len(n) != 0 {
			t.Errorf("%s: rejected %v", format, n)
		}
		wantNorm := normReport{
			"institutions": {"fixmedins_code": {"trimmed": 1}, "hosp_lv": {"fullWidth": 1}},
			"visits": {"mdtrt_id": {"trimmed": 1}, "begntime": {"dateTimeLayout": 1}, "endtime": {"dateTimeLayout": 1},
				"gend": {"fullWidth": 1}, "age": {"fullWidth": 1}},
			"fee_lines": {"fixmedins_code": {"trimmed": 1}, "mdtrt_id": {"trimmed": 1}, "feedetl_sn": {"fullWidth": 1},
				"psn_no": {"trimmed": 1}, "cnt": {"fullWidth": 1}, "det_item_fee_sumamt": {"thousandsSeparator": 1},
				"fee_ocur_time": {"dateTimeLayout": 1, "fractionalSeconds": 1}},
			"persons": {"death_date": {"trimmed": 1, "dateLayout": 1}},
		}
		if !sameJSON(t, res.Stats.Normalized, wantNorm) {
			t.Errorf("%s: normalized %s", format, toJSON(t, res.Stats.Normalized))
		}
	}
	// --strict: today's reader. The institution's code has a space, so
	// every visit of it is rejected, and with them the lines.
	got, res := screen(t, quirky, quirkRules(), func(o *Options) { o.Strict = true })
	if len(got) != 0 {
		t.Errorf("strict: findings %v", keys(got))
	}
	if res.Stats.RowsRejected["institutions"] != 1 || res.Stats.RowsRejected["visits"] != 1 || res.Stats.RowsRejected["fee_lines"] != 2 {
		t.Errorf("strict: rejected %v", res.Stats.RowsRejected)
	}
	if len(res.Stats.Normalized) != 0 || !res.Stats.Strict {
		t.Errorf("strict: normalized %v, strict %v", res.Stats.Normalized, res.Stats.Strict)
	}
}

// TestNearMissesAreRejected: one row per near miss; each is quarantined
// with its reason, in normal and strict mode alike.
func TestNearMissesAreRejected(t *testing.T) {
	d := newDataset()
	d.in("V1", "P1")
	d.in("V2", "P2")
	d.in("V3", "P3")
	d.visits[1][4] = "2020/13/1 08:00:00"
	d.visits[2][2] = "H 1" // inner space: no such institution
	d.line("L1", "V1", "BED", "1", "70", "2024-03-01 12:00:00")
	d.line("L2", "V1", "BED", "1", "70", "2024-03-01 12:00:00")
	d.line("L3", "V1", "BED", "1", "70", "2024-03-01 12:00:00")
	d.line("L4", "V1", "BED", "1", "70", "2024-03-01 12:00:00")
	d.lines[0][9] = "1,2,3.4"
	d.lines[1][5] = "BE D"                // inner space: another item, no finding
	d.lines[2][10] = "2024/3/32 12:00:00" // no such day
	d.lines[3][8] = "7,0"
	dir := t.TempDir()
	d.write(t, dir, "csv")
	for _, strict := range []bool{false, true} {
		fs, res := screen(t, dir, []rules.Rule{rule("P", rules.PriceCap, "", rules.Params{Items: []string{"BED"}, MaxPrice: "60"})},
			func(o *Options) { o.Strict = strict })
		if len(fs) != 0 {
			t.Errorf("strict=%v: findings %v", strict, keys(fs))
		}
		q := readQuarantine(t, res.OutputDir)
		for _, want := range []string{
			`visits.csv:3: begntime "2020/13/1 08:00:00" is not`,
			`visits.csv:4: fixmedins_code is not a valid institution`,
			`fee_lines.csv:2: det_item_fee_sumamt "1,2,3.4" is not a decimal`,
			`fee_lines.csv:4: fee_ocur_time "2024/3/32 12:00:00" is not`,
			`fee_lines.csv:5: pric "7,0" is not a decimal`,
		} {
			if !slices.ContainsFunc(q, func(s string) bool { return strings.HasPrefix(s, want) }) {
				t.Errorf("strict=%v: quarantine lacks %q: %q", strict, want, q)
			}
		}
		if len(q) != 5 {
			t.Errorf("strict=%v: quarantine %q", strict, q)
		}
	}
}

// readQuarantine returns "file:line: reason" rows.
func readQuarantine(t *testing.T, dir string) []string {
	t.Helper()
	rows := readCSVFile(t, filepath.Join(dir, "quarantine.csv"))
	var out []string
	for _, r := range rows[1:] {
		out = append(out, r[0]+":"+r[1]+": "+r[2])
	}
	return out
}

func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameJSON compares two values by their JSON (maps in key order).
func sameJSON(t *testing.T, a, b any) bool { return toJSON(t, a) == toJSON(t, b) }
