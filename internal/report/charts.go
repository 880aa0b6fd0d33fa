package report

import (
	"bytes"
	"fmt"
	"image/color"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart is one rendered chart: an id, a caption and the inline <svg>.
type Chart struct {
	ID, Caption string
	SVG         []byte
}

var (
	colorPending   = color.RGBA{R: 0xbd, G: 0xc3, B: 0xc7, A: 0xff}
	colorActive    = color.RGBA{R: 0x29, G: 0x80, B: 0xb9, A: 0xff}
	colorCompleted = color.RGBA{R: 0x27, G: 0xae, B: 0x60, A: 0xff}
	colorToday     = color.RGBA{R: 0xc0, G: 0x39, B: 0x2b, A: 0xff}
	colorFound     = color.RGBA{R: 0xe6, G: 0x7e, B: 0x22, A: 0xff}
	seriesColors   = []color.Color{colorActive, colorFound, colorCompleted, color.RGBA{R: 0x8e, G: 0x44, B: 0xad, A: 0xff},
		color.RGBA{R: 0x16, G: 0xa0, B: 0x85, A: 0xff}, color.RGBA{R: 0xd3, G: 0x54, B: 0x00, A: 0xff}}
)

// Charts renders the report's four charts.
func Charts(r *Report) ([]Chart, error) {
	loc := location(r)
	makers := []struct {
		id, caption string
		make        func(*Report, *time.Location) (*plot.Plot, vg.Length, error)
	}{
		{"gantt", "工作计划（甘特图，红线为今天）", ganttPlot},
		{"milestones", "各地工作节点完成进度", milestonePlot},
		{"findings", "发现问题（按规则类型）", findingsPlot},
		{"amounts", "查实金额与追回金额", amountsPlot},
	}
	out := make([]Chart, 0, len(makers))
	for _, m := range makers {
		p, h, err := m.make(r, loc)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", m.id, err)
		}
		svg, err := renderSVG(p, chartWidth, h)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", m.id, err)
		}
		out = append(out, Chart{ID: m.id, Caption: m.caption, SVG: svg})
	}
	return out, nil
}

// chartWidth fits an A4 page with margins.
const chartWidth = 17 * vg.Centimeter

