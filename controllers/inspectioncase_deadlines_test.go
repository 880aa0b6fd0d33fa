package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
)

func reconcileCase(t *testing.T, r *InspectionCaseReconciler, ns, name string) ctrl.Result {
	t.Helper()
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
	if err != nil {
		t.Fatalf("reconcile %s/%s: %v", ns, name, err)
	}
	return res
}

func deadline(t *testing.T, ic *flycheckv1.InspectionCase, name string) flycheckv1.CaseDeadline {
	t.Helper()
	for _, d := range ic.Status.Deadlines {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("%s has no %s deadline: %+v (conditions %+v)", ic.Name, name, ic.Status.Deadlines, ic.Status.Conditions)
	return flycheckv1.CaseDeadline{}
}

// TestCaseDeadlinesOnTheOfficialCalendar: a self-inspection report due 6
// working days after Friday 25 September 2020 is due when Saturday 10
// October ends (27 September and 10 October were make-up working days, 1–8
// October the National Day holiday). With a fake clock the case is not
// overdue one nanosecond before, requeues for exactly that instant, and is
// overdue at it. A deadline that falls in a year the calendar does not know
// waits for the holiday ConfigMap.
func TestCaseDeadlinesOnTheOfficialCalendar(t *testing.T) {
	ns, opNS := "dl-city", "dl-op"
	createNamespace(t, ns)
	createNamespace(t, opNS)
	camp := testCampaign("deadlines", []string{ns}, phase("selfinspection", "2020-09-25", "2020-12-31"))
	camp.Spec.Phases[0].SelfInspection = &flycheckv1.PhaseSelfInspection{Scope: flycheckv1.ScopeAll, ReportWithinWorkingDays: 6}
	createCampaign(t, camp)
	camp = getCampaign(t, camp.Name)
	ctx := context.Background()

	due := shanghai(t, "2020-10-11 00:00:00")
	clk := clocktesting.NewFakeClock(due.Add(-time.Nanosecond))
	holidays := NewHolidayCalendar(k8sClient, opNS)
	r := &InspectionCaseReconciler{Client: k8sClient, APIReader: k8sClient, Clock: clk, Recorder: recorder, Holidays: holidays}

	// Opened as the opener opens a self-inspection case.
	ev := r.evaluator()
	seed := caseSeed{namespace: ns, city: "city0", institution: flycheckv1.CaseInstitution{Code: "H3201000901", Name: "鼓楼医院", CityCode: "320100", Level: 3},
		origin: flycheckv1.CaseOrigin{Type: flycheckv1.OriginScreening, Phase: "selfinspection", Leads: 12, LeadsAmount: "3456.78", At: *timePtr(clk.Now())}}
	if out, err := ev.openCase(ctx, camp, seed, clk.Now()); err != nil || out != caseOpened {
		t.Fatalf("opening: %v, %v", out, err)
	}
	name := CaseName(camp.Name, "H3201000901")
	ic := getCase(t, ns, name)
	if d := deadline(t, ic, "SelfInspectionReport"); !d.Due.Time.Equal(due) || d.State != "Pending" {
		t.Fatalf("as opened: %+v, want due %s", d, due)
	}
	if ic.Status.Amounts.Leads != "3456.78" {
		t.Errorf("leads amount %s", ic.Status.Amounts.Leads)
	}

	res := reconcileCase(t, r, ns, name)
	ic = getCase(t, ns, name)
	if res.RequeueAfter != time.Nanosecond+requeuePad {
		t.Errorf("requeue after %s, want 1ns + %s (the due instant)", res.RequeueAfter, requeuePad)
	}
	if got := condStatus(ic.Status.Conditions, flycheckv1.ConditionOverdue); got != "False" {
		t.Errorf("1 ns before the due instant: Overdue %s", got)
	}

	clk.SetTime(due)
	res = reconcileCase(t, r, ns, name)
	ic = getCase(t, ns, name)
	if res.RequeueAfter != 0 {
		t.Errorf("requeue after %s with no deadline ahead", res.RequeueAfter)
	}
	if got := condStatus(ic.Status.Conditions, flycheckv1.ConditionOverdue); got != "True" || deadline(t, ic, "SelfInspectionReport").State != "Missed" {
		t.Errorf("at the due instant: Overdue %s, %+v", got, ic.Status.Deadlines)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		for _, e := range caseEvents(t, ns, name) {
			if e.Reason == CaseReasonDeadlineMissed && e.Type == corev1.EventTypeWarning {
				return nil
			}
		}
		return fmt.Errorf("no DeadlineMissed event")
	})
	// Reported late: no longer overdue, but the deadline stays missed.
	updateCase(t, ns, name, func(s *flycheckv1.InspectionCaseSpec) {
		s.SelfInspection = &flycheckv1.SelfInspection{ReportedAt: "2020-10-12", LeadsConfirmed: 2, ConfirmedAmount: "100"}
	})
	clk.SetTime(shanghai(t, "2020-10-13 10:00:00"))
	reconcileCase(t, r, ns, name)
	ic = getCase(t, ns, name)
	if d := deadline(t, ic, "SelfInspectionReport"); d.State != "Missed" || d.CompletedAt == nil ||
		condStatus(ic.Status.Conditions, flycheckv1.ConditionOverdue) != "False" || ic.Status.Stage != "SelfReported" {
		t.Errorf("reported late: %+v, %s, %+v", d, ic.Status.Stage, ic.Status.Conditions)
	}

	// Rectification in 10 working days from Wednesday 23 September 2020:
	// 24, 25, 27 (Sunday, worked), 28, 29, 30 September, 9, 10 (Saturday,
	// worked), 12, 13 October; due when 13 October ends.
	rect := handCase(ns, camp.Name, "H3201000902", func(s *flycheckv1.InspectionCaseSpec) {
		s.OnSite = inspected("500")
		s.OnSite.From, s.OnSite.To = "2020-09-21", "2020-09-22"
		s.Decision = &flycheckv1.CaseDecision{DecidedAt: "2020-09-23", RectificationWorkingDays: 10}
	})
	mustCreate(t, rect)
	reconcileCase(t, r, ns, rect.Name)
	if d := deadline(t, getCase(t, ns, rect.Name), "Rectification"); !d.Due.Time.Equal(shanghai(t, "2020-10-14 00:00:00")) || d.State != "Pending" {
		t.Errorf("rectification deadline %+v, want due 2020-10-14T00:00:00+08:00", d)
	}

	// 30 working days from 20 December 2027 run into 2028, which the
	// built-in calendar does not know: the case waits, Reconciling.
	late := handCase(ns, camp.Name, "H3201000903", func(s *flycheckv1.InspectionCaseSpec) {
		s.OnSite = inspected("500")
		s.OnSite.From, s.OnSite.To = "2027-12-01", "2027-12-02"
		s.Decision = &flycheckv1.CaseDecision{DecidedAt: "2027-12-20", RectificationWorkingDays: 30}
	})
	mustCreate(t, late)
	reconcileCase(t, r, ns, late.Name)
	got := getCase(t, ns, late.Name)
	if reason := conditionReason(got.Status.Conditions, flycheckv1.ConditionReconciling); reason != CaseReasonCalendarYearMissing {
		t.Fatalf("a deadline in 2028: conditions %+v", got.Status.Conditions)
	}
	t.Logf("waiting for the calendar: %s", getCond(got, flycheckv1.ConditionReconciling).Message)

	// The province adds 2028 to the holiday ConfigMap (the example of
	// internal/calendar's tests); the running manager notices the
	// ConfigMap and counts the deadline: 2028-02-04 is the 30th working day
	// (1 January and 24–28 January off, Saturday 29 January worked).
	startCaseManager(t, cfg, clk, opNS)
	// A case the manager evaluates first, so that its calendar is loaded
	// (without 2028) before the ConfigMap appears: only the ConfigMap watch
	// can then bring the new year in.
	probe := handCase(ns, camp.Name, "H3201000904", nil)
	mustCreate(t, probe)
	waitCase(t, ns, probe.Name, stageIs("Open"))
	mustCreate(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: opNS, Name: flycheckv1.HolidayConfigMap},
		Data: map[string]string{flycheckv1.HolidayConfigMapKey: "date,kind,name\n2028-01-01,holiday,元旦\n" +
			"2028-01-24,holiday,春节\n2028-01-25,holiday,春节\n2028-01-26,holiday,春节\n2028-01-27,holiday,春节\n" +
			"2028-01-28,holiday,春节\n2028-01-29,workday,春节\n"}})
	got = waitCase(t, ns, late.Name, func(ic *flycheckv1.InspectionCase) error {
		if condStatus(ic.Status.Conditions, flycheckv1.ConditionReady) != "True" {
			return fmt.Errorf("conditions %+v", ic.Status.Conditions)
		}
		return nil
	})
	if d := deadline(t, got, "Rectification"); !d.Due.Time.Equal(shanghai(t, "2028-02-05 00:00:00")) {
		t.Errorf("rectification due %s, want 2028-02-05T00:00:00+08:00", d.Due.Time)
	}
}

