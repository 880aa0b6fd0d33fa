package screening

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// The typed accessors read a value as the strict parser reads the text
// toText makes of it, or decline: never a different value. And they do not
// decline the values real files hold.
func TestTypedAccessorsAgreeWithText(t *testing.T) {
	dec := func(s int32) *format.LogicalType {
		return &format.LogicalType{Value: &format.DecimalType{Scale: s, Precision: 18}}
	}
	tsUnit := func(u format.TimeUnit) *format.LogicalType {
		return &format.LogicalType{Value: &format.TimestampType{Unit: u}}
	}
	date := &format.LogicalType{Value: &format.DateType{}}
	day := func(y, m, d int) int64 { return int64(daysFromCivil(y, m, d)) }
	sec := func(y, mo, d, h, mi, s int) int64 {
		return time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC).Unix()
	}
	lim := int64(math.Pow10(14))
	ints := []int64{0, 1, -1, 7, -7, 99, 150, 151, 9999, 10000, -10000, 123456789, -123456789, 1<<31 - 1, -1 << 31,
		lim - 1, lim, -lim + 1, -lim, lim*10 - 1, lim * 10, lim*100 - 1, lim*1000 - 1, lim * 1000, lim*10000 - 1, lim * 10000,
		-(lim*10000 - 1), -lim * 10000, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	days := []int64{0, -1, 1, day(2024, 2, 29), day(2024, 3, 1), day(0, 1, 1), day(0, 1, 1) - 1, day(9999, 12, 31),
		day(10000, 1, 1), day(12024, 3, 1), day(-5, 6, 1)}
	secs := []int64{0, -1, 1, sec(2024, 3, 1, 9, 0, 0), sec(1969, 12, 31, 23, 59, 59), sec(0, 1, 1, 0, 0, 0),
		sec(0, 1, 1, 0, 0, 0) - 1, sec(9999, 12, 31, 23, 59, 59), sec(10000, 1, 1, 0, 0, 0), sec(10001, 3, 1, 9, 0, 0)}
	var tss []int64 // seconds × 1000 ± a fraction, for the sub-second units
	for _, s := range secs {
		tss = append(tss, s*1000, s*1000+999, s*1000-1)
	}
	cases := []struct {
		name  string
		kind  parquet.Kind
		logic *format.LogicalType
		vals  []int64
		mult  int64 // values × mult (timestamps in finer units)
	}{
		{"INT64", parquet.Int64, nil, ints, 1},
		{"INT32", parquet.Int32, nil, ints, 1},
		{"DECIMAL(18,0)", parquet.Int64, dec(0), ints, 1},
		{"DECIMAL(18,1)", parquet.Int64, dec(1), ints, 1},
		{"DECIMAL(18,2)", parquet.Int64, dec(2), ints, 1},
		{"DECIMAL(9,2) INT32", parquet.Int32, dec(2), ints, 1},
		{"DECIMAL(18,3)", parquet.Int64, dec(3), ints, 1},
		{"DECIMAL(18,4)", parquet.Int64, dec(4), ints, 1},
		{"DATE", parquet.Int32, date, days, 1},
		{"TIMESTAMP(MILLIS)", parquet.Int64, tsUnit(format.TimeUnit{Value: &format.MilliSeconds{}}), tss, 1},
		{"TIMESTAMP(MICROS)", parquet.Int64, tsUnit(format.TimeUnit{Value: &format.MicroSeconds{}}), tss, 1000},
		{"TIMESTAMP(NANOS)", parquet.Int64, tsUnit(format.TimeUnit{Value: &format.NanoSeconds{}}), tss, 1000000},
		{"DOUBLE", parquet.Double, nil, nil, 1},
	}
	for _, tc := range cases {
		pc := parquetCol{kind: tc.kind, logic: tc.logic}
		pc.conv = newNumConv(tc.kind, tc.logic)
		var v encoding.Values
		var n int
		switch tc.kind {
		case parquet.Int64:
			xs := make([]int64, len(tc.vals))
			for i, x := range tc.vals {
				xs[i] = x * tc.mult
				if tc.mult > 1 && x != 0 && xs[i]/tc.mult != x {
					xs[i] = x // overflowed: keep the raw value
				}
			}
			v, n = encoding.Int64Values(xs), len(xs)
		case parquet.Int32:
			xs := make([]int32, len(tc.vals))
			for i, x := range tc.vals {
				xs[i] = int32(x)
			}
			v, n = encoding.Int32Values(xs), len(xs)
		case parquet.Double:
			if pc.conv.kind != numNone {
				t.Errorf("%s: typed as %d; want text only", tc.name, pc.conv.kind)
			}
			continue
		}
		text, starts, ends := pc.toText(&v, n, nil, nil, nil)
		tcol := &typedCol{conv: &pc.conv}
		tcol.setInts(tc.kind, &v, n)
		tcol.make = func() column { return column{data: text, starts: starts, ends: ends} }
		c := column{tc: tcol, indirect: true}
		fastN := 0
		for i := 0; i < n; i++ {
			s := text[starts[i]:ends[i]]
			if got := string(c.at(i)); got != string(s) {
				t.Fatalf("%s: at(%d) = %q, want %q", tc.name, i, got, s)
			}
			check := func(what string, fv, tv int64, fok, tok bool) {
				if fok {
					fastN++
					if !tok || fv != tv {
						t.Errorf("%s %s of %q: typed %d; text %d, %v", tc.name, what, s, fv, tv, tok)
					}
				}
			}
			fv, fok := fastDecimal(&c, i)
			tv, tok := parseDecimal(s)
			check("decimal", fv, tv, fok, tok)
			if tok && !fok && len(s) <= 19 && pc.conv.kind <= numDecimal {
				t.Errorf("%s: decimal %q declined", tc.name, s)
			}
			fv, fok = fastDateTime(&c, i)
			tv, tok = parseDateTime(s)
			check("date-time", fv, tv, fok, tok)
			raw, _ := tcol.raw(i)
			if tok && !fok && pc.conv.kind == numTimestamp && tv == floorDiv(raw, pc.conv.unit) {
				t.Errorf("%s: date-time %q declined", tc.name, s)
			}
			fd, fok := fastDay(&c, i)
			td, tok := parseDate(s)
			check("date", int64(fd), int64(td), fok, tok)
			if tok && !fok && pc.conv.kind == numDate && int64(td) == raw {
				t.Errorf("%s: date %q declined", tc.name, s)
			}
			fi, fok := fastSmallInt(&c, i)
			ti, tok := parseSmallInt(s)
			check("small int", int64(fi), int64(ti), fok, tok)
			if tok && !fok && pc.conv.kind == numPlain {
				t.Errorf("%s: small int %q declined", tc.name, s)
			}
		}
		if fastN == 0 {
			t.Errorf("%s: no value read without text", tc.name)
		}
	}
	// A text column and a null: the text.
	txt := column{data: []byte("12"), starts: []uint32{0}, ends: []uint32{2}}
	if _, ok := fastDecimal(&txt, 0); ok {
		t.Error("fastDecimal read a text column")
	}
	nulls := &typedCol{conv: &numConv{kind: numPlain, mul: scale, lim: 1e14}, i64: []int64{5, 6}, null: []bool{true, false}}
	if _, ok := fastSmallInt(&column{tc: nulls}, 0); ok {
		t.Error("fastSmallInt read a null")
	}
	if v, ok := fastSmallInt(&column{tc: nulls, off: 1}, 0); !ok || v != 6 {
		t.Errorf("fastSmallInt after a null: %d, %v; want 6", v, ok)
	}
	dict := &typedCol{conv: &numConv{kind: numPlain, mul: scale, lim: 1e14}, i32: []int32{5, 7}, idx: []int32{1, -1, 0}}
	for i, want := range []int64{70000, -1, 50000} {
		got, ok := fastDecimal(&column{tc: dict}, i)
		if ok != (want >= 0) || (ok && got != want) {
			t.Errorf("dictionary row %d: %d, %v; want %d", i, got, ok, want)
		}
	}
}

