package report

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sampleReport is a Jiangsu-2020-shaped province report on 20 July 2020.
func sampleReport(t testing.TB) *Report {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	d := func(m time.Month, day int) time.Time { return time.Date(2020, m, day, 0, 0, 0, 0, loc) }
	return &Report{
		Campaign: "jiangsu-2020", DisplayName: "2020年全省医疗保障基金监管源头治理", Kind: Weekly,
		Scope: ProvinceScope, ScopeName: "江苏省", TimeZone: "Asia/Shanghai", At: time.Date(2020, 7, 20, 9, 0, 0, 0, loc),
		Phases: []Phase{
			{Name: "selfinspection", DisplayName: "自查自纠", Start: d(5, 1), End: d(7, 1), State: "Completed"},
			{Name: "spotcheck", DisplayName: "抽查复查", Start: d(7, 1), End: d(9, 1), State: "Active"},
			{Name: "flycheck", DisplayName: "省级飞行检查", Start: d(7, 1), End: d(12, 1), State: "Active"},
			{Name: "summary", DisplayName: "总结上报", Start: d(11, 1), End: d(12, 1), State: "Pending"},
		},
		Milestones: []Milestone{
			{Name: "refunds", DisplayName: "退回违规资金", Requirement: "Refunded", MinPercent: 100, Due: d(7, 16)},
			{Name: "pledges", DisplayName: "书面承诺", Requirement: "Pledged", MinPercent: 100, Due: d(7, 16)},
		},
		Cities: []City{
			{Name: "nanjing", DisplayName: "南京市", Cases: 40, SelfReported: 40, Inspected: 12, WithFindings: 11, Blank: 1,
				Found: "1234567.50", Ordered: "1500000.00", Recovered: "800000.00", Card: "Green",
				Milestones: []CityMilestone{{"refunds", 40, 40, "Met"}, {"pledges", 40, 40, "Met"}}},
			{Name: "wuxi", DisplayName: "无锡市", Cases: 30, SelfReported: 28, Inspected: 5, WithFindings: 5,
				Found: "300000.00", Ordered: "310000.00", Recovered: "10000.00", Card: "Yellow", CardMilestones: []string{"pledges"},
				Milestones: []CityMilestone{{"refunds", 30, 30, "Met"}, {"pledges", 27, 30, "Missed"}}},
			{Name: "lianyungang", DisplayName: "连云港市", Cases: 25, SelfReported: 20, Inspected: 3, WithFindings: 2, Blank: 1,
				Found: "52000.00", Ordered: "0.00", Recovered: "0.00", Card: "Red", CardMilestones: []string{"refunds", "pledges"},
				Milestones: []CityMilestone{{"refunds", 18, 25, "Missed"}, {"pledges", 15, 25, "Missed"}}},
		},
		Findings: []Finding{
			{Category: "DuplicateCharge", Count: 14, Amount: "412000.00"},
			{Category: "OverExamination", Count: 6, Amount: "98000.50"},
			{Category: "InpatientBehaviour", Count: 2, Amount: "120000.00"},
		},
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := sampleReport(t)
	b, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := back.JSON()
	if !bytes.Equal(b, b2) {
		t.Fatalf("report.json does not round-trip:\n%s\n%s", b, b2)
	}
	if !strings.Contains(string(b), `"found": "1234567.50"`) {
		t.Errorf("money must stay a decimal string in report.json:\n%s", b)
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	html, err := HTML(sampleReport(t))
	if err != nil {
		t.Fatal(err)
	}
	s := string(html)
	if n := strings.Count(s, "<svg"); n != 4 {
		t.Errorf("%d inline SVG charts, want 4", n)
	}
	for _, id := range []string{"gantt", "milestones", "findings", "amounts"} {
		if !strings.Contains(s, `data-chart="`+id+`"`) {
			t.Errorf("no %s chart", id)
		}
	}
	// Nothing to load: no script, no external URL in src, href or url().
	for _, bad := range []string{"<script", "src=", "@import", "url(", "<link rel=\"stylesheet\""} {
		if strings.Contains(s, bad) {
			t.Errorf("report.html contains %q", bad)
		}
	}
	if !strings.Contains(s, `<link rel="icon" href="data:,">`) {
		t.Error("no inline empty favicon (a browser would fetch /favicon.ico)")
	}
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(s, -1) {
		if m[1] != "data:," {
			t.Errorf("link to %q", m[1])
		}
	}
	// Chinese labels are in the charts as text, in the CJK family.
	for _, label := range []string{"自查自纠", "连云港市", "重复收费", "追回金额", "今天 2020-07-20"} {
		if !strings.Contains(s, ">"+label+"<") {
			t.Errorf("no label %q in a chart", label)
		}
	}
	family := "font-family:" + CJKFamily
	if _, ok := labelFonts(); !ok {
		family = "font-family:Liberation Sans"
	}
	if !strings.Contains(s, family) {
		t.Errorf("chart text is not set in %q", family)
	}
	// The cards, with the milestones behind them.
	for _, want := range []string{`card-Red">红牌（通报批评）`, `card-Yellow">黄牌（约谈）`, "退回违规资金、书面承诺", "27/30 逾期未完成"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in the page", want)
		}
	}
	if dir := os.Getenv("FLYCHECK_REPORT_OUT"); dir != "" {
		_ = os.WriteFile(dir+"/report.html", html, 0o644)
	}
}

func TestCJKFontParsesFromTheCollection(t *testing.T) {
	if _, err := os.Stat(defaultFontPaths[0]); err != nil {
		// The Liberation fallback must still lay out text.
		c, _ := labelFonts()
		face := c.Lookup(fontFor(), 12)
		if w := face.Width("abc"); w <= 0 {
			t.Fatalf("fallback face measures %v", w)
		}
		return
	}
	c, ok := labelFonts()
	if !ok {
		t.Fatalf("the Noto Sans CJK collection did not load: %v", fontErr)
	}
	// A CJK glyph is one em wide: 7 of them at 12 pt are 84 pt.
	face := c.Lookup(fontFor(), 12)
	if w := face.Width("淮北市自查自纠").Points(); w < 83 || w > 85 {
		t.Fatalf("7 CJK glyphs at 12 pt measure %v pt, want 84", w)
	}
}

// A demo campaign's phases last seconds: the plan shows times of day.
func TestCompressedScheduleLabels(t *testing.T) {
	r := sampleReport(t)
	t0 := r.At
	for i := range r.Phases {
		r.Phases[i].Start, r.Phases[i].End = t0.Add(time.Duration(i)*15*time.Second), t0.Add(time.Duration(i+1)*15*time.Second)
	}
	r.At = t0.Add(30 * time.Second)
	html, err := HTML(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{">现在 09:00:30<", "<td>2020-07-20 09:00:15</td><td>2020-07-20 09:00:30</td>", ">09:00:30<"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("no %q in the page", want)
		}
	}
	if loc, _ := time.LoadLocation("Asia/Shanghai"); EndLabel(time.Date(2020, 7, 16, 0, 0, 0, 0, loc), loc) != "2020-07-15" {
		t.Error("a midnight end reads as the day before")
	}
}