func getCond(ic *flycheckv1.InspectionCase, typ string) metav1.Condition {
	for _, c := range ic.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return metav1.Condition{}
}

// TestCaseOverdueWithTheRealClock: a case the opener opens sleeps until its
// report is due and turns Overdue then, with no spec change and no polling.
func TestCaseOverdueWithTheRealClock(t *testing.T) {
	ns := "dl-real"
	createNamespace(t, ns)
	createNamespace(t, "dl-real-op")
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	due := now.Add(10 * time.Second).Truncate(time.Second)
	at := func(t time.Time) flycheckv1.Date { return flycheckv1.Date(t.In(loc).Format(time.RFC3339)) }
	camp := testCampaign("dl-real", []string{ns}, phase("selfinspection", string(at(now.Add(-time.Hour))), string(at(now.Add(time.Hour)))))
	camp.Spec.Roster = "designated-institutions"
	reportDue := at(due)
	camp.Spec.Phases[0].SelfInspection = &flycheckv1.PhaseSelfInspection{Scope: flycheckv1.ScopeAll, ReportDue: &reportDue}
	mustCreate(t, frameConfigMap(ns, "designated-institutions", makeFrameCSV(testCity{camp.Spec.Cities[0].Code, 2, 1})))
	createCampaign(t, camp)
	startCaseManager(t, cfg, clock.RealClock{}, "dl-real-op")
	testenv.Eventually(t, 20*time.Second, func() error {
		cs := listCases(t, ns)
		if len(cs) != 2 {
			return fmt.Errorf("%d cases", len(cs))
		}
		for _, ic := range cs {
			if condStatus(ic.Status.Conditions, flycheckv1.ConditionReady) != "True" {
				return fmt.Errorf("%s has no status yet", ic.Name)
			}
		}
		return nil
	})
	if time.Now().After(due) {
		t.Fatalf("the cases took longer than the 10 s before the deadline to open")
	}
	for _, ic := range listCases(t, ns) {
		if condStatus(ic.Status.Conditions, flycheckv1.ConditionOverdue) != "False" {
			t.Errorf("%s overdue before its deadline: %+v", ic.Name, ic.Status.Conditions)
		}
	}
	var late time.Duration
	testenv.Eventually(t, 15*time.Second, func() error {
		for _, ic := range listCases(t, ns) {
			if condStatus(ic.Status.Conditions, flycheckv1.ConditionOverdue) != "True" {
				return fmt.Errorf("%s not overdue yet", ic.Name)
			}
		}
		late = time.Since(due)
		return nil
	})
	t.Logf("Overdue observed %s after the due instant", late.Round(time.Millisecond))
	if late > 2*time.Second {
		t.Errorf("Overdue %s after the due instant", late)
	}
}
