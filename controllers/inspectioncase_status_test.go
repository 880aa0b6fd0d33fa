package controllers

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/calendar"
)

// Pure tests of the case's status shaping and name, without an API server.

func TestCaseName(t *testing.T) {
	if got := CaseName("jiangsu-2020", "H32010000017"); got != "jiangsu-2020-h32010000017" {
		t.Errorf("plain name %q", got)
	}
	long := CaseName("jiangsu-2024-medical-insurance-funds-source-control", "H32010000017")
	other := CaseName("jiangsu-2024-medical-insurance-funds-source-control", "H32010000018")
	for _, n := range []string{long, other, CaseName("c", "H_1"), CaseName("c", "H-1"), CaseName("c", "h.")} {
		if len(n) > maxCaseNameLength || strings.ContainsAny(n, "_ABCDEFGHIJKLMNOPQRSTUVWXYZ") ||
			strings.HasSuffix(n, "-") || strings.HasSuffix(n, ".") {
			t.Errorf("%q is not a valid case name", n)
		}
	}
	if long == other || CaseName("c", "H_1") == CaseName("c", "H-1") {
		t.Error("distinct institutions share a name")
	}
	if long != CaseName("jiangsu-2024-medical-insurance-funds-source-control", "H32010000017") {
		t.Error("the name is not deterministic")
	}
}

func statusTestCampaign() *flycheckv1.Campaign {
	c := testCampaign("st", []string{"st-city"}, phase("selfinspection", "2020-05-01", "2020-06-30"))
	c.Spec.Phases[0].SelfInspection = &flycheckv1.PhaseSelfInspection{ReportWithinWorkingDays: 20}
	return c
}

func TestDesiredCaseStatus(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2020, 9, 15, 9, 0, 0, 0, loc)
	camp := statusTestCampaign()
	origins := []flycheckv1.CaseOrigin{{Type: flycheckv1.OriginScreening, Phase: "selfinspection", LeadsAmount: "12.34", At: metav1.NewTime(now)}}
	cc := caseContext{campaign: camp, calendar: calendar.Builtin(), now: now}

	// 20 working days from Friday 1 May 2020: 1–5 May is the Labour Day
	// holiday and Sunday 26 April / Saturday 9 May were worked, so the count
	// runs 6, 7, 8, 9 (Sat), 11–15, 18–22, 25, 26, 27, 28, 29 May, 1 June:
	// due when Monday 1 June ends. (The origin's phase decides the deadline.)
	ic := &flycheckv1.InspectionCase{Spec: flycheckv1.InspectionCaseSpec{CampaignRef: &flycheckv1.CampaignReference{Name: "st"}},
		Status: flycheckv1.InspectionCaseStatus{Origins: origins}}
	ic.Generation = 3
	st, next := desiredCaseStatus(ic, cc)
	if len(st.Deadlines) != 1 || !st.Deadlines[0].Due.Time.Equal(time.Date(2020, 6, 2, 0, 0, 0, 0, loc)) || st.Deadlines[0].State != "Missed" {
		t.Errorf("deadlines %+v", st.Deadlines)
	}
	if !next.IsZero() || st.Stage != "Open" || st.Amounts.Leads != "12.34" || st.ObservedGeneration != 3 {
		t.Errorf("next %s, stage %s, amounts %+v", next, st.Stage, st.Amounts)
	}
	if conditionReason(st.Conditions, flycheckv1.ConditionOverdue) != CaseReasonDeadlineMissed ||
		conditionReason(st.Conditions, flycheckv1.ConditionReady) != CaseReasonEvaluated {
		t.Errorf("conditions %+v", st.Conditions)
	}

	// A city case handed off from the province takes the province's
	// findings and decision until it records its own.
	handOff := &flycheckv1.CaseHandOff{From: "prov/st-h1", OnSite: inspected("100.00"),
		Decision: &flycheckv1.CaseDecision{DecidedAt: "2020-08-01", Actions: []flycheckv1.DecisionAction{{Type: flycheckv1.ActionRefund, Amount: "100"}}}}
	city := &flycheckv1.InspectionCase{Spec: flycheckv1.InspectionCaseSpec{CampaignRef: &flycheckv1.CampaignReference{Name: "st"}}}
	cc2 := cc
	cc2.handOff = handOff
	st, _ = desiredCaseStatus(city, cc2)
	if st.Stage != "Rectifying" || st.Amounts.Found != "100.00" || st.Amounts.Outstanding != "100.00" || st.HandOff != handOff {
		t.Errorf("handed-off city case: %s %+v", st.Stage, st.Amounts)
	}
	city.Spec.Recoveries = []flycheckv1.Recovery{{Amount: "100", At: "2020-09-01"}}
	if st, _ = desiredCaseStatus(city, cc2); st.Stage != "Closed" {
		t.Errorf("recovered: %s", st.Stage)
	}

	// A date that passes the schema's pattern but does not exist stalls the
	// case; the computed fields keep their stored values.
	bad := ic.DeepCopy()
	bad.Status.Stage = "SelfReported"
	bad.Spec.SelfInspection = &flycheckv1.SelfInspection{ReportedAt: "2020-02-30"}
	st, _ = desiredCaseStatus(bad, cc)
	if conditionReason(st.Conditions, flycheckv1.ConditionStalled) != CaseReasonInvalidSpec || st.Stage != "SelfReported" ||
		!strings.Contains(findCondition(st.Conditions, flycheckv1.ConditionStalled).Message, "spec.selfInspection.reportedAt") {
		t.Errorf("invalid date: stage %s, conditions %+v", st.Stage, st.Conditions)
	}

	// A working-day deadline in a year the calendar does not know waits.
	wait := ic.DeepCopy()
	wait.Spec.OnSite = inspected("1")
	wait.Spec.Decision = &flycheckv1.CaseDecision{DecidedAt: "2027-12-30", RectificationWorkingDays: 5}
	st, _ = desiredCaseStatus(wait, cc)
	if conditionReason(st.Conditions, flycheckv1.ConditionReconciling) != CaseReasonCalendarYearMissing ||
		conditionReason(st.Conditions, flycheckv1.ConditionStalled) != "" || !usesCalendar(&flycheckv1.InspectionCase{Status: *st}) {
		t.Errorf("calendar year missing: %+v", st.Conditions)
	}

	// Without its Campaign a case still evaluates what it can.
	alone := &flycheckv1.InspectionCase{Spec: flycheckv1.InspectionCaseSpec{OnSite: inspected(),
		Decision: &flycheckv1.CaseDecision{DecidedAt: "2023-07-12", RectificationDue: "2023-08-31"}}}
	st, next = desiredCaseStatus(alone, caseContext{calendar: calendar.Builtin(), now: time.Date(2023, 8, 1, 0, 0, 0, 0, loc)})
	if st.Stage != "Rectifying" || !st.Blank || !next.Equal(time.Date(2023, 9, 1, 0, 0, 0, 0, loc)) {
		t.Errorf("alone: %s blank %v next %s", st.Stage, st.Blank, next)
	}
}

func findCondition(conds []metav1.Condition, typ string) metav1.Condition {
	for _, c := range conds {
		if c.Type == typ {
			return c
		}
	}
	return metav1.Condition{}
}
