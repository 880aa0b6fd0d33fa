package report

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestWorkbookHoldsTheFiguresOfReportJSON writes the workbook, reads it
// back with excelize and compares every figure with report.json.
func TestWorkbookHoldsTheFiguresOfReportJSON(t *testing.T) {
	js, err := sampleReport(t).JSON()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(js) // the figures as report.json has them
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := XLSX(&buf, r); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.GetSheetList(); fmt.Sprint(got) != fmt.Sprint([]string{SheetPlan, SheetMilestones, SheetCards, SheetFindings, SheetAmounts}) {
		t.Fatalf("sheets %v", got)
	}
	// byCode reads a sheet as rows keyed by the code column (B), checking
	// the header.
	byCode := func(sheet string, cols []string) map[string][]string {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 || fmt.Sprint(rows[0][:len(cols)]) != fmt.Sprint(cols) {
			t.Fatalf("%s header %v, want %v", sheet, rows[0], cols)
		}
		out := map[string][]string{}
		for _, row := range rows[1:] {
			for len(row) < len(cols) {
				row = append(row, "")
			}
			out[row[1]] = row
		}
		return out
	}
	itoa := strconv.Itoa

	plan := byCode(SheetPlan, PlanColumns)
	for _, p := range r.Phases {
		row, ok := plan[p.Name]
		if !ok || row[0] != p.Label() || row[2] != p.Start.Format("2006-01-02") || row[4] != StateNames[p.State] {
			t.Errorf("工作计划 row %v for phase %+v", row, p)
		}
	}
	amounts := byCode(SheetAmounts, AmountColumns)
	cards := byCode(SheetCards, CardColumns)
	progress := byCode(SheetMilestones, MilestoneColumns(r))
	for _, c := range r.Cities {
		want := []string{c.Label(), c.Name, itoa(c.Cases), itoa(c.SelfReported), itoa(c.Inspected), itoa(c.WithFindings),
			itoa(c.Blank), itoa(c.Overdue), c.Found, c.Ordered, c.Recovered}
		if fmt.Sprint(amounts[c.Name]) != fmt.Sprint(want) {
			t.Errorf("金额统计 %v, want %v", amounts[c.Name], want)
		}
		if cards[c.Name][2] != CardNames[c.Card] {
			t.Errorf("红黄牌 %v, want card %s", cards[c.Name], c.Card)
		}
		for i, m := range c.Milestones {
			if got := progress[c.Name][2+2*i]; got != fmt.Sprintf("%d/%d", m.Done, m.Total) || progress[c.Name][3+2*i] != StateNames[m.State] {
				t.Errorf("节点进度 %s %s: %v, want %d/%d %s", c.Name, m.Name, progress[c.Name], m.Done, m.Total, m.State)
			}
		}
	}
	if cards["lianyungang"][3] != "退回违规资金、书面承诺" {
		t.Errorf("红黄牌 for 连云港市 names %q", cards["lianyungang"][3])
	}
	findings := byCode(SheetFindings, FindingColumns)
	if len(findings) != len(r.Findings) {
		t.Errorf("问题类型 has %d rows, report.json %d", len(findings), len(r.Findings))
	}
	for _, fd := range r.Findings {
		if row := findings[fd.Category]; fmt.Sprint(row) != fmt.Sprint([]string{CategoryLabel(fd.Category), fd.Category, itoa(fd.Count), fd.Amount}) {
			t.Errorf("问题类型 %v for %+v", row, fd)
		}
	}
}
