package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
)

// testCampaign is a small valid campaign in Asia/Shanghai whose cities live
// in the given namespaces.
func testCampaign(name string, namespaces []string, phases ...flycheckv1.Phase) *flycheckv1.Campaign {
	c := &flycheckv1.Campaign{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: flycheckv1.CampaignSpec{
			TimeZone: "Asia/Shanghai",
			Phases:   phases,
		},
	}
	for i, ns := range namespaces {
		c.Spec.Cities = append(c.Spec.Cities, flycheckv1.City{
			Name: fmt.Sprintf("city%d", i), Namespace: ns, Code: fmt.Sprintf("3201%02d", i),
		})
	}
	return c
}

func phase(name, start, end string) flycheckv1.Phase {
	return flycheckv1.Phase{Name: name, Start: flycheckv1.Date(start), End: flycheckv1.Date(end)}
}

func shanghai(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newTestReconciler reconciles through the real apiserver with a fake clock.
func newTestReconciler(now time.Time) (*CampaignReconciler, *clocktesting.FakeClock) {
	clk := clocktesting.NewFakeClock(now)
	return &CampaignReconciler{Client: k8sClient, APIReader: k8sClient, Clock: clk, Recorder: recorder}, clk
}

func reconcileCampaign(t *testing.T, r *CampaignReconciler, name string) ctrl.Result {
	t.Helper()
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Name: name}})
	if err != nil {
		t.Fatalf("reconcile %s: %v", name, err)
	}
	return res
}

func getCampaign(t *testing.T, name string) *flycheckv1.Campaign {
	t.Helper()
	var c flycheckv1.Campaign
	if err := k8sClient.Get(context.Background(), types.NamespacedName{Name: name}, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func createCampaign(t *testing.T, c *flycheckv1.Campaign) {
	t.Helper()
	if err := k8sClient.Create(context.Background(), c); err != nil {
		t.Fatalf("creating campaign %s: %v", c.Name, err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), c) })
}

func phaseStates(c *flycheckv1.Campaign) map[string]flycheckv1.PhaseState {
	out := map[string]flycheckv1.PhaseState{}
	for _, p := range c.Status.Phases {
		out[p.Name] = p.State
	}
	return out
}

func assertStates(t *testing.T, c *flycheckv1.Campaign, want map[string]flycheckv1.PhaseState) {
	t.Helper()
	got := phaseStates(c)
	for name, w := range want {
		if got[name] != w {
			t.Errorf("phase %s: state %q, want %q (all: %v)", name, got[name], w, got)
		}
	}
}

func assertCondition(t *testing.T, c *flycheckv1.Campaign, typ string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	cond := meta.FindStatusCondition(c.Status.Conditions, typ)
	if cond == nil {
		t.Fatalf("no %s condition; conditions: %+v", typ, c.Status.Conditions)
	}
	if cond.Status != status || (reason != "" && cond.Reason != reason) {
		t.Errorf("%s = %s/%s (%q), want %s/%s", typ, cond.Status, cond.Reason, cond.Message, status, reason)
	}
	if cond.ObservedGeneration != c.Generation {
		t.Errorf("%s observedGeneration = %d, want %d", typ, cond.ObservedGeneration, c.Generation)
	}
}

// campaignEvents lists the events recorded about a campaign, oldest first.
func campaignEvents(t *testing.T, name string) []corev1.Event {
	t.Helper()
	var list corev1.EventList
	if err := k8sClient.List(context.Background(), &list, client.InNamespace(metav1.NamespaceDefault)); err != nil {
		t.Fatal(err)
	}
	var out []corev1.Event
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == "Campaign" && e.InvolvedObject.Name == name {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b corev1.Event) int { return a.EventTime.Compare(b.EventTime.Time) })
	return out
}

