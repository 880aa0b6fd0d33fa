package screening

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// someRules has one rule of several kinds (line-local, grouped, visit-level).
func someRules() []rules.Rule {
	return []rules.Rule{
		rule("G", rules.GenderRestriction, "", rules.Params{Items: []string{"PSA"}, Gender: rules.Male}),
		rule("P", rules.PriceCap, "", rules.Params{Items: []string{"BED"}, MaxPrice: "60"}),
		rule("M", rules.MaxUnits, "", rules.Params{Items: []string{"BED"}, MaxUnits: "1", Per: rules.Day}),
		rule("U", rules.DuplicateLine, "", rules.Params{}),
		rule("O", rules.OverlappingStays, rules.Inpatient, rules.Params{}),
	}
}

// chineseData has Chinese names, quoted fields with commas and quotes.
func chineseData() *dataset {
	d := newDataset()
	d.insts[0][1] = `南京市第一医院, "总院"`
	d.visit("V1", "P1", "H1", "21", "2024-03-01 08:00:00", "2024-03-03 10:00:00", "2", "40")
	d.visit("V2", "P1", "H1", "21", "2024-03-02 08:00:00", "2024-03-04 10:00:00", "2", "40")
	d.line("L1", "V1", "PSA", "1", "80", "2024-03-01 09:00:00")
	d.line("L2", "V1", "BED", "2", "70", "2024-03-01 12:00:00")
	d.lineS("L3", "V1", "S9", "BED", "2", "70", "2024-03-01 12:00:00")
	for i := range d.lines {
		d.lines[i][6] = "前列腺特异性抗原测定（化学发光法）"
	}
	return d
}