func floorDiv(x, u int64) int64 {
	q := x / u
	if x%u < 0 {
		q--
	}
	return q
}

// The same extract written with typed columns (DECIMAL of several scales,
// INT32 and INT64, dictionary-encoded, nullable; TIMESTAMP in ms, µs and
// ns; DATE) and as the text toText makes of it gives the same findings,
// rejects (reasons and rows), summary and normalisation counts, strict or
// not. Values the typed accessors decline (nulls, out of range, years
// beyond 9999, which toText writes modulo 10000) take the text path.
func TestTypedParquetMatchesText(t *testing.T) {
	type tInst struct {
		Code  string `parquet:"fixmedins_code"`
		Name  string `parquet:"fixmedins_name"`
		City  string `parquet:"admdvs"`
		Level int32  `parquet:"hosp_lv"`
		Own   string `parquet:"ownership"`
		Type  string `parquet:"fixmedins_type"`
	}
	type tVisit struct {
		Mdtrt string `parquet:"mdtrt_id"`
		Psn   string `parquet:"psn_no"`
		Code  string `parquet:"fixmedins_code,dict"`
		Med   string `parquet:"med_type"`
		Begin int64  `parquet:"begntime,timestamp(microsecond:local)"`
		End   *int64 `parquet:"endtime,optional,timestamp(nanosecond:local)"`
		Gend  string `parquet:"gend"`
		Age   int32  `parquet:"age"`
	}
	type tLine struct {
		SN   string `parquet:"feedetl_sn"`
		Md   string `parquet:"mdtrt_id"`
		Setl string `parquet:"setl_id"`
		Psn  string `parquet:"psn_no"`
		Code string `parquet:"fixmedins_code,dict"`
		Item string `parquet:"hilist_code,dict"`
		Name string `parquet:"hilist_name"`
		Cnt  *int64 `parquet:"cnt,optional,decimal(4:18),dict"`
		Pric *int32 `parquet:"pric,optional,decimal(2:9)"`
		Amt  *int64 `parquet:"det_item_fee_sumamt,optional,decimal(3:18)"`
		Time *int64 `parquet:"fee_ocur_time,optional,timestamp(millisecond:local)"`
	}
	type tPerson struct {
		Psn   string `parquet:"psn_no"`
		Death *int32 `parquet:"death_date,optional,date"`
	}
	p64 := func(v int64) *int64 { return &v }
	p32 := func(v int32) *int32 { return &v }
	at := func(y, mo, d, h, mi, s int) time.Time { return time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC) }
	us := func(tm time.Time) int64 { return tm.UnixMicro() }
	ns := func(tm time.Time) *int64 { return p64(tm.UnixNano()) }
	ms := func(tm time.Time) *int64 { return p64(tm.UnixMilli()) }
	dd := func(y, m, d int) *int32 { return p32(daysFromCivil(y, m, d)) }

	insts := []tInst{{"H1", "医院", "320100", 3, "public", "hospital"}, {"H2", "诊所", "320100", 0, "private", "clinic"}}
	visits := []tVisit{
		{"V1", "P1", "H1", "21", us(at(2024, 3, 1, 8, 0, 0)), ns(at(2024, 3, 5, 10, 0, 0)), "1", 40},
		{"V2", "P2", "H1", "11", us(at(2024, 3, 1, 9, 0, 0)) + 999, ns(at(2024, 3, 1, 11, 0, 0)), "2", 8},
		{"V3", "P3", "H1", "21", us(at(2024, 3, 1, 8, 0, 0)), nil, "1", 40},
		{"V4", "P4", "H1", "11", us(at(2024, 3, 1, 9, 0, 0)), ns(at(2024, 3, 1, 10, 0, 0)), "1", -3},
		{"V5", "P5", "H2", "11", us(at(2024, 3, 1, 9, 0, 0)), ns(at(2024, 3, 1, 10, 0, 0)), "1", 200},
		{"V6", "P6", "H2", "11", us(at(2024, 3, 1, 9, 0, 0)), ns(at(2024, 3, 1, 10, 0, 0)), "1", 12000},
		{"V7", "P7", "H2", "21", us(at(1969, 12, 31, 23, 59, 59)) - 1, ns(at(2024, 3, 2, 10, 0, 0)), "2", 70},
	}
	line := func(sn, v, item string, cnt *int64, pric *int32, amt, tm *int64) tLine {
		psn, code := "P"+v[1:], "H1"
		if v >= "V5" {
			code = "H2"
		}
		return tLine{sn, v, "S" + v, psn, code, item, "项目" + item, cnt, pric, amt, tm}
	}
	march := func(d, h int) *int64 { return ms(at(2024, 3, d, h, 0, 0)) }
	lines := []tLine{
		line("L01", "V1", "BED", p64(10000), p32(8000), p64(80000), p64(*march(1, 9)+123)),
		line("L02", "V1", "BED", p64(25000), p32(-7050), p64(-176250), march(2, 9)),
		line("L03", "V1", "BED", nil, p32(8000), p64(80000), march(2, 9)),
		line("L04", "V1", "BED", p64(10000), nil, p64(80000), march(2, 9)),
		line("L05", "V1", "BED", p64(10000), p32(8000), p64(1e17), march(2, 9)),
		line("L06", "V1", "BED", p64(10000), p32(8000), p64(80000), nil),
		line("L07", "V1", "BED", p64(10000), p32(8000), p64(80000), ms(at(10001, 3, 1, 9, 0, 0))),
		line("L08", "V1", "BED", p64(10000), p32(6000), p64(60000), p64(-1)),
		line("L09", "V1", "DEAD", p64(1), p32(1), p64(0), march(3, 9)),
		line("L10", "V1", "BED", p64(20000), p32(6000), nil, march(7, 9)),
		line("L11", "V2", "PED", p64(30000), p32(1999), p64(59970), march(1, 10)),
		line("L12", "V7", "BED", p64(-10000), p32(9000), p64(-90000), march(2, 9)),
		line("L13", "V7", "BED", p64(12345678), p32(9000), p64(1111111020), march(2, 9)),
		line("L14", "V1", "BED", p64(10000), p32(5000), p64(50000), march(6, 9)),
		line("L15", "V1", "BED", p64(10000), p32(5000), p64(50000), ms(at(-1, 3, 1, 9, 0, 0))),
		// An empty entry and one to normalise in the item dictionary.
		line("L16", "V1", "", p64(10000), p32(8000), p64(80000), march(2, 9)),
		line("L17", "V1", " BED", p64(10000), p32(8000), p64(80000), march(2, 10)),
	}
	persons := []tPerson{{"P1", dd(2024, 3, 2)}, {"P2", nil}, {"P3", dd(10000, 1, 1)}, {"P7", dd(2024, 3, 9)}}

	// The text of the same values, written by hand.
	textInsts := [][]string{{"H1", "医院", "320100", "3", "public", "hospital"}, {"H2", "诊所", "320100", "0", "private", "clinic"}}
	textVisits := [][]string{
		{"V1", "P1", "H1", "21", "2024-03-01 08:00:00", "2024-03-05 10:00:00", "1", "40"},
		{"V2", "P2", "H1", "11", "2024-03-01 09:00:00", "2024-03-01 11:00:00", "2", "8"},
		{"V3", "P3", "H1", "21", "2024-03-01 08:00:00", "", "1", "40"},
		{"V4", "P4", "H1", "11", "2024-03-01 09:00:00", "2024-03-01 10:00:00", "1", "-3"},
		{"V5", "P5", "H2", "11", "2024-03-01 09:00:00", "2024-03-01 10:00:00", "1", "200"},
		{"V6", "P6", "H2", "11", "2024-03-01 09:00:00", "2024-03-01 10:00:00", "1", "12000"},
		{"V7", "P7", "H2", "21", "1969-12-31 23:59:58", "2024-03-02 10:00:00", "2", "70"},
	}
	tl := func(sn, v, item, cnt, pric, amt, tm string) []string {
		psn, code := "P"+v[1:], "H1"
		if v >= "V5" {
			code = "H2"
		}
		return []string{sn, v, "S" + v, psn, code, item, "项目" + item, cnt, pric, amt, tm}
	}
	textLines := [][]string{
		tl("L01", "V1", "BED", "1.0000", "80.00", "80.000", "2024-03-01 09:00:00"),
		tl("L02", "V1", "BED", "2.5000", "-70.50", "-176.250", "2024-03-02 09:00:00"),
		tl("L03", "V1", "BED", "", "80.00", "80.000", "2024-03-02 09:00:00"),
		tl("L04", "V1", "BED", "1.0000", "", "80.000", "2024-03-02 09:00:00"),
		tl("L05", "V1", "BED", "1.0000", "80.00", "100000000000000.000", "2024-03-02 09:00:00"),
		tl("L06", "V1", "BED", "1.0000", "80.00", "80.000", ""),
		tl("L07", "V1", "BED", "1.0000", "80.00", "80.000", "0001-03-01 09:00:00"),
		tl("L08", "V1", "BED", "1.0000", "60.00", "60.000", "1969-12-31 23:59:59"),
		tl("L09", "V1", "DEAD", "0.0001", "0.01", "0.000", "2024-03-03 09:00:00"),
		tl("L10", "V1", "BED", "2.0000", "60.00", "", "2024-03-07 09:00:00"),
		tl("L11", "V2", "PED", "3.0000", "19.99", "59.970", "2024-03-01 10:00:00"),
		tl("L12", "V7", "BED", "-1.0000", "90.00", "-90.000", "2024-03-02 09:00:00"),
		tl("L13", "V7", "BED", "1234.5678", "90.00", "1111111.020", "2024-03-02 09:00:00"),
		tl("L14", "V1", "BED", "1.0000", "50.00", "50.000", "2024-03-06 09:00:00"),
		tl("L15", "V1", "BED", "1.0000", "50.00", "50.000", "000/-03-01 09:00:00"),
		tl("L16", "V1", "", "1.0000", "80.00", "80.000", "2024-03-02 09:00:00"),
		tl("L17", "V1", " BED", "1.0000", "80.00", "80.000", "2024-03-02 10:00:00"),
	}
	textPersons := [][]string{{"P1", "2024-03-02"}, {"P2", ""}, {"P3", "0000-01-01"}, {"P7", "2024-03-09"}}

	typedDir, textDir := t.TempDir(), t.TempDir()
	for _, err := range []error{
		writePQ(filepath.Join(typedDir, "institutions.parquet"), insts),
		writePQ(filepath.Join(typedDir, "visits.parquet"), visits),
		writePQ(filepath.Join(typedDir, "fee_lines.parquet"), lines),
		writePQ(filepath.Join(typedDir, "persons.parquet"), persons),
		writeParquetTable(filepath.Join(textDir, "institutions.parquet"), instHeader, textInsts),
		writeParquetTable(filepath.Join(textDir, "visits.parquet"), visitHeader, textVisits),
		writeParquetTable(filepath.Join(textDir, "fee_lines.parquet"), lineHeader, textLines),
		writeParquetTable(filepath.Join(textDir, "persons.parquet"), personHeader, textPersons),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	rs := []rules.Rule{
		rule("P", rules.PriceCap, "", rules.Params{Items: []string{"BED"}, MaxPrice: "60"}),
		rule("X", rules.ChargeAfterDischarge, rules.Inpatient, rules.Params{}),
		rule("D", rules.ChargeAfterDeath, "", rules.Params{}),
		rule("A", rules.AgeRestriction, "", rules.Params{Items: []string{"PED"}, MinAge: i32(18)}),
	}
	for _, strict := range []bool{false, true} {
		mod := func(o *Options) { o.Strict = strict }
		tf, tres := screen(t, typedDir, rs, mod)
		xf, xres := screen(t, textDir, rs, mod)
		if len(xf) < 4 {
			t.Errorf("strict %v: only %d findings from the text: %v", strict, len(xf), keys(xf))
		}
		if !reflect.DeepEqual(tf, xf) {
			t.Errorf("strict %v: findings\ntyped %v\n text %v", strict, keys(tf), keys(xf))
		}
		tq, _ := os.ReadFile(filepath.Join(tres.OutputDir, "quarantine.csv"))
		xq, _ := os.ReadFile(filepath.Join(xres.OutputDir, "quarantine.csv"))
		if string(tq) != string(xq) || strings.Count(string(xq), "\n") < 10 {
			t.Errorf("strict %v: quarantine\ntyped:\n%s\ntext:\n%s", strict, tq, xq)
		}
		if !reflect.DeepEqual(tres.Summary, xres.Summary) {
			t.Errorf("strict %v: summaries differ\ntyped %+v\n text %+v", strict, tres.Summary, xres.Summary)
		}
		ts, xs := tres.Stats, xres.Stats
		if !reflect.DeepEqual(ts.Normalized, xs.Normalized) || !reflect.DeepEqual(ts.RowsRejected, xs.RowsRejected) ||
			!reflect.DeepEqual(ts.FindingsByRule, xs.FindingsByRule) || ts.LinesInScope != xs.LinesInScope || ts.AmountAtRisk != xs.AmountAtRisk {
			t.Errorf("strict %v: stats differ\ntyped %+v\n text %+v", strict, ts, xs)
		}
	}
}

