package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/internal/calendar"
	"github.com/medfund/flycheck-operator/internal/report"
	"github.com/medfund/flycheck-operator/internal/schedule"
)

type planFlags struct {
	gantt    string
	rosters  []string
	holidays string
}

func newPlanCommand() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan FILE.yaml [--gantt FILE.svg|FILE.html] [--roster FRAME.csv|ROSTER.xlsx]... [--holidays holidays.csv]",
		Short: "Dry-run a Campaign manifest without a cluster: its calendar, Gantt chart and sample sizes",
		Long: `Plan reads a Campaign manifest and checks it as the API server would on
create — the CRD's own schema, defaults and validation rules (CEL), run
offline by the API server's own code — so what it refuses, a cluster
refuses, with the same field and message. What it accepts it prints as
the campaign will run:

  - the phases (工作阶段) in the campaign's zone: first and last day,
    calendar days, working days (工作日, the official calendar with its
    holidays and make-up days), what each does, and which phases overlap;
  - the milestones (工作节点): the last day, the requirement and share,
    and the phases under way then; the cards; the weekly and summary
    reports and when they are written;
  - with --roster, each sampling phase's sample per city: institutions,
    tertiary hospitals, the city's quota, the tertiary quota, the top-up
    to the minimum total, and what the roster cannot supply. Sizes only:
    nothing is drawn.

--roster takes a frame CSV (docs/data-format.md) or a bureau's list as
'flycheck roster import' reads it (.xlsx or .csv, documented column
names); give it once per file, institutions go to the city of their
cityCode. --gantt writes the phase plan as a Gantt chart, an SVG or a
self-contained HTML page with the calendar.`,
		Example: `  flycheck plan config/samples/campaign_jiangsu_2020.yaml
  flycheck plan campaign.yaml --gantt plan.html --roster nanjing.csv --roster wuxi.csv
  flycheck plan campaign.yaml --holidays holidays.csv   # years after the built-in calendar`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlan(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], f)
		},
	}
	cmd.Flags().StringVar(&f.gantt, "gantt", "", "write the Gantt chart to this .svg or .html file")
	cmd.Flags().StringArrayVar(&f.rosters, "roster", nil, "a frame CSV or roster (.xlsx, .csv) to size the samples on; repeatable")
	cmd.Flags().StringVar(&f.holidays, "holidays", "", "holidays.csv as in the operator's holiday ConfigMap (docs/cases.md), for years the built-in calendar lacks")
	return cmd
}

// campaignValidator is built once: compiling the CRD's CEL rules is the
// slow part.
var campaignValidator = sync.OnceValues(func() (*crdValidator, error) {
	return newCRDValidator("flycheck.medfund.io_campaigns.yaml")
})

