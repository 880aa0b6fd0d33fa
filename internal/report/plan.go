package report

import (
	"bytes"
	"html/template"
)

// GanttSVG is the phase plan alone as an SVG document, the chart of the
// report. A Report whose At is zero is a plan not yet running (`flycheck
// plan`): no today line is drawn and the axis spans the phases only.
func GanttSVG(r *Report) ([]byte, error) {
	p, h, err := ganttPlot(r, location(r))
	if err != nil {
		return nil, err
	}
	svg, err := renderSVG(p, chartWidth, h)
	if err != nil {
		return nil, err
	}
	return append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"), svg...), nil
}

// PlanHTML is one self-contained page (nothing loaded, as report.html)
// with the Gantt chart of a plan and its calendar as text (the table
// `flycheck plan` prints).
func PlanHTML(r *Report, calendar string) ([]byte, error) {
	p, h, err := ganttPlot(r, location(r))
	if err != nil {
		return nil, err
	}
	svg, err := renderSVG(p, chartWidth, h)
	if err != nil {
		return nil, err
	}
	title := r.DisplayName
	if title == "" {
		title = r.Campaign
	}
	var buf bytes.Buffer
	err = planPage.Execute(&buf, struct {
		Title, Campaign, TimeZone, Calendar string
		SVG                                 template.HTML
	}{title + " 工作计划", r.Campaign, r.TimeZone, calendar,
		// gonum/plot escapes every text it writes.
		template.HTML(svg)}) //nolint:gosec
	return buf.Bytes(), err
}

var planPage = template.Must(template.New("plan").Parse(`<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{{.Title}}</title>
<style>
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 2em auto; max-width: 60em; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; }
.meta { color: #555; }
figure svg { max-width: 100%; height: auto; }
pre { font-family: "Noto Sans Mono CJK SC", "Sarasa Mono SC", monospace; font-size: .85em; background: #f6f8fa; padding: 1em; overflow-x: auto; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="meta">专项治理 {{.Campaign}} · 时区 {{.TimeZone}} · 试运行（flycheck plan），尚未提交集群</p>
<figure id="chart-gantt" data-chart="gantt">
{{.SVG}}
<figcaption>工作计划（甘特图）</figcaption>
</figure>
<pre id="calendar">{{.Calendar}}</pre>
</body>
</html>
`))
