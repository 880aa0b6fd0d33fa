package screening

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// dataset builds a small claims extract for tests. Visits and lines are
// given as maps so that each test states only what matters; defaults fill
// the rest.
type dataset struct {
	insts   [][]string
	visits  [][]string
	lines   [][]string
	diags   [][]string
	persons [][]string
	visitOf map[string][]string
}

func newDataset() *dataset {
	d := &dataset{visitOf: map[string][]string{}}
	d.inst("H1", "3")
	return d
}

var (
	instHeader   = []string{"fixmedins_code", "fixmedins_name", "admdvs", "hosp_lv", "ownership", "fixmedins_type"}
	visitHeader  = []string{"mdtrt_id", "psn_no", "fixmedins_code", "med_type", "begntime", "endtime", "gend", "age"}
	lineHeader   = []string{"feedetl_sn", "mdtrt_id", "setl_id", "psn_no", "fixmedins_code", "hilist_code", "hilist_name", "cnt", "pric", "det_item_fee_sumamt", "fee_ocur_time"}
	diagHeader   = []string{"mdtrt_id", "diag_code", "maindiag_flag"}
	personHeader = []string{"psn_no", "death_date"}
)

func (d *dataset) inst(code, level string) *dataset {
	d.insts = append(d.insts, []string{code, "医院" + code, "320100", level, "public", "hospital"})
	return d
}

// visit: id, psn, inst, med_type, begin, end, gend, age.
func (d *dataset) visit(id, psn, inst, med, begin, end, gend, age string) *dataset {
	row := []string{id, psn, inst, med, begin, end, gend, age}
	d.visits = append(d.visits, row)
	d.visitOf[id] = row
	return d
}

// in is a default inpatient visit: 2024-03-01 08:00 to 2024-03-05 10:00.
func (d *dataset) in(id, psn string) *dataset {
	return d.visit(id, psn, "H1", "21", "2024-03-01 08:00:00", "2024-03-05 10:00:00", "1", "40")
}

// out is a default outpatient visit on 2024-03-01.
func (d *dataset) out(id, psn string) *dataset {
	return d.visit(id, psn, "H1", "11", "2024-03-01 09:00:00", "2024-03-01 11:00:00", "1", "40")
}

// line: sn, visit, item, cnt, pric, time; amount = cnt × pric, setl "S-"+visit.
func (d *dataset) line(sn, visit, item, cnt, pric, t string) *dataset {
	return d.lineS(sn, visit, "S-"+visit, item, cnt, pric, t)
}

func (d *dataset) lineS(sn, visit, setl, item, cnt, pric, t string) *dataset {
	v := d.visitOf[visit]
	c, _ := rules.ParseDecimal(cnt)
	p, _ := rules.ParseDecimal(pric)
	amt := formatFen(mulUnitsToFen(c, p))
	d.lines = append(d.lines, []string{sn, visit, setl, v[1], v[2], item, "项目" + item, cnt, pric, amt, t})
	return d
}

func (d *dataset) diag(visit, code, main string) *dataset {
	d.diags = append(d.diags, []string{visit, code, main})
	return d
}

func (d *dataset) person(psn, death string) *dataset {
	d.persons = append(d.persons, []string{psn, death})
	return d
}

// write stores the tables as CSV (UTF-8) or Parquet (all strings).
func (d *dataset) write(t testing.TB, dir, format string) {
	t.Helper()
	tables := []struct {
		name   string
		header []string
		rows   [][]string
		always bool
	}{
		{"institutions", instHeader, d.insts, true},
		{"visits", visitHeader, d.visits, true},
		{"fee_lines", lineHeader, d.lines, true},
		{"diagnoses", diagHeader, d.diags, false},
		{"persons", personHeader, d.persons, false},
	}
	for _, tb := range tables {
		if !tb.always && tb.rows == nil {
			continue
		}
		var err error
		if format == "parquet" {
			err = writeParquetTable(filepath.Join(dir, tb.name+".parquet"), tb.header, tb.rows)
		} else {
			err = writeCSVTable(filepath.Join(dir, tb.name+".csv"), tb.header, tb.rows)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func writeCSVTable(path string, header []string, rows [][]string) error {
	var b []byte
	for i, r := range append([][]string{header}, rows...) {
		_ = i
		for k, f := range r {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendCSVField(b, []byte(f))
		}
		b = append(b, '\n')
	}
	return os.WriteFile(path, b, 0o644)
}

// writeParquetTable writes string columns with a dynamic schema.
func writeParquetTable(path string, header []string, rows [][]string) error {
	return writeParquetGroups(path, header, rows, 0)
}

// writeParquetGroups writes row groups of groupRows rows (0: one), with
// writer options such as a small page size.
func writeParquetGroups(path string, header []string, rows [][]string, groupRows int, opts ...parquet.WriterOption) error {
	group := parquet.Group{}
	for _, h := range header {
		group[h] = parquet.String()
	}
	schema := parquet.NewSchema("t", group)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := parquet.NewGenericWriter[map[string]string](f, append([]parquet.WriterOption{schema}, opts...)...)
	for k, r := range rows {
		m := map[string]string{}
		for i, h := range header {
			m[h] = r[i]
		}
		if _, err := w.Write([]map[string]string{m}); err != nil {
			return err
		}
		if groupRows > 0 && (k+1)%groupRows == 0 {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
	return w.Close()
}

// screen runs the engine and returns its findings read back from CSV.
func screen(t testing.TB, dir string, rs []rules.Rule, mod func(*Options)) ([]FindingRow, *Result) {
	t.Helper()
	out := t.TempDir()
	o := Options{Input: dir, Rules: rs, Output: out, Workers: 2}
	if mod != nil {
		mod(&o)
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	fs, err := ReadFindingsCSV(filepath.Join(res.OutputDir, "findings.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return fs, res
}

// keys renders findings as "id=amount" (id is feedetl_sn or mdtrt_id),
// sorted, for exact comparison.
func keys(fs []FindingRow) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		id := f.FeedetlSn
		if id == "" {
			id = "visit:" + f.MdtrtID
		}
		out = append(out, f.RuleID+"/"+id+"="+f.Amount)
	}
	sort.Strings(out)
	return out
}

func sameKeys(a, b []string) bool {
	return strings.Join(a, "|") == strings.Join(b, "|")
}

func i32(v int32) *int32 { return &v }

func rule(id string, tpl rules.Template, vt rules.VisitType, p rules.Params) rules.Rule {
	return rules.Rule{ID: id, Category: rules.TemplateCategory(tpl), Template: tpl, VisitType: vt, Params: p}
}

var _ = fmt.Sprint

// has reports whether the data holds a line with feedetl_sn id or, for
// "visit:"+mdtrt_id, the visit.
func (d *dataset) has(id string) bool {
	if v, ok := strings.CutPrefix(id, "visit:"); ok {
		return d.visitOf[v] != nil
	}
	for _, l := range d.lines {
		if l[0] == id {
			return true
		}
	}
	return false
}
