package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
)

// newTipOff is an anonymous phone tip-off as a bureau records it.
func newTipOff(ns, name string, mutate func(*flycheckv1.TipOffSpec)) *flycheckv1.TipOff {
	to := &flycheckv1.TipOff{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: flycheckv1.TipOffSpec{ReceivedAt: "2020-09-25", Channel: "Phone", Anonymous: true,
			Subject: flycheckv1.TipOffSubject{Description: "药店以医保卡刷取日用品"}},
	}
	if mutate != nil {
		mutate(&to.Spec)
	}
	return to
}

func getTipOff(t *testing.T, ns, name string) *flycheckv1.TipOff {
	t.Helper()
	var to flycheckv1.TipOff
	if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &to); err != nil {
		t.Fatal(err)
	}
	return &to
}

func updateTipOff(t *testing.T, ns, name string, mutate func(*flycheckv1.TipOffSpec)) {
	t.Helper()
	to := getTipOff(t, ns, name)
	mutate(&to.Spec)
	if err := k8sClient.Update(context.Background(), to); err != nil {
		t.Fatalf("updating tip-off %s: %v", name, err)
	}
}

func reconcileTipOff(t *testing.T, r *TipOffReconciler, ns, name string) ctrl.Result {
	t.Helper()
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
	if err != nil {
		t.Fatalf("reconcile %s/%s: %v", ns, name, err)
	}
	return res
}

