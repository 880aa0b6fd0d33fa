package screening

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// renameHeaders rewrites the first line of dir/table.csv.
func renameHeaders(t *testing.T, dir, table string, header []string) {
	t.Helper()
	p := filepath.Join(dir, table+".csv")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(data), "\n")
	if err := os.WriteFile(p, []byte(strings.Join(header, ",")+"\n"+rest), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestHeaderMatchingIgnoresCaseAndSpaces(t *testing.T) {
	d := chineseData()
	dir := t.TempDir()
	d.write(t, dir, "csv")
	want, _ := screen(t, dir, someRules(), nil)
	renameHeaders(t, dir, "visits", []string{" MDTRT_ID", "Psn_No ", "FIXMEDINS_CODE", "med_type", "BEGNTIME", "endtime", "\u3000gend", "ＡＧＥ"})
	got, res := screen(t, dir, someRules(), nil)
	if !sameKeys(keys(got), keys(want)) || len(want) == 0 {
		t.Errorf("renamed headers %v, original %v", keys(got), keys(want))
	}
	if c := res.Stats.Inputs["visits"].Columns; c["mdtrt_id"] != " MDTRT_ID" || c["age"] != "ＡＧＥ" || c["med_type"] != "" {
		t.Errorf("columns reported %v", c)
	}
}

func TestColumnMapAndProfiles(t *testing.T) {
	d := chineseData()
	dir := t.TempDir()
	d.write(t, dir, "csv")
	want, _ := screen(t, dir, someRules(), nil)
	renameHeaders(t, dir, "institutions", []string{"code", "name", "city_code", "level", "ownership", "type"})
	renameHeaders(t, dir, "fee_lines", []string{"费用明细流水号", "就诊ID", "结算ID", "人员编号", "定点医药机构编号", "医保目录编码", "医保目录名称", "数量", "单价", "明细项目费用总额", "费用发生时间"})

	// Without a mapping: the error names the file, the column and the
	// closest names present.
	_, err := Run(t.Context(), Options{Input: dir, Rules: someRules()})
	if err == nil || !strings.Contains(err.Error(), "institutions.csv: missing column \"fixmedins_code\"") ||
		!strings.Contains(err.Error(), `closest names present: "city_code", "code", "name"`) ||
		!strings.Contains(err.Error(), `column profile short reads it from "code"`) {
		t.Errorf("missing column error: %v", err)
	}

	// The short profile reads the institutions, explicit entries the fee
	// lines (the zh profile would too; one profile per mapping).
	m := &ColumnMap{Profile: "short"}
	for _, e := range []string{"fee_lines.费用明细流水号=feedetl_sn", "fee_lines.就诊ID=mdtrt_id", "fee_lines.结算ID=setl_id",
		"fee_lines.人员编号=psn_no", "fee_lines.定点医药机构编号=fixmedins_code", "fee_lines.医保目录编码=hilist_code",
		"fee_lines.医保目录名称=hilist_name", "fee_lines.数量=cnt", "fee_lines.单价=pric", "fee_lines.明细项目费用总额=det_item_fee_sumamt",
		"fee_lines.费用发生时间=fee_ocur_time"} {
		if err := m.AddEntry(e); err != nil {
			t.Fatal(err)
		}
	}
	got, res := screen(t, dir, someRules(), func(o *Options) { o.Columns = m })
	if !sameKeys(keys(got), keys(want)) {
		t.Errorf("mapped %v, original %v", keys(got), keys(want))
	}
	if c := res.Stats.Inputs["institutions"].Columns; c["admdvs"] != "city_code" || c["fixmedins_code"] != "code" {
		t.Errorf("columns reported %v", c)
	}
	if entries := m.Entries(); len(entries) != 11 || entries[0] != "fee_lines.人员编号=psn_no" && !slices.IsSorted(entries) {
		t.Errorf("entries %v", entries)
	}
	got, _ = screen(t, dir, someRules(), func(o *Options) {
		o.Columns = &ColumnMap{Profile: "zh", Tables: map[string]map[string]string{"institutions": {"code": "fixmedins_code",
			"name": "fixmedins_name", "city_code": "admdvs", "level": "hosp_lv", "type": "fixmedins_type"}}}
	})
	if !sameKeys(keys(got), keys(want)) {
		t.Errorf("zh profile %v, original %v", keys(got), keys(want))
	}

	// Parquet headers are matched the same way.
	pq := t.TempDir()
	d.write(t, pq, "parquet")
	if err := writeParquetTable(filepath.Join(pq, "institutions.parquet"), []string{"CODE", "name", "city_code", "Level", "ownership", "type"}, d.insts); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(t.Context(), Options{Input: pq, Rules: someRules()}); err == nil || !strings.Contains(err.Error(), `institutions.parquet: missing column "fixmedins_code"`) {
		t.Errorf("parquet without mapping: %v", err)
	}
	got, _ = screen(t, pq, someRules(), func(o *Options) { o.Columns = m })
	if !sameKeys(keys(got), keys(want)) {
		t.Errorf("parquet with a mapping %v, original %v", keys(got), keys(want))
	}
}

func TestColumnMapPrecedenceAndAmbiguity(t *testing.T) {
	header := []string{"fixmedins_code", "fixmedins_name", "admdvs", "city_code", "hosp_lv", "ownership", "fixmedins_type"}
	want := []string{"admdvs"}
	// The documented name beats a profile spelling.
	r, err := resolveColumns("f.csv", "institutions", header, &ColumnMap{Profile: "short"}, want)
	if err != nil || header[r.idx[0]] != "admdvs" {
		t.Errorf("profile vs documented: %v %v", r, err)
	}
	// An explicit entry beats the documented name.
	r, err = resolveColumns("f.csv", "institutions", header, &ColumnMap{Tables: map[string]map[string]string{"institutions": {"CITY_CODE": "admdvs"}}}, want)
	if err != nil || header[r.idx[0]] != "city_code" || r.renamed["admdvs"] != "city_code" {
		t.Errorf("explicit vs documented: %v %v", r, err)
	}
	// Two profile spellings of one column: ambiguous.
	h2 := []string{"就诊ID", "就诊流水号"}
	if _, err := resolveColumns("f.csv", "visits", h2, &ColumnMap{Profile: "zh"}, []string{"mdtrt_id"}); err == nil ||
		!strings.Contains(err.Error(), `columns "就诊ID" and "就诊流水号" both map to mdtrt_id`) {
		t.Errorf("ambiguity: %v", err)
	}
	// Identical names after folding: the first wins, as before.
	r, err = resolveColumns("f.csv", "visits", []string{"MDTRT_ID", "mdtrt_id"}, nil, []string{"mdtrt_id"})
	if err != nil || r.idx[0] != 0 {
		t.Errorf("duplicate header: %v %v", r, err)
	}
}

func TestColumnMapValidation(t *testing.T) {
	for _, c := range []struct {
		m    ColumnMap
		want string
	}{
		{ColumnMap{Profile: "nope"}, `unknown column profile "nope"`},
		{ColumnMap{Tables: map[string]map[string]string{"claims": {"a": "b"}}}, `unknown table "claims"`},
		{ColumnMap{Tables: map[string]map[string]string{"visits": {"city_code": "admdvs"}}}, `"city_code" maps to "admdvs", which is not a column of visits`},
		{ColumnMap{Tables: map[string]map[string]string{"visits": {" ": "age"}}}, `an empty column name`},
	} {
		if err := c.m.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.m, err, c.want)
		}
	}
	if err := (&ColumnMap{}).AddEntry("visits.age"); err == nil {
		t.Error("entry without '=' accepted")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "columns.yaml")
	os.WriteFile(p, []byte("profile: zh\ntables:\n  visits:\n    年纪: age\n"), 0o644)
	m, err := LoadColumnMap(p)
	if err != nil || m.Profile != "zh" || m.Tables["visits"]["年纪"] != "age" {
		t.Errorf("LoadColumnMap: %+v %v", m, err)
	}
	os.WriteFile(p, []byte("profiles: zh\n"), 0o644)
	if _, err := LoadColumnMap(p); err == nil || !strings.Contains(err.Error(), "profiles") {
		t.Errorf("unknown field accepted: %v", err)
	}
}