// location is the report's zone (UTC if it cannot be loaded).
func location(r *Report) *time.Location {
	loc, err := time.LoadLocation(r.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// newPlot is a plot whose every text is set in the CJK family.
func newPlot(title string) *plot.Plot {
	cache, _ := labelFonts()
	p := plot.New()
	p.TextHandler = text.Plain{Fonts: cache}
	cjk := func(size vg.Length) font.Font { return font.Font{Typeface: CJKFamily, Size: size} }
	p.Title.Text = title
	p.Title.TextStyle.Font, p.Title.TextStyle.Handler = cjk(13), p.TextHandler
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font, a.Label.TextStyle.Handler = cjk(11), p.TextHandler
		a.Tick.Label.Font, a.Tick.Label.Handler = cjk(10), p.TextHandler
	}
	p.Legend.TextStyle.Font, p.Legend.TextStyle.Handler = cjk(10), p.TextHandler
	return p
}

func renderSVG(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	c := vgsvg.New(w, h)
	// A margin below: browsers draw CJK descenders a little lower than
	// the face's metrics say, which clipped the axis labels.
	p.Draw(draw.Crop(draw.New(c), 0, 0, vg.Points(6), 0))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	// Inline in HTML: drop the XML declaration and comment before <svg.
	s := buf.Bytes()
	if i := bytes.Index(s, []byte("<svg")); i > 0 {
		s = s[i:]
	}
	return s, nil
}

// rowsHeight gives a chart room for n rows of bars.
func rowsHeight(n int, perRow vg.Length) vg.Length {
	h := 3*vg.Centimeter + vg.Length(n)*perRow
	if h < 6*vg.Centimeter {
		h = 6 * vg.Centimeter
	}
	return h
}

func ganttPlot(r *Report, loc *time.Location) (*plot.Plot, vg.Length, error) {
	p := newPlot("工作计划")
	n := len(r.Phases)
	labels := make([]string, n)
	for i, ph := range r.Phases {
		y := float64(n - 1 - i)
		labels[n-1-i] = ph.Label()
		x0, x1 := float64(ph.Start.Unix()), float64(ph.End.Unix())
		poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: y - 0.3}, {X: x1, Y: y - 0.3}, {X: x1, Y: y + 0.3}, {X: x0, Y: y + 0.3}})
		if err != nil {
			return nil, 0, err
		}
		poly.Color = map[string]color.Color{"Active": colorActive, "Completed": colorCompleted}[ph.State]
		if poly.Color == nil {
			poly.Color = colorPending
		}
		poly.LineStyle.Width = 0
		p.Add(poly)
	}
	for _, m := range r.Milestones {
		x := float64(m.Due.Unix())
		due, err := plotter.NewScatter(plotter.XYs{{X: x, Y: -0.75}})
		if err != nil {
			return nil, 0, err
		}
		due.GlyphStyle.Shape = draw.TriangleGlyph{}
		due.GlyphStyle.Color = colorFound
		due.GlyphStyle.Radius = vg.Points(4)
		p.Add(due)
	}
	if len(r.Milestones) > 0 {
		p.Legend.Add("工作节点截止", legendSwatch(colorFound))
	}
	// A plan (r.At zero) has no today to mark.
	marked := !r.At.IsZero()
	now := float64(r.At.Unix())
	today, err := plotter.NewLine(plotter.XYs{{X: now, Y: -1}, {X: now, Y: float64(n) - 0.5}})
	if err != nil {
		return nil, 0, err
	}
	today.LineStyle.Color, today.LineStyle.Width = colorToday, vg.Points(1.5)
	today.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	if marked {
		p.Add(today)
	}
	// A compressed schedule (demo) spans hours: ticks and "now" with the
	// time of day.
	span := time.Duration(0)
	if n > 0 {
		span = r.Phases[n-1].End.Sub(r.Phases[0].Start)
		for _, ph := range r.Phases {
			span = max(span, ph.End.Sub(r.Phases[0].Start))
		}
	}
	tickFormat, nowLabel := "1月2日", "今天 "+r.At.In(loc).Format("2006-01-02")
	if span < 72*time.Hour {
		tickFormat, nowLabel = "15:04:05", "现在 "+r.At.In(loc).Format("15:04:05")
	}
	entries := 0
	if marked {
		p.Legend.Add(nowLabel, today)
		entries++
	}
	p.Legend.Top = true
	p.Y.Tick.Marker = nominalTicks(labels)
	if len(r.Milestones) > 0 {
		entries++
	}
	p.Y.Min, p.Y.Max = -1, float64(n)-0.4+legendRoom(entries, 0.9*vg.Centimeter)
	p.X.Tick.Marker = plot.TimeTicks{Format: tickFormat, Time: func(t float64) time.Time { return time.Unix(int64(t), 0).In(loc) }}
	p.X.Label.Text = "日期（" + r.TimeZone + "）"
	if n > 0 {
		lo, hi := float64(r.Phases[0].Start.Unix()), float64(r.Phases[0].End.Unix())
		for _, ph := range r.Phases {
			lo, hi = min(lo, float64(ph.Start.Unix())), max(hi, float64(ph.End.Unix()))
		}
		if marked {
			lo, hi = min(lo, now), max(hi, now)
		}
		pad := (hi - lo) * 0.03
		p.X.Min, p.X.Max = lo-pad, hi+pad
	}
	return p, rowsHeight(n+1, 0.9*vg.Centimeter), nil
}

func legendSwatch(c color.Color) plot.Thumbnailer {
	s, _ := plotter.NewScatter(plotter.XYs{{}})
	s.GlyphStyle.Shape, s.GlyphStyle.Color, s.GlyphStyle.Radius = draw.TriangleGlyph{}, c, vg.Points(4)
	return s
}

// legendRoom is the data units to add above the top row so that a legend
// of n entries at the top right sits over empty space, not over bars.
func legendRoom(n int, perRow vg.Length) float64 {
	return float64(vg.Length(n)*vg.Points(13)) / float64(perRow)
}

// nominalTicks labels integer positions 0..n-1.
func nominalTicks(labels []string) plot.ConstantTicks {
	ticks := make(plot.ConstantTicks, len(labels))
	for i, l := range labels {
		ticks[i] = plot.Tick{Value: float64(i), Label: l}
	}
	return ticks
}

// cityRows are the cities top to bottom (the first city on top).
func cityRows(r *Report) []string {
	labels := make([]string, len(r.Cities))
	for i, c := range r.Cities {
		labels[len(r.Cities)-1-i] = c.Label()
	}
	return labels
}

