package screening

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// Benchmark data: written once per process in the layout of the synthetic
// generator (Snappy, 1M-row groups, dictionary-encoded codes), clustered by
// institution. BENCH_LINES sets the size (default 1,000,000 fee lines).

type benchInst struct {
	FixmedinsCode string `parquet:"fixmedins_code"`
	FixmedinsName string `parquet:"fixmedins_name"`
	Admdvs        string `parquet:"admdvs,dict"`
	HospLv        int32  `parquet:"hosp_lv"`
	Ownership     string `parquet:"ownership,dict"`
	FixmedinsType string `parquet:"fixmedins_type,dict"`
}

type benchVisit struct {
	MdtrtID       string `parquet:"mdtrt_id"`
	PsnNo         string `parquet:"psn_no"`
	FixmedinsCode string `parquet:"fixmedins_code,dict"`
	MedType       string `parquet:"med_type,dict"`
	Begntime      string `parquet:"begntime"`
	Endtime       string `parquet:"endtime"`
	Gend          string `parquet:"gend,dict"`
	Age           int32  `parquet:"age"`
}

type benchLine struct {
	FeedetlSn        string `parquet:"feedetl_sn"`
	MdtrtID          string `parquet:"mdtrt_id"`
	SetlID           string `parquet:"setl_id"`
	PsnNo            string `parquet:"psn_no"`
	FixmedinsCode    string `parquet:"fixmedins_code,dict"`
	HilistCode       string `parquet:"hilist_code,dict"`
	HilistName       string `parquet:"hilist_name,dict"`
	Cnt              string `parquet:"cnt,dict"`
	Pric             string `parquet:"pric,dict"`
	DetItemFeeSumamt string `parquet:"det_item_fee_sumamt"`
	FeeOcurTime      string `parquet:"fee_ocur_time"`
}

type benchDiag struct {
	MdtrtID      string `parquet:"mdtrt_id"`
	DiagCode     string `parquet:"diag_code,dict"`
	MaindiagFlag string `parquet:"maindiag_flag,dict"`
}