func TestGB18030RoundTrip(t *testing.T) {
	d := chineseData()
	utf := t.TempDir()
	d.write(t, utf, "csv")
	gb := t.TempDir()
	for _, name := range []string{"institutions.csv", "visits.csv", "fee_lines.csv"} {
		data, err := os.ReadFile(filepath.Join(utf, name))
		if err != nil {
			t.Fatal(err)
		}
		enc, err := simplifiedchinese.GB18030.NewEncoder().Bytes(data)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(enc, data) && name == "fee_lines.csv" {
			t.Fatal("GB18030 encoding did not change the Chinese text")
		}
		if err := os.WriteFile(filepath.Join(gb, name), enc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, res1 := screen(t, utf, someRules(), nil)
	got, res2 := screen(t, gb, someRules(), func(o *Options) { o.Encoding = EncodingGB18030 })
	if !sameKeys(keys(got), keys(want)) || len(want) == 0 {
		t.Errorf("GB18030 findings %v, UTF-8 findings %v", keys(got), keys(want))
	}
	if name := res2.Summary.Institutions[0].Name; name != `南京市第一医院, "总院"` {
		t.Errorf("institution name read from GB18030: %q", name)
	}
	if !reflect.DeepEqual(res1.Summary, res2.Summary) {
		t.Errorf("summaries differ:\n%+v\n%+v", res1.Summary, res2.Summary)
	}
	// Reading GB18030 bytes as UTF-8 must not pass silently as garbled
	// text: the rows that are not UTF-8 are quarantined as such.
	_, res3 := screen(t, gb, someRules(), func(o *Options) { o.Encoding = EncodingUTF8 })
	for _, in := range res3.Summary.Institutions {
		if !utf8.ValidString(in.Name) {
			t.Errorf("GB18030 file read as UTF-8 screened a garbled name %q", in.Name)
		}
	}
	if res3.Stats.RowsRejected["institutions"] == 0 || res3.Stats.RowsRejected["institutions"] != res3.Stats.RowsRead["institutions"] {
		t.Errorf("GB18030 institutions read as UTF-8: %d of %d rejected, want all", res3.Stats.RowsRejected["institutions"], res3.Stats.RowsRead["institutions"])
	}
	// --encoding auto (the default) tells them apart.
	_, res4 := screen(t, gb, someRules(), nil)
	if !reflect.DeepEqual(res4.Summary, res2.Summary) || res4.Stats.Inputs["institutions"].Encoding != "GB18030" {
		t.Errorf("auto on GB18030: %+v, inputs %+v", res4.Summary, res4.Stats.Inputs)
	}
}

func TestUTF8BOM(t *testing.T) {
	d := chineseData()
	dir := t.TempDir()
	d.write(t, dir, "csv")
	want, _ := screen(t, dir, someRules(), nil)
	for _, name := range []string{"institutions.csv", "visits.csv", "fee_lines.csv"} {
		p := filepath.Join(dir, name)
		data, _ := os.ReadFile(p)
		os.WriteFile(p, append([]byte("\xEF\xBB\xBF"), data...), 0o644)
	}
	got, _ := screen(t, dir, someRules(), nil)
	if !sameKeys(keys(got), keys(want)) {
		t.Errorf("with BOM %v, without %v", keys(got), keys(want))
	}
}

func TestMalformedRowsAreQuarantined(t *testing.T) {
	d := newDataset()
	d.in("V1", "P1")
	d.line("L1", "V1", "BED", "1", "70", "2024-03-01 12:00:00")
	d.line("L2", "V1", "BED", "1", "70", "2024-03-02 12:00:00")
	dir := t.TempDir()
	d.write(t, dir, "csv")
	p := filepath.Join(dir, "fee_lines.csv")
	data, _ := os.ReadFile(p)
	bad := strings.Join([]string{
		`B1,V1,S-V1,P1,H1,BED,床位费,1,abc,70,2024-03-03 12:00:00`,             // line 4: bad price
		`B2,V1,S-V1,P1,H1,BED,床位费,1,70,70,2024-03-32 12:00:00`,              // line 5: bad date
		`B3,V9,S-V9,P1,H1,BED,床位费,1,70,70,2024-03-03 12:00:00`,              // line 6: unknown visit
		`B4,V1,S-V1,P2,H1,BED,床位费,1,70,70,2024-03-03 12:00:00`,              // line 7: person differs
		`B5,V1,S-V1,P1,H1,BED,"床位费`, `续",1,70,70,2024-03-03 12:00:00,extra`, // lines 8-9: field count
		`B6,V1,S-V1,P1,H1,BED,床"位"费,1,70,70,2024-03-03 12:00:00`,     // line 10: bare quotes
		`B7,V1,S-V1,P1,H1,BED,床位费,1,70.12345,70,2024-03-03 12:00:00`, // line 11: 5 decimals
		`L3,V1,S-V1,P1,H1,BED,床位费,1,75,75,2024-03-03 12:00:00`,       // line 12: fine
	}, "\n") + "\n"
	os.WriteFile(p, append(data, bad...), 0o644)
	fs, res := screen(t, dir, []rules.Rule{rule("P", rules.PriceCap, "", rules.Params{Items: []string{"BED"}, MaxPrice: "60"})}, nil)
	if got := keys(fs); !sameKeys(got, []string{"P/L1=10.00", "P/L2=10.00", "P/L3=15.00"}) {
		t.Errorf("findings %v", got)
	}
	s := res.Stats
	if s.LinesRead != 10 || s.LinesRejected != 7 || s.LinesInScope != 3 {
		t.Errorf("read %d rejected %d in scope %d; want 10, 7, 3", s.LinesRead, s.LinesRejected, s.LinesInScope)
	}
	qf, err := os.Open(filepath.Join(res.OutputDir, "quarantine.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer qf.Close()
	recs, err := csv.NewReader(qf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs[1:] {
		if r[0] == "fee_lines.csv" {
			got = append(got, r[1]+": "+r[2])
		}
	}
	sort.Strings(got)
	want := []string{
		`10: quote inside unquoted field 7`,
		`11: pric "70.12345" is out of range (at most 4 decimal places)`,
		`4: pric "abc" is not a decimal`,
		`5: fee_ocur_time "2024-03-32 12:00:00" is not a date-time in an accepted layout`,
		`6: mdtrt_id is not a valid visit`,
		`7: psn_no differs from the visit's`,
		`8: expected 11 fields, got 12`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("quarantine rows\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(recs[len(recs)-1][3], "床") {
		t.Errorf("raw record not kept: %q", recs[len(recs)-1])
	}
}

func TestMissingColumnNamesFileAndColumn(t *testing.T) {
	d := newDataset()
	d.in("V1", "P1")
	d.line("L1", "V1", "BED", "1", "70", "2024-03-01 12:00:00")
	for _, format := range []string{"csv", "parquet"} {
		dir := t.TempDir()
		lineHeaderSaved := append([]string(nil), lineHeader...)
		lineHeader[9] = "det_item_fee_amt" // misspelt
		d.write(t, dir, format)
		copy(lineHeader, lineHeaderSaved)
		_, err := Run(t.Context(), Options{Input: dir, Rules: someRules()})
		if err == nil || !strings.Contains(err.Error(), "fee_lines."+format) || !strings.Contains(err.Error(), `"det_item_fee_sumamt"`) {
			t.Errorf("%s: error %v should name the file and the column", format, err)
		}
	}
	dir := t.TempDir()
	d.write(t, dir, "csv")
	os.Remove(filepath.Join(dir, "visits.csv"))
	if _, err := Run(t.Context(), Options{Input: dir, Rules: someRules()}); err == nil || !strings.Contains(err.Error(), "visits") {
		t.Errorf("missing table: %v", err)
	}
	d.write(t, dir, "csv")
	if _, err := Run(t.Context(), Options{Input: dir, Rules: someRules(), Encoding: "latin1"}); err == nil || !strings.Contains(err.Error(), "latin1") {
		t.Errorf("unknown encoding: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "fee_lines.parquet"), []byte("not parquet"), 0o644)
	if _, err := Run(t.Context(), Options{Input: dir, Rules: someRules()}); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("both formats present: %v", err)
	}
	os.Remove(filepath.Join(dir, "fee_lines.csv"))
	if _, err := Run(t.Context(), Options{Input: dir, Rules: someRules()}); err == nil || !strings.Contains(err.Error(), "fee_lines.parquet") {
		t.Errorf("unreadable parquet: %v", err)
	}
}

// syntheticData is a small deterministic province: several institutions in
// two cities, many visits and lines, with some violations of every kind the
// rules of someRules look for.
func syntheticData(nInst, visitsPer int) *dataset {
	d := &dataset{visitOf: map[string][]string{}}
	for i := 0; i < nInst; i++ {
		d.insts = append(d.insts, []string{code("H", i), "医院" + code("", i), []string{"320100", "320200"}[i%2], string(rune('0' + i%4)), "public", "hospital"})
	}
	x := uint32(12345)
	rnd := func(n int) int { x = x*1664525 + 1013904223; return int(x>>8) % n }
	for i := 0; i < nInst; i++ {
		for v := 0; v < visitsPer; v++ {
			id := code("V", i*visitsPer+v)
			psn := code("P", rnd(nInst*visitsPer/3+1))
			day := 1 + rnd(20)
			med := []string{"11", "21"}[rnd(2)]
			end := day + rnd(5)
			gend := []string{"1", "2"}[rnd(2)]
			d.visit(id, psn, code("H", i), med, at(two2(day), "08:00:00"), at(two2(end), "10:00:00"), gend, "40")
			for l := 0; l < 1+rnd(6); l++ {
				item := []string{"BED", "PSA", "DRUG", "LAB"}[rnd(4)]
				price := []string{"50", "70", "12.5"}[rnd(3)]
				t := at(two2(day+rnd(end-day+1)), []string{"09:00:00", "12:00:00"}[rnd(2)])
				sn := code("L", len(d.lines))
				d.lineS(sn, id, "S"+code("", rnd(3)), item, []string{"1", "2"}[rnd(2)], price, t)
			}
		}
	}
	return d
}

func code(p string, i int) string { return p + strings.Repeat("0", 5-len(itoa(i))) + itoa(i) }
func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}
func two2(d int) string { return string(rune('0'+d/10)) + string(rune('0'+d%10)) }

func TestShardsUnionEqualsSingleRun(t *testing.T) {
	d := syntheticData(12, 40)
	dir := t.TempDir()
	d.write(t, dir, "csv")
	whole, res := screen(t, dir, someRules(), nil)
	if len(whole) < 20 {
		t.Fatalf("too few findings to be a test: %d", len(whole))
	}
	var union []FindingRow
	var sums []*Summary
	var stats []*Stats
	for i := 0; i < 4; i++ {
		fs, r := screen(t, dir, someRules(), func(o *Options) { o.Shard, o.Shards = i, 4 })
		union = append(union, fs...)
		sums = append(sums, r.Summary)
		stats = append(stats, r.Stats)
		if len(r.Summary.Institutions) == 12 {
			t.Errorf("shard %d has every institution", i)
		}
	}
	if !sameKeys(keys(union), keys(whole)) {
		t.Errorf("union of shards: %d findings, single run %d", len(union), len(whole))
	}
	merged, err := MergeSummaries(sums...)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(merged, res.Summary) {
		t.Error("merged shard summaries differ from the single-run summary")
	}
	ms, err := MergeStats(stats...)
	if err != nil {
		t.Fatal(err)
	}
	if ms.Findings != res.Stats.Findings || ms.LinesInScope != res.Stats.LinesInScope || ms.AmountAtRisk != res.Stats.AmountAtRisk {
		t.Errorf("merged stats %+v vs %+v", ms, res.Stats)
	}
	// The city filter keeps exactly that city's institutions.
	_, rc := screen(t, dir, someRules(), func(o *Options) { o.City = "320200" })
	for _, in := range rc.Summary.Institutions {
		if in.CityCode != "320200" {
			t.Errorf("city filter kept %s of %s", in.Code, in.CityCode)
		}
	}
	if len(rc.Summary.Institutions) != 6 {
		t.Errorf("city filter: %d institutions", len(rc.Summary.Institutions))
	}
}

func TestParquetAndCSVGiveIdenticalFindings(t *testing.T) {
	d := syntheticData(6, 50)
	csvDir, pqDir := t.TempDir(), t.TempDir()
	d.write(t, csvDir, "csv")
	d.write(t, pqDir, "parquet")
	a, ra := screen(t, csvDir, someRules(), nil)
	b, rb := screen(t, pqDir, someRules(), nil)
	if len(a) == 0 || !sameKeys(keys(a), keys(b)) {
		t.Errorf("csv %d findings, parquet %d", len(a), len(b))
	}
	if !reflect.DeepEqual(ra.Summary, rb.Summary) {
		t.Error("summaries differ between CSV and Parquet input")
	}
	pq, err := ReadFindingsParquet(filepath.Join(rb.OutputDir, "findings.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pq, b) {
		t.Error("findings.parquet and findings.csv differ")
	}
}

// Lines shuffled across institutions force the spill path automatically.
func TestUnclusteredInputFallsBackToSpill(t *testing.T) {
	d := syntheticData(6, 30)
	dir := t.TempDir()
	d.write(t, dir, "csv")
	want, r1 := screen(t, dir, someRules(), nil)
	if r1.Stats.Mode != "clustered" {
		t.Fatalf("generated data should be clustered, mode %s", r1.Stats.Mode)
	}
	// reverse every other pair of lines → institutions interleave
	for i := 0; i+1 < len(d.lines); i += 7 {
		j := len(d.lines) - 1 - i
		d.lines[i], d.lines[j] = d.lines[j], d.lines[i]
	}
	dir2 := t.TempDir()
	d.write(t, dir2, "csv")
	got, r2 := screen(t, dir2, someRules(), nil)
	if r2.Stats.Mode != "spill" {
		t.Errorf("mode %s, want spill", r2.Stats.Mode)
	}
	if !sameKeys(keys(got), keys(want)) {
		t.Errorf("spill %d findings, clustered %d", len(got), len(want))
	}
	if r2.Stats.LinesRejected != r1.Stats.LinesRejected || r2.Stats.LinesInScope != r1.Stats.LinesInScope {
		t.Errorf("stats differ after restart: %+v vs %+v", r2.Stats, r1.Stats)
	}
}

// Parquet visits are parsed into their place (visitPlace); a row dropped
// early makes the loader move every later batch down, and a duplicate
// mdtrt_id's quarantine row needs its line back (lineRuns). Read from
// small pages in several row groups (many batches and tasks), the table
// must give what the same rows as CSV give, which are never parsed in
// place.
//
// The ids are written to their place too (idPlace) while they have its
// width: "late" puts the first rows of another width (a rejected one, and
// a valid visit with a longer id) after some batches are in place, so
// that the model's arenas leave the place mid-table.
func TestVisitsParsedInPlaceMatchCSV(t *testing.T) {
	for _, late := range []bool{false, true} {
		t.Run(fmt.Sprintf("late=%v", late), func(t *testing.T) { visitsInPlaceMatchCSV(t, late) })
	}
}

func visitsInPlaceMatchCSV(t *testing.T, late bool) {
	d := syntheticData(6, 200)
	first := 3
	if late {
		first = 800
		long := slices.Clone(d.visits[1000])
		long[0] += "-A-LONGER-ID"
		d.visits = slices.Insert(d.visits, 1001, long)
		// a row of the place's width dropped while the arenas are in the
		// place: the later batches move down in it
		early := slices.Clone(d.visits[300])
		early[1] = ""
		d.visits = slices.Insert(d.visits, 301, early)
	}
	d.visits = slices.Insert(d.visits, first, []string{"VX1", "", "H00000", "11", at("01", "08:00:00"), at("01", "10:00:00"), "1", "40"})
	dup := slices.Clone(d.visits[100])
	dup[1] = "P99999"
	d.visits = slices.Insert(d.visits, 700, dup)
	d.visits = slices.Insert(d.visits, 900, []string{"VX2", "P1", "H00001", "11", "not a time", at("01", "10:00:00"), "1", "40"})
	d.visits = append(d.visits, slices.Clone(d.visits[500]))
	csvDir, pqDir := t.TempDir(), t.TempDir()
	d.write(t, csvDir, "csv")
	d.write(t, pqDir, "parquet")
	if err := writeParquetGroups(filepath.Join(pqDir, "visits.parquet"), visitHeader, d.visits, 250, parquet.PageBufferSize(1024)); err != nil {
		t.Fatal(err)
	}
	a, ra := screen(t, csvDir, someRules(), nil)
	b, rb := screen(t, pqDir, someRules(), nil)
	if len(a) == 0 || !sameKeys(keys(a), keys(b)) {
		t.Errorf("csv %d findings, parquet %d", len(a), len(b))
	}
	wantRejected := int64(4)
	if late {
		wantRejected = 5
	}
	if ra.Stats.RowsRejected["visits"] != wantRejected || rb.Stats.RowsRejected["visits"] != wantRejected || ra.Stats.VisitsInScope != rb.Stats.VisitsInScope {
		t.Errorf("rejected visits: csv %d, parquet %d; in scope %d, %d", ra.Stats.RowsRejected["visits"], rb.Stats.RowsRejected["visits"], ra.Stats.VisitsInScope, rb.Stats.VisitsInScope)
	}
	// The same quarantine rows, a CSV line being the Parquet row + 1.
	rows := func(r *Result, ext string, shift int) []string {
		q, err := os.ReadFile(filepath.Join(r.OutputDir, "quarantine.csv"))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(string(q)), "\n")[1:] {
			f := strings.SplitN(l, ",", 3)
			n, _ := strconv.Atoi(f[1])
			out = append(out, strings.TrimSuffix(f[0], ext)+","+strconv.Itoa(n+shift)+","+f[2])
		}
		slices.Sort(out)
		return out
	}
	qa, qb := rows(ra, ".csv", 0), rows(rb, ".parquet", 1)
	for _, want := range []string{"visits,5,psn_no is empty,", "visits,702,duplicate mdtrt_id,", "visits,1205,duplicate mdtrt_id,"} {
		if !late && !slices.ContainsFunc(qa, func(r string) bool { return strings.HasPrefix(r, want) }) {
			t.Errorf("CSV quarantine has no row %q…", want)
		}
	}
	if !slices.Equal(qa, qb) {
		for i := range min(len(qa), len(qb)) {
			if qa[i] != qb[i] {
				t.Fatalf("quarantine: %d rows from CSV, %d from Parquet; first difference:\n csv     %q\n parquet %q", len(qa), len(qb), qa[i], qb[i])
			}
		}
		t.Errorf("quarantine: %d rows from CSV, %d from Parquet", len(qa), len(qb))
	}
}

// A stay's end is kept as its length (visit.stay): a stay of 99 years
// keeps its exact end, one of more than 100 years is rejected, and the
// record stays 24 bytes.
func TestStayLengthLimits(t *testing.T) {
	if n := unsafe.Sizeof(visit{}); n != 24 {
		t.Errorf("a visit record is %d bytes, want 24 (the model holds one per visit)", n)
	}
	d := newDataset()
	d.visit("V1", "P1", "H1", "21", "1925-03-02 09:00:00", "2024-03-01 10:00:00", "2", "99")
	d.visit("V2", "P2", "H1", "21", "1920-01-01 09:00:00", "2024-03-01 10:00:00", "2", "104") // over 100 years
	d.line("L1", "V1", "PSA", "1", "80", "2024-03-01 09:30:00")
	d.line("L2", "V1", "PSA", "1", "80", "2024-03-02 09:10:00") // after discharge
	d.line("L3", "V2", "PSA", "1", "80", "2024-03-02 09:10:00")
	dir := t.TempDir()
	d.write(t, dir, "csv")
	fs, res := screen(t, dir, []rules.Rule{rule("D", rules.ChargeAfterDischarge, rules.Inpatient, rules.Params{})}, nil)
	if got := keys(fs); !sameKeys(got, []string{"D/L2=80.00"}) {
		t.Errorf("findings %v, want L2's only (discharged 2024-03-01)", got)
	}
	if !slices.ContainsFunc(fs, func(f FindingRow) bool { return strings.Contains(f.Evidence, "discharged 2024-03-01") }) {
		t.Errorf("evidence %v, want the exact discharge date", fs)
	}
	if res.Stats.RowsRejected["visits"] != 1 || res.Stats.LinesRejected != 1 {
		t.Errorf("rejected visits %d, lines %d; want 1 and 1", res.Stats.RowsRejected["visits"], res.Stats.LinesRejected)
	}
	q, _ := os.ReadFile(filepath.Join(res.OutputDir, "quarantine.csv"))
	if !strings.Contains(string(q), "visits.csv,3,endtime more than 100 years after begntime,") {
		t.Errorf("quarantine:\n%s", q)
	}
}

func TestDuplicateVisitIsRejected(t *testing.T) {
	d := newDataset()
	d.inst("H2", "2")
	d.visit("V1", "P1", "H1", "11", "2024-03-01 09:00:00", "2024-03-01 10:00:00", "2", "40")
	d.visit("V2", "P2", "H1", "11", "2024-03-01 09:00:00", "2024-03-01 10:00:00", "2", "40")
	d.visit("V1", "P9", "H2", "11", "2024-03-01 09:00:00", "2024-03-01 10:00:00", "1", "40") // duplicate id
	d.visitOf["V1"] = d.visits[0]
	d.line("L1", "V1", "PSA", "1", "80", "2024-03-01 09:10:00")
	d.line("L2", "V2", "PSA", "1", "80", "2024-03-01 09:10:00")
	d.lines = append(d.lines, []string{"L3", "V1", "S", "P9", "H2", "PSA", "x", "1", "80", "80.00", "2024-03-01 09:10:00"})
	dir := t.TempDir()
	d.write(t, dir, "csv")
	fs, res := screen(t, dir, []rules.Rule{rule("G", rules.GenderRestriction, "", rules.Params{Items: []string{"PSA"}, Gender: rules.Male})}, nil)
	if got := keys(fs); !sameKeys(got, []string{"G/L1=80.00", "G/L2=80.00"}) {
		t.Errorf("findings %v", got)
	}
	if res.Stats.RowsRejected["visits"] != 1 || res.Stats.LinesRejected != 1 || res.Stats.VisitsInScope != 2 {
		t.Errorf("rejected visits %d, lines %d, visits in scope %d", res.Stats.RowsRejected["visits"], res.Stats.LinesRejected, res.Stats.VisitsInScope)
	}
	q, _ := os.ReadFile(filepath.Join(res.OutputDir, "quarantine.csv"))
	if !strings.Contains(string(q), `visits.csv,4,duplicate mdtrt_id,"V1,P9,H2,…"`) {
		t.Errorf("quarantine:\n%s", q)
	}
}