func tipOffDeadline(t *testing.T, to *flycheckv1.TipOff, name string) flycheckv1.CaseDeadline {
	t.Helper()
	for _, d := range to.Status.Deadlines {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("%s has no %s deadline: %+v (conditions %+v)", to.Name, name, to.Status.Deadlines, to.Status.Conditions)
	return flycheckv1.CaseDeadline{}
}

// eventsAbout lists the events about one object of a kind in ns.
func eventsAbout(t *testing.T, ns, kind, name string) []eventsv1.Event {
	t.Helper()
	var list eventsv1.EventList
	if err := k8sClient.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Kind == kind && e.Regarding.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// TestTipOffDeadlinesAcrossNationalDay: a tip-off received on Friday 25
// September 2020 whose reporter asked for feedback must have it within 15
// working days. Sunday 27 September and Saturday 10 October 2020 were
// worked (make-up days), 1–8 October were the National Day and Mid-Autumn
// holiday: the 15th working day is Thursday 22 October, so feedback is late
// from 23 October 00:00 Asia/Shanghai. With a fake clock the tip-off is not
// overdue 1 ns before, requeues for exactly that instant, and is overdue at
// it, with a Warning event. Accepted on 30 September, it must be closed
// within 30 working days: late from 19 November.
func TestTipOffDeadlinesAcrossNationalDay(t *testing.T) {
	ns, opNS := "tip-dl", "tip-dl-op"
	createNamespace(t, ns)
	createNamespace(t, opNS)
	due := shanghai(t, "2020-10-23 00:00:00")
	clk := clocktesting.NewFakeClock(due.Add(-time.Nanosecond))
	r := &TipOffReconciler{Client: k8sClient, APIReader: k8sClient, Clock: clk, Recorder: recorder,
		Holidays: NewHolidayCalendar(k8sClient, opNS)}

	mustCreate(t, newTipOff(ns, "2020-09-001", func(s *flycheckv1.TipOffSpec) { s.WantsFeedback = true }))
	res := reconcileTipOff(t, r, ns, "2020-09-001")
	to := getTipOff(t, ns, "2020-09-001")
	fb := tipOffDeadline(t, to, "Feedback")
	if !fb.Due.Time.Equal(due) || fb.State != "Pending" {
		t.Fatalf("feedback %+v, want due %s", fb, due)
	}
	if res.RequeueAfter != time.Nanosecond+requeuePad {
		t.Errorf("requeue after %s, want 1ns + %s (the due instant)", res.RequeueAfter, requeuePad)
	}
	if got := condStatus(to.Status.Conditions, flycheckv1.ConditionOverdue); got != "False" {
		t.Errorf("1 ns before the due instant: Overdue %s", got)
	}
	if got := condStatus(to.Status.Conditions, flycheckv1.ConditionReady); got != "True" {
		t.Errorf("Ready %s: %+v", got, to.Status.Conditions)
	}
	// The policy defaults to Luohe's, in the object.
	if p := to.Spec.RewardPolicy; p == nil || p.RatePercent != "5" || p.InsiderBonusPercent != "1" || p.Cap != "100000" || p.NonMonetaryBelow != "200" {
		t.Errorf("default reward policy %+v", p)
	}
	if rw := to.Status.Reward; rw == nil || rw.State != "None" || len(rw.Reasons) != 1 || rw.Reasons[0] != "NotWanted" {
		t.Errorf("reward of a reporter who wants none: %+v", rw)
	}

	clk.SetTime(due)
	if res = reconcileTipOff(t, r, ns, "2020-09-001"); res.RequeueAfter != 0 {
		t.Errorf("requeue after %s with no deadline ahead", res.RequeueAfter)
	}
	to = getTipOff(t, ns, "2020-09-001")
	if got := condStatus(to.Status.Conditions, flycheckv1.ConditionOverdue); got != "True" || tipOffDeadline(t, to, "Feedback").State != "Missed" {
		t.Errorf("at the due instant: Overdue %s, %+v", got, to.Status.Deadlines)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		for _, e := range eventsAbout(t, ns, "TipOff", "2020-09-001") {
			if e.Reason == TipOffReasonDeadlineMissed && e.Type == corev1.EventTypeWarning {
				return nil
			}
		}
		return fmt.Errorf("no DeadlineMissed event")
	})

	// Accepted on 30 September (no subject institution: no case), feedback
	// given late: no longer overdue, the feedback deadline stays missed,
	// and the closing deadline counts 30 working days.
	updateTipOff(t, ns, "2020-09-001", func(s *flycheckv1.TipOffSpec) {
		s.AcceptedAt, s.FeedbackAt = "2020-09-30", "2020-10-23"
	})
	clk.SetTime(shanghai(t, "2020-10-26 09:00:00"))
	reconcileTipOff(t, r, ns, "2020-09-001")
	to = getTipOff(t, ns, "2020-09-001")
	closing := tipOffDeadline(t, to, "Closing")
	if !closing.Due.Time.Equal(shanghai(t, "2020-11-19 00:00:00")) || closing.State != "Pending" {
		t.Errorf("closing %+v, want due 2020-11-19 00:00 +08:00", closing)
	}
	if d := tipOffDeadline(t, to, "Feedback"); d.State != "Missed" || d.CompletedAt == nil ||
		condStatus(to.Status.Conditions, flycheckv1.ConditionOverdue) != "False" || to.Status.Case != "" {
		t.Errorf("feedback given late: %+v, %+v, case %q", d, to.Status.Conditions, to.Status.Case)
	}

	// A second tip-off, feedback in time on the 15th working day (a
	// make-up Saturday counted among them).
	mustCreate(t, newTipOff(ns, "2020-09-002", func(s *flycheckv1.TipOffSpec) {
		s.WantsFeedback, s.FeedbackAt = true, "2020-10-22"
	}))
	reconcileTipOff(t, r, ns, "2020-09-002")
	if d := tipOffDeadline(t, getTipOff(t, ns, "2020-09-002"), "Feedback"); d.State != "Met" {
		t.Errorf("feedback on 22 October: %+v", d)
	}

	// A year the calendar does not know waits (Reconciling), not guessed.
	mustCreate(t, newTipOff(ns, "2099-01-001", func(s *flycheckv1.TipOffSpec) { s.ReceivedAt, s.WantsFeedback = "2099-01-05", true }))
	reconcileTipOff(t, r, ns, "2099-01-001")
	to = getTipOff(t, ns, "2099-01-001")
	if conditionReason(to.Status.Conditions, flycheckv1.ConditionReconciling) != TipOffReasonCalendarYearMissing || len(to.Status.Deadlines) != 0 {
		t.Errorf("2099: %+v, %+v", to.Status.Conditions, to.Status.Deadlines)
	}
}

// TestTipOffOpensTheInstitutionsCase: accepted with a subject institution
// and no campaign, a tip-off opens the institution's standing case
// (tipoffs-<code>) with the origin TipOff; a second tip-off about the same
// institution joins it. The reward follows the verdict.
func TestTipOffOpensTheInstitutionsCase(t *testing.T) {
	ns, opNS := "tip-open", "tip-open-op"
	createNamespace(t, ns)
	createNamespace(t, opNS)
	clk := clocktesting.NewFakeClock(shanghai(t, "2020-10-12 09:00:00"))
	r := &TipOffReconciler{Client: k8sClient, APIReader: k8sClient, Clock: clk, Recorder: recorder,
		Holidays: NewHolidayCalendar(k8sClient, opNS)}
	about := func(s *flycheckv1.TipOffSpec) {
		s.Subject.InstitutionCode, s.Subject.InstitutionName, s.Subject.CityCode = "P4111000123", "漯河市某某大药房", "411100"
		s.AcceptedAt, s.WantsReward = "2020-09-30", true
	}
	mustCreate(t, newTipOff(ns, "2020-09-010", about))
	mustCreate(t, newTipOff(ns, "2020-09-011", about))
	reconcileTipOff(t, r, ns, "2020-09-010")
	reconcileTipOff(t, r, ns, "2020-09-011")
	caseName := TipOffCaseName("P4111000123")
	for _, name := range []string{"2020-09-010", "2020-09-011"} {
		if got := getTipOff(t, ns, name).Status.Case; got != ns+"/"+caseName {
			t.Errorf("%s: case %q", name, got)
		}
	}
	ic := getCase(t, ns, caseName)
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), ic) })
	if ic.Spec.CampaignRef != nil || ic.Spec.Institution.Code != "P4111000123" || len(ic.Status.Origins) != 2 ||
		ic.Status.Origins[0].Type != flycheckv1.OriginTipOff || ic.Status.Origins[0].TipOff != "2020-09-010" || ic.Status.Origins[1].TipOff != "2020-09-011" {
		t.Errorf("case %+v, origins %+v", ic.Spec, ic.Status.Origins)
	}
	reasons := map[string]bool{}
	for _, name := range []string{"2020-09-010", "2020-09-011"} {
		for _, e := range eventsAboutEventually(t, ns, "TipOff", name, 1) {
			reasons[e.Reason] = true
		}
	}
	if !reasons[TipOffReasonCaseOpened] || !reasons[TipOffReasonCaseJoined] {
		t.Errorf("event reasons %v", reasons)
	}
	if rw := getTipOff(t, ns, "2020-09-010").Status.Reward; rw == nil || rw.State != "Pending" {
		t.Errorf("reward before the verdict: %+v", rw)
	}
	// Confirmed: ¥3 999.99 × 5 % = ¥199.99, non-monetary.
	updateTipOff(t, ns, "2020-09-010", func(s *flycheckv1.TipOffSpec) {
		s.Verdict, s.FundLoss, s.ConfirmedAmount = "Confirmed", "Caused", "3999.99"
	})
	reconcileTipOff(t, r, ns, "2020-09-010")
	if rw := getTipOff(t, ns, "2020-09-010").Status.Reward; rw == nil || rw.State != "NonMonetary" || rw.Amount != "199.99" || rw.RatePercent != "5" {
		t.Errorf("reward of 3999.99: %+v", rw)
	}
	// A case deleted by a person is not brought back.
	if err := k8sClient.Delete(context.Background(), ic); err != nil {
		t.Fatal(err)
	}
	updateTipOff(t, ns, "2020-09-010", func(s *flycheckv1.TipOffSpec) { s.ConfirmedAmount = "4000" })
	reconcileTipOff(t, r, ns, "2020-09-010")
	if rw := getTipOff(t, ns, "2020-09-010").Status.Reward; rw.State != "Monetary" || rw.Amount != "200.00" {
		t.Errorf("reward of 4000: %+v", rw)
	}
	var again flycheckv1.InspectionCase
	if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: caseName}, &again); err == nil {
		t.Errorf("a deleted case was opened again")
	}
}