func milestonePlot(r *Report, _ *time.Location) (*plot.Plot, vg.Length, error) {
	p := newPlot("工作节点完成率（%）")
	rows := cityRows(r)
	nm := len(r.Milestones)
	width := vg.Points(10)
	for j, m := range r.Milestones {
		vals := make(plotter.Values, len(r.Cities))
		for i, c := range r.Cities {
			for _, cm := range c.Milestones {
				if cm.Name == m.Name && cm.Total > 0 {
					vals[len(r.Cities)-1-i] = 100 * float64(cm.Done) / float64(cm.Total)
				} else if cm.Name == m.Name {
					vals[len(r.Cities)-1-i] = 100 // nothing to do: done
				}
			}
		}
		bc, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, 0, err
		}
		bc.Horizontal = true
		bc.Color = seriesColors[j%len(seriesColors)]
		bc.LineStyle.Width = 0
		bc.Offset = width * vg.Length(float64(j)-float64(nm-1)/2)
		p.Add(bc)
		p.Legend.Add(m.Label(), bc)
	}
	p.Legend.Top = true
	p.NominalY(rows...)
	perRow := vg.Length(max(nm, 1))*width + vg.Points(8)
	p.Y.Max = float64(len(rows)) - 0.5 + legendRoom(nm, perRow)
	p.X.Min, p.X.Max = 0, 100
	p.X.Label.Text = "完成率（%）"
	if nm == 0 {
		p.Title.Text += "：未设工作节点"
	}
	return p, rowsHeight(len(rows), perRow) + vg.Length(nm)*vg.Points(13), nil
}

func findingsPlot(r *Report, _ *time.Location) (*plot.Plot, vg.Length, error) {
	p := newPlot("发现问题（按规则类型）")
	order := []string{"ExcessQuantity", "BeyondIndication", "BeyondPaymentScope", "OverExamination",
		"FictitiousCharge", "DuplicateCharge", "InpatientBehaviour"}
	counts := map[string]int{}
	for _, f := range r.Findings {
		counts[f.Category] += f.Count
		if _, known := CategoryNames[f.Category]; !known && counts[f.Category] == f.Count {
			order = append(order, f.Category)
		}
	}
	labels := make([]string, len(order))
	vals := make(plotter.Values, len(order))
	for i, c := range order {
		labels[len(order)-1-i] = CategoryLabel(c)
		vals[len(order)-1-i] = float64(counts[c])
	}
	bc, err := plotter.NewBarChart(vals, vg.Points(14))
	if err != nil {
		return nil, 0, err
	}
	bc.Horizontal, bc.Color, bc.LineStyle.Width = true, colorFound, 0
	p.Add(bc)
	p.NominalY(labels...)
	// Room above the top bar, so that the title does not sit on it.
	p.Y.Min, p.Y.Max = -0.6, float64(len(order))-0.2
	p.X.Min = 0
	p.X.Label.Text = "问题数（项）"
	return p, rowsHeight(len(order), 0.75*vg.Centimeter), nil
}

func amountsPlot(r *Report, _ *time.Location) (*plot.Plot, vg.Length, error) {
	p := newPlot("查实金额与追回金额（万元）")
	rows := cityRows(r)
	found := make(plotter.Values, len(r.Cities))
	recovered := make(plotter.Values, len(r.Cities))
	for i, c := range r.Cities {
		found[len(r.Cities)-1-i] = Yuan(c.Found) / 10000
		recovered[len(r.Cities)-1-i] = Yuan(c.Recovered) / 10000
	}
	width := vg.Points(10)
	for j, s := range []struct {
		name string
		vals plotter.Values
		c    color.Color
	}{{"查实金额", found, colorFound}, {"追回金额", recovered, colorCompleted}} {
		bc, err := plotter.NewBarChart(s.vals, width)
		if err != nil {
			return nil, 0, err
		}
		bc.Horizontal, bc.Color, bc.LineStyle.Width = true, s.c, 0
		bc.Offset = width * vg.Length(float64(j)-0.5)
		p.Add(bc)
		p.Legend.Add(s.name, bc)
	}
	p.Legend.Top = true
	p.NominalY(rows...)
	perRow := 2*width + vg.Points(8)
	p.Y.Max = float64(len(rows)) - 0.5 + legendRoom(2, perRow)
	p.X.Min = 0
	p.X.Label.Text = "万元"
	return p, rowsHeight(len(rows), perRow) + 2*vg.Points(13), nil
}
