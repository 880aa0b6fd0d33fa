package controllers

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/report"
)

func snapshots(t *testing.T, ns, campaign, kind string) map[string]corev1.ConfigMap {
	t.Helper()
	var list corev1.ConfigMapList
	if err := k8sClient.List(context.Background(), &list, client.InNamespace(ns),
		client.MatchingLabels{flycheckv1.LabelCampaign: campaign, LabelReport: kind}); err != nil {
		t.Fatal(err)
	}
	out := map[string]corev1.ConfigMap{}
	for _, cm := range list.Items {
		out[cm.Name] = cm
	}
	return out
}

func names(m map[string]corev1.ConfigMap) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func TestWeeklyAndSummaryReports(t *testing.T) {
	for _, ns := range []string{"rp-province", "rp-a", "rp-b"} {
		createNamespace(t, ns)
	}
	c := milestoneCampaign("reports", []string{"rp-a", "rp-b"})
	c.Spec.ProvinceNamespace = "rp-province"
	c.Spec.Cities[0].DisplayName, c.Spec.Cities[1].DisplayName = "南京市", "无锡市"
	c.Spec.Phases = []flycheckv1.Phase{
		phase("selfinspection", "2020-05-01", "2020-05-31"),
		phase("summary", "2020-06-01", "2020-06-14"),
	}
	c.Spec.Phases[0].DisplayName, c.Spec.Phases[1].DisplayName = "自查自纠", "总结完善"
	c.Spec.Reporting = &flycheckv1.Reporting{Weekly: &flycheckv1.WeeklyReport{Day: "Monday", Time: "09:00"}, Keep: 2, SummaryPhase: "summary"}
	createCampaign(t, c)
	// City a's case with a violation; a province fly-check case not handed
	// off (its finding must reach no city report).
	mustCreate(t, handCase("rp-a", c.Name, "H1", func(s *flycheckv1.InspectionCaseSpec) {
		s.OnSite = &flycheckv1.OnSite{Inspectors: []string{"张伟", "李娜"}, From: "2020-05-06", To: "2020-05-07",
			Violations: []flycheckv1.Violation{{Category: "DuplicateCharge", Amount: "1200.00"}}}
	}))
	mustCreate(t, handCase("rp-province", c.Name, "H7", func(s *flycheckv1.InspectionCaseSpec) {
		s.OnSite = &flycheckv1.OnSite{Inspectors: []string{"王强", "赵敏"}, From: "2020-05-06", To: "2020-05-07",
			Violations: []flycheckv1.Violation{{Category: "FictitiousCharge", Amount: "99999.00"}}}
	}))

	firstMonday := shanghai(t, "2020-05-04 09:00:00")
	r, clk := newTestReconciler(firstMonday.Add(-time.Nanosecond))
	res := reconcileCampaign(t, r, c.Name)
	if got := snapshots(t, "rp-province", c.Name, reportWeekly); len(got) != 0 {
		t.Fatalf("a snapshot before the first weekly instant: %v", names(got))
	}
	if res.RequeueAfter != time.Nanosecond+requeuePad {
		t.Errorf("requeue after %s, want exactly the weekly instant", res.RequeueAfter)
	}

	clk.SetTime(firstMonday)
	reconcileCampaign(t, r, c.Name)
	want := "reports-weekly-province-20200504-090000"
	prov := snapshots(t, "rp-province", c.Name, reportWeekly)
	cm, ok := prov[want]
	if !ok {
		t.Fatalf("province snapshots %v, want %s", names(prov), want)
	}
	if cm.Immutable == nil || !*cm.Immutable || !metav1.IsControlledBy(&cm, getCampaign(t, c.Name)) {
		t.Errorf("snapshot not immutable or not owned by the Campaign: %+v", cm.ObjectMeta)
	}
	rep, err := report.Parse([]byte(cm.Data["report.json"]))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.At.Equal(firstMonday) || rep.Kind != report.Weekly || len(rep.Cities) != 2 || len(rep.Findings) != 2 {
		t.Errorf("province report at %s kind %s, %d cities, findings %+v", rep.At, rep.Kind, len(rep.Cities), rep.Findings)
	}
	if html := cm.Data["report.html"]; strings.Count(html, "<svg") != 4 || !strings.Contains(html, "南京市") {
		t.Errorf("province report.html lacks its charts or cities")
	}

	// A city report holds its own figures only.
	cityA := snapshots(t, "rp-a", c.Name, reportWeekly)["reports-weekly-city0-20200504-090000"]
	ra, err := report.Parse([]byte(cityA.Data["report.json"]))
	if err != nil {
		t.Fatal(err)
	}
	if len(ra.Cities) != 1 || ra.Cities[0].Name != "city0" || len(ra.Findings) != 1 || ra.Findings[0].Category != "DuplicateCharge" || ra.Findings[0].Amount != "1200.00" {
		t.Errorf("city report: cities %+v findings %+v", ra.Cities, ra.Findings)
	}
	for _, other := range []string{"city1", "无锡市", "FictitiousCharge", "99999"} {
		if strings.Contains(cityA.Data["report.json"], other) || strings.Contains(cityA.Data["report.html"], other) {
			t.Errorf("city0's report mentions %q", other)
		}
	}
	cityB := snapshots(t, "rp-b", c.Name, reportWeekly)["reports-weekly-city1-20200504-090000"]
	rb, err := report.Parse([]byte(cityB.Data["report.json"]))
	if err != nil {
		t.Fatal(err)
	}
	if len(rb.Cities) != 1 || rb.Cities[0].Name != "city1" || len(rb.Findings) != 0 || strings.Contains(cityB.Data["report.html"], "南京市") {
		t.Errorf("city1's report holds another city's figures:\n%s", cityB.Data["report.json"])
	}

	// Later in the week, with a new finding: the snapshot is not rewritten.
	mustCreate(t, handCase("rp-a", c.Name, "H2", func(s *flycheckv1.InspectionCaseSpec) {
		s.OnSite = &flycheckv1.OnSite{Inspectors: []string{"张伟", "李娜"}, From: "2020-05-06", To: "2020-05-07",
			Violations: []flycheckv1.Violation{{Category: "OverExamination", Amount: "10.00"}}}
	}))
	clk.SetTime(firstMonday.Add(26 * time.Hour))
	res = reconcileCampaign(t, r, c.Name)
	again := snapshots(t, "rp-province", c.Name, reportWeekly)[want]
	if again.ResourceVersion != cm.ResourceVersion || again.Data["report.json"] != cm.Data["report.json"] {
		t.Error("the snapshot was rewritten")
	}
	if next := shanghai(t, "2020-05-11 09:00:00"); res.RequeueAfter != next.Sub(clk.Now())+requeuePad {
		t.Errorf("requeue after %s, want the next Monday 09:00", res.RequeueAfter)
	}

	// Three more Mondays (the last one, 25 May, inside the campaign): keep 2.
	for _, at := range []string{"2020-05-11 09:00:00", "2020-05-18 09:00:00", "2020-05-25 09:00:00"} {
		clk.SetTime(shanghai(t, at))
		reconcileCampaign(t, r, c.Name)
	}
	for ns, scope := range map[string]string{"rp-province": "province", "rp-a": "city0", "rp-b": "city1"} {
		got := names(snapshots(t, ns, c.Name, reportWeekly))
		want := []string{"reports-weekly-" + scope + "-20200518-090000", "reports-weekly-" + scope + "-20200525-090000"}
		if !slices.Equal(got, want) {
			t.Errorf("%s keeps %v, want %v", ns, got, want)
		}
	}

	// The summary is written when the summary phase ends (15 June 00:00),
	// not before.
	end := shanghai(t, "2020-06-15 00:00:00")
	clk.SetTime(end.Add(-time.Nanosecond))
	reconcileCampaign(t, r, c.Name)
	if got := snapshots(t, "rp-province", c.Name, reportSummary); len(got) != 0 {
		t.Fatalf("summary before the phase ended: %v", names(got))
	}
	clk.SetTime(end)
	reconcileCampaign(t, r, c.Name)
	sum := snapshots(t, "rp-province", c.Name, reportSummary)["reports-summary-province"]
	rs, err := report.Parse([]byte(sum.Data["report.json"]))
	if err != nil {
		t.Fatalf("no summary report: %v", err)
	}
	if rs.Kind != report.Summary || !rs.At.Equal(end) || !strings.Contains(sum.Data["report.html"], "总结报告") {
		t.Errorf("summary kind %s at %s", rs.Kind, rs.At)
	}
	if _, ok := snapshots(t, "rp-b", c.Name, reportSummary)["reports-summary-city1"]; !ok {
		t.Error("no summary in city1's namespace")
	}
}

