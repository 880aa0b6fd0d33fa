package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
	"github.com/medfund/flycheck-operator/internal/sampling"
)

// makeFrameCSV writes a deterministic frame: institution i of a city is
// tertiary when i < tertiary, and has a varied risk (some empty = 0).
func makeFrameCSV(cities ...testCity) string {
	var b strings.Builder
	b.WriteString("code,cityCode,name,level,ownership,type,risk\n")
	for _, c := range cities {
		for i := range c.size {
			level := i % 3
			if i < c.tertiary {
				level = 3
			}
			risk := fmt.Sprintf("%d.%d", (i*7)%11, i%10)
			if i%4 == 1 {
				risk = ""
			}
			fmt.Fprintf(&b, "H%s%03d,%s,医院%s-%d,%d,public,hospital,%s\n", c.code, i, c.code, c.code, i, level, risk)
		}
	}
	return b.String()
}

func parseFrame(t *testing.T, csvs ...string) []sampling.Institution {
	t.Helper()
	var frames [][]sampling.Institution
	for _, c := range csvs {
		f, err := sampling.ReadFrame(strings.NewReader(c))
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
	merged, err := sampling.MergeFrames(frames...)
	if err != nil {
		t.Fatal(err)
	}
	return merged
}

func frameConfigMap(ns, name, csv string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Data:       map[string]string{flycheckv1.FrameKey: csv},
	}
}

func mustCreate(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8sClient.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), obj) })
}

// newSample is a manifest as a user (or the Campaign controller) writes it.
func newSample(ns, name string, frames ...flycheckv1.FrameSource) *flycheckv1.InspectionSample {
	return &flycheckv1.InspectionSample{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: flycheckv1.InspectionSampleSpec{
			CampaignRef: &flycheckv1.CampaignReference{Name: "jiangsu-2020"},
			Purpose:     flycheckv1.PurposeRecheck,
			Policy:      recheckPolicy,
			Frames:      frames,
		},
	}
}

func rosterFrame(name string) flycheckv1.FrameSource { return flycheckv1.FrameSource{ConfigMap: name} }

func jobFrame(name string) flycheckv1.FrameSource { return flycheckv1.FrameSource{ScreeningJob: name} }

