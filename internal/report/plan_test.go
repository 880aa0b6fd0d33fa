package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// A plan has no today: the chart marks none, yet shows every phase and the
// milestones' legend, and the page holds the calendar text escaped.
func TestPlanGanttHasNoToday(t *testing.T) {
	r := sampleReport(t)
	r.At = time.Time{}
	svg, err := GanttSVG(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(svg, []byte("<?xml")) || !bytes.Contains(svg, []byte("<svg")) {
		t.Fatalf("not an SVG document: %.200s", svg)
	}
	for _, want := range []string{"自查自纠", "省级飞行检查", "工作节点截止"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("the plan chart lacks %q", want)
		}
	}
	for _, unwanted := range []string{"今天", "现在", "1月1日"} {
		if bytes.Contains(svg, []byte(unwanted)) {
			t.Errorf("the plan chart shows %q: a zero At is not a day to mark", unwanted)
		}
	}
	page, err := PlanHTML(r, "阶段 <a> & b")
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	if !strings.Contains(s, "阶段 &lt;a&gt; &amp; b") || !strings.Contains(s, "<svg") || strings.Contains(s, "<script") || strings.Contains(s, "src=") {
		t.Errorf("plan page:\n%.600s", s)
	}
	// The report's chart still marks today.
	r.At = time.Date(2020, 7, 20, 9, 0, 0, 0, time.UTC)
	svg, err = GanttSVG(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte("今天 2020-07-20")) {
		t.Error("with an instant, the chart lost its today line")
	}
}