func writePQ[T any](path string, rows []T) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := parquet.NewGenericWriter[T](f, parquet.Compression(&parquet.Snappy), parquet.MaxRowsPerRowGroup(1<<20))
	for len(rows) > 0 {
		n := min(len(rows), 8192)
		if _, err := w.Write(rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return w.Close()
}

// genBench writes about n fee lines into dir.
func genBench(dir string, n int) error {
	x := uint64(42)
	rnd := func(k int) int { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return int(x % uint64(k)) }
	items := make([]string, 3000)
	prices := []string{"3.5", "12", "40", "45", "120", "8.25", "260", "0.83"}
	for i := range items {
		items[i] = fmt.Sprintf("00%013d", i*7919%10000000000000)
	}
	items[0] = "001102000010000" // bed fee (PriceCap in rule sets)
	items[1] = "002103000010000" // CT
	items[2] = "002504030120000" // PSA
	nInst := max(20, n/10000)
	var insts []benchInst
	var visits []benchVisit
	var diags []benchDiag
	lines := make([]benchLine, 0, n+64)
	for i := 0; len(lines) < n; i++ {
		code := fmt.Sprintf("H32%02d%05d", i%13, i)
		insts = append(insts, benchInst{code, "医院" + code, fmt.Sprintf("32%02d00", 1+i%13), int32(i % 4), "public", "hospital"})
		per := n / nInst
		for k := 0; k < per && len(lines) < n; {
			vid := fmt.Sprintf("MD%s%07d", code, len(visits))
			psn := fmt.Sprintf("P%09d", rnd(n/8+1))
			inpatient := rnd(5) == 0
			day := 1 + rnd(300)
			los := 0
			nl := 1 + rnd(5)
			med := "11"
			if inpatient {
				los, nl, med = 1+rnd(10), 20+rnd(60), "21"
			}
			b := dateAt(day)
			e := dateAt(day + los)
			visits = append(visits, benchVisit{vid, psn, code, med, b + " 08:30:00", e + " 10:00:00", strconv.Itoa(1 + rnd(2)), int32(rnd(90))})
			diags = append(diags, benchDiag{vid, fmt.Sprintf("J%02d.%03d", rnd(99), rnd(999)), "1"})
			for l := 0; l < nl; l++ {
				it := items[rnd(len(items))]
				if inpatient && l%6 == 0 {
					it = items[0]
				}
				p := prices[rnd(len(prices))]
				pu, _ := rules.ParseDecimal(p)
				c := 1 + rnd(3)
				lines = append(lines, benchLine{
					FeedetlSn: fmt.Sprintf("FD%s%010d", code, len(lines)), MdtrtID: vid, SetlID: "ST" + vid,
					PsnNo: psn, FixmedinsCode: code, HilistCode: it, HilistName: "项目" + it[len(it)-4:],
					Cnt: strconv.Itoa(c), Pric: p, DetItemFeeSumamt: formatFen(mulUnitsToFen(pu, int64(c)*scale)),
					FeeOcurTime: dateAt(day+rnd(los+1)) + fmt.Sprintf(" %02d:%02d:00", 8+rnd(10), rnd(60)),
				})
			}
			k += nl
		}
	}
	if err := writePQ(filepath.Join(dir, "institutions.parquet"), insts); err != nil {
		return err
	}
	if err := writePQ(filepath.Join(dir, "visits.parquet"), visits); err != nil {
		return err
	}
	if err := writePQ(filepath.Join(dir, "diagnoses.parquet"), diags); err != nil {
		return err
	}
	return writePQ(filepath.Join(dir, "fee_lines.parquet"), lines)
}

func dateAt(day int) string { return formatDate(daysFromCivil(2024, 1, 1) + int32(day)) }

var benchOnce struct {
	sync.Once
	dir string
	err error
}

func benchData(b *testing.B) string {
	benchOnce.Do(func() {
		n := 1000000
		if s := os.Getenv("BENCH_LINES"); s != "" {
			n, _ = strconv.Atoi(s)
		}
		benchOnce.dir = os.Getenv("BENCH_DIR")
		if benchOnce.dir != "" {
			if _, err := os.Stat(filepath.Join(benchOnce.dir, "fee_lines.parquet")); err == nil {
				return
			}
		} else {
			benchOnce.dir, benchOnce.err = os.MkdirTemp("", "flycheck-bench-")
		}
		if benchOnce.err == nil {
			benchOnce.err = genBench(benchOnce.dir, n)
		}
	})
	if benchOnce.err != nil {
		b.Fatal(benchOnce.err)
	}
	return benchOnce.dir
}

// benchRules returns the first n rules of a mixed catalogue (every template,
// many items), the shape of config/rules/bench.
func benchRules(n int) []rules.Rule {
	var rs []rules.Rule
	base := []rules.Rule{
		rule("EQ-PRICE", rules.PriceCap, "", rules.Params{Items: []string{"001102000010000"}, MaxPrice: "40"}),
		rule("BI", rules.CoveredIndication, "", rules.Params{Items: []string{"000000000007919"}, DiagPrefixes: []string{"J1"}}),
		rule("BPS-G", rules.GenderRestriction, "", rules.Params{Items: []string{"002504030120000"}, Gender: rules.Male}),
		rule("OE", rules.RepeatExamination, "", rules.Params{Items: []string{"002103000010000"}, WithinDays: i32(7)}),
		rule("FC-DISCH", rules.ChargeAfterDischarge, rules.Inpatient, rules.Params{}),
		rule("DC-DUP", rules.DuplicateLine, "", rules.Params{}),
	}
	rs = append(rs, base...)
	for i := 0; len(rs) < n; i++ {
		it := func(k int) string { return fmt.Sprintf("00%013d", (3+(i*7+k)%2997)*7919%10000000000000) }
		id := fmt.Sprintf("R%03d", i)
		switch i % 8 {
		case 0:
			rs = append(rs, rule(id, rules.PriceCap, "", rules.Params{Items: []string{it(0)}, MaxPrice: "100"}))
		case 1:
			rs = append(rs, rule(id, rules.MaxUnits, "", rules.Params{Items: []string{it(0), it(1)}, MaxUnits: "4", Per: rules.Day}))
		case 2:
			rs = append(rs, rule(id, rules.AgeRestriction, "", rules.Params{Items: []string{it(0)}, MinAge: i32(18)}))
		case 3:
			rs = append(rs, rule(id, rules.AddOnWithoutPrimary, "", rules.Params{Items: []string{it(0)}, PrimaryItems: []string{it(1)}}))
		case 4:
			rs = append(rs, rule(id, rules.InclusivePair, "", rules.Params{Items: []string{it(0)}, IncludedItems: []string{it(1), it(2)}, Per: rules.Day}))
		case 5:
			rs = append(rs, rule(id, rules.CareSettingRestriction, "", rules.Params{Items: []string{it(0)}, AllowedVisitType: rules.Inpatient}))
		case 6:
			rs = append(rs, rule(id, rules.RepeatExamination, "", rules.Params{Items: []string{it(0)}, WithinDays: i32(3)}))
		case 7:
			rs = append(rs, rule(id, rules.FacilityLevelRestriction, "", rules.Params{Items: []string{it(0)}, MinLevel: i32(3)}))
		}
	}
	return rs[:n]
}

// BenchmarkScreen runs the whole engine (read → findings written) on
// generated Parquet data. Report: lines/s and peak heap.
//
//	go test -run XXX -bench Screen -benchtime 3x ./internal/screening/
//	BENCH_LINES=20000000 BENCH_DIR=/tmp/fb go test -run XXX -bench Screen -benchtime 1x -timeout 1h ./internal/screening/
func BenchmarkScreen(b *testing.B) {
	dir := benchData(b)
	for _, n := range []int{6, 200} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			rs := benchRules(n)
			out := b.TempDir()
			var lines int64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := Run(context.Background(), Options{Input: dir, Rules: rs, Output: out})
				if err != nil {
					b.Fatal(err)
				}
				lines = res.Stats.LinesInScope
				if res.Stats.Mode != "clustered" {
					b.Fatalf("mode %s", res.Stats.Mode)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heapMiB")
		})
	}
}