// dateTimes reuses the previous date's day: the same results as
// parseDateTime for every value, whatever came before.
func TestDateTimesMatchParseDateTime(t *testing.T) {
	vals := []string{"2024-03-01 09:00:00", "2024-03-01 23:59:59", "2024-03-01 24:00:00", "2024-03-01 09:60:00",
		"2024-03-01T09:00:00", "2024-03-01 9:00:00", "2024-03-02 00:00:00", "2024-02-30 00:00:00", "2024-02-30 00:00:01",
		"2024-03-02 00:00:01", "", "2024-03-02", "2024-03-02 00:00:0x", "1969-12-31 23:59:59", "1969-12-31 00:00:00"}
	var c dateTimes
	for round := 0; round < 2; round++ {
		for _, v := range vals {
			gt, gok := c.parse([]byte(v))
			wt, wok := parseDateTime([]byte(v))
			if gt != wt || gok != wok {
				t.Errorf("%q: %d, %v; parseDateTime %d, %v", v, gt, gok, wt, wok)
			}
		}
	}
}

// Without a rule that tells persons apart persons are not numbered:
// findings still name their psn_no, and a duplicate visit's quarantine row
// its psn_no, exactly as when they are.
func TestPersonNumbersOffSameOutput(t *testing.T) {
	d := newDataset().in("V1", "P1").out("V2", "P2").out("V3", "P3")
	d.visit("V2", "P9", "H1", "11", "2024-03-02 09:00:00", "2024-03-02 11:00:00", "1", "40") // duplicate mdtrt_id
	d.line("L1", "V1", "BED", "1", "80", "2024-03-01 09:00:00").line("L2", "V3", "BED", "2", "70", "2024-03-01 10:00:00")
	dir := t.TempDir()
	d.write(t, dir, "parquet")
	priceCap := rule("P", rules.PriceCap, "", rules.Params{Items: []string{"BED"}, MaxPrice: "60"})
	repeat := rule("E", rules.RepeatExamination, "", rules.Params{Items: []string{"CT"}, WithinDays: i32(7)})
	without, wres := screen(t, dir, []rules.Rule{priceCap}, nil)
	with, res := screen(t, dir, []rules.Rule{priceCap, repeat}, nil)
	if len(without) != 2 || without[0].PsnNo != "P1" || without[1].PsnNo != "P3" || !reflect.DeepEqual(without, with) {
		t.Errorf("findings without the person index %+v; with it %+v", without, with)
	}
	wq, _ := os.ReadFile(filepath.Join(wres.OutputDir, "quarantine.csv"))
	q, _ := os.ReadFile(filepath.Join(res.OutputDir, "quarantine.csv"))
	if !strings.Contains(string(wq), "duplicate mdtrt_id") || !strings.Contains(string(wq), ",P9,") || string(wq) != string(q) {
		t.Errorf("quarantine without the person index:\n%s\nwith it:\n%s", wq, q)
	}
}