// TestProfilesAreDocumented: docs/data-format.md lists every spelling of
// every profile, and no other.
func TestProfilesAreDocumented(t *testing.T) {
	data, err := os.ReadFile("../../docs/data-format.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	// Rows: | profile | table | spelling in the file | documented name |
	row := regexp.MustCompile("(?m)^\\| `(\\w+)` \\| `(\\w+)` \\| (.+?) \\| `(\\w+)` \\|$")
	listed := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(doc, -1) {
		for _, sp := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(m[3], -1) {
			listed[m[1]+"/"+m[2]+"/"+sp[1]+"/"+m[4]] = true
		}
	}
	n := 0
	for _, name := range Profiles() {
		p, _ := Profile(name)
		for table, spellings := range p {
			for from, to := range spellings {
				n++
				if k := name + "/" + table + "/" + from + "/" + to; !listed[k] {
					t.Errorf("docs/data-format.md does not list %s", k)
				}
				delete(listed, name+"/"+table+"/"+from+"/"+to)
			}
		}
	}
	for k := range listed {
		t.Errorf("docs/data-format.md lists %s, which no profile has", k)
	}
	if n == 0 {
		t.Error("no profiles")
	}
}

func TestEncodingAutoMixedFileIsAnError(t *testing.T) {
	d := chineseData()
	dir := t.TempDir()
	d.write(t, dir, "csv")
	// Valid UTF-8 Chinese at the start, a GB18030 row beyond the first
	// 64 KiB and in another chunk: neither reading is right.
	p := filepath.Join(dir, "fee_lines.csv")
	data, _ := os.ReadFile(p)
	for len(data) < 200<<10 {
		data = append(data, []byte("X1,V1,S-V1,P1,H1,BED,床位费,1,70,70,2024-03-01 12:00:00\n")...)
	}
	data = append(data, []byte("X2,V1,S-V1,P1,H1,BED,\xb4\xb2\xce\xbb\xb7\xd1,1,70,70,2024-03-01 12:00:00\n")...)
	os.WriteFile(p, data, 0o644)
	old := csvChunkSize
	csvChunkSize = 64 << 10
	defer func() { csvChunkSize = old }()
	_, err := Run(t.Context(), Options{Input: dir, Rules: someRules()})
	if err == nil || !strings.Contains(err.Error(), "fee_lines.csv: part of the file is UTF-8 text and part is not") {
		t.Errorf("mixed file: %v", err)
	}
	// Saying the encoding reads it (the GB18030 row as UTF-8 bytes).
	if _, err := Run(t.Context(), Options{Input: dir, Rules: someRules(), Encoding: EncodingUTF8}); err != nil {
		t.Errorf("explicit UTF-8: %v", err)
	}
}

// TestEncodingAutoLateGB18030: an ASCII start and GB18030 text later is a
// GB18030 file (the ASCII part reads the same either way).
func TestEncodingAutoLateGB18030(t *testing.T) {
	d := newDataset()
	d.in("V1", "P1")
	for i := 0; i < 3000; i++ {
		d.line("L"+itoa(i), "V1", "BED", "1", "70", "2024-03-01 12:00:00")
	}
	dir := t.TempDir()
	d.write(t, dir, "csv")
	p := filepath.Join(dir, "fee_lines.csv")
	data, _ := os.ReadFile(p)
	data = []byte(strings.ReplaceAll(string(data), "项目BED", "BED"))
	data = append(data, []byte("Z1,V1,S-V1,P1,H1,BED,\xb4\xb2\xce\xbb\xb7\xd1,1,70,70,2024-03-01 12:00:00\n")...)
	os.WriteFile(p, data, 0o644)
	old := csvChunkSize
	csvChunkSize = 16 << 10
	defer func() { csvChunkSize = old }()
	_, res := screen(t, dir, someRules(), nil)
	if e := res.Stats.Inputs["fee_lines"].Encoding; e != "GB18030" {
		t.Errorf("encoding %q", e)
	}
	if res.Stats.LinesRead != 3001 || res.Stats.LinesRejected != 0 {
		t.Errorf("lines %d rejected %d", res.Stats.LinesRead, res.Stats.LinesRejected)
	}
}