// A ConfigMap planted under a report's name (anyone who may create
// ConfigMaps in a city namespace could) is not taken for the report: a
// Warning names it, the planted object is left as it is, the other scopes
// get their reports, and the report is written once the name is free.
func TestPlantedReportIsNotTakenForTheReport(t *testing.T) {
	for _, ns := range []string{"rq-province", "rq-a", "rq-b"} {
		createNamespace(t, ns)
	}
	c := milestoneCampaign("planted", []string{"rq-a", "rq-b"})
	c.Spec.ProvinceNamespace = "rq-province"
	c.Spec.Phases = []flycheckv1.Phase{phase("summary", "2020-06-01", "2020-06-14")}
	c.Spec.Reporting = &flycheckv1.Reporting{SummaryPhase: "summary"}
	createCampaign(t, c)
	name := snapshotName(c.Name, reportSummary, "city0", "")
	planted := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "rq-a", Name: name,
		Labels: map[string]string{flycheckv1.LabelCampaign: c.Name, LabelReport: reportSummary}},
		Data: map[string]string{flycheckv1.ReportHTMLKey: "<p>all is well</p>"}}
	mustCreate(t, planted)

	r, _ := newTestReconciler(shanghai(t, "2020-06-15 00:00:00"))
	reconcileCampaign(t, r, c.Name)
	var got corev1.ConfigMap
	if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(planted), &got); err != nil {
		t.Fatal(err)
	}
	if got.Data[flycheckv1.ReportHTMLKey] != "<p>all is well</p>" || len(got.OwnerReferences) != 0 {
		t.Errorf("the planted ConfigMap was changed: %+v", got)
	}
	if len(snapshots(t, "rq-b", c.Name, reportSummary)) != 1 || len(snapshots(t, "rq-province", c.Name, reportSummary)) != 1 {
		t.Errorf("the other scopes got no summary")
	}
	warned := false
	for _, e := range eventsAboutEventually(t, "default", "Campaign", c.Name, 1) {
		warned = warned || (e.Reason == CampaignReasonReportNameTaken && strings.Contains(e.Note, "rq-a/"+name))
	}
	if !warned {
		t.Errorf("no %s event naming rq-a/%s", CampaignReasonReportNameTaken, name)
	}

	// Once the name is free, the report is written there.
	if err := k8sClient.Delete(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	reconcileCampaign(t, r, c.Name)
	if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(planted), &got); err != nil {
		t.Fatal(err)
	}
	if !metav1.IsControlledBy(&got, getCampaign(t, c.Name)) || !strings.Contains(got.Data[flycheckv1.ReportHTMLKey], "<svg") {
		t.Errorf("after the planted object went, the report was not written: owners %v", got.OwnerReferences)
	}
}