// fastCol makes a batch's values at once: for every page layout (plain,
// with nulls, dictionary; INT32 and INT64) and offset it gives exactly
// what fastDecimal and fastDateTime give value by value, declines what
// they decline, and is off for columns of another kind.
func TestFastColMatchesPerValue(t *testing.T) {
	lim := int64(math.Pow10(14))
	ints := []int64{0, 1, -1, 7, 150, 9999, -10000, 1<<31 - 1, -1 << 31, lim - 1, lim, -lim + 1, -lim,
		lim*100 - 1, lim * 100, math.MaxInt64, math.MinInt64}
	ms := []int64{0, -1, 1, 1709283600000, 1709283600999, -62167219200000, -62167219200001, 253402300799999, 253402300800000}
	convs := []struct {
		name string
		conv numConv
		vals []int64
	}{
		{"INT", newNumConv(parquet.Int64, nil), ints},
		{"DECIMAL(18,2)", newNumConv(parquet.Int64, &format.LogicalType{Value: &format.DecimalType{Scale: 2, Precision: 18}}), ints},
		{"DECIMAL(18,4)", newNumConv(parquet.Int64, &format.LogicalType{Value: &format.DecimalType{Scale: 4, Precision: 18}}), ints},
		{"TIMESTAMP(MILLIS)", newNumConv(parquet.Int64, &format.LogicalType{Value: &format.TimestampType{Unit: format.TimeUnit{Value: &format.MilliSeconds{}}}}), ms},
		{"TIMESTAMP(MICROS)", newNumConv(parquet.Int64, &format.LogicalType{Value: &format.TimestampType{Unit: format.TimeUnit{Value: &format.MicroSeconds{}}}}), append(ms, -1000001, 1709283600999999)},
		{"TIMESTAMP(NANOS)", newNumConv(parquet.Int64, &format.LogicalType{Value: &format.TimestampType{Unit: format.TimeUnit{Value: &format.NanoSeconds{}}}}), append(ms, -1000000001, 1709283600999999999)},
		{"DATE", newNumConv(parquet.Int32, &format.LogicalType{Value: &format.DateType{}}), []int64{0, 19783}},
	}
	for _, cv := range convs {
		n := len(cv.vals)
		i32 := make([]int32, n)
		null := make([]bool, n)
		idx := make([]int32, n)
		for i, x := range cv.vals {
			i32[i] = int32(x)
			null[i] = i%3 == 1
			idx[i] = int32(n - 1 - i) // entries backwards
			if i%4 == 2 {
				idx[i] = -1
			}
		}
		layouts := map[string]*typedCol{
			"plain INT64": {i64: cv.vals},
			"plain INT32": {i32: i32},
			"nulls":       {i64: cv.vals, null: null},
			"dict INT64":  {i64: cv.vals, idx: idx},
			"dict INT32":  {i32: i32, idx: idx},
		}
		for lname, tc := range layouts {
			tc.conv = &cv.conv
			for _, off := range []int{0, 3} {
				c := column{tc: tc, off: off, indirect: true}
				var dec, dt fastCol
				dec.fastDecimals(&c, n-off)
				dt.fastDateTimes(&c, n-off)
				if dec.on != (cv.conv.kind == numPlain || cv.conv.kind == numDecimal) || dt.on != (cv.conv.kind == numTimestamp) {
					t.Errorf("%s %s: on %v, %v", cv.name, lname, dec.on, dt.on)
				}
				fast := 0
				for i := 0; i < n-off; i++ {
					wv, wok := fastDecimal(&c, i)
					if gv, gok := dec.at(i); gok != wok || gv != wv {
						t.Errorf("%s %s off %d row %d: decimal %d, %v; per value %d, %v", cv.name, lname, off, i, gv, gok, wv, wok)
					} else if gok {
						fast++
					}
					wv, wok = fastDateTime(&c, i)
					if gv, gok := dt.at(i); gok != wok || gv != wv {
						t.Errorf("%s %s off %d row %d: date-time %d, %v; per value %d, %v", cv.name, lname, off, i, gv, gok, wv, wok)
					} else if gok {
						fast++
					}
				}
				if fast == 0 && cv.conv.kind != numDate {
					t.Errorf("%s %s off %d: no value made at once", cv.name, lname, off)
				}
			}
		}
	}
	var f fastCol
	f.fastDecimals(&column{data: []byte("12"), starts: []uint32{0}, ends: []uint32{2}}, 1)
	if _, ok := f.at(0); ok || f.on {
		t.Error("fastDecimals made a text column's value")
	}
}