// waitForEvents waits until exactly the wanted reasons have been recorded
// (in any order), then checks that no more arrive.
func waitForEvents(t *testing.T, name string, want []string) []corev1.Event {
	t.Helper()
	var evs []corev1.Event
	reasonsOf := func() []string {
		var rs []string
		for _, e := range evs {
			rs = append(rs, e.Reason)
		}
		slices.Sort(rs)
		return rs
	}
	sorted := slices.Clone(want)
	slices.Sort(sorted)
	testenv.Eventually(t, 10*time.Second, func() error {
		evs = campaignEvents(t, name)
		if got := reasonsOf(); !slices.Equal(got, sorted) {
			return fmt.Errorf("events %v, want %v", got, sorted)
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond) // a duplicate would show up by now
	evs = campaignEvents(t, name)
	if got := reasonsOf(); !slices.Equal(got, sorted) {
		t.Fatalf("events changed to %v, want %v", got, sorted)
	}
	return evs
}

func TestPhasesAdvanceOnSchedule(t *testing.T) {
	createNamespace(t, "sched-a")
	// Jiangsu 2020 shape: spot-check and fly-check overlap.
	c := testCampaign("schedule", []string{"sched-a"},
		phase("selfinspection", "2020-05-01", "2020-06-30"),
		phase("spotcheck", "2020-07-01", "2020-08-31"),
		phase("flycheck", "2020-07-01", "2020-11-30"))
	createCampaign(t, c)
	r, clk := newTestReconciler(shanghai(t, "2020-04-30 12:00:00"))

	steps := []struct {
		now      string
		states   map[string]flycheckv1.PhaseState
		current  string
		next     string // Asia/Shanghai wall clock; "" = none
		readyWhy string
	}{
		{"2020-04-30 12:00:00", map[string]flycheckv1.PhaseState{"selfinspection": "Pending", "spotcheck": "Pending", "flycheck": "Pending"},
			"", "2020-05-01 00:00:00", CampaignReasonNotStarted},
		{"2020-05-01 00:00:00", map[string]flycheckv1.PhaseState{"selfinspection": "Active", "spotcheck": "Pending"},
			"selfinspection", "2020-07-01 00:00:00", CampaignReasonOnSchedule},
		{"2020-06-30 23:59:59", map[string]flycheckv1.PhaseState{"selfinspection": "Active"},
			"selfinspection", "2020-07-01 00:00:00", CampaignReasonOnSchedule},
		{"2020-07-01 00:00:00", map[string]flycheckv1.PhaseState{"selfinspection": "Completed", "spotcheck": "Active", "flycheck": "Active"},
			"flycheck", "2020-09-01 00:00:00", CampaignReasonOnSchedule},
		{"2020-09-01 00:00:00", map[string]flycheckv1.PhaseState{"spotcheck": "Completed", "flycheck": "Active"},
			"flycheck", "2020-12-01 00:00:00", CampaignReasonOnSchedule},
		{"2020-12-01 00:00:00", map[string]flycheckv1.PhaseState{"selfinspection": "Completed", "spotcheck": "Completed", "flycheck": "Completed"},
			"", "", CampaignReasonFinished},
	}
	for _, s := range steps {
		now := shanghai(t, s.now)
		clk.SetTime(now)
		res := reconcileCampaign(t, r, c.Name)
		got := getCampaign(t, c.Name)
		assertStates(t, got, s.states)
		if got.Status.CurrentPhase != s.current {
			t.Errorf("%s: currentPhase %q, want %q", s.now, got.Status.CurrentPhase, s.current)
		}
		assertCondition(t, got, flycheckv1.ConditionReady, metav1.ConditionTrue, s.readyWhy)
		assertCondition(t, got, flycheckv1.ConditionStalled, metav1.ConditionFalse, "")
		if got.Status.ObservedGeneration != got.Generation {
			t.Errorf("status.observedGeneration %d, want %d", got.Status.ObservedGeneration, got.Generation)
		}
		if s.next == "" {
			if got.Status.NextTransitionAt != nil || got.Status.NextTransition != "" || res.RequeueAfter != 0 {
				t.Errorf("%s: finished campaign still has next %v %q, requeue %s", s.now, got.Status.NextTransitionAt, got.Status.NextTransition, res.RequeueAfter)
			}
			continue
		}
		next := shanghai(t, s.next)
		if got.Status.NextTransitionAt == nil || !got.Status.NextTransitionAt.Time.Equal(next) {
			t.Errorf("%s: nextTransitionAt %v, want %s", s.now, got.Status.NextTransitionAt, next)
		}
		// The printer column reads local time in the campaign's zone.
		if want := s.next + " +08:00"; got.Status.NextTransition != want {
			t.Errorf("%s: nextTransition %q, want %q", s.now, got.Status.NextTransition, want)
		}
		// Requeue exactly at the boundary plus the small pad.
		if want := next.Sub(now) + requeuePad; res.RequeueAfter != want {
			t.Errorf("%s: requeueAfter %s, want %s", s.now, res.RequeueAfter, want)
		}
	}
	// Recorded boundaries are the scheduled instants.
	final := getCampaign(t, c.Name)
	if p := final.Status.Phases[0]; !p.StartedAt.Time.Equal(shanghai(t, "2020-05-01 00:00:00")) ||
		!p.CompletedAt.Time.Equal(shanghai(t, "2020-07-01 00:00:00")) {
		t.Errorf("selfinspection boundaries %v – %v", p.StartedAt, p.CompletedAt)
	}
}

func TestCatchUpAfterDowntime(t *testing.T) {
	createNamespace(t, "catchup-a")
	c := testCampaign("catchup", []string{"catchup-a"},
		phase("mobilization", "2020-04-01", "2020-04-30"),
		phase("selfinspection", "2020-05-01", "2020-06-30"),
		phase("inspection", "2020-07-01", "2020-09-30"),
		phase("summary", "2020-11-01", "2020-11-15"))
	c.Spec.Phases[0].DisplayName = "宣传动员"
	createCampaign(t, c)
	r, clk := newTestReconciler(shanghai(t, "2020-04-15 08:00:00"))
	reconcileCampaign(t, r, c.Name)
	waitForEvents(t, c.Name, []string{CampaignReasonPhaseStarted})

	// The operator was down from mid-April to mid-August: four boundaries
	// were crossed (mobilization ended, self-inspection started and ended,
	// inspection started).
	clk.SetTime(shanghai(t, "2020-08-15 08:00:00"))
	reconcileCampaign(t, r, c.Name)
	got := getCampaign(t, c.Name)
	assertStates(t, got, map[string]flycheckv1.PhaseState{
		"mobilization": "Completed", "selfinspection": "Completed", "inspection": "Active", "summary": "Pending"})
	evs := waitForEvents(t, c.Name, []string{CampaignReasonPhaseStarted,
		CampaignReasonPhaseCompleted, CampaignReasonPhaseStarted, CampaignReasonPhaseCompleted, CampaignReasonPhaseStarted})
	var late int
	for _, e := range evs {
		if strings.Contains(e.Message, "observed late") {
			late++
		}
	}
	// All five: even the first reconcile came two weeks after mobilization began.
	if late != 5 {
		t.Errorf("%d caught-up events say they were observed late, want 5", late)
	}
	if !strings.Contains(evs[0].Message, "mobilization (宣传动员) started") {
		t.Errorf("first event %q does not name the phase", evs[0].Message)
	}
	// A second reconcile at the same instant records nothing more.
	reconcileCampaign(t, r, c.Name)
	waitForEvents(t, c.Name, []string{CampaignReasonPhaseStarted,
		CampaignReasonPhaseCompleted, CampaignReasonPhaseStarted, CampaignReasonPhaseCompleted, CampaignReasonPhaseStarted})
}

func TestMissedTransitionEventsAreBounded(t *testing.T) {
	createNamespace(t, "bounded-a")
	var phases []flycheckv1.Phase
	for m := 1; m <= 12; m++ { // 12 monthly phases: 24 transitions in 2020
		phases = append(phases, phase(fmt.Sprintf("month%d", m), fmt.Sprintf("2020-%02d-01", m), fmt.Sprintf("2020-%02d-10", m)))
	}
	c := testCampaign("bounded", []string{"bounded-a"}, phases...)
	createCampaign(t, c)
	r, _ := newTestReconciler(shanghai(t, "2021-01-01 00:00:00"))
	reconcileCampaign(t, r, c.Name)
	want := []string{CampaignReasonMissedTransitions}
	for range maxTransitionEvents / 2 {
		want = append(want, CampaignReasonPhaseStarted, CampaignReasonPhaseCompleted)
	}
	evs := waitForEvents(t, c.Name, want)
	for _, e := range evs {
		if e.Reason == CampaignReasonMissedTransitions && !strings.Contains(e.Message, "14 more transitions") {
			t.Errorf("summary event %q does not count the 14 unreported transitions", e.Message)
		}
	}
	assertStates(t, getCampaign(t, c.Name), map[string]flycheckv1.PhaseState{"month1": "Completed", "month12": "Completed"})
}

func TestSuspendFreezesAndResumeContinues(t *testing.T) {
	createNamespace(t, "suspend-a")
	c := testCampaign("suspend", []string{"suspend-a"},
		phase("selfinspection", "2020-05-01", "2020-06-30"),
		phase("spotcheck", "2020-07-01", "2020-08-31"))
	createCampaign(t, c)
	r, clk := newTestReconciler(shanghai(t, "2020-05-10 00:00:00"))
	reconcileCampaign(t, r, c.Name)

	cur := getCampaign(t, c.Name)
	cur.Spec.Suspend = true
	if err := k8sClient.Update(context.Background(), cur); err != nil {
		t.Fatal(err)
	}
	clk.SetTime(shanghai(t, "2020-07-10 00:00:00"))
	res := reconcileCampaign(t, r, c.Name)
	got := getCampaign(t, c.Name)
	assertStates(t, got, map[string]flycheckv1.PhaseState{"selfinspection": "Active", "spotcheck": "Pending"})
	assertCondition(t, got, flycheckv1.ConditionReady, metav1.ConditionTrue, CampaignReasonSuspended)
	if got.Status.NextTransitionAt != nil || res.RequeueAfter != 0 {
		t.Errorf("suspended campaign still schedules: next %v, requeue %s", got.Status.NextTransitionAt, res.RequeueAfter)
	}
	if got.Status.CurrentPhase != "selfinspection" {
		t.Errorf("suspended campaign shows currentPhase %q", got.Status.CurrentPhase)
	}

	got.Spec.Suspend = false
	if err := k8sClient.Update(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	reconcileCampaign(t, r, c.Name)
	got = getCampaign(t, c.Name)
	assertStates(t, got, map[string]flycheckv1.PhaseState{"selfinspection": "Completed", "spotcheck": "Active"})
	assertCondition(t, got, flycheckv1.ConditionReady, metav1.ConditionTrue, CampaignReasonOnSchedule)
	waitForEvents(t, c.Name, []string{CampaignReasonPhaseStarted, CampaignReasonSuspendEvent, CampaignReasonResumeEvent,
		CampaignReasonPhaseCompleted, CampaignReasonPhaseStarted})
}

func TestIdleReconcileWritesNothing(t *testing.T) {
	createNamespace(t, "idle-a")
	c := testCampaign("idle", []string{"idle-a"}, phase("selfinspection", "2020-05-01", "2020-06-30"))
	createCampaign(t, c)
	r, clk := newTestReconciler(shanghai(t, "2020-05-10 00:00:00"))
	reconcileCampaign(t, r, c.Name)
	rv := getCampaign(t, c.Name).ResourceVersion
	for i := range 5 {
		clk.Step(time.Duration(i) * time.Hour) // time passes, no boundary is crossed
		reconcileCampaign(t, r, c.Name)
	}
	if got := getCampaign(t, c.Name).ResourceVersion; got != rv {
		t.Errorf("idle reconciles wrote the object: resourceVersion %s -> %s", rv, got)
	}
}

func TestUnknownTimeZoneStalls(t *testing.T) {
	createNamespace(t, "tz-a")
	c := testCampaign("badzone", []string{"tz-a"}, phase("selfinspection", "2020-05-01", "2020-06-30"))
	c.Spec.TimeZone = "Asia/Beijing" // a common mistake: the zone is Asia/Shanghai
	createCampaign(t, c)
	r, _ := newTestReconciler(shanghai(t, "2020-05-10 00:00:00"))
	res := reconcileCampaign(t, r, c.Name)
	got := getCampaign(t, c.Name)
	assertCondition(t, got, flycheckv1.ConditionStalled, metav1.ConditionTrue, CampaignReasonInvalidTimeZone)
	assertCondition(t, got, flycheckv1.ConditionReady, metav1.ConditionFalse, CampaignReasonInvalidTimeZone)
	if msg := meta.FindStatusCondition(got.Status.Conditions, flycheckv1.ConditionStalled).Message; !strings.Contains(msg, "Asia/Beijing") {
		t.Errorf("Stalled message %q does not name the zone", msg)
	}
	if res.RequeueAfter != 0 {
		t.Errorf("a stalled campaign requeues after %s; it should wait for a spec change", res.RequeueAfter)
	}
	waitForEvents(t, c.Name, []string{CampaignReasonInvalidTimeZone})
}

// A namespace that does not exist yet can still appear (Argo CD or Flux may
// apply it after the campaign): the campaign waits, Reconciling with a
// reason that names it, and is never Stalled, which GitOps tools give up on.
func TestMissingNamespaceWaitsThenRecovers(t *testing.T) {
	createNamespace(t, "present-a")
	c := testCampaign("missingns", []string{"present-a", "absent-b"}, phase("selfinspection", "2020-05-01", "2020-06-30"))
	createCampaign(t, c)
	r, _ := newTestReconciler(shanghai(t, "2020-05-10 00:00:00"))
	reconcileCampaign(t, r, c.Name)
	got := getCampaign(t, c.Name)
	assertCondition(t, got, flycheckv1.ConditionReconciling, metav1.ConditionTrue, CampaignReasonNamespaceNotFound)
	assertCondition(t, got, flycheckv1.ConditionStalled, metav1.ConditionFalse, ReasonUpToDate)
	assertCondition(t, got, flycheckv1.ConditionReady, metav1.ConditionFalse, CampaignReasonNamespaceNotFound)
	if msg := meta.FindStatusCondition(got.Status.Conditions, flycheckv1.ConditionReady).Message; !strings.Contains(msg, "absent-b") {
		t.Errorf("Ready message %q does not name the namespace", msg)
	}
	assertStates(t, got, map[string]flycheckv1.PhaseState{"selfinspection": "Active"})

	createNamespace(t, "absent-b")
	reconcileCampaign(t, r, c.Name)
	got = getCampaign(t, c.Name)
	assertCondition(t, got, flycheckv1.ConditionStalled, metav1.ConditionFalse, "")
	assertCondition(t, got, flycheckv1.ConditionReconciling, metav1.ConditionFalse, "")
	assertCondition(t, got, flycheckv1.ConditionReady, metav1.ConditionTrue, CampaignReasonOnSchedule)
}

// TestManagerObservesBoundaries runs the controller in a manager with the
// real clock: the campaign's compressed phases must show up in status as
// they start and end, with no reconcile needed from outside.
func TestManagerObservesBoundaries(t *testing.T) {
	createNamespace(t, "live-a")
	now := time.Now()
	start, end := now.Add(2*time.Second).Truncate(time.Second), now.Add(4*time.Second).Truncate(time.Second)
	c := testCampaign("live", []string{"live-a"},
		phase("datacheck", start.Format(time.RFC3339), end.Format(time.RFC3339)))
	createCampaign(t, c)

	testenv.StartManager(t, cfg, func(mgr ctrl.Manager) error { return SetupWithManager(mgr, Options{}) })
	observe := func(want flycheckv1.PhaseState, boundary time.Time) {
		testenv.Eventually(t, 10*time.Second, func() error {
			if s := phaseStates(getCampaign(t, c.Name))["datacheck"]; s != want {
				return fmt.Errorf("datacheck is %q", s)
			}
			return nil
		})
		t.Logf("%s observed %s after the boundary", want, time.Since(boundary).Round(time.Millisecond))
		if time.Now().Before(boundary) {
			t.Errorf("%s reported before its boundary %s", want, boundary)
		}
	}
	observe(flycheckv1.PhaseActive, start)
	observe(flycheckv1.PhaseCompleted, end)
}
