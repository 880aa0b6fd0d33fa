// Package casebook reads and writes the spreadsheets a bureau exchanges in
// the second half of a campaign, in Chinese, the way bureaus file them:
//
//   - the leads workbook (疑点线索反馈表) handed to one institution for its
//     guided self-inspection (指导性自查): one row per screening finding,
//     with a response column (属实/不属实, a validated list), the amount
//     confirmed and the evidence for a dispute (佐证材料);
//   - the same workbook returned, or the same rows as CSV (UTF-8 or GB18030,
//     as Chinese platforms export), read back with every row it cannot use
//     rejected with file, row and reason;
//   - a city's case register (案件台账), one row per InspectionCase.
//
// It knows nothing of Kubernetes (the CLI in cmd/flycheck does the
// cluster's part) and uses github.com/xuri/excelize/v2.
package casebook

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// Sheet names and the response values. They are what institutions see and
// type, so they are Chinese.
const (
	CoverSheet = "自查报告"
	LeadsSheet = "疑点线索"
	CasesSheet = "案件台账"
	TotalSheet = "汇总"

	Confirmed = "属实"
	Disputed  = "不属实"

	Yes = "是"
	No  = "否"
)

// Column headers of the leads sheet. Returns are read by header, so a
// bureau may reorder or drop the context columns; the required ones are
// marked in requiredColumns.
const (
	ColLeadID      = "线索编号"
	ColInstitution = "机构编码"
	ColInstName    = "机构名称"
	ColRule        = "规则编号"
	ColCategory    = "违规类型"
	ColVisit       = "就诊ID"
	ColPerson      = "参保人编号"
	ColItem        = "项目编码"
	ColLine        = "费用明细流水号"
	ColLeadAmount  = "疑点金额（元）"
	ColLeadText    = "疑点说明"
	ColResponse    = "核实结果"
	ColAmount      = "确认金额（元）"
	ColEvidence    = "佐证材料/说明"
)

var leadColumns = []string{ColLeadID, ColInstitution, ColInstName, ColRule, ColCategory, ColVisit, ColPerson,
	ColItem, ColLine, ColLeadAmount, ColLeadText, ColResponse, ColAmount, ColEvidence}

// Cover fields (column A: label, column B: value).
const (
	CoverInstitution = "机构编码"
	CoverName        = "机构名称"
	CoverCity        = "统筹区编码"
	CoverCampaign    = "专项治理"
	CoverDue         = "反馈截止日期"
	CoverReportedAt  = "报告日期"
	CoverPledge      = "已签署承诺书"
)

// CategoryNames are the rule types in the words of the plans.
var CategoryNames = map[string]string{
	"ExcessQuantity":     "超量收费",
	"BeyondIndication":   "超医保适应症",
	"BeyondPaymentScope": "超医保支付范围",
	"OverExamination":    "过度检查",
	"FictitiousCharge":   "虚记收费",
	"DuplicateCharge":    "重复收费",
	"InpatientBehaviour": "分解住院/挂床住院",
	"Other":              "其他",
}

// Institution is whom a workbook is for.
type Institution struct {
	Code, Name, CityCode string
}

// Lead is one screening finding handed to the institution.
type Lead struct {
	// ID identifies the finding: "<rule id>:<fee line>" for a line finding,
	// "<rule id>:<visit>" for a visit finding (docs/rules.md §2).
	ID                                  string
	RuleID, Category                    string
	VisitID, PersonID, ItemCode, LineID string
	// Amount at risk, yuan.
	Amount   string
	Evidence string
}

// LeadsWorkbook is one institution's leads.
type LeadsWorkbook struct {
	Campaign    string
	Institution Institution
	// Due is the date the return is due, if known ("2023-06-30").
	Due   string
	Leads []Lead
}

// WriteLeads writes the workbook: the cover sheet the institution signs
// off (report date, pledge) and the leads sheet it answers row by row.
func WriteLeads(w io.Writer, wb LeadsWorkbook) error {
	f := excelize.NewFile()
	defer f.Close()
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@": what is typed stays text
	if err != nil {
		return err
	}
	if err := f.SetSheetName("Sheet1", CoverSheet); err != nil {
		return err
	}
	cover := [][2]string{
		{"医保基金使用自查自纠反馈表", ""},
		{CoverInstitution, wb.Institution.Code},
		{CoverName, wb.Institution.Name},
		{CoverCity, wb.Institution.CityCode},
		{CoverCampaign, wb.Campaign},
		{CoverDue, wb.Due},
		{CoverReportedAt, ""},
		{CoverPledge, ""},
		{"填表说明", fmt.Sprintf("请在“%s”表逐条核实：认为问题属实的，在“%s”选“%s”并填写确认金额；认为不属实的，选“%s”并在“%s”列写明佐证依据。"+
			"填写报告日期（如 2023-06-28）和是否已签署承诺书（%s/%s）后报送。", LeadsSheet, ColResponse, Confirmed, Disputed, ColEvidence, Yes, No)},
	}
	for i, kv := range cover {
		if err := f.SetSheetRow(CoverSheet, fmt.Sprintf("A%d", i+1), &[]string{kv[0], kv[1]}); err != nil {
			return err
		}
	}
	if err := f.SetCellStyle(CoverSheet, "B2", "B8", text); err != nil {
		return err
	}
	pledge := excelize.NewDataValidation(true)
	pledge.SetSqref("B8")
	if err := pledge.SetDropList([]string{Yes, No}); err != nil {
		return err
	}
	if err := f.AddDataValidation(CoverSheet, pledge); err != nil {
		return err
	}
	_ = f.SetColWidth(CoverSheet, "A", "A", 16)
	_ = f.SetColWidth(CoverSheet, "B", "B", 60)

	if _, err := f.NewSheet(LeadsSheet); err != nil {
		return err
	}
	if err := f.SetSheetRow(LeadsSheet, "A1", &leadColumns); err != nil {
		return err
	}
	for i, l := range wb.Leads {
		cat := CategoryNames[l.Category]
		if cat == "" {
			cat = l.Category
		}
		row := []string{l.ID, wb.Institution.Code, wb.Institution.Name, l.RuleID, cat, l.VisitID, l.PersonID,
			l.ItemCode, l.LineID, l.Amount, l.Evidence, "", "", ""}
		if err := f.SetSheetRow(LeadsSheet, fmt.Sprintf("A%d", i+2), &row); err != nil {
			return err
		}
	}
	last := len(wb.Leads) + 1
	if last < 2 {
		last = 2
	}
	// Every cell is text: codes keep their leading zeros and typed amounts
	// stay the decimal that was typed, never a float.
	if err := f.SetCellStyle(LeadsSheet, "A1", fmt.Sprintf("N%d", last), text); err != nil {
		return err
	}
	resp := excelize.NewDataValidation(true)
	resp.SetSqref(fmt.Sprintf("L2:L%d", last))
	if err := resp.SetDropList([]string{Confirmed, Disputed}); err != nil {
		return err
	}
	resp.SetError(excelize.DataValidationErrorStyleStop, ColResponse, "请选择“"+Confirmed+"”或“"+Disputed+"”")
	if err := f.AddDataValidation(LeadsSheet, resp); err != nil {
		return err
	}
	_ = f.SetColWidth(LeadsSheet, "A", "A", 28)
	_ = f.SetColWidth(LeadsSheet, "K", "K", 50)
	_ = f.SetColWidth(LeadsSheet, "N", "N", 40)
	_ = f.SetPanes(LeadsSheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
	f.SetActiveSheet(1)
	return f.Write(w)
}
