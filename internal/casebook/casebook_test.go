package casebook

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

func sampleLeads() LeadsWorkbook {
	wb := LeadsWorkbook{Campaign: "xicheng-2023", Due: "2023-06-30",
		Institution: Institution{Code: "H11010200017", Name: "西城区某医院", CityCode: "110102"}}
	for i, amount := range []string{"120.00", "0.10", "0.20", "3456.78"} {
		wb.Leads = append(wb.Leads, Lead{ID: fmt.Sprintf("dup-exact-line:FL%04d", i), RuleID: "dup-exact-line", Category: "DuplicateCharge",
			VisitID: fmt.Sprintf("MD%04d", i), PersonID: "P0001", ItemCode: "001102000010000", LineID: fmt.Sprintf("FL%04d", i),
			Amount: amount, Evidence: "同一明细重复收费"})
	}
	return wb
}

func writeLeads(t *testing.T, wb LeadsWorkbook) *excelize.File {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteLeads(&buf, wb); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatalf("excelize cannot open what WriteLeads wrote: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func set(t *testing.T, f *excelize.File, sheet, cell string, v any) {
	t.Helper()
	if err := f.SetCellValue(sheet, cell, v); err != nil {
		t.Fatal(err)
	}
}

func reread(t *testing.T, f *excelize.File, opts ReadOptions) *Returns {
	t.Helper()
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	rs, err := ReadWorkbook("returned.xlsx", &buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestLeadsRoundTrip: the workbook as written has the cover, the leads and
// the validated response list; filled in as an institution would (one
// amount typed as a number, the date typed as a date), it reads back to
// the exact sums.
func TestLeadsRoundTrip(t *testing.T) {
	f := writeLeads(t, sampleLeads())
	if got := f.GetSheetList(); len(got) != 2 || got[0] != CoverSheet || got[1] != LeadsSheet {
		t.Fatalf("sheets %v", got)
	}
	rows, _ := f.GetRows(LeadsSheet)
	if len(rows) != 5 || strings.Join(rows[0], ",") != strings.Join(leadColumns, ",") {
		t.Fatalf("leads sheet %v", rows)
	}
	if rows[1][0] != "dup-exact-line:FL0000" || rows[1][4] != "重复收费" || rows[4][9] != "3456.78" {
		t.Errorf("first lead %v, last %v", rows[1], rows[4])
	}
	dvs, err := f.GetDataValidations(LeadsSheet)
	if err != nil || len(dvs) != 1 || dvs[0].Sqref != "L2:L5" || !strings.Contains(dvs[0].Formula1, Confirmed) || !strings.Contains(dvs[0].Formula1, Disputed) {
		t.Errorf("response validation %+v, %v", dvs, err)
	}
	if v, _ := f.GetCellValue(CoverSheet, "B2"); v != "H11010200017" {
		t.Errorf("cover institution %q", v)
	}

	// The institution answers.
	set(t, f, LeadsSheet, "L2", Confirmed)
	set(t, f, LeadsSheet, "M2", "120")
	set(t, f, LeadsSheet, "L3", Confirmed)
	set(t, f, LeadsSheet, "M3", "0.1")
	set(t, f, LeadsSheet, "L4", Confirmed)
	set(t, f, LeadsSheet, "M4", 0.2) // typed as a number
	set(t, f, LeadsSheet, "L5", Disputed)
	set(t, f, LeadsSheet, "N5", "该患者两次分别入院，见病历 2022-118、2022-131")
	set(t, f, CoverSheet, "B7", time.Date(2023, 6, 28, 0, 0, 0, 0, time.UTC)) // a date cell
	set(t, f, CoverSheet, "B8", Yes)
	rs := reread(t, f, ReadOptions{})
	if len(rs.Errors) != 0 {
		t.Fatalf("errors %v", rs.Errors)
	}
	reports, err := rs.Reports("2023-07-01", false)
	if err != nil {
		t.Fatal(err)
	}
	want := Report{Institution: "H11010200017", LeadsConfirmed: 3, LeadsDisputed: 1, Confirmed: 12030, ReportedAt: "2023-06-28", Pledge: true}
	if len(reports) != 1 || reports[0] != want {
		t.Errorf("reports %+v, want %+v", reports, want)
	}
	if rs.Cover == nil || rs.Cover.Campaign != "xicheng-2023" {
		t.Errorf("cover %+v", rs.Cover)
	}
}

// TestRejectedRowsAllReasons: an unknown institution, a bad amount and a
// duplicate row are each rejected with file, row and reason; the good rows
// remain.
func TestRejectedRowsAllReasons(t *testing.T) {
	wb := sampleLeads()
	wb.Leads = append(wb.Leads, wb.Leads[1]) // row 6 repeats row 3
	f := writeLeads(t, wb)
	for r := 2; r <= 6; r++ {
		set(t, f, LeadsSheet, fmt.Sprintf("L%d", r), Confirmed)
		set(t, f, LeadsSheet, fmt.Sprintf("M%d", r), "1.00")
	}
	set(t, f, LeadsSheet, "M4", "12.345") // bad amount
	set(t, f, LeadsSheet, "B5", "H99999999999")
	set(t, f, LeadsSheet, "L7", "可能属实") // not a response; row 7 was blank
	set(t, f, LeadsSheet, "A7", "x:1")
	set(t, f, LeadsSheet, "B7", "H11010200017")
	known := func(code string) error {
		if code == "H11010200017" {
			return nil
		}
		return errors.New("no InspectionCase xicheng-2023-" + strings.ToLower(code) + " in namespace xicheng")
	}
	rs := reread(t, f, ReadOptions{Known: known})
	got := map[int]string{}
	for _, e := range rs.Errors {
		got[e.Row] = e.Error()
	}
	for row, want := range map[int]string{
		4: "returned.xlsx: 疑点线索 row 4: bad amount \"12.345\"",
		5: "returned.xlsx: 疑点线索 row 5: unknown institution H99999999999: no InspectionCase",
		6: "returned.xlsx: 疑点线索 row 6: duplicate of row 3 (lead dup-exact-line:FL0001 of H11010200017)",
		7: "returned.xlsx: 疑点线索 row 7: 核实结果 is \"可能属实\"",
	} {
		if !strings.HasPrefix(got[row], want) {
			t.Errorf("row %d: %q, want it to start with %q", row, got[row], want)
		}
	}
	if len(rs.Errors) != 4 || len(rs.Answers) != 2 {
		t.Errorf("%d errors, %d answers: %v", len(rs.Errors), len(rs.Answers), rs.Errors)
	}
	reports, _ := rs.Reports("2023-06-30", false)
	if len(reports) != 1 || !reports[0].Rejected || reports[0].LeadsConfirmed != 2 {
		t.Errorf("reports %+v", reports)
	}
}

// TestCSVReturns: rows as a platform exports them, GB18030, detected; a
// file declared UTF-8 that is not is refused as a whole.
func TestCSVReturns(t *testing.T) {
	text := strings.Join([]string{
		"机构编码,线索编号,违规类型,核实结果,确认金额（元）,佐证材料/说明",
		"H32010000001,r1:FL1,重复收费,属实,100.5,",
		"H32010000001,r1:FL2,重复收费,不属实,,见处方笺",
		"H32010000002,r2:V9,超量收费,属实,0.05,",
		"H32010000002,r2:V10,超量收费,不属实,,",
	}, "\r\n") + "\r\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ReadCSV("returns.csv", strings.NewReader(gb), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Errors) != 1 || rs.Errors[0].Row != 5 || !strings.Contains(rs.Errors[0].Reason, "needs its evidence") {
		t.Errorf("errors %v", rs.Errors)
	}
	reports, err := rs.Reports("2020-07-10", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 2 || reports[0].Confirmed != 10050 || reports[0].LeadsDisputed != 1 || reports[1].Confirmed != 5 ||
		!reports[1].Rejected || reports[0].Rejected || reports[0].ReportedAt != "2020-07-10" || !reports[0].Pledge {
		t.Errorf("reports %+v", reports)
	}
	if _, err := ReadCSV("returns.csv", strings.NewReader(gb), ReadOptions{Encoding: "UTF-8"}); !errors.Is(err, ErrUnreadable) {
		t.Errorf("GB18030 read as UTF-8: %v", err)
	}
	if _, err := ReadCSV("plain.csv", strings.NewReader(text), ReadOptions{}); err != nil {
		t.Errorf("UTF-8: %v", err)
	}
	if _, err := ReadCSV("bad.csv", strings.NewReader("机构编码,线索编号\nH1,x\n"), ReadOptions{}); !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), ColResponse) {
		t.Errorf("missing columns: %v", err)
	}
}

func TestWriteCasesRegister(t *testing.T) {
	rows := []CaseRow{
		{Name: "c-h1", Code: "H1", InstName: "甲医院", City: "320100", Level: 3, Origins: OriginText([]string{"Screening", "Recheck"}, []string{"selfinspection", "spotcheck"}),
			Stage: "Rectifying", Leads: "100.00", SelfReported: "10.00", Found: "0.10", UnderReported: "0.10", Ordered: "0.20", Recovered: "0.10", Outstanding: "0.10",
			UnderReportedFlag: true, SelfReport: true, Inspected: true},
		{Name: "c-h2", Code: "H2", InstName: "乙药店", City: "320100", Stage: "Inspected", Found: "0.20", Ordered: "0.00", Recovered: "0.00", Blank: false, Inspected: true},
		{Name: "c-h3", Code: "H3", InstName: "丙诊所", City: "320100", Stage: "Inspected", Found: "0.00", Blank: true, Inspected: true, Overdue: true},
	}
	var buf bytes.Buffer
	if err := WriteCases(&buf, "nanjing · jiangsu-2020", rows); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reg, _ := f.GetRows(CasesSheet)
	if len(reg) != 4 || reg[1][5] != "数据筛查(selfinspection)、抽查复查(spotcheck)" || reg[1][6] != "整改中" || reg[1][4] != "三级" || reg[3][15] != Yes {
		t.Errorf("register %v", reg)
	}
	totals, _ := f.GetRows(TotalSheet)
	got := map[string]string{}
	for _, r := range totals {
		if len(r) == 2 {
			got[r[0]] = r[1]
		}
	}
	for k, v := range map[string]string{"案件数": "3", "已自查": "1", "已现场核实": "3", "发现问题": "2", "空白户": "1",
		"发现问题率": "66%", "核实金额（元）": "0.30", "处理金额（元）": "0.20", "追回金额（元）": "0.10", "逾期": "1"} {
		if got[k] != v {
			t.Errorf("total %s = %q, want %q", k, got[k], v)
		}
	}
}
