package report

import (
	"bytes"
	"fmt"
	"html/template"
	"time"
)

// HTML renders report.html: one page, no script, nothing loaded from
// anywhere (inline CSS, inline SVG, an empty data: favicon).
func HTML(r *Report) ([]byte, error) {
	charts, err := Charts(r)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(r.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	type chartView struct {
		ID, Caption string
		SVG         template.HTML
	}
	view := struct {
		*Report
		Title, KindName, At string
		Charts              []chartView
		Loc                 *time.Location
	}{Report: r, Loc: loc, At: r.At.In(loc).Format("2006年1月2日 15:04")}
	view.KindName = map[Kind]string{Weekly: "工作周报", Summary: "总结报告", OnDemand: "工作报告"}[r.Kind]
	if view.KindName == "" {
		view.KindName = "工作报告"
	}
	name := r.DisplayName
	if name == "" {
		name = r.Campaign
	}
	view.Title = name + " " + view.KindName
	for _, c := range charts {
		// The SVG comes from gonum/plot, which escapes every text it writes.
		view.Charts = append(view.Charts, chartView{ID: c.ID, Caption: c.Caption, SVG: template.HTML(c.SVG)}) //nolint:gosec
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, view); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"card":     func(c string) string { return CardNames[c] },
	"state":    func(s string) string { return StateNames[s] },
	"category": CategoryLabel,
	"mlabel": func(ms []Milestone, name string) string {
		for _, m := range ms {
			if m.Name == name {
				return m.Label()
			}
		}
		return name
	},
	"date":    StartLabel,
	"lastDay": EndLabel,
	"progress": func(c City, name string) string {
		for _, m := range c.Milestones {
			if m.Name == name {
				return fmt.Sprintf("%d/%d", m.Done, m.Total)
			}
		}
		return "—"
	},
	"mstate": func(c City, name string) string {
		for _, m := range c.Milestones {
			if m.Name == name {
				return m.State
			}
		}
		return ""
	},
}).Parse(pageTemplate))

const pageTemplate = `<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{{.Title}}</title>
<style>
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 2em auto; max-width: 60em; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.2em; border-bottom: 2px solid #2980b9; padding-bottom: .2em; margin-top: 1.6em; }
.meta { color: #555; }
table { border-collapse: collapse; width: 100%; margin: .6em 0; }
th, td { border: 1px solid #ccc; padding: .3em .5em; text-align: left; }
th { background: #f0f3f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.card { display: inline-block; padding: .1em .6em; border-radius: .3em; font-weight: bold; }
.card-Green { background: #27ae60; color: #fff; }
.card-Yellow { background: #f1c40f; color: #222; }
.card-Red { background: #c0392b; color: #fff; }
.Met { color: #27ae60; } .Missed { color: #c0392b; font-weight: bold; } .Pending { color: #777; }
figure { margin: 1em 0; }
figcaption { color: #555; font-size: .9em; }
figure svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="meta">范围：{{if .ScopeName}}{{.ScopeName}}{{else}}{{.Scope}}{{end}} · 截至 {{.At}}（{{.TimeZone}}）· 专项治理 {{.Campaign}}</p>

<h2>红黄牌</h2>
<table id="cards">
<tr><th>地区</th><th>牌</th><th>逾期未完成的工作节点</th></tr>
{{range .Cities}}<tr><td>{{.Label}}</td><td>{{if .Card}}<span class="card card-{{.Card}}">{{card .Card}}</span>{{else}}—{{end}}</td><td>{{range $i, $m := .CardMilestones}}{{if $i}}、{{end}}{{mlabel $.Milestones $m}}{{else}}—{{end}}</td></tr>
{{end}}</table>

<h2>图表</h2>
{{range .Charts}}<figure id="chart-{{.ID}}" data-chart="{{.ID}}">
{{.SVG}}
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}

<h2>工作计划</h2>
<table id="phases">
<tr><th>阶段</th><th>开始</th><th>结束</th><th>状态</th></tr>
{{range .Phases}}<tr><td>{{.Label}}</td><td>{{date .Start $.Loc}}</td><td>{{lastDay .End $.Loc}}</td><td>{{state .State}}</td></tr>
{{end}}</table>

{{if .Milestones}}<h2>工作节点进度</h2>
<table id="milestones">
<tr><th>地区</th>{{range .Milestones}}<th>{{.Label}}<br><small>{{lastDay .Due $.Loc}} 前，≥{{.MinPercent}}%</small></th>{{end}}</tr>
{{range $c := .Cities}}<tr><td>{{$c.Label}}</td>{{range $.Milestones}}{{$s := mstate $c .Name}}<td class="num {{$s}}">{{progress $c .Name}} {{state $s}}</td>{{end}}</tr>
{{end}}</table>{{end}}

<h2>案件与金额</h2>
<table id="amounts">
<tr><th>地区</th><th>案件</th><th>已自查</th><th>已现场检查</th><th>发现问题</th><th>空白户</th><th>逾期</th><th>查实金额（元）</th><th>处理金额（元）</th><th>追回金额（元）</th></tr>
{{range .Cities}}<tr><td>{{.Label}}</td><td class="num">{{.Cases}}</td><td class="num">{{.SelfReported}}</td><td class="num">{{.Inspected}}</td><td class="num">{{.WithFindings}}</td><td class="num">{{.Blank}}</td><td class="num">{{.Overdue}}</td><td class="num">{{.Found}}</td><td class="num">{{.Ordered}}</td><td class="num">{{.Recovered}}</td></tr>
{{end}}</table>

<h2>问题类型</h2>
<table id="findings">
<tr><th>规则类型</th><th>问题数</th><th>金额（元）</th></tr>
{{range .Findings}}<tr><td>{{category .Category}}</td><td class="num">{{.Count}}</td><td class="num">{{.Amount}}</td></tr>
{{else}}<tr><td colspan="3">尚无现场查实的问题</td></tr>
{{end}}</table>
</body>
</html>
`
