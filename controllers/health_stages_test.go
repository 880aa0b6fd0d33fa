package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// The stages of TestHealthChecks: each kind's objects brought to each stage
// by its own reconciler, against the test API server, and captured as
// stored. A stage with no status yet (new) and one whose spec changed since
// the last reconcile show how each reader treats an object the operator has
// not looked at.

// captured re-reads obj from the API server.
func captured(t *testing.T, obj client.Object) client.Object {
	t.Helper()
	out := obj.DeepCopyObject().(client.Object)
	if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(obj), out); err != nil {
		t.Fatal(err)
	}
	return out
}

func reconcileWith(t *testing.T, r interface {
	Reconcile(context.Context, ctrl.Request) (ctrl.Result, error)
}, obj client.Object) {
	t.Helper()
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)}); err != nil {
		t.Fatalf("reconcile %s: %v", obj.GetName(), err)
	}
}

func campaignHealthStages(t *testing.T) []healthStage {
	ns := "health-camp"
	r, clk := newTestReconciler(shanghai(t, "2020-04-01 00:00:00"))
	var out []healthStage
	add := func(stage string, obj client.Object, argo string, ks status.Status) {
		out = append(out, healthStage{stage, captured(t, obj), argo, ks})
	}
	c := testCampaign("health-campaign", []string{ns}, phase("selfinspection", "2020-05-01", "2020-06-30"))
	createCampaign(t, c)
	add("new", c, "Progressing", status.CurrentStatus)
	reconcileCampaign(t, r, c.Name)
	add("waiting", c, "Progressing", status.InProgressStatus) // its namespace does not exist
	createNamespace(t, ns)
	reconcileCampaign(t, r, c.Name)
	add("not started", c, "Healthy", status.CurrentStatus)
	clk.SetTime(shanghai(t, "2020-05-10 09:00:00"))
	reconcileCampaign(t, r, c.Name)
	add("running", c, "Healthy", status.CurrentStatus)

	cur := getCampaign(t, c.Name)
	cur.Spec.Suspend = true
	if err := k8sClient.Update(context.Background(), cur); err != nil {
		t.Fatal(err)
	}
	add("spec changed", c, "Progressing", status.InProgressStatus)
	reconcileCampaign(t, r, c.Name)
	add("suspended", c, "Suspended", status.CurrentStatus)
	cur = getCampaign(t, c.Name)
	cur.Spec.Suspend = false
	if err := k8sClient.Update(context.Background(), cur); err != nil {
		t.Fatal(err)
	}
	clk.SetTime(shanghai(t, "2021-01-01 00:00:00"))
	reconcileCampaign(t, r, c.Name)
	add("succeeded", c, "Healthy", status.CurrentStatus)

	bad := testCampaign("health-campaign-tz", []string{ns}, phase("selfinspection", "2020-05-01", "2020-06-30"))
	bad.Spec.TimeZone = "Asia/Atlantis"
	createCampaign(t, bad)
	reconcileCampaign(t, r, bad.Name)
	add("stalled", bad, "Degraded", status.FailedStatus)
	return out
}

func screeningJobHealthStages(t *testing.T) []healthStage {
	ns := "health-sj"
	createNamespace(t, ns)
	r := newSJReconciler()
	var out []healthStage
	add := func(stage string, obj client.Object, argo string, ks status.Status) {
		out = append(out, healthStage{stage, captured(t, obj), argo, ks})
	}
	sj := testScreeningJob(ns, "health", 2, "health-rules-later")
	mustCreate(t, sj)
	add("new", sj, "Progressing", status.CurrentStatus)
	reconcileSJ(t, r, ns, sj.Name)
	add("waiting", sj, "Progressing", status.InProgressStatus) // its RuleSet does not exist yet
	cat, err := rules.LoadFiles("../config/rules/duplicate-charge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, &flycheckv1.RuleSet{ObjectMeta: metav1.ObjectMeta{Name: "health-rules-later"}, Spec: cat.Sets[0].Spec})
	reconcileSJ(t, r, ns, sj.Name)
	add("running", sj, "Progressing", status.InProgressStatus)
	sj = getSJ(t, ns, sj.Name)
	mustCreate(t, shardResultConfigMap(t, r, sj, 0, inst("H32010000001", 3, 2, "40.00", "0.400000")))
	mustCreate(t, shardResultConfigMap(t, r, sj, 1, inst("H32010000002", 2, 0, "0.00", "0.000000")))
	completeJob(t, sj, 2)
	reconcileSJ(t, r, ns, sj.Name)
	add("succeeded", sj, "Healthy", status.CurrentStatus)

	failed := testScreeningJob(ns, "health-fails", 1, "health-rules-later")
	mustCreate(t, failed)
	reconcileSJ(t, r, ns, failed.Name)
	failed = getSJ(t, ns, failed.Name)
	start := metav1.NewTime(time.Now().Add(-time.Minute).Truncate(time.Second))
	setJobStatus(t, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: failed.Status.JobName}}, func(s *batchv1.JobStatus) {
		s.StartTime, s.Failed, s.FailedIndexes = &start, 1, ptr.To("0")
	})
	reconcileSJ(t, r, ns, failed.Name)
	add("failed", failed, "Degraded", status.FailedStatus)
	return out
}