func eventsAboutEventually(t *testing.T, ns, kind, name string, atLeast int) []eventsv1.Event {
	t.Helper()
	var out []eventsv1.Event
	testenv.Eventually(t, 10*time.Second, func() error {
		if out = eventsAbout(t, ns, kind, name); len(out) < atLeast {
			return fmt.Errorf("%d events about %s %s", len(out), kind, name)
		}
		return nil
	})
	return out
}

// TestTipOffValidation: the schema refuses what a bureau could get wrong.
func TestTipOffValidation(t *testing.T) {
	ns := "tip-valid"
	createNamespace(t, ns)
	ctx := context.Background()
	accepted := func(s *flycheckv1.TipOffSpec) { s.AcceptedAt = "2020-09-28" }
	cases := []struct {
		name, want string
		mutate     func(*flycheckv1.TipOffSpec)
	}{
		{"anonymous with an identity", "real-name tip-off names the Secret", func(s *flycheckv1.TipOffSpec) {
			s.IdentitySecretRef = &flycheckv1.SecretReference{Name: "id"}
		}},
		{"real-name without an identity", "real-name tip-off names the Secret", func(s *flycheckv1.TipOffSpec) { s.Anonymous = false }},
		{"accepted before received", "cannot be accepted before", func(s *flycheckv1.TipOffSpec) { s.AcceptedAt = "2020-09-24" }},
		{"feedback before received", "feedback cannot come before", func(s *flycheckv1.TipOffSpec) { s.FeedbackAt = "2020-09-01" }},
		{"closed, not accepted", "only an accepted tip-off is closed", func(s *flycheckv1.TipOffSpec) { s.ClosedAt = "2020-10-01" }},
		{"verdict, not accepted", "a verdict needs the tip-off accepted", func(s *flycheckv1.TipOffSpec) { s.Verdict = "Confirmed" }},
		{"amount, not confirmed", "confirmed amount needs the verdict Confirmed", func(s *flycheckv1.TipOffSpec) {
			accepted(s)
			s.Verdict, s.ConfirmedAmount = "NotConfirmed", "100"
		}},
		{"amount with 3 decimals", "decimal string", func(s *flycheckv1.TipOffSpec) {
			accepted(s)
			s.Verdict, s.ConfirmedAmount = "Confirmed", "100.001"
		}},
		{"negative amount", "decimal string", func(s *flycheckv1.TipOffSpec) {
			accepted(s)
			s.Verdict, s.ConfirmedAmount = "Confirmed", "-5"
		}},
		{"rate over 100", "percentage from 0 to 100", func(s *flycheckv1.TipOffSpec) {
			s.RewardPolicy = &flycheckv1.RewardPolicy{RatePercent: "100.5"}
		}},
		{"rate and insider bonus over 100", "ratePercent plus insiderBonusPercent must not exceed 100", func(s *flycheckv1.TipOffSpec) {
			s.RewardPolicy = &flycheckv1.RewardPolicy{RatePercent: "100", InsiderBonusPercent: "1"}
		}},
		{"rate as a fraction", "percentage from 0 to 100", func(s *flycheckv1.TipOffSpec) {
			s.RewardPolicy = &flycheckv1.RewardPolicy{RatePercent: "0.055"}
		}},
		{"paid, not closed", "paid only on a confirmed tip-off", func(s *flycheckv1.TipOffSpec) {
			accepted(s)
			s.Verdict, s.WantsReward, s.RewardPaidAt = "Confirmed", true, "2020-10-30"
		}},
		{"paid, not confirmed", "paid only on a confirmed tip-off", func(s *flycheckv1.TipOffSpec) {
			accepted(s)
			s.Verdict, s.ClosedAt, s.WantsReward, s.RewardPaidAt = "NotConfirmed", "2020-10-20", true, "2020-10-30"
		}},
		{"paid before closed", "paid only on a confirmed tip-off", func(s *flycheckv1.TipOffSpec) {
			accepted(s)
			s.Verdict, s.ClosedAt, s.WantsReward, s.RewardPaidAt = "Confirmed", "2020-10-20", true, "2020-10-19"
		}},
		{"paid, not wanted", "only to a reporter who wants it", func(s *flycheckv1.TipOffSpec) {
			accepted(s)
			s.Verdict, s.ClosedAt, s.RewardPaidAt = "Confirmed", "2020-10-20", "2020-10-30"
		}},
		{"institution without city", "needs its city's code", func(s *flycheckv1.TipOffSpec) { s.Subject.InstitutionCode = "P1" }},
		{"no description", "description", func(s *flycheckv1.TipOffSpec) { s.Subject.Description = "" }},
		{"unknown channel", "channel", func(s *flycheckv1.TipOffSpec) { s.Channel = "Fax" }},
	}
	for i, c := range cases {
		err := k8sClient.Create(ctx, newTipOff(ns, fmt.Sprintf("bad-%d", i), c.mutate))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.want)
		}
	}
	// A complete, valid lifecycle is accepted; its campaign cannot change.
	good := newTipOff(ns, "good", func(s *flycheckv1.TipOffSpec) {
		accepted(s)
		s.Verdict, s.FundLoss, s.ConfirmedAmount, s.ClosedAt = "Confirmed", "Avoided", "12345.6", "2020-10-20"
		s.WantsReward, s.RewardPaidAt = true, "2020-10-30T10:00:00+08:00"
		s.RewardPolicy = &flycheckv1.RewardPolicy{RatePercent: "5.5"}
		s.CampaignRef = &flycheckv1.CampaignReference{Name: "luohe-2020"}
	})
	mustCreate(t, good)
	if good.Spec.RewardPolicy.Cap != "100000" {
		t.Errorf("a partial policy is not completed with Luohe's defaults: %+v", good.Spec.RewardPolicy)
	}
	good.Spec.CampaignRef.Name = "other"
	if err := k8sClient.Update(ctx, good); err == nil || !strings.Contains(err.Error(), "campaign cannot change") {
		t.Errorf("changing the campaign: %v", err)
	}
}