func getSample(t *testing.T, ns, name string) *flycheckv1.InspectionSample {
	t.Helper()
	var s flycheckv1.InspectionSample
	if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// waitSample polls the sample until check passes.
func waitSample(t *testing.T, ns, name string, check func(*flycheckv1.InspectionSample) error) *flycheckv1.InspectionSample {
	t.Helper()
	var s *flycheckv1.InspectionSample
	testenv.Eventually(t, 20*time.Second, func() error {
		s = getSample(t, ns, name)
		return check(s)
	})
	return s
}

func isDrawn(s *flycheckv1.InspectionSample) error {
	if s.Status.DrawnAt == nil {
		return fmt.Errorf("not drawn; conditions %+v", s.Status.Conditions)
	}
	return nil
}

// hasCondition checks one condition's status and reason (and that it is
// written for the current generation).
func hasCondition(s *flycheckv1.InspectionSample, typ string, st metav1.ConditionStatus, reason string) error {
	c := meta.FindStatusCondition(s.Status.Conditions, typ)
	switch {
	case c == nil:
		return fmt.Errorf("no %s condition in %+v", typ, s.Status.Conditions)
	case c.Status != st || c.Reason != reason:
		return fmt.Errorf("%s is %s/%s (%q), want %s/%s", typ, c.Status, c.Reason, c.Message, st, reason)
	case c.ObservedGeneration != s.Generation:
		return fmt.Errorf("%s observedGeneration %d, generation %d", typ, c.ObservedGeneration, s.Generation)
	}
	return nil
}

func conditionMessage(s *flycheckv1.InspectionSample, typ string) string {
	if c := meta.FindStatusCondition(s.Status.Conditions, typ); c != nil {
		return c.Message
	}
	return ""
}

// picksOf reads status.selected back as sampling picks.
func picksOf(t *testing.T, s *flycheckv1.InspectionSample) []sampling.Pick {
	t.Helper()
	out := make([]sampling.Pick, len(s.Status.Selected))
	for i, sel := range s.Status.Selected {
		risk, err := sampling.ParseRisk(sel.RiskScore)
		if err != nil {
			t.Fatalf("selected[%d].riskScore: %v", i, err)
		}
		out[i] = sampling.Pick{Code: sel.Code, Name: sel.Name, CityCode: sel.CityCode, Level: int(sel.Level),
			Ownership: sel.Ownership, Reason: sampling.Reason(sel.Reason), RiskScore: risk}
	}
	return out
}

// assertDrawEquals checks that status records exactly sampling.Draw of frame
// under the sample's policy and the given seed.
func assertDrawEquals(t *testing.T, s *flycheckv1.InspectionSample, frame []sampling.Institution, seed string, configMaps []string) sampling.Result {
	t.Helper()
	want, err := sampling.Draw(frame, samplingPolicy(s.Spec.Policy), seed)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Selected) == 0 {
		t.Fatal("the fixture draws nothing; the comparison would be vacuous")
	}
	st := s.Status
	if st.Seed != seed {
		t.Errorf("status.seed = %q, want %q", st.Seed, seed)
	}
	if got := picksOf(t, s); !slices.Equal(got, want.Selected) {
		t.Errorf("status.selected differs from sampling.Draw:\n got %+v\nwant %+v", got, want.Selected)
	}
	if st.Algorithm != sampling.Algorithm {
		t.Errorf("algorithm %q", st.Algorithm)
	}
	if st.Frame == nil || st.Frame.Digest != want.Frame.Digest || int(st.Frame.Size) != want.Frame.Size ||
		int(st.Frame.Tertiary) != want.Frame.Tertiary || !slices.Equal(st.Frame.ConfigMaps, configMaps) {
		t.Errorf("status.frame = %+v, want %+v from ConfigMaps %v", st.Frame, want.Frame, configMaps)
	}
	if st.Counts == nil || int(st.Counts.Selected) != want.Counts.Selected || int(st.Counts.Tertiary) != want.Counts.Tertiary ||
		len(st.Counts.ByCity) != len(want.Counts.ByCity) {
		t.Fatalf("status.counts = %+v, want %+v", st.Counts, want.Counts)
	}
	for i, c := range want.Counts.ByCity {
		got := st.Counts.ByCity[i]
		if got.CityCode != c.CityCode || int(got.Institutions) != c.Institutions || int(got.TertiaryInFrame) != c.TertiaryInFrame ||
			int(got.Quota) != c.Quota || int(got.Selected) != c.Selected || int(got.Tertiary) != c.Tertiary {
			t.Errorf("counts.byCity[%d] = %+v, want %+v", i, got, c)
		}
	}
	for r, n := range want.Counts.ByReason {
		if int(st.Counts.ByReason[string(r)]) != n {
			t.Errorf("counts.byReason[%s] = %d, want %d", r, st.Counts.ByReason[string(r)], n)
		}
	}
	if len(st.Shortfalls) != len(want.Shortfalls) {
		t.Errorf("shortfalls %+v, want %+v", st.Shortfalls, want.Shortfalls)
	}
	for i := range min(len(st.Shortfalls), len(want.Shortfalls)) {
		if st.Shortfalls[i].Kind != string(want.Shortfalls[i].Kind) || st.Shortfalls[i].CityCode != want.Shortfalls[i].CityCode {
			t.Errorf("shortfall %d = %+v, want %+v", i, st.Shortfalls[i], want.Shortfalls[i])
		}
	}
	if err := hasCondition(s, flycheckv1.ConditionReady, metav1.ConditionTrue, SampleReasonDrawn); err != nil {
		t.Error(err)
	}
	if err := hasCondition(s, flycheckv1.ConditionFrameChanged, metav1.ConditionFalse, SampleReasonFrameUnchanged); err != nil {
		t.Error(err)
	}
	if st.ObservedGeneration != s.Generation {
		t.Errorf("status.observedGeneration %d, generation %d", st.ObservedGeneration, s.Generation)
	}
	return want
}

// sampleEvents lists the events about one sample.
func sampleEvents(t *testing.T, ns, name string) []eventsv1.Event {
	t.Helper()
	var list eventsv1.EventList
	if err := k8sClient.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Kind == "InspectionSample" && e.Regarding.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// waitEvent waits for an event with reason about the sample and returns it.
func waitEvent(t *testing.T, ns, name, reason string) eventsv1.Event {
	t.Helper()
	var found eventsv1.Event
	testenv.Eventually(t, 10*time.Second, func() error {
		for _, e := range sampleEvents(t, ns, name) {
			if e.Reason == reason {
				found = e
				return nil
			}
		}
		return fmt.Errorf("no %s event about %s/%s", reason, ns, name)
	})
	return found
}

func countEvents(t *testing.T, ns, name, reason string) int {
	t.Helper()
	n := 0
	for _, e := range sampleEvents(t, ns, name) {
		if e.Reason == reason {
			n += max(1, eventCount(e))
		}
	}
	return n
}

// eventCount is how often a folded event occurred (1 for a single one).
func eventCount(e eventsv1.Event) int {
	if e.Series != nil {
		return int(e.Series.Count)
	}
	return 1
}

// startSampleManager runs the InspectionSample controller in a real manager
// as the given identity until stop is called (or the test ends).
func startSampleManager(t *testing.T, restCfg *rest.Config, opNS string) (stop func()) {
	t.Helper()
	return testenv.StartManager(t, restCfg, func(mgr ctrl.Manager) error {
		return (&InspectionSampleReconciler{
			Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: clock.RealClock{},
			Recorder:          mgr.GetEventRecorder("flycheck-inspectionsample-controller"),
			OperatorNamespace: opNS,
		}).SetupWithManager(mgr)
	})
}