func sampleHealthStages(t *testing.T) []healthStage {
	ns, opNS := "health-sample", "health-sample-op"
	createNamespace(t, ns)
	createNamespace(t, opNS)
	clk := clocktesting.NewFakeClock(time.Date(2020, 7, 1, 9, 0, 0, 0, time.UTC))
	r := &InspectionSampleReconciler{Client: k8sClient, APIReader: k8sClient, Clock: clk, Recorder: recorder, OperatorNamespace: opNS}
	var out []healthStage
	add := func(stage string, obj client.Object, argo string, ks status.Status) {
		out = append(out, healthStage{stage, captured(t, obj), argo, ks})
	}
	csv := makeFrameCSV(testCity{"320400", 20, 3})
	roster := frameConfigMap(ns, "roster", csv)
	s := newSample(ns, "health", rosterFrame("roster"))
	mustCreate(t, s)
	add("new", s, "Progressing", status.CurrentStatus)
	reconcileWith(t, r, s)
	add("waiting", s, "Progressing", status.InProgressStatus) // its roster is not there yet
	mustCreate(t, roster)
	reconcileWith(t, r, s)
	add("succeeded", s, "Healthy", status.CurrentStatus)
	roster.Data[flycheckv1.FrameKey] = strings.Replace(csv, "public,hospital,3.2", "public,hospital,99", 1)
	if roster.Data[flycheckv1.FrameKey] == csv {
		t.Fatal("fixture: no row to change")
	}
	if err := k8sClient.Update(context.Background(), roster); err != nil {
		t.Fatal(err)
	}
	reconcileWith(t, r, s)
	add("frame changed", s, "Degraded", status.CurrentStatus)

	mustCreate(t, frameConfigMap(ns, "garbled", "not,a frame\n"))
	bad := newSample(ns, "health-stalled", rosterFrame("garbled"))
	mustCreate(t, bad)
	reconcileWith(t, r, bad)
	add("stalled", bad, "Degraded", status.FailedStatus)
	return out
}

func ruleSetHealthStages(t *testing.T) []healthStage {
	r := &RuleSetReconciler{Client: k8sClient, Clock: clocktesting.NewFakeClock(time.Now()), Recorder: recorder}
	var out []healthStage
	add := func(stage string, obj client.Object, argo string, ks status.Status) {
		out = append(out, healthStage{stage, captured(t, obj), argo, ks})
	}
	good := &flycheckv1.RuleSet{ObjectMeta: metav1.ObjectMeta{Name: "health-good"}, Spec: rules.RuleSetSpec{Version: "1", Rules: []rules.Rule{
		{ID: "DUP-1", Category: rules.DuplicateCharge, Template: rules.DuplicateLine},
	}}}
	bad := &flycheckv1.RuleSet{ObjectMeta: metav1.ObjectMeta{Name: "health-bad"}, Spec: rules.RuleSetSpec{Rules: []rules.Rule{
		{ID: "DUP-1", Category: rules.DuplicateCharge, Template: rules.DuplicateLine, Params: rules.Params{MaxPrice: "10.00"}},
	}}}
	mustCreate(t, good)
	mustCreate(t, bad)
	add("new", good, "Progressing", status.CurrentStatus)
	reconcileWith(t, r, good)
	add("succeeded", good, "Healthy", status.CurrentStatus)
	reconcileWith(t, r, bad)
	add("stalled", bad, "Degraded", status.FailedStatus)
	return out
}

