package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// The demo's milestones, cards and reports: the cities' spot-check cases
// must be inspected on site before the fly-check ends and decided before
// consolidation ends. The bureaus of democases.go make one city of each
// colour: Nanjing inspects and decides every case in time (green), Wuxi
// inspects its spot-check cases but decides nothing (one missed milestone:
// yellow card), Xuzhou does neither (two: red). A report is written every phase length and the summary when
// the summary phase ends; the demo saves the province's summary page.

// withDemoReports adds the milestones, cards and reporting to the demo
// campaign, with due instants taken from its phases.
func withDemoReports(camp *flycheckv1.Campaign, d time.Duration) {
	end := func(phase string) time.Time {
		for _, p := range camp.Spec.Phases {
			if p.Name == phase {
				t, _ := time.Parse(time.RFC3339, string(p.End))
				return t
			}
		}
		return time.Time{}
	}
	// Halfway through the fly-check, and at consolidation's end.
	inspectDue := end("flycheck").Add(-d / 2)
	decideDue := end("consolidation")
	camp.Spec.Milestones = []flycheckv1.Milestone{
		{Name: "inspected", DisplayName: "抽查现场检查完成", Due: flycheckv1.Date(inspectDue.Format(time.RFC3339)),
			Requirement: "Inspected", Origins: []flycheckv1.OriginType{flycheckv1.OriginRecheck}},
		{Name: "decided", DisplayName: "定性处理完成", Due: flycheckv1.Date(decideDue.Format(time.RFC3339)),
			Requirement: "Decided", Origins: []flycheckv1.OriginType{flycheckv1.OriginRecheck}},
	}
	camp.Spec.Cards = &flycheckv1.Cards{YellowAfterMissed: 1, RedAfterMissed: 2}
	camp.Spec.Reporting = &flycheckv1.Reporting{Every: &metav1.Duration{Duration: d}, SummaryPhase: "summary"}
}

// saveDemoReport waits for the province's summary report, saves its page
// and the last weekly snapshot's under the workdir and prints their paths
// and every city's card.
func saveDemoReport(ctx context.Context, c client.Client, camp *flycheckv1.Campaign, workdir string, out io.Writer) {
	name := camp.Name + "-summary-province"
	var cm corev1.ConfigMap
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := c.Get(ctx, types.NamespacedName{Namespace: camp.Spec.ProvinceNamespace, Name: name}, &cm)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			fmt.Fprintf(out, "(no summary report %s/%s: %v)\n", camp.Spec.ProvinceNamespace, name, err)
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	path := filepath.Join(workdir, "report-summary-province.html")
	if err := saveReport(&cm, path); err != nil {
		fmt.Fprintf(out, "(saving the summary report: %v)\n", err)
		return
	}
	var weekly corev1.ConfigMapList
	if err := c.List(ctx, &weekly, client.InNamespace(camp.Spec.ProvinceNamespace), client.MatchingLabels{
		flycheckv1.LabelCampaign: camp.Name, flycheckv1.LabelReport: flycheckv1.ReportWeekly}); err == nil && len(weekly.Items) > 0 {
		// Snapshot names end in their instant, so the last by name is the latest.
		last := slices.MaxFunc(weekly.Items, func(a, b corev1.ConfigMap) int { return strings.Compare(a.Name, b.Name) })
		wpath := filepath.Join(workdir, "report-weekly-province.html")
		if err := saveReport(&last, wpath); err == nil {
			fmt.Fprintf(out, "\n%d weekly reports (周报) written during the run; the last, %s/%s: %s\n", len(weekly.Items), last.Namespace, last.Name, wpath)
		}
	}
	fmt.Fprintf(out, "\nsummary report (总结报告): %s (and .json; `flycheck report --from` renders it as xlsx)\n", path)
	var now flycheckv1.Campaign
	if err := c.Get(ctx, types.NamespacedName{Name: camp.Name}, &now); err != nil {
		return
	}
	display := map[string]string{}
	for _, city := range camp.Spec.Cities {
		display[city.Name] = city.DisplayName
	}
	for _, row := range now.Status.Cities {
		var ms []string
		for _, m := range row.Milestones {
			ms = append(ms, fmt.Sprintf("%s %s %d/%d", m.Name, m.State, m.Done, m.Total))
		}
		line := fmt.Sprintf("card %s (%s): %s", display[row.Name], row.Name, row.Card)
		if len(row.CardMilestones) > 0 {
			line += " — missed " + strings.Join(row.CardMilestones, ", ")
		}
		fmt.Fprintf(out, "%s  [%s]\n", line, strings.Join(ms, "; "))
	}
}

// saveReport writes a snapshot's page to path and its figures beside it
// (.json).
func saveReport(cm *corev1.ConfigMap, path string) error {
	if err := os.WriteFile(path, []byte(cm.Data[flycheckv1.ReportHTMLKey]), 0o644); err != nil {
		return err
	}
	return os.WriteFile(strings.TrimSuffix(path, ".html")+".json", []byte(cm.Data[flycheckv1.ReportJSONKey]), 0o644)
}