// runPlan prints the plan of the manifest in file to out; notes (the
// files written) go to errOut so that out stays the same on every run.
func runPlan(ctx context.Context, out, errOut io.Writer, file string, f planFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if ext := strings.ToLower(filepath.Ext(f.gantt)); f.gantt != "" && ext != ".svg" && ext != ".html" {
		return fmt.Errorf("--gantt %s: want a .svg or .html file", f.gantt)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	camp, err := admitCampaign(ctx, data)
	if err != nil {
		return err
	}
	cal := calendar.Builtin()
	if f.holidays != "" {
		text, err := os.ReadFile(f.holidays)
		if err != nil {
			return err
		}
		if cal, err = calendar.FromConfig(string(text)); err != nil {
			return fmt.Errorf("%s: %w", f.holidays, err)
		}
	}
	frame, err := readRosters(f.rosters)
	if err != nil {
		return err
	}
	p, err := newCampaignPlan(camp, cal)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	p.write(&buf)
	if len(f.rosters) > 0 {
		if err := p.writeSizes(&buf, frame, f.rosters); err != nil {
			return err
		}
	} else {
		p.writePolicies(&buf)
	}
	if _, err := out.Write(buf.Bytes()); err != nil {
		return err
	}
	if f.gantt == "" {
		return nil
	}
	var chart []byte
	if strings.EqualFold(filepath.Ext(f.gantt), ".svg") {
		chart, err = report.GanttSVG(p.report())
	} else {
		chart, err = report.PlanHTML(p.report(), buf.String())
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(f.gantt, chart, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(errOut, "wrote the Gantt chart of %s to %s\n", camp.Name, f.gantt)
	return nil
}

// admitCampaign is the Campaign the API server would store from the
// manifest, defaults applied, or its refusal.
func admitCampaign(ctx context.Context, manifest []byte) (*flycheckv1.Campaign, error) {
	v, err := campaignValidator()
	if err != nil {
		return nil, err
	}
	obj, err := v.admit(ctx, manifest)
	if err != nil {
		return nil, err
	}
	var camp flycheckv1.Campaign
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, &camp); err != nil {
		return nil, err
	}
	return &camp, nil
}

// campaignPlan is a Campaign resolved on its calendar.
type campaignPlan struct {
	camp *flycheckv1.Campaign
	plan *schedule.Plan
	cal  *calendar.Calendar
	// missingYears: years the calendar does not cover (working days "?").
	missingYears map[int]bool
}

func newCampaignPlan(camp *flycheckv1.Campaign, cal *calendar.Calendar) (*campaignPlan, error) {
	specs := make([]schedule.PhaseSpec, len(camp.Spec.Phases))
	for i, ph := range camp.Spec.Phases {
		specs[i] = schedule.PhaseSpec{Name: ph.Name, Start: string(ph.Start), End: string(ph.End)}
	}
	plan, err := schedule.Parse(camp.Spec.TimeZone, specs)
	if err != nil {
		return nil, err
	}
	return &campaignPlan{camp: camp, plan: plan, cal: cal, missingYears: map[int]bool{}}, nil
}

// days are the calendar days [start, end) touches in the zone, first and
// last, and how many, and how many of them are working days ("?" when the
// calendar lacks a year).
func (p *campaignPlan) days(start, end time.Time) (first, last calendar.Date, n int, working string) {
	loc := p.plan.Location
	first = calendar.DateOf(start.In(loc))
	last = calendar.DateOf(end.Add(-time.Nanosecond).In(loc))
	if end.Equal(start) {
		last = first
	}
	for d := first; !last.Before(d); d = d.AddDays(1) {
		n++
	}
	w, err := p.cal.WorkingDaysBetween(first.AddDays(-1), last)
	if y, ok := calendar.IsYearNotCovered(err); ok {
		p.missingYears[y] = true
		return first, last, n, "?"
	}
	return first, last, n, fmt.Sprint(w)
}

func (p *campaignPlan) write(w io.Writer) {
	c := p.camp
	title := c.Name
	if c.Spec.DisplayName != "" {
		title += " — " + c.Spec.DisplayName
	}
	fmt.Fprintf(w, "Campaign %s\n", title)
	fmt.Fprintln(w, "Accepted: the API server's schema, defaults and validation rules find nothing to refuse.")
	start, end := p.plan.Phases[0].Start, p.plan.Phases[0].End
	for _, ph := range p.plan.Phases {
		if ph.Start.Before(start) {
			start = ph.Start
		}
		end = maxInstant(end, ph.End)
	}
	first, last, n, working := p.days(start, end)
	fmt.Fprintf(w, "Time zone %s; %d %s; from %s to %s: %d days, %s working days.\n",
		p.plan.Location, len(c.Spec.Cities), plural(len(c.Spec.Cities), "city", "cities"), first, last, n, working)
	if c.Spec.DataWindow != nil {
		fmt.Fprintf(w, "Claims from %s to %s.\n", c.Spec.DataWindow.From, c.Spec.DataWindow.To)
	}
	if c.Spec.Suspend {
		fmt.Fprintln(w, "Suspended: nothing starts until spec.suspend is false.")
	}

	fmt.Fprintln(w, "\nPhases")
	t := newTable("PHASE", "DISPLAY NAME", "FIRST DAY", "LAST DAY", "DAYS", "WORKING DAYS", "WORK", "OVERLAPS").alignRight(4, 5)
	for i, ph := range p.plan.Phases {
		spec := c.Spec.Phases[i]
		_, _, n, working := p.days(ph.Start, ph.End)
		var overlaps []string
		for j, o := range p.plan.Phases {
			if j != i && o.Start.Before(ph.End) && ph.Start.Before(o.End) {
				overlaps = append(overlaps, o.Name)
			}
		}
		t.add(ph.Name, orNone(spec.DisplayName), report.StartLabel(ph.Start, p.plan.Location), report.EndLabel(ph.End, p.plan.Location),
			fmt.Sprint(n), working, phaseWork(&spec), orNone(strings.Join(overlaps, ", ")))
	}
	t.write(w)

	p.writeMilestones(w)
	p.writeReporting(w)
	if len(p.missingYears) > 0 {
		years := make([]string, 0, len(p.missingYears))
		for _, y := range sortedKeys(p.missingYears) {
			years = append(years, fmt.Sprint(y))
		}
		fmt.Fprintf(w, "\n? The built-in calendar does not cover %s: give the year's holidays with --holidays (the operator reads them from its holiday ConfigMap, docs/cases.md).\n",
			strings.Join(years, ", "))
	}
}

// phaseWork says what a phase does, defaults included.
func phaseWork(ph *flycheckv1.Phase) string {
	var parts []string
	if s := ph.Screening; s != nil {
		parts = append(parts, fmt.Sprintf("screening: %d %s, %d %s", len(s.RuleSets), plural(len(s.RuleSets), "rule set", "rule sets"),
			s.Shards, plural(int(s.Shards), "shard", "shards")))
	}
	if s := ph.Sampling; s != nil {
		parts = append(parts, fmt.Sprintf("%s sample: %s", s.Purpose, policyText(s.SamplingPolicy)))
	}
	if s := ph.SelfInspection; s != nil {
		due := ""
		switch {
		case s.ReportDue != nil:
			due = ", reports by " + string(*s.ReportDue)
		case s.ReportWithinWorkingDays > 0:
			due = fmt.Sprintf(", reports within %d working days", s.ReportWithinWorkingDays)
		}
		parts = append(parts, fmt.Sprintf("self-inspection of %s%s", s.Scope, due))
	}
	return orNone(strings.Join(parts, "; "))
}

func policyText(s flycheckv1.SamplingPolicy) string {
	t := fmt.Sprintf("≥%d%% per city, ≥%d tertiary per city", s.MinPercent, s.MinTertiaryPerCity)
	if s.MinTotal > 0 {
		t += fmt.Sprintf(", ≥%d in all", s.MinTotal)
	}
	if s.RiskBasedPercent > 0 {
		t += fmt.Sprintf(", %d%% by risk", s.RiskBasedPercent)
	}
	return t
}

func (p *campaignPlan) writeMilestones(w io.Writer) {
	c := p.camp
	if len(c.Spec.Milestones) == 0 {
		return
	}
	fmt.Fprintln(w, "\nMilestones")
	t := newTable("MILESTONE", "DISPLAY NAME", "LAST DAY", "REQUIREMENT", "MIN %", "ORIGINS", "DURING").alignRight(4)
	for _, m := range c.Spec.Milestones {
		due, err := schedule.ParseEnd(string(m.Due), p.plan.Location)
		if err != nil { // the schema refuses such a date; never here
			continue
		}
		pct := 100
		if m.MinPercent != nil {
			pct = int(*m.MinPercent)
		}
		origins := make([]string, len(m.Origins))
		for i, o := range m.Origins {
			origins[i] = string(o)
		}
		var during []string
		for _, ph := range p.plan.Phases {
			if ph.StateAt(due.Add(-time.Nanosecond)) == schedule.Active {
				during = append(during, ph.Name)
			}
		}
		t.add(m.Name, orNone(m.DisplayName), report.EndLabel(due, p.plan.Location), string(m.Requirement), fmt.Sprint(pct),
			orDefault(strings.Join(origins, ", "), "all"), orDefault(strings.Join(during, ", "), "between phases"))
	}
	t.write(w)
	if cards := c.Spec.Cards; cards != nil {
		fmt.Fprintf(w, "Cards: yellow (约谈) after %d missed, red (通报批评) after %d missed.\n", cards.YellowAfterMissed, cards.RedAfterMissed)
	}
}

func (p *campaignPlan) writeReporting(w io.Writer) {
	rp := p.camp.Spec.Reporting
	if rp == nil {
		return
	}
	fmt.Fprintln(w, "\nReports")
	loc := p.plan.Location
	sched, ok, err := controllers.ReportSchedule(p.camp, p.plan)
	switch {
	case err != nil:
		fmt.Fprintf(w, "Snapshots: %v\n", err)
	case ok:
		// A compressed (demo) schedule may write thousands: stop counting.
		const most = 10000
		var at []time.Time
		for t, more := sched.Next(sched.From.Add(-time.Nanosecond)); more && len(at) < most; t, more = sched.Next(t) {
			at = append(at, t)
		}
		label, layout := "", "2006-01-02 15:04"
		if rp.Weekly != nil {
			label = fmt.Sprintf("Weekly (%s %s)", rp.Weekly.Day, rp.Weekly.Time)
		} else {
			label, layout = fmt.Sprintf("Snapshots (every %s)", sched.Every), "2006-01-02 15:04:05"
		}
		count := fmt.Sprintf("%d %s", len(at), plural(len(at), "snapshot", "snapshots"))
		if len(at) == most {
			count = fmt.Sprintf("%d or more snapshots", most)
		}
		if len(at) == 0 {
			fmt.Fprintf(w, "%s: none falls within the campaign.\n", label)
		} else {
			fmt.Fprintf(w, "%s: %s, the first %s, the last %s.\n", label, count,
				at[0].In(loc).Format(layout), at[len(at)-1].In(loc).Format(layout))
		}
		if rp.Keep > 0 {
			fmt.Fprintf(w, "Kept: the latest %d of each scope.\n", rp.Keep)
		}
	}
	if rp.SummaryPhase != "" {
		for _, ph := range p.plan.Phases {
			if ph.Name == rp.SummaryPhase {
				fmt.Fprintf(w, "Summary: when %s ends, %s.\n", ph.Name, ph.End.In(loc).Format("2006-01-02 15:04"))
			}
		}
	}
}

// report is the plan as a report without figures, for the Gantt chart.
func (p *campaignPlan) report() *report.Report {
	r := &report.Report{Campaign: p.camp.Name, DisplayName: p.camp.Spec.DisplayName, Kind: report.OnDemand,
		Scope: report.ProvinceScope, TimeZone: p.plan.Location.String()}
	for i, ph := range p.plan.Phases {
		r.Phases = append(r.Phases, report.Phase{Name: ph.Name, DisplayName: p.camp.Spec.Phases[i].DisplayName,
			Start: ph.Start, End: ph.End, State: string(schedule.Pending)})
	}
	for _, m := range p.camp.Spec.Milestones {
		due, err := schedule.ParseEnd(string(m.Due), p.plan.Location)
		if err != nil {
			continue
		}
		r.Milestones = append(r.Milestones, report.Milestone{Name: m.Name, DisplayName: m.DisplayName, Requirement: string(m.Requirement), Due: due})
	}
	return r
}

func maxInstant(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func orNone(s string) string { return orDefault(s, "—") }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
