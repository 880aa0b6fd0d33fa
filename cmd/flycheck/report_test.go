package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
	"github.com/medfund/flycheck-operator/internal/report"
)

// TestReportCommand renders a campaign's reports from the cluster (the
// stored status and the cases) and from a report.json.
func TestReportCommand(t *testing.T) {
	ctx := context.Background()
	testenv.CreateNamespace(t, testClient, "rep-nanjing")
	testenv.CreateNamespace(t, testClient, "rep-wuxi")
	camp := &flycheckv1.Campaign{
		ObjectMeta: metav1.ObjectMeta{Name: "report-cli"},
		Spec: flycheckv1.CampaignSpec{DisplayName: "2020年全省医疗保障基金监管源头治理", TimeZone: "Asia/Shanghai",
			Cities: []flycheckv1.City{{Name: "nanjing", DisplayName: "南京市", Namespace: "rep-nanjing", Code: "320100"},
				{Name: "wuxi", DisplayName: "无锡市", Namespace: "rep-wuxi", Code: "320200"}},
			Phases:     []flycheckv1.Phase{{Name: "selfinspection", DisplayName: "自查自纠", Start: "2020-05-01", End: "2020-06-30"}},
			Milestones: []flycheckv1.Milestone{{Name: "pledges", DisplayName: "书面承诺", Due: "2020-06-15", Requirement: "Pledged"}},
			Cards:      &flycheckv1.Cards{YellowAfterMissed: 1, RedAfterMissed: 2}},
	}
	if err := testClient.Create(ctx, camp); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testClient.Delete(context.Background(), camp) })
	camp.Status.Cities = []flycheckv1.CityStatus{
		{Name: "nanjing", Cases: 1, Inspected: 1, WithFindings: 1, Found: "800.00",
			Milestones: []flycheckv1.CityMilestone{{Name: "pledges", Done: 1, Total: 1, State: "Met"}}, Card: "Green"},
		{Name: "wuxi", Cases: 2, Found: "0.00",
			Milestones: []flycheckv1.CityMilestone{{Name: "pledges", Done: 0, Total: 2, State: "Missed"}}, Card: "Yellow", CardMilestones: []string{"pledges"}},
	}
	if err := testClient.Status().Update(ctx, camp); err != nil {
		t.Fatal(err)
	}
	ic := &flycheckv1.InspectionCase{ObjectMeta: metav1.ObjectMeta{Namespace: "rep-nanjing", Name: "report-cli-h1"},
		Spec: flycheckv1.InspectionCaseSpec{Institution: flycheckv1.CaseInstitution{Code: "H1", CityCode: "320100"},
			CampaignRef: &flycheckv1.CampaignReference{Name: camp.Name},
			OnSite: &flycheckv1.OnSite{Inspectors: []string{"张伟", "李娜"}, From: "2020-06-01", To: "2020-06-02",
				Violations: []flycheckv1.Violation{{Category: "DuplicateCharge", Amount: "800.00"}}}}}
	if err := testClient.Create(ctx, ic); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := runReport(ctx, &out, reportFlags{campaign: camp.Name, city: "nanjing", format: "json"}, testClient); err != nil {
		t.Fatal(err)
	}
	r, err := report.Parse(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if r.Scope != "nanjing" || len(r.Cities) != 1 || r.Cities[0].Name != "nanjing" || len(r.Findings) != 1 || r.Findings[0].Amount != "800.00" {
		t.Errorf("nanjing's report: %s", out.String())
	}
	if strings.Contains(out.String(), "wuxi") {
		t.Error("nanjing's report mentions wuxi")
	}

	// The province's, to a file, and back through report.json as xlsx.
	dir := t.TempDir()
	out.Reset()
	if err := runReport(ctx, &out, reportFlags{campaign: camp.Name, format: "json", output: filepath.Join(dir, "r.json")}, testClient); err != nil {
		t.Fatal(err)
	}
	xlsx := filepath.Join(dir, "r.xlsx")
	if err := runReport(ctx, &out, reportFlags{from: filepath.Join(dir, "r.json"), format: "xlsx", output: xlsx}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows(report.SheetCards)
	if err != nil || len(rows) != 3 || rows[2][0] != "无锡市" || rows[2][2] != "黄牌（约谈）" || rows[2][3] != "书面承诺" {
		t.Errorf("红黄牌 sheet %v (%v)", rows, err)
	}
	out.Reset()
	if err := runReport(ctx, &out, reportFlags{from: filepath.Join(dir, "r.json"), format: "html"}, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "<svg") != 4 || !strings.Contains(out.String(), "无锡市") {
		t.Error("the HTML report lacks its charts or a city")
	}

	for _, bad := range []reportFlags{
		{format: "html"},
		{campaign: camp.Name, from: "r.json", format: "html"},
		{campaign: camp.Name, format: "pdf"},
		{campaign: camp.Name, format: "xlsx"},
		{campaign: camp.Name, city: "suzhou", format: "json"},
	} {
		if err := runReport(ctx, &out, bad, testClient); err == nil {
			t.Errorf("flags %+v accepted", bad)
		}
	}
	_ = os.Remove(xlsx)
}
