// Package report renders a campaign's report (专项治理工作周报 / 总结报告):
// the figures as report.json and one self-contained report.html for a
// provincial director or a city bureau, with four charts drawn by
// gonum.org/v1/plot as inline SVG: the phase plan as a Gantt chart with
// today marked, each city's progress against each milestone, findings by
// rule type, and found against recovered amounts; and the cards.
//
// Self-contained: the page loads nothing (no script, stylesheet, image or
// web font; even the favicon is an inline empty data: URL), so it opens
// from a ConfigMap, a mail attachment or a USB stick alike.
//
// Fonts: every label is Chinese-capable text in the font family "Noto Sans
// CJK SC" (Debian fonts-noto-cjk). gonum/plot measures text with the face
// it finds in its font cache; this package parses the collection
// /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc (or the file named
// by FLYCHECK_CJK_FONT) with golang.org/x/image/font/opentype, picks the SC
// face and registers it under that family, so labels are laid out with the
// glyphs' real widths. The SVG names the family in font-family and does not
// embed the font (19 MB): the browser draws the text with the installed
// font, falling back per glyph to any CJK font it has. Without the font
// file (a minimal container image) labels are measured with gonum's
// Liberation Sans and named so in the SVG: the browser falls back per glyph
// to a CJK font it has, the layout is looser, the page still renders.
//
// The package knows nothing of Kubernetes: the operator and the CLI fill a
// Report from the Campaign and its cases.
package report

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind says why a report was written.
type Kind string

const (
	Weekly   Kind = "Weekly"
	Summary  Kind = "Summary"
	OnDemand Kind = "OnDemand"
)

// ProvinceScope is the scope of the province's report; a city's report
// has the city's name as its scope.
const ProvinceScope = "province"

// Report is everything report.json holds and report.html shows.
type Report struct {
	Campaign    string    `json:"campaign"`
	DisplayName string    `json:"displayName,omitempty"`
	Kind        Kind      `json:"kind"`
	Scope       string    `json:"scope"`
	ScopeName   string    `json:"scopeName,omitempty"`
	TimeZone    string    `json:"timeZone"`
	At          time.Time `json:"at"`

	Phases     []Phase     `json:"phases"`
	Milestones []Milestone `json:"milestones,omitempty"`
	Cities     []City      `json:"cities"`
	// Violations confirmed on site, by rule type.
	Findings []Finding `json:"findings,omitempty"`
}

// Phase is one phase of the plan.
type Phase struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"displayName,omitempty"`
	Start       time.Time `json:"start"`
	// End is exclusive: the first instant after the phase.
	End   time.Time `json:"end"`
	State string    `json:"state"`
}

// Milestone is one dated deliverable.
type Milestone struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"displayName,omitempty"`
	Requirement string    `json:"requirement"`
	MinPercent  int       `json:"minPercent"`
	Due         time.Time `json:"due"`
}

// City is one city's row: counts, sums (yuan, decimal strings) and cards.
type City struct {
	Name           string          `json:"name"`
	DisplayName    string          `json:"displayName,omitempty"`
	Cases          int             `json:"cases"`
	SelfReported   int             `json:"selfReported"`
	Inspected      int             `json:"inspected"`
	WithFindings   int             `json:"withFindings"`
	Blank          int             `json:"blank"`
	Overdue        int             `json:"overdue"`
	Found          string          `json:"found"`
	Ordered        string          `json:"ordered"`
	Recovered      string          `json:"recovered"`
	Milestones     []CityMilestone `json:"milestones,omitempty"`
	Card           string          `json:"card,omitempty"`
	CardMilestones []string        `json:"cardMilestones,omitempty"`
}

// CityMilestone is one milestone in one city.
type CityMilestone struct {
	Name  string `json:"name"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
	State string `json:"state"`
}

// Finding is the violations of one rule type.
type Finding struct {
	Category string `json:"category"`
	Count    int    `json:"count"`
	Amount   string `json:"amount"`
}

// Label is the name a reader knows a city by.
func (c City) Label() string {
	if c.DisplayName != "" {
		return c.DisplayName
	}
	return c.Name
}

// Label is the phase's display name, or its name.
func (p Phase) Label() string {
	if p.DisplayName != "" {
		return p.DisplayName
	}
	return p.Name
}

// Label is the milestone's display name, or its name.
func (m Milestone) Label() string {
	if m.DisplayName != "" {
		return m.DisplayName
	}
	return m.Name
}

// CategoryNames are the rule types as the bureaus write them.
var CategoryNames = map[string]string{
	"ExcessQuantity":     "超量收费",
	"BeyondIndication":   "超适应症用药",
	"BeyondPaymentScope": "超医保支付范围",
	"OverExamination":    "过度检查",
	"FictitiousCharge":   "虚构收费",
	"DuplicateCharge":    "重复收费",
	"InpatientBehaviour": "分解住院/挂床住院",
}

// CategoryLabel is the Chinese name of a rule type (the code itself when
// unknown).
func CategoryLabel(c string) string {
	if n, ok := CategoryNames[c]; ok {
		return n
	}
	return c
}

// CardNames are the cards in Chinese.
var CardNames = map[string]string{"Green": "绿牌", "Yellow": "黄牌（约谈）", "Red": "红牌（通报批评）"}

// StateNames are milestone and phase states in Chinese.
var StateNames = map[string]string{
	"Pending": "未到期", "Met": "按期完成", "Missed": "逾期未完成",
	"Active": "进行中", "Completed": "已结束",
}

// JSON is report.json, indented for people who open it.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Parse reads report.json.
func Parse(b []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("report.json: %w", err)
	}
	return &r, nil
}

// Yuan is a Money string as a number, for charts only (every figure in
// report.json stays a decimal string).
func Yuan(s string) float64 {
	if s == "" {
		return 0
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0
	}
	return v
}

// StartLabel is how a start instant reads: its day, or with the time of
// day when it is not midnight (compressed schedules).
func StartLabel(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02 15:04:05")
}

// EndLabel is how an exclusive end (a phase's end, a due instant) reads:
// the last day it includes, or the instant itself when it is not midnight.
func EndLabel(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Add(-time.Nanosecond).Format("2006-01-02")
	}
	return t.Format("2006-01-02 15:04:05")
}
