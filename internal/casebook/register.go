package casebook

import (
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/medfund/flycheck-operator/internal/cases"
)

// CaseRow is one InspectionCase in a city's register.
type CaseRow struct {
	Name                 string
	Code, InstName, City string
	Level                int
	// Origins as the bureau says them, e.g. "数据筛查(selfinspection)、抽查复查(spotcheck)".
	Origins string
	Stage   string
	// Yuan, as the case status has them ("1234.50").
	Leads, SelfReported, Found, UnderReported, Ordered, Recovered, Outstanding string
	UnderReportedFlag, Blank, RepeatOffender, Overdue                          bool
	// Deadlines, e.g. "自查报告 2020-06-06T00:00:00+08:00 Met".
	Deadlines string
	// SelfReport: the self-inspection report is in; Inspected: the on-site
	// verification is done.
	SelfReport, Inspected bool
}

// StageNames and OriginNames put the API's words into the bureau's.
var (
	StageNames = map[string]string{
		"Open": "已下发线索", "SelfReported": "已自查", "Inspected": "已现场核实",
		"Decided": "已定性处理", "Rectifying": "整改中", "Closed": "已办结",
	}
	OriginNames = map[string]string{
		"Screening": "数据筛查", "Recheck": "抽查复查", "FlyCheck": "飞行检查", "TipOff": "举报",
	}
)

var registerColumns = []string{"案件", "机构编码", "机构名称", "统筹区", "医院等级", "来源", "阶段",
	"线索金额（元）", "自查金额（元）", "核实金额（元）", "自查未报金额（元）", "处理金额（元）", "追回金额（元）", "未追回金额（元）",
	"自查不报", "空白户", "屡查屡犯", "逾期", "期限"}

func yesNo(b bool) string {
	if b {
		return Yes
	}
	return No
}

// WriteCases writes a city's register: one row per case, then a sheet of
// totals (counts and exact sums, as in the Campaign's status).
func WriteCases(w io.Writer, title string, rows []CaseRow) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", CasesSheet); err != nil {
		return err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return err
	}
	if err := f.SetSheetRow(CasesSheet, "A1", &registerColumns); err != nil {
		return err
	}
	var tally cases.Tally
	for i, r := range rows {
		stage := StageNames[r.Stage]
		if stage == "" {
			stage = r.Stage
		}
		level := ""
		if r.Level > 0 {
			level = []string{"", "一级", "二级", "三级"}[min(r.Level, 3)]
		}
		row := []string{r.Name, r.Code, r.InstName, r.City, level, r.Origins, stage,
			r.Leads, r.SelfReported, r.Found, r.UnderReported, r.Ordered, r.Recovered, r.Outstanding,
			yesNo(r.UnderReportedFlag), yesNo(r.Blank), yesNo(r.RepeatOffender), yesNo(r.Overdue), r.Deadlines}
		if err := f.SetSheetRow(CasesSheet, fmt.Sprintf("A%d", i+2), &row); err != nil {
			return err
		}
		e := cases.Entry{SelfReported: r.SelfReport, Inspected: r.Inspected, WithFindings: r.Inspected && !r.Blank, Overdue: r.Overdue}
		for _, m := range []struct {
			to *cases.Fen
			v  string
		}{{&e.Found, r.Found}, {&e.Ordered, r.Ordered}, {&e.Recovered, r.Recovered}} {
			if *m.to, err = cases.ParseOptional(m.v); err != nil {
				return fmt.Errorf("case %s: %w", r.Name, err)
			}
		}
		if err := tally.Add(e); err != nil {
			return err
		}
	}
	// Amounts are text cells: "1234.50" exactly, not a float.
	if err := f.SetCellStyle(CasesSheet, "A2", fmt.Sprintf("S%d", len(rows)+1), text); err != nil {
		return err
	}
	_ = f.SetColWidth(CasesSheet, "A", "A", 34)
	_ = f.SetColWidth(CasesSheet, "C", "C", 24)
	_ = f.SetColWidth(CasesSheet, "S", "S", 48)
	_ = f.SetPanes(CasesSheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})

	if _, err := f.NewSheet(TotalSheet); err != nil {
		return err
	}
	pct := "—"
	if p, ok := tally.ProblemDiscoveryPercent(); ok {
		pct = fmt.Sprintf("%d%%", p)
	}
	totals := [][2]string{
		{title, ""},
		{"案件数", fmt.Sprint(tally.Cases)},
		{"已自查", fmt.Sprint(tally.SelfReported)},
		{"已现场核实", fmt.Sprint(tally.Inspected)},
		{"发现问题", fmt.Sprint(tally.WithFindings)},
		{"空白户", fmt.Sprint(tally.Blank)},
		{"发现问题率", pct},
		{"核实金额（元）", tally.Found.String()},
		{"处理金额（元）", tally.Ordered.String()},
		{"追回金额（元）", tally.Recovered.String()},
		{"逾期", fmt.Sprint(tally.Overdue)},
	}
	for i, kv := range totals {
		if err := f.SetSheetRow(TotalSheet, fmt.Sprintf("A%d", i+1), &[]string{kv[0], kv[1]}); err != nil {
			return err
		}
	}
	if err := f.SetCellStyle(TotalSheet, "B2", fmt.Sprintf("B%d", len(totals)), text); err != nil {
		return err
	}
	_ = f.SetColWidth(TotalSheet, "A", "A", 18)
	return f.Write(w)
}

// OriginText joins origins the way the register shows them.
func OriginText(types, phases []string) string {
	parts := make([]string, len(types))
	for i, t := range types {
		name := OriginNames[t]
		if name == "" {
			name = t
		}
		if i < len(phases) && phases[i] != "" {
			name += "(" + phases[i] + ")"
		}
		parts[i] = name
	}
	return strings.Join(parts, "、")
}