func caseHealthStages(t *testing.T) []healthStage {
	ns, provNS, opNS := "health-case", "health-case-prov", "health-case-op"
	createNamespace(t, ns)
	createNamespace(t, provNS)
	createNamespace(t, opNS)
	ctx := context.Background()
	due := shanghai(t, "2020-10-11 00:00:00")
	clk := clocktesting.NewFakeClock(due.Add(-time.Hour))
	r := &InspectionCaseReconciler{Client: k8sClient, APIReader: k8sClient, Clock: clk, Recorder: recorder, Holidays: NewHolidayCalendar(k8sClient, opNS)}
	var out []healthStage
	add := func(stage string, obj client.Object, argo string, ks status.Status) {
		out = append(out, healthStage{stage, captured(t, obj), argo, ks})
	}
	orphan := handCase(ns, "health-no-such-campaign", "H3201000801", nil)
	mustCreate(t, orphan)
	add("new", orphan, "Progressing", status.CurrentStatus)
	reconcileWith(t, r, orphan)
	add("waiting", orphan, "Progressing", status.InProgressStatus) // its Campaign does not exist

	camp := testCampaign("health-cases", []string{ns}, phase("selfinspection", "2020-09-25", "2020-12-31"))
	camp.Spec.Phases[0].SelfInspection = &flycheckv1.PhaseSelfInspection{Scope: flycheckv1.ScopeAll, ReportWithinWorkingDays: 6}
	camp.Spec.ProvinceNamespace = provNS
	createCampaign(t, camp)
	camp = getCampaign(t, camp.Name)
	seed := caseSeed{namespace: ns, city: "city0", institution: flycheckv1.CaseInstitution{Code: "H3201000901", Name: "鼓楼医院", CityCode: "320100", Level: 3},
		origin: flycheckv1.CaseOrigin{Type: flycheckv1.OriginScreening, Phase: "selfinspection", Leads: 3, LeadsAmount: "45.60", At: *timePtr(clk.Now())}}
	if outcome, err := r.evaluator().openCase(ctx, camp, seed, clk.Now()); err != nil || outcome != caseOpened {
		t.Fatalf("opening: %v, %v", outcome, err)
	}
	ic := getCase(t, ns, CaseName(camp.Name, "H3201000901"))
	t.Cleanup(func() { _ = k8sClient.Delete(ctx, ic) })
	reconcileWith(t, r, ic)
	add("running", ic, "Healthy", status.CurrentStatus)
	clk.SetTime(due)
	reconcileWith(t, r, ic)
	add("overdue", ic, "Degraded", status.CurrentStatus)
	// A province case handed off to a city the campaign does not have.
	stray := handCase(provNS, camp.Name, "H3209990001", func(s *flycheckv1.InspectionCaseSpec) {
		s.Institution.CityCode, s.HandOff = "320999", true
	})
	mustCreate(t, stray)
	reconcileWith(t, r, stray)
	add("stalled", stray, "Degraded", status.FailedStatus)
	return out
}

func tipOffHealthStages(t *testing.T) []healthStage {
	ns, opNS := "health-tipoff", "health-tipoff-op"
	createNamespace(t, ns)
	createNamespace(t, opNS)
	due := shanghai(t, "2020-10-23 00:00:00")
	clk := clocktesting.NewFakeClock(due.Add(-time.Hour))
	r := &TipOffReconciler{Client: k8sClient, APIReader: k8sClient, Clock: clk, Recorder: recorder, Holidays: NewHolidayCalendar(k8sClient, opNS)}
	var out []healthStage
	add := func(stage string, obj client.Object, argo string, ks status.Status) {
		out = append(out, healthStage{stage, captured(t, obj), argo, ks})
	}
	orphan := newTipOff(ns, "health-2020-001", func(s *flycheckv1.TipOffSpec) {
		s.CampaignRef = &flycheckv1.CampaignReference{Name: "health-no-such-campaign"}
	})
	mustCreate(t, orphan)
	add("new", orphan, "Progressing", status.CurrentStatus)
	reconcileWith(t, r, orphan)
	add("waiting", orphan, "Progressing", status.InProgressStatus) // its Campaign does not exist

	to := newTipOff(ns, "health-2020-002", func(s *flycheckv1.TipOffSpec) { s.WantsFeedback = true })
	mustCreate(t, to)
	reconcileWith(t, r, to)
	add("running", to, "Healthy", status.CurrentStatus)
	clk.SetTime(due)
	reconcileWith(t, r, to)
	add("overdue", to, "Degraded", status.CurrentStatus)

	// A campaign whose time zone does not exist: no deadline can be computed.
	bad := testCampaign("health-tipoff-tz", []string{ns}, phase("selfinspection", "2020-05-01", "2020-06-30"))
	bad.Spec.TimeZone = "Asia/Atlantis"
	createCampaign(t, bad)
	stray := newTipOff(ns, "health-2020-003", func(s *flycheckv1.TipOffSpec) {
		s.CampaignRef = &flycheckv1.CampaignReference{Name: bad.Name}
	})
	mustCreate(t, stray)
	reconcileWith(t, r, stray)
	add("stalled", stray, "Degraded", status.FailedStatus)
	return out
}
