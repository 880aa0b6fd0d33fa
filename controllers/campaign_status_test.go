package controllers

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/schedule"
)

// The status shaping of campaign_status.go, table-tested as pure functions:
// no API server is touched here.

func statusTestPlan(t *testing.T) (*schedule.Plan, *time.Location) {
	t.Helper()
	plan, err := schedule.Parse("Asia/Shanghai", []schedule.PhaseSpec{
		{Name: "mobilization", Start: "2020-05-01", End: "2020-05-31"},
		{Name: "selfinspection", Start: "2020-06-01", End: "2020-07-15"},
		{Name: "spotcheck", Start: "2020-07-01", End: "2020-08-31"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return plan, plan.Location
}

func TestSetPhasesAndCurrentPhase(t *testing.T) {
	plan, loc := statusTestPlan(t)
	launched := timePtr(time.Date(2020, 6, 1, 0, 0, 5, 0, loc))
	for _, tc := range []struct {
		at      time.Time
		states  []flycheckv1.PhaseState
		current string
	}{
		{time.Date(2020, 4, 30, 12, 0, 0, 0, loc), []flycheckv1.PhaseState{"Pending", "Pending", "Pending"}, ""},
		{time.Date(2020, 5, 1, 0, 0, 0, 0, loc), []flycheckv1.PhaseState{"Active", "Pending", "Pending"}, "mobilization"},
		{time.Date(2020, 7, 2, 0, 0, 0, 0, loc), []flycheckv1.PhaseState{"Completed", "Active", "Active"}, "spotcheck"},
		{time.Date(2020, 9, 1, 0, 0, 0, 0, loc), []flycheckv1.PhaseState{"Completed", "Completed", "Completed"}, ""},
	} {
		st := &flycheckv1.CampaignStatus{Phases: []flycheckv1.PhaseStatus{{Name: "selfinspection", LaunchedAt: launched}}}
		setPhases(st, plan, tc.at)
		var got []flycheckv1.PhaseState
		for i, p := range st.Phases {
			got = append(got, p.State)
			ph := plan.Phases[i]
			if (p.StartedAt != nil) != (p.State != flycheckv1.PhasePending) ||
				(p.StartedAt != nil && !p.StartedAt.Time.Equal(ph.Start)) {
				t.Errorf("%s at %s: startedAt %v, want the scheduled start %s", p.Name, tc.at, p.StartedAt, ph.Start)
			}
			if (p.CompletedAt != nil) != (p.State == flycheckv1.PhaseCompleted) {
				t.Errorf("%s at %s: completedAt %v with state %s", p.Name, tc.at, p.CompletedAt, p.State)
			}
		}
		if !slices.Equal(got, tc.states) {
			t.Errorf("at %s: states %v, want %v", tc.at, got, tc.states)
		}
		if st.Phases[1].LaunchedAt != launched {
			t.Errorf("at %s: launchedAt not preserved", tc.at)
		}
		if c := currentPhase(st); c != tc.current {
			t.Errorf("at %s: currentPhase %q, want %q", tc.at, c, tc.current)
		}
	}
}

func TestFreezePhasesKeepsRecordedStates(t *testing.T) {
	plan, _ := statusTestPlan(t)
	st := &flycheckv1.CampaignStatus{Phases: []flycheckv1.PhaseStatus{
		{Name: "mobilization", State: flycheckv1.PhaseActive},
		{Name: "removed", State: flycheckv1.PhaseCompleted},
	}}
	freezePhases(st, plan)
	want := []flycheckv1.PhaseStatus{
		{Name: "mobilization", State: flycheckv1.PhaseActive},
		{Name: "selfinspection", State: flycheckv1.PhasePending},
		{Name: "spotcheck", State: flycheckv1.PhasePending},
	}
	if !slices.Equal(st.Phases, want) {
		t.Errorf("frozen phases %+v, want %+v", st.Phases, want)
	}
}

func TestSetCityRowsKeepsCountsInSpecOrder(t *testing.T) {
	st := &flycheckv1.CampaignStatus{Cities: []flycheckv1.CityStatus{
		{Name: "nanjing", Institutions: 40}, {Name: "gone", Institutions: 3},
	}}
	setCityRows(st, []flycheckv1.City{{Name: "wuxi"}, {Name: "nanjing"}})
	want := []flycheckv1.CityStatus{{Name: "wuxi"}, {Name: "nanjing", Institutions: 40}}
	if !reflect.DeepEqual(st.Cities, want) {
		t.Errorf("cities %+v, want %+v", st.Cities, want)
	}
}

func TestReadyReasonAndScheduleMessage(t *testing.T) {
	plan, loc := statusTestPlan(t)
	for _, tc := range []struct {
		at      time.Time
		reason  string
		message string
	}{
		{time.Date(2020, 4, 1, 0, 0, 0, 0, loc), CampaignReasonNotStarted, "no phase active; next transition at 2020-05-01T00:00:00+08:00"},
		{time.Date(2020, 7, 2, 0, 0, 0, 0, loc), CampaignReasonOnSchedule, "active: selfinspection, spotcheck; next transition at 2020-07-16T00:00:00+08:00"},
		{time.Date(2020, 6, 1, 0, 0, 0, 0, loc).Add(-time.Nanosecond), CampaignReasonOnSchedule, "active: mobilization; next transition at 2020-06-01T00:00:00+08:00"},
		{time.Date(2021, 1, 1, 0, 0, 0, 0, loc), CampaignReasonFinished, "all 3 phases completed"},
	} {
		if got := readyReason(plan, tc.at); got != tc.reason {
			t.Errorf("at %s: reason %s, want %s", tc.at, got, tc.reason)
		}
		if got := scheduleMessage(plan, tc.at); got != tc.message {
			t.Errorf("at %s: message %q, want %q", tc.at, got, tc.message)
		}
	}
}

func TestSetCampaignConditions(t *testing.T) {
	plan, loc := statusTestPlan(t)
	now := time.Date(2020, 7, 2, 0, 0, 0, 0, loc)
	for _, tc := range []struct {
		name                     string
		suspended                bool
		missing                  []string
		stall                    *stallError
		ready, stalled, readyWhy string
	}{
		{"on schedule", false, nil, nil, "True", "False", CampaignReasonOnSchedule},
		{"suspended", true, nil, nil, "True", "False", CampaignReasonSuspended},
		{"namespace missing (it may still appear: waits, not stalled)", false, []string{"city-a"}, nil, "False", "False", CampaignReasonNamespaceNotFound},
		{"child name taken beats a missing namespace", false, []string{"city-a"},
			&stallError{CampaignReasonChildNameTaken, "x exists"}, "False", "True", CampaignReasonChildNameTaken},
	} {
		var conds []metav1.Condition
		setCampaignConditions(newConditionSetter(&conds, 7, now), plan, now, tc.suspended, tc.missing, tc.stall)
		ready := meta.FindStatusCondition(conds, flycheckv1.ConditionReady)
		stalled := meta.FindStatusCondition(conds, flycheckv1.ConditionStalled)
		if string(ready.Status) != tc.ready || string(stalled.Status) != tc.stalled || ready.Reason != tc.readyWhy {
			t.Errorf("%s: Ready=%s (%s) Stalled=%s, want Ready=%s (%s) Stalled=%s", tc.name,
				ready.Status, ready.Reason, stalled.Status, tc.ready, tc.readyWhy, tc.stalled)
		}
		for _, c := range conds {
			if c.ObservedGeneration != 7 {
				t.Errorf("%s: %s has observedGeneration %d, want 7", tc.name, c.Type, c.ObservedGeneration)
			}
		}
	}
}

func TestTransitionNotes(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	camp := &flycheckv1.Campaign{Spec: flycheckv1.CampaignSpec{Phases: []flycheckv1.Phase{{Name: "p0", DisplayName: "宣传动员"}}}}
	at := time.Date(2020, 5, 1, 0, 0, 0, 0, loc)
	var trs []schedule.Transition
	for i := range 13 {
		trs = append(trs, schedule.Transition{Phase: "p" + string(rune('0'+i%10)), From: schedule.Pending, To: schedule.Active, At: at})
	}
	trs[1] = schedule.Transition{Phase: "p1", From: schedule.Active, To: schedule.Completed, At: at}
	trs[2] = schedule.Transition{Phase: "p2", From: schedule.Completed, To: schedule.Active, At: at}

	notes := transitionNotes(camp, trs, at.Add(2*time.Minute))
	if len(notes) != maxTransitionEvents+1 {
		t.Fatalf("%d notes, want %d (the cap plus one summary)", len(notes), maxTransitionEvents+1)
	}
	for i, want := range []string{CampaignReasonPhaseStarted, CampaignReasonPhaseCompleted, CampaignReasonPhaseReopened} {
		if notes[i].reason != want || notes[i].typ != corev1.EventTypeNormal {
			t.Errorf("note %d: %s %s, want Normal %s", i, notes[i].typ, notes[i].reason, want)
		}
	}
	if !strings.Contains(notes[0].msg, "p0 (宣传动员) started") || !strings.Contains(notes[0].msg, "observed late") {
		t.Errorf("note 0: %q, want the display name and 'observed late'", notes[0].msg)
	}
	if notes[0].action != "Advance/p0" {
		t.Errorf("action %q, want the phase in it (one event series per transition)", notes[0].action)
	}
	last := notes[len(notes)-1]
	if last.reason != CampaignReasonMissedTransitions || !strings.HasPrefix(last.msg, "3 more transitions") {
		t.Errorf("summary note %s %q", last.reason, last.msg)
	}
	if n := transitionNotes(camp, trs[:1], at.Add(30*time.Second)); strings.Contains(n[0].msg, "late") {
		t.Errorf("a transition seen within a minute is not late: %q", n[0].msg)
	}
}

func TestRulesSkippedNotesOncePerChange(t *testing.T) {
	before := []flycheckv1.CityStatus{{Name: "a"}, {Name: "b", RulesSkipped: 2}}
	after := []flycheckv1.CityStatus{{Name: "a", RulesSkipped: 3}, {Name: "b", RulesSkipped: 2}, {Name: "c"}}
	notes := rulesSkippedNotes(before, after)
	if len(notes) != 1 || notes[0].reason != CampaignReasonRulesSkipped || notes[0].typ != corev1.EventTypeWarning ||
		!strings.Contains(notes[0].msg, "3 rules did not run in the screening of a") {
		t.Errorf("notes %+v, want one Warning for city a", notes)
	}
	if n := rulesSkippedNotes(after, after); len(n) != 0 {
		t.Errorf("unchanged counts gave %d notes", len(n))
	}
}

func TestSetNextTransitionReadsLocalTime(t *testing.T) {
	kathmandu, err := time.LoadLocation("Asia/Kathmandu")
	if err != nil {
		t.Fatal(err)
	}
	var st flycheckv1.CampaignStatus
	next := time.Date(2026, 12, 2, 17, 52, 26, 900, time.UTC)
	setNextTransition(&st, next, time.FixedZone("CST", 8*3600))
	if st.NextTransition != "2026-12-03 01:52:26 +08:00" || !st.NextTransitionAt.Time.Equal(next.Truncate(time.Second)) {
		t.Errorf("next %v %q", st.NextTransitionAt, st.NextTransition)
	}
	setNextTransition(&st, next, kathmandu)
	if st.NextTransition != "2026-12-02 23:37:26 +05:45" {
		t.Errorf("Kathmandu: %q", st.NextTransition)
	}
	setNextTransition(&st, time.Time{}, kathmandu)
	if st.NextTransitionAt != nil || st.NextTransition != "" {
		t.Errorf("cleared: %v %q", st.NextTransitionAt, st.NextTransition)
	}
}
