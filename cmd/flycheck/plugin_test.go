package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
)

func runPlugin(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := rootFor("/usr/local/bin/kubectl-flycheck")
	var out, errOut bytes.Buffer
	root.SetArgs(append(args, "--kubeconfig", testKubeconfig))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func TestPluginByName(t *testing.T) {
	p := rootFor("/home/me/.krew/bin/kubectl-flycheck")
	if p.Use != "kubectl flycheck" {
		t.Fatalf("as kubectl-flycheck: %q", p.Use)
	}
	for _, sub := range []string{"status", "samples", "cases", "verify", "report"} {
		if c, _, err := p.Find([]string{sub}); err != nil || c.Name() != sub {
			t.Errorf("kubectl flycheck %s: %v", sub, err)
		}
	}
	if r := rootFor("flycheck"); r.Use != "flycheck" {
		t.Errorf("as flycheck: %q", r.Use)
	}
}

// setStatus writes obj's status as the operator would have.
func setStatus(t *testing.T, obj client.Object) {
	t.Helper()
	if err := testClient.Status().Update(context.Background(), obj); err != nil {
		t.Fatalf("status of %s: %v", obj.GetName(), err)
	}
}

// TestPluginReadsTheCluster: status, samples and cases print what the
// objects' status says, as a city bureau reads it; verify re-derives a draw
// the controller made.
func TestPluginReadsTheCluster(t *testing.T) {
	ctx := context.Background()
	nj, wx := "plugin-nanjing", "plugin-wuxi"
	for _, ns := range []string{nj, wx, "plugin-op"} {
		testenv.CreateNamespace(t, testClient, ns)
	}
	camp := &flycheckv1.Campaign{ObjectMeta: metav1.ObjectMeta{Name: "plugin-2020"}, Spec: flycheckv1.CampaignSpec{
		DisplayName: "2020年专项治理", TimeZone: "Asia/Shanghai",
		Cities: []flycheckv1.City{{Name: "nanjing", DisplayName: "南京市", Namespace: nj, Code: "320100"},
			{Name: "wuxi", DisplayName: "无锡市", Namespace: wx, Code: "320200"}},
		Phases: []flycheckv1.Phase{{Name: "spotcheck", Start: "2020-07-01", End: "2020-08-31"}},
	}}
	if err := testClient.Create(ctx, camp); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testClient.Delete(ctx, camp) })
	now := metav1.NewTime(time.Date(2020, 7, 2, 1, 0, 0, 0, time.UTC))
	camp.Status = flycheckv1.CampaignStatus{CurrentPhase: "spotcheck", NextTransition: "2020-09-01 00:00:00 +08:00",
		Cities: []flycheckv1.CityStatus{{Name: "nanjing", Cases: 12, Overdue: 2, Recovered: "3456.78"}, {Name: "wuxi"}},
		Conditions: []metav1.Condition{{Type: flycheckv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "OnSchedule",
			Message: "active: spotcheck", LastTransitionTime: now}}}
	setStatus(t, camp)

	labels := map[string]string{flycheckv1.LabelCampaign: camp.Name}
	sj := &flycheckv1.ScreeningJob{ObjectMeta: metav1.ObjectMeta{Namespace: nj, Name: "plugin-2020-analysis-nanjing", Labels: labels},
		Spec: flycheckv1.ScreeningJobSpec{CityCode: "320100", Source: flycheckv1.DataSource{PersistentVolumeClaim: "claims"},
			Output: flycheckv1.OutputLocation{PersistentVolumeClaim: "claims"}, RuleSets: []string{"r"}, Shards: 1}}
	if err := testClient.Create(ctx, sj); err != nil {
		t.Fatal(err)
	}
	sj.Status = flycheckv1.ScreeningJobStatus{State: flycheckv1.ScreeningSucceeded, LinesScanned: 1234567,
		Findings: flycheckv1.FindingCounts{Total: 321, SuspectAmount: "98765.43"}, Institutions: flycheckv1.InstitutionCounts{Total: 40, Flagged: 7}}
	setStatus(t, sj)

	// A roster sample the controller draws, to verify.
	roster := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: nj, Name: "roster"},
		Data: map[string]string{flycheckv1.FrameKey: splitFrame("320100")}}
	sample := &flycheckv1.InspectionSample{ObjectMeta: metav1.ObjectMeta{Namespace: nj, Name: "plugin-2020-spotcheck-nanjing", Labels: labels},
		Spec: flycheckv1.InspectionSampleSpec{CampaignRef: &flycheckv1.CampaignReference{Name: camp.Name}, Purpose: flycheckv1.PurposeRecheck,
			Policy: flycheckv1.SamplingPolicy{MinPercent: 40, MinTertiaryPerCity: 2, MinTotal: 3}, Frames: []flycheckv1.FrameSource{{ConfigMap: "roster"}}}}
	for _, obj := range []client.Object{roster, sample} {
		if err := testClient.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	stop := runSampleController(t, "plugin-op")
	testenv.Eventually(t, 20*time.Second, func() error {
		if err := testClient.Get(ctx, client.ObjectKeyFromObject(sample), sample); err != nil {
			return err
		}
		if sample.Status.DrawnAt == nil {
			return errors.New("not drawn yet")
		}
		return nil
	})
	stop()

	ic := &flycheckv1.InspectionCase{ObjectMeta: metav1.ObjectMeta{Namespace: nj, Name: "plugin-2020-h32010000001", Labels: labels},
		Spec: flycheckv1.InspectionCaseSpec{CampaignRef: &flycheckv1.CampaignReference{Name: camp.Name},
			Institution: flycheckv1.CaseInstitution{Code: "H32010000001", Name: "鼓楼医院", CityCode: "320100", Level: 3}}}
	if err := testClient.Create(ctx, ic); err != nil {
		t.Fatal(err)
	}
	ic.Status = flycheckv1.InspectionCaseStatus{Stage: "Rectifying",
		Amounts:   &flycheckv1.CaseAmounts{Leads: "0", SelfReported: "0", Found: "500.00", UnderReported: "0", Ordered: "500.00", Recovered: "100.00", Outstanding: "400.00"},
		Deadlines: []flycheckv1.CaseDeadline{{Name: "Rectification", Due: metav1.NewTime(time.Date(2020, 10, 13, 16, 0, 0, 0, time.UTC)), State: "Pending"}},
		Conditions: []metav1.Condition{{Type: flycheckv1.ConditionOverdue, Status: metav1.ConditionTrue, Reason: "DeadlineMissed",
			Message: "x", LastTransitionTime: now}}}
	setStatus(t, ic)

	out, errOut, err := runPlugin(t, "status", camp.Name)
	if err != nil {
		t.Fatalf("status: %v %s", err, errOut)
	}
	for _, want := range []string{"Campaign plugin-2020 (2020年专项治理)", "Phase: spotcheck   Next transition: 2020-09-01 00:00:00 +08:00",
		"Ready: True (OnSchedule) active: spotcheck"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	rows := map[string][]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			rows[f[0]] = f
		}
	}
	nanjing := strings.Join(rows["nanjing"], " ")
	if !strings.HasPrefix(nanjing, "nanjing 320100 Succeeded 1234567 321 98765.43 7/40") ||
		!strings.Contains(nanjing, fmt.Sprintf(" %d (%d tertiary) - ", sample.Status.Counts.Selected, sample.Status.Counts.Tertiary)) || !strings.HasSuffix(nanjing, "12 2 3456.78 南京市") {
		t.Errorf("nanjing row %q\n%s", nanjing, out)
	}
	if wuxi := strings.Join(rows["wuxi"], " "); wuxi != "wuxi 320200 - - - - - - - - - - 无锡市" {
		t.Errorf("wuxi row %q", wuxi)
	}

	out, _, err = runPlugin(t, "samples", "-n", nj)
	if err != nil || !strings.Contains(out, sample.Name) || !strings.Contains(out, "Recheck") || !strings.Contains(out, "True Drawn") {
		t.Errorf("samples: %v\n%s", err, out)
	}
	if strings.Contains(out, sample.Status.Selected[0].Code) {
		t.Error("samples lists which institutions were drawn")
	}
	out, _, err = runPlugin(t, "cases", "-A", "--campaign", camp.Name, "--overdue")
	if err != nil || !strings.Contains(out, "Rectifying") || !strings.Contains(out, "Rectification 2020-10-14 00:00 +08:00") ||
		!strings.Contains(out, "500.00") || !strings.Contains(out, "鼓楼医院") {
		t.Errorf("cases: %v\n%s", err, out)
	}

	out, errOut, err = runPlugin(t, "report", "--campaign", camp.Name, "--format", "json")
	if err != nil || !strings.Contains(out, camp.Name) {
		t.Errorf("report: %v %s\n%.300s", err, errOut, out)
	}

	out, errOut, err = runPlugin(t, "verify", "-n", nj, sample.Name)
	if err != nil || out != "match\n" {
		t.Errorf("verify: %q %q %v", out, errOut, err)
	}
	if meta.FindStatusCondition(sample.Status.Conditions, flycheckv1.ConditionReady) == nil {
		t.Error("fixture: the sample has no Ready condition")
	}
}
