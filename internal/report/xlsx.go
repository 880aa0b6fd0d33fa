package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// The workbook's sheets, one per view, the way the bureaus file them.
const (
	SheetPlan       = "工作计划"
	SheetMilestones = "节点进度"
	SheetCards      = "红黄牌"
	SheetFindings   = "问题类型"
	SheetAmounts    = "金额统计"
)

// Column headers of each sheet (the test reads the workbook back by them).
var (
	PlanColumns     = []string{"阶段", "代码", "开始", "结束", "状态"}
	CardColumns     = []string{"地区", "代码", "牌", "逾期未完成的工作节点"}
	FindingColumns  = []string{"规则类型", "代码", "问题数", "金额（元）"}
	AmountColumns   = []string{"地区", "代码", "案件", "已自查", "已现场检查", "发现问题", "空白户", "逾期", "查实金额（元）", "处理金额（元）", "追回金额（元）"}
	milestoneFixed  = []string{"地区", "代码"}
	milestoneSuffix = []string{"（完成/应完成）", "（状态）"}
)

// XLSX writes the report as a workbook. Amounts are text cells holding the
// exact decimal ("1234.50"), never floats; counts are numbers.
func XLSX(w io.Writer, r *Report) error {
	f := excelize.NewFile()
	defer f.Close()
	loc, err := time.LoadLocation(r.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	day := func(t time.Time) string { return StartLabel(t, loc) }
	lastDay := func(t time.Time) string { return EndLabel(t, loc) }

	sheets := []struct {
		name string
		rows [][]any
	}{
		{SheetPlan, planRows(r, day, lastDay)},
		{SheetMilestones, milestoneRows(r, lastDay)},
		{SheetCards, cardRows(r)},
		{SheetFindings, findingRows(r)},
		{SheetAmounts, amountRows(r)},
	}
	for i, s := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", s.name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(s.name); err != nil {
			return err
		}
		for j, row := range s.rows {
			if err := f.SetSheetRow(s.name, fmt.Sprintf("A%d", j+1), &row); err != nil {
				return err
			}
		}
		_ = f.SetColWidth(s.name, "A", "A", 18)
		_ = f.SetColWidth(s.name, "B", "Z", 14)
		_ = f.SetPanes(s.name, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
	}
	// Who, what and when, on the first sheet's side.
	title := r.DisplayName
	if title == "" {
		title = r.Campaign
	}
	_ = f.SetCellValue(SheetPlan, "G1", title)
	_ = f.SetCellValue(SheetPlan, "G2", "范围："+firstNonEmpty(r.ScopeName, r.Scope))
	_ = f.SetCellValue(SheetPlan, "G3", "截至："+r.At.In(loc).Format("2006-01-02 15:04")+"（"+r.TimeZone+"）")
	return f.Write(w)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func header(cols []string) []any {
	out := make([]any, len(cols))
	for i, c := range cols {
		out[i] = c
	}
	return out
}

func planRows(r *Report, day, lastDay func(time.Time) string) [][]any {
	rows := [][]any{header(PlanColumns)}
	for _, p := range r.Phases {
		rows = append(rows, []any{p.Label(), p.Name, day(p.Start), lastDay(p.End), firstNonEmpty(StateNames[p.State], p.State)})
	}
	return rows
}

// MilestoneColumns are the 节点进度 headers: two per milestone.
func MilestoneColumns(r *Report) []string {
	cols := append([]string(nil), milestoneFixed...)
	for _, m := range r.Milestones {
		for _, s := range milestoneSuffix {
			cols = append(cols, m.Label()+s)
		}
	}
	return cols
}

func milestoneRows(r *Report, lastDay func(time.Time) string) [][]any {
	rows := [][]any{header(MilestoneColumns(r))}
	due := []any{"截止日期", ""}
	for _, m := range r.Milestones {
		due = append(due, lastDay(m.Due), fmt.Sprintf("≥%d%%", m.MinPercent))
	}
	rows = append(rows, due)
	for _, c := range r.Cities {
		row := []any{c.Label(), c.Name}
		for _, m := range r.Milestones {
			cell, state := "—", ""
			for _, cm := range c.Milestones {
				if cm.Name == m.Name {
					cell, state = fmt.Sprintf("%d/%d", cm.Done, cm.Total), firstNonEmpty(StateNames[cm.State], cm.State)
				}
			}
			row = append(row, cell, state)
		}
		rows = append(rows, row)
	}
	return rows
}

func cardRows(r *Report) [][]any {
	rows := [][]any{header(CardColumns)}
	label := map[string]string{}
	for _, m := range r.Milestones {
		label[m.Name] = m.Label()
	}
	for _, c := range r.Cities {
		var behind []string
		for _, m := range c.CardMilestones {
			behind = append(behind, firstNonEmpty(label[m], m))
		}
		rows = append(rows, []any{c.Label(), c.Name, firstNonEmpty(CardNames[c.Card], c.Card), strings.Join(behind, "、")})
	}
	return rows
}

func findingRows(r *Report) [][]any {
	rows := [][]any{header(FindingColumns)}
	for _, f := range r.Findings {
		rows = append(rows, []any{CategoryLabel(f.Category), f.Category, f.Count, f.Amount})
	}
	return rows
}

func amountRows(r *Report) [][]any {
	rows := [][]any{header(AmountColumns)}
	for _, c := range r.Cities {
		rows = append(rows, []any{c.Label(), c.Name, c.Cases, c.SelfReported, c.Inspected, c.WithFindings, c.Blank, c.Overdue,
			c.Found, c.Ordered, c.Recovered})
	}
	return rows
}
