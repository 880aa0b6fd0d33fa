package controllers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
	"github.com/medfund/flycheck-operator/internal/sampling"
)

// ---------------------------------------------------------------------------
// Fixtures

// testCity shapes one city of a generated frame.
type testCity struct {
	code           string
	size, tertiary int
}

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

var recheckPolicy = flycheckv1.SamplingPolicy{MinPercent: 10, MinTertiaryPerCity: 2, MinTotal: 8, RiskBasedPercent: 50}

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
func jobFrame(name string) flycheckv1.FrameSource    { return flycheckv1.FrameSource{ScreeningJob: name} }

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

// samplingKey reads the key Secret as an admin would.
func samplingKey(t *testing.T, opNS string) []byte {
	t.Helper()
	var sec corev1.Secret
	if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: opNS, Name: SamplingKeySecretName}, &sec); err != nil {
		t.Fatalf("sampling key Secret: %v", err)
	}
	return sec.Data[SamplingKeyDataKey]
}

// ---------------------------------------------------------------------------
// Managers and identities

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

// rbacObjects reads the RBAC objects of a file in config/rbac: the test
// uses the shipped YAML, never a copy typed into the test.
func rbacObjects(t *testing.T, file string) []client.Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "config", "rbac", file))
	if err != nil {
		t.Fatal(err)
	}
	var out []client.Object
	for doc := range strings.SplitSeq(string(data), "\n---") {
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var obj client.Object
		switch head.Kind {
		case "":
			continue
		case "ClusterRole":
			obj = &rbacv1.ClusterRole{}
		case "Role":
			obj = &rbacv1.Role{}
		default:
			t.Fatalf("%s: unexpected kind %s", file, head.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, obj)
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no roles", file)
	}
	return out
}

// apply creates obj or replaces an existing one's rules (ClusterRoles are
// shared by the tests of one suite).
func apply(t *testing.T, obj client.Object) {
	t.Helper()
	ctx := context.Background()
	err := k8sClient.Create(ctx, obj)
	if apierrors.IsAlreadyExists(err) {
		cur := obj.DeepCopyObject().(client.Object)
		if err = k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), cur); err == nil {
			obj.SetResourceVersion(cur.GetResourceVersion())
			err = k8sClient.Update(ctx, obj)
		}
	}
	if err != nil {
		t.Fatalf("applying %T %s: %v", obj, obj.GetName(), err)
	}
}

// managerIdentity is a user holding exactly the operator's generated RBAC
// (config/rbac/role.yaml, the namespaced Role moved into opNS as kustomize
// would), so that a manager running as it proves the markers suffice.
func managerIdentity(t *testing.T, opNS string) *rest.Config {
	t.Helper()
	user := "flycheck-manager-" + opNS
	for _, obj := range rbacObjects(t, "role.yaml") {
		switch o := obj.(type) {
		case *rbacv1.ClusterRole:
			apply(t, o)
			mustCreate(t, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: user + "-" + o.Name},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: o.Name},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
			})
		case *rbacv1.Role:
			o.Namespace = opNS
			mustCreate(t, o)
			mustCreate(t, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: opNS, Name: user + "-" + o.Name},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: o.Name},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
			})
		}
	}
	u, err := testEnv.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return u.Config()
}

// ---------------------------------------------------------------------------
// Tests

// TestInspectionSampleDrawsFromRoster: a sample over a roster ConfigMap
// waits (naming the ConfigMap) while it is missing, stalls while it does not
// parse, and draws exactly sampling.Draw with the seed derived from the key
// Secret once it does.
func TestInspectionSampleDrawsFromRoster(t *testing.T) {
	ns, opNS := "isr-nanjing", "isr-op"
	createNamespace(t, ns)
	createNamespace(t, opNS)
	startSampleManager(t, cfg, opNS)

	s := newSample(ns, "spotcheck", rosterFrame("roster"))
	mustCreate(t, s)
	got := waitSample(t, ns, s.Name, func(s *flycheckv1.InspectionSample) error {
		return errors.Join(
			hasCondition(s, flycheckv1.ConditionReady, metav1.ConditionFalse, SampleReasonWaitingForFrame),
			hasCondition(s, flycheckv1.ConditionReconciling, metav1.ConditionTrue, SampleReasonWaitingForFrame),
			hasCondition(s, flycheckv1.ConditionStalled, metav1.ConditionFalse, ReasonUpToDate))
	})
	if msg := conditionMessage(got, flycheckv1.ConditionReady); !strings.Contains(msg, "roster ConfigMap roster does not exist yet") {
		t.Errorf("waiting message %q does not say which ConfigMap is missing", msg)
	}
	if got.Status.DrawnAt != nil || len(got.Status.Selected) > 0 {
		t.Fatalf("drew before the frame existed: %+v", got.Status)
	}
	waitEvent(t, ns, s.Name, SampleReasonWaitingForFrame)

	// A roster that does not parse stalls the sample, naming the line.
	cm := frameConfigMap(ns, "roster", "code,city,name\nX,1,2\n")
	mustCreate(t, cm)
	got = waitSample(t, ns, s.Name, func(s *flycheckv1.InspectionSample) error {
		return errors.Join(
			hasCondition(s, flycheckv1.ConditionReady, metav1.ConditionFalse, SampleReasonInvalidFrame),
			hasCondition(s, flycheckv1.ConditionStalled, metav1.ConditionTrue, SampleReasonInvalidFrame),
			hasCondition(s, flycheckv1.ConditionReconciling, metav1.ConditionFalse, SampleReasonInvalidFrame))
	})
	if msg := conditionMessage(got, flycheckv1.ConditionStalled); !strings.Contains(msg, "roster ConfigMap roster") || !strings.Contains(msg, "line 1") {
		t.Errorf("stalled message %q does not name the ConfigMap and line", msg)
	}
	if got.Status.DrawnAt != nil {
		t.Fatal("drew from an invalid roster")
	}
	waitEvent(t, ns, s.Name, SampleReasonInvalidFrame)

	// Nanjing has 30 institutions, 1 tertiary: a TertiaryBelowMinimum
	// shortfall; the minTotal 8 forces a top-up.
	csv := makeFrameCSV(testCity{"320100", 30, 1}, testCity{"320101", 12, 4})
	cm.Data[flycheckv1.FrameKey] = csv
	if err := k8sClient.Update(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	got = waitSample(t, ns, s.Name, isDrawn)
	key := samplingKey(t, opNS)
	seed := sampling.DeriveSeed(key, "jiangsu-2020", "Recheck", ns) // scope defaults to the namespace
	want := assertDrawEquals(t, got, parseFrame(t, csv), seed, []string{"roster"})
	if err := hasCondition(got, flycheckv1.ConditionStalled, metav1.ConditionFalse, ReasonUpToDate); err != nil {
		t.Error(err)
	}
	if len(want.Shortfalls) == 0 || want.Shortfalls[0].Kind != sampling.ShortfallTertiary {
		t.Fatalf("fixture should have a tertiary shortfall: %+v", want.Shortfalls)
	}

	drawn := waitEvent(t, ns, s.Name, SampleReasonDrawn)
	wantNote := fmt.Sprintf("Drew %d of %d institutions (%d tertiary)", want.Counts.Selected, want.Frame.Size, want.Counts.Tertiary)
	if drawn.Type != corev1.EventTypeNormal || !strings.Contains(drawn.Note, wantNote) || !strings.Contains(drawn.Note, "320100") {
		t.Errorf("Drawn event %s %q, want a Normal event with %q and the per-city counts", drawn.Type, drawn.Note, wantNote)
	}
	short := waitEvent(t, ns, s.Name, string(sampling.ShortfallTertiary))
	if short.Type != corev1.EventTypeWarning || !strings.Contains(short.Note, "320100") {
		t.Errorf("shortfall event %s %q", short.Type, short.Note)
	}
}

// TestInspectionSampleDrawsFromScreeningJob: the frame of a ScreeningJob is
// used only once the job has Succeeded and names its frame ConfigMap (status
// set here as the ScreeningJob controller would); several frames are merged;
// a failed ScreeningJob stalls the sample.
func TestInspectionSampleDrawsFromScreeningJob(t *testing.T) {
	ns, opNS := "isj-province", "isj-op"
	createNamespace(t, ns)
	createNamespace(t, opNS)
	startSampleManager(t, cfg, opNS)
	ctx := context.Background()

	newJob := func(name string) *flycheckv1.ScreeningJob {
		sj := &flycheckv1.ScreeningJob{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: flycheckv1.ScreeningJobSpec{
				Source:   flycheckv1.DataSource{PersistentVolumeClaim: "claims"},
				Output:   flycheckv1.OutputLocation{PersistentVolumeClaim: "findings"},
				RuleSets: []string{"national-2020"},
			},
		}
		mustCreate(t, sj)
		return sj
	}
	setJobStatus := func(sj *flycheckv1.ScreeningJob, state flycheckv1.ScreeningState, frameCM, digest, msg string) {
		t.Helper()
		sj.Status.State = state
		sj.Status.FrameConfigMap, sj.Status.FrameDigest = frameCM, digest
		if msg != "" {
			meta.SetStatusCondition(&sj.Status.Conditions, metav1.Condition{Type: flycheckv1.ConditionReady,
				Status: metav1.ConditionFalse, Reason: "ShardsFailed", Message: msg})
		}
		if err := k8sClient.Status().Update(ctx, sj); err != nil {
			t.Fatal(err)
		}
	}

	nanjing := newJob("screen-nanjing")
	setJobStatus(nanjing, flycheckv1.ScreeningRunning, "", "", "")

	// A province-wide fly-check over Nanjing's screening frame and Wuxi's
	// roster, with a fixed seed.
	s := newSample(ns, "flycheck", jobFrame("screen-nanjing"), rosterFrame("wuxi-roster"))
	s.Spec.Purpose = flycheckv1.PurposeFlyCheck
	s.Spec.Policy = flycheckv1.SamplingPolicy{MinPercent: 0, MinTertiaryPerCity: 2, MinTotal: 9, RiskBasedPercent: 40}
	s.Spec.Seed = "drill-seed-2020"
	mustCreate(t, s)
	got := waitSample(t, ns, s.Name, func(s *flycheckv1.InspectionSample) error {
		return hasCondition(s, flycheckv1.ConditionReady, metav1.ConditionFalse, SampleReasonWaitingForFrame)
	})
	msg := conditionMessage(got, flycheckv1.ConditionReady)
	if !strings.Contains(msg, "ScreeningJob screen-nanjing is Running") || !strings.Contains(msg, "roster ConfigMap wuxi-roster does not exist yet") {
		t.Errorf("waiting message %q should name both frames and why", msg)
	}

	wuxiCSV := makeFrameCSV(testCity{"320200", 15, 3})
	nanjingCSV := makeFrameCSV(testCity{"320100", 25, 5})
	mustCreate(t, frameConfigMap(ns, "wuxi-roster", wuxiCSV))
	mustCreate(t, frameConfigMap(ns, "screen-nanjing-frame", nanjingCSV))
	// The frame ConfigMap exists, but the job has not said it succeeded.
	got = waitSample(t, ns, s.Name, func(s *flycheckv1.InspectionSample) error {
		if m := conditionMessage(s, flycheckv1.ConditionReady); strings.Contains(m, "wuxi-roster") {
			return fmt.Errorf("still waiting for the roster: %s", m)
		}
		return hasCondition(s, flycheckv1.ConditionReady, metav1.ConditionFalse, SampleReasonWaitingForFrame)
	})
	if got.Status.DrawnAt != nil {
		t.Fatal("drew while the ScreeningJob was still running")
	}

	setJobStatus(nanjing, flycheckv1.ScreeningSucceeded, "", "", "")
	got = waitSample(t, ns, s.Name, func(s *flycheckv1.InspectionSample) error {
		if m := conditionMessage(s, flycheckv1.ConditionReady); !strings.Contains(m, "succeeded but names no frame ConfigMap") {
			return fmt.Errorf("message %q", m)
		}
		return nil
	})
	if got.Status.DrawnAt != nil {
		t.Fatal("drew before the ScreeningJob named its frame")
	}

	// A frame ConfigMap that does not hold what the ScreeningJob reported
	// (someone replaced it) is refused: the sample stalls, nothing is drawn.
	nanjingDigest, err := sampling.Digest(parseFrame(t, nanjingCSV))
	if err != nil {
		t.Fatal(err)
	}
	setJobStatus(nanjing, flycheckv1.ScreeningSucceeded, "screen-nanjing-frame", strings.Repeat("0", 64), "")
	got = waitSample(t, ns, s.Name, func(s *flycheckv1.InspectionSample) error {
		return hasCondition(s, flycheckv1.ConditionStalled, metav1.ConditionTrue, SampleReasonFrameDigestMismatch)
	})
	if got.Status.DrawnAt != nil || !strings.Contains(conditionMessage(got, flycheckv1.ConditionReady), nanjingDigest) {
		t.Fatalf("a replaced frame: drawn %v, message %q", got.Status.DrawnAt, conditionMessage(got, flycheckv1.ConditionReady))
	}

	setJobStatus(nanjing, flycheckv1.ScreeningSucceeded, "screen-nanjing-frame", nanjingDigest, "")
	got = waitSample(t, ns, s.Name, isDrawn)
	assertDrawEquals(t, got, parseFrame(t, nanjingCSV, wuxiCSV), "drill-seed-2020", []string{"screen-nanjing-frame", "wuxi-roster"})
	waitEvent(t, ns, s.Name, SampleReasonDrawn)

	// A failed ScreeningJob: Stalled, saying so.
	failed := newJob("screen-suzhou")
	setJobStatus(failed, flycheckv1.ScreeningFailed, "", "", "shard 2 of 4 failed: OOMKilled")
	bad := newSample(ns, "suzhou", jobFrame("screen-suzhou"))
	mustCreate(t, bad)
	got = waitSample(t, ns, bad.Name, func(s *flycheckv1.InspectionSample) error {
		return errors.Join(
			hasCondition(s, flycheckv1.ConditionStalled, metav1.ConditionTrue, SampleReasonFrameFailed),
			hasCondition(s, flycheckv1.ConditionReady, metav1.ConditionFalse, SampleReasonFrameFailed))
	})
	if m := conditionMessage(got, flycheckv1.ConditionStalled); !strings.Contains(m, "ScreeningJob screen-suzhou failed: shard 2 of 4 failed") {
		t.Errorf("stalled message %q", m)
	}
	if ev := waitEvent(t, ns, bad.Name, SampleReasonFrameFailed); ev.Type != corev1.EventTypeWarning {
		t.Errorf("FrameFailed event is %s", ev.Type)
	}
}

// TestInspectionSampleRecreatedFromSameManifest: deleting a sample and
// applying the same manifest again (GitOps) gives the identical selection,
// because the seed is derived from the same key Secret.
func TestInspectionSampleRecreatedFromSameManifest(t *testing.T) {
	ns, opNS := "isre-wuxi", "isre-op"
	createNamespace(t, ns)
	createNamespace(t, opNS)
	startSampleManager(t, cfg, opNS)
	ctx := context.Background()
	mustCreate(t, frameConfigMap(ns, "roster", makeFrameCSV(testCity{"320200", 40, 6})))

	manifest := func() *flycheckv1.InspectionSample {
		s := newSample(ns, "spotcheck", rosterFrame("roster"))
		s.Spec.Scope = "320200"
		return s
	}
	first := manifest()
	mustCreate(t, first)
	drawn1 := waitSample(t, ns, first.Name, isDrawn)
	if len(drawn1.Status.Selected) == 0 {
		t.Fatal("nothing selected")
	}

	if err := k8sClient.Delete(ctx, first); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		err := k8sClient.Get(ctx, client.ObjectKeyFromObject(first), &flycheckv1.InspectionSample{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there: %v", err)
	})
	second := manifest()
	mustCreate(t, second)
	drawn2 := waitSample(t, ns, second.Name, func(s *flycheckv1.InspectionSample) error {
		if s.UID == drawn1.UID {
			return errors.New("the old object")
		}
		return isDrawn(s)
	})
	if drawn2.Status.Seed != drawn1.Status.Seed {
		t.Errorf("seed changed on re-creation: %s then %s", drawn1.Status.Seed, drawn2.Status.Seed)
	}
	if !slices.Equal(picksOf(t, drawn2), picksOf(t, drawn1)) {
		t.Errorf("selection changed on re-creation:\n%+v\n%+v", drawn1.Status.Selected, drawn2.Status.Selected)
	}
	if want := sampling.DeriveSeed(samplingKey(t, opNS), "jiangsu-2020", "Recheck", "320200"); drawn2.Status.Seed != want {
		t.Errorf("seed %s, want HMAC(key, jiangsu-2020|Recheck|320200) = %s", drawn2.Status.Seed, want)
	}

	// The same frame under another scope draws with another seed: the
	// identical result above is the derivation, not a constant.
	other := manifest()
	other.Name, other.Spec.Scope = "spotcheck-other", "320299"
	mustCreate(t, other)
	drawn3 := waitSample(t, ns, other.Name, isDrawn)
	if drawn3.Status.Seed == drawn1.Status.Seed {
		t.Error("a different scope derived the same seed")
	}
}

// TestInspectionSampleSurvivesRestart runs the controller as the operator's
// own RBAC identity, stops the manager, starts a new one: the sample is not
// redrawn (not even rewritten). Changing the frame afterwards sets
// FrameChanged, with one Warning event, and leaves the selection alone.
func TestInspectionSampleSurvivesRestart(t *testing.T) {
	ns, opNS := "isrs-xuzhou", "isrs-op"
	createNamespace(t, ns)
	createNamespace(t, opNS)
	managerCfg := managerIdentity(t, opNS)
	ctx := context.Background()

	csv := makeFrameCSV(testCity{"320300", 35, 4})
	roster := frameConfigMap(ns, "roster", csv)
	mustCreate(t, roster)
	s := newSample(ns, "spotcheck", rosterFrame("roster"))
	mustCreate(t, s)

	stop := startSampleManager(t, managerCfg, opNS)
	before := waitSample(t, ns, s.Name, isDrawn)
	assertDrawEquals(t, before, parseFrame(t, csv), sampling.DeriveSeed(samplingKey(t, opNS), "jiangsu-2020", "Recheck", ns), []string{"roster"})
	waitEvent(t, ns, s.Name, SampleReasonDrawn)
	stop()

	startSampleManager(t, managerCfg, opNS)
	// A sample created after the restart is drawn: the new manager is up and
	// has been through its initial list, which includes the old sample.
	mustCreate(t, frameConfigMap(ns, "roster-2", makeFrameCSV(testCity{"320301", 10, 2})))
	sentinel := newSample(ns, "sentinel", rosterFrame("roster-2"))
	mustCreate(t, sentinel)
	waitSample(t, ns, sentinel.Name, isDrawn)
	time.Sleep(500 * time.Millisecond)

	after := getSample(t, ns, s.Name)
	if after.ResourceVersion != before.ResourceVersion {
		t.Errorf("the restart rewrote the sample: resourceVersion %s -> %s\n%+v", before.ResourceVersion, after.ResourceVersion, after.Status)
	}
	if !after.Status.DrawnAt.Equal(before.Status.DrawnAt) || !slices.Equal(picksOf(t, after), picksOf(t, before)) {
		t.Fatalf("redrawn after the restart: drawnAt %v -> %v", before.Status.DrawnAt, after.Status.DrawnAt)
	}
	if n := countEvents(t, ns, s.Name, SampleReasonDrawn); n != 1 {
		t.Errorf("%d Drawn events, want 1", n)
	}

	// Change one institution's risk: the frame digest changes.
	roster.Data[flycheckv1.FrameKey] = strings.Replace(csv, "H320300002,320300,医院320300-2,3,public,hospital,3.2",
		"H320300002,320300,医院320300-2,3,public,hospital,99", 1)
	if roster.Data[flycheckv1.FrameKey] == csv {
		t.Fatal("fixture: the row to change was not found")
	}
	if err := k8sClient.Update(ctx, roster); err != nil {
		t.Fatal(err)
	}
	newDigest, err := sampling.Digest(parseFrame(t, roster.Data[flycheckv1.FrameKey]))
	if err != nil {
		t.Fatal(err)
	}
	changed := waitSample(t, ns, s.Name, func(s *flycheckv1.InspectionSample) error {
		return hasCondition(s, flycheckv1.ConditionFrameChanged, metav1.ConditionTrue, SampleReasonDigestChanged)
	})
	msg := conditionMessage(changed, flycheckv1.ConditionFrameChanged)
	if !strings.Contains(msg, newDigest) || !strings.Contains(msg, before.Status.Frame.Digest) {
		t.Errorf("FrameChanged message %q should name both digests (%s, %s)", msg, before.Status.Frame.Digest, newDigest)
	}
	if err := hasCondition(changed, flycheckv1.ConditionReady, metav1.ConditionTrue, SampleReasonDrawn); err != nil {
		t.Error(err)
	}
	if !changed.Status.DrawnAt.Equal(before.Status.DrawnAt) || !slices.Equal(picksOf(t, changed), picksOf(t, before)) ||
		changed.Status.Seed != before.Status.Seed || changed.Status.Frame.Digest != before.Status.Frame.Digest {
		t.Fatalf("the frame change touched the draw:\n%+v\n%+v", before.Status, changed.Status)
	}
	ev := waitEvent(t, ns, s.Name, SampleReasonFrameChanged)
	if ev.Type != corev1.EventTypeWarning || !strings.Contains(ev.Note, newDigest) {
		t.Errorf("FrameChanged event %s %q", ev.Type, ev.Note)
	}
	time.Sleep(500 * time.Millisecond) // a duplicate would show up by now
	if n := countEvents(t, ns, s.Name, SampleReasonFrameChanged); n != 1 {
		t.Errorf("%d FrameChanged events, want 1", n)
	}
	if n := countEvents(t, ns, s.Name, SampleReasonDrawn); n != 1 {
		t.Errorf("%d Drawn events after the frame change, want 1", n)
	}
}

// TestInspectionSampleStaleCopyDoesNotRedraw drives the reconciler with a
// copy of the sample read before it was drawn, as a stale cache would hand
// it over: the optimistic lock makes the second draw's write fail, and the
// recorded draw wins.
func TestInspectionSampleStaleCopyDoesNotRedraw(t *testing.T) {
	ns, opNS := "isstale-city", "isstale-op"
	createNamespace(t, ns)
	createNamespace(t, opNS)
	ctx := context.Background()
	mustCreate(t, frameConfigMap(ns, "roster", makeFrameCSV(testCity{"320400", 20, 3})))
	s := newSample(ns, "spotcheck", rosterFrame("roster"))
	mustCreate(t, s)
	stale := getSample(t, ns, s.Name)
	if stale.Status.DrawnAt != nil {
		t.Fatal("drawn already")
	}

	clk := clocktesting.NewFakeClock(time.Date(2020, 7, 1, 9, 0, 0, 0, time.UTC))
	r := &InspectionSampleReconciler{Client: k8sClient, APIReader: k8sClient, Clock: clk, Recorder: recorder, OperatorNamespace: opNS}
	if err := r.reconcileSample(ctx, getSample(t, ns, s.Name)); err != nil {
		t.Fatal(err)
	}
	drawn := getSample(t, ns, s.Name)
	if drawn.Status.DrawnAt == nil || !drawn.Status.DrawnAt.Time.Equal(clk.Now()) {
		t.Fatalf("first draw: drawnAt %v", drawn.Status.DrawnAt)
	}

	clk.Step(time.Hour) // a redraw would record the new time
	if res, err := finish(ctrl.Result{}, r.reconcileSample(ctx, stale)); err != nil || res.RequeueAfter == 0 {
		t.Fatalf("the stale copy's write: %v, %+v; want a conflict turned into a requeue", err, res)
	}
	again := getSample(t, ns, s.Name)
	if !again.Status.DrawnAt.Equal(drawn.Status.DrawnAt) || again.ResourceVersion != drawn.ResourceVersion {
		t.Errorf("the stale copy redrew: drawnAt %v -> %v, resourceVersion %s -> %s",
			drawn.Status.DrawnAt, again.Status.DrawnAt, drawn.ResourceVersion, again.ResourceVersion)
	}
	time.Sleep(300 * time.Millisecond)
	if n := countEvents(t, ns, s.Name, SampleReasonDrawn); n != 1 {
		t.Errorf("%d Drawn events, want 1", n)
	}
}

// TestSamplingKeySecret: the key Secret is created once, in the operator
// namespace only, with 32 bytes from crypto/rand; concurrent creators agree
// on one key; the key appears in no status and no event; a Secret that holds
// no usable key stalls the draw and is left alone.
func TestSamplingKeySecret(t *testing.T) {
	cityA, cityB, opNS := "iskey-a", "iskey-b", "iskey-op"
	for _, ns := range []string{cityA, cityB, opNS} {
		createNamespace(t, ns)
	}
	ctx := context.Background()
	stop := startSampleManager(t, managerIdentity(t, opNS), opNS)

	var samples []*flycheckv1.InspectionSample
	for i, ns := range []string{cityA, cityB} {
		mustCreate(t, frameConfigMap(ns, "roster", makeFrameCSV(testCity{fmt.Sprintf("32050%d", i), 20, 3})))
		s := newSample(ns, "spotcheck", rosterFrame("roster"))
		mustCreate(t, s)
		samples = append(samples, s)
	}
	fixed := newSample(cityA, "drill", rosterFrame("roster"))
	fixed.Spec.Seed = "fixed"
	mustCreate(t, fixed)
	for _, s := range append(samples, fixed) {
		waitSample(t, s.Namespace, s.Name, isDrawn)
	}

	var secrets corev1.SecretList
	if err := k8sClient.List(ctx, &secrets, client.InNamespace(opNS)); err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items) != 1 || secrets.Items[0].Name != SamplingKeySecretName {
		t.Fatalf("operator namespace holds %d Secrets, want only %s", len(secrets.Items), SamplingKeySecretName)
	}
	sec := secrets.Items[0]
	key := sec.Data[SamplingKeyDataKey]
	if len(key) < 32 || bytes.Count(key, key[:1]) == len(key) {
		t.Fatalf("key is %d bytes %x, want 32 random bytes", len(key), key)
	}
	if sec.Immutable == nil || !*sec.Immutable {
		t.Error("the key Secret is not immutable")
	}
	for i, s := range samples {
		got := getSample(t, s.Namespace, s.Name)
		if want := sampling.DeriveSeed(key, "jiangsu-2020", "Recheck", s.Namespace); got.Status.Seed != want {
			t.Errorf("sample %d: seed %s, want %s", i, got.Status.Seed, want)
		}
	}

	// Nothing of the key outside the operator namespace.
	forms := map[string]string{"hex": hex.EncodeToString(key), "base64": base64.StdEncoding.EncodeToString(key),
		"raw": string(key), "base64url": base64.RawURLEncoding.EncodeToString(key)}
	for _, ns := range []string{cityA, cityB} {
		var list corev1.SecretList
		if err := k8sClient.List(ctx, &list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, sec := range list.Items {
			for k, v := range sec.Data {
				if sec.Name == SamplingKeySecretName || bytes.Contains(v, key) {
					t.Errorf("the key was copied into %s/%s (%s)", ns, sec.Name, k)
				}
			}
		}
		var isamples flycheckv1.InspectionSampleList
		if err := k8sClient.List(ctx, &isamples, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		var evs eventsv1.EventList
		if err := k8sClient.List(ctx, &evs, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if len(isamples.Items) == 0 || len(evs.Items) == 0 {
			t.Fatalf("%s: nothing to search (%d samples, %d events)", ns, len(isamples.Items), len(evs.Items))
		}
		for what, obj := range map[string]any{"InspectionSamples": isamples, "events": evs} {
			data, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			for form, v := range forms {
				if strings.Contains(string(data), v) {
					t.Errorf("the key (%s) appears in the %s of %s", form, what, ns)
				}
			}
		}
	}
	var allEvents eventsv1.EventList
	if err := k8sClient.List(ctx, &allEvents); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(allEvents)
	for form, v := range forms {
		if strings.Contains(string(data), v) {
			t.Errorf("the key (%s) appears in an event", form)
		}
	}

	// Concurrent first use: every caller gets the one key that was stored.
	raceNS := "iskey-race"
	createNamespace(t, raceNS)
	store := samplingKeyStore(k8sClient, k8sClient, raceNS)
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := store.get(ctx)
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	stored := samplingKey(t, raceNS)
	for i, k := range keys {
		if !bytes.Equal(k, stored) {
			t.Errorf("caller %d got %x, the Secret holds %x", i, k, stored)
		}
	}

	// A Secret without a usable key: stalled, and not overwritten. (The
	// manager is stopped so that only this reconciler sees the new sample.)
	stop()
	badNS := "iskey-bad"
	createNamespace(t, badNS)
	short := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: badNS, Name: SamplingKeySecretName},
		Data: map[string][]byte{SamplingKeyDataKey: []byte("short")}}
	mustCreate(t, short)
	bad := newSample(cityA, "bad-key", rosterFrame("roster"))
	mustCreate(t, bad)
	r := &InspectionSampleReconciler{Client: k8sClient, APIReader: k8sClient, Clock: clock.RealClock{}, Recorder: recorder, OperatorNamespace: badNS}
	if err := r.reconcileSample(ctx, getSample(t, cityA, bad.Name)); err == nil {
		t.Error("an unusable key did not fail the reconcile")
	}
	got := getSample(t, cityA, bad.Name)
	if err := hasCondition(got, flycheckv1.ConditionStalled, metav1.ConditionTrue, SampleReasonSamplingKeyInvalid); err != nil {
		t.Error(err)
	}
	if got.Status.DrawnAt != nil {
		t.Error("drew without a usable key")
	}
	if k := samplingKey(t, badNS); string(k) != "short" {
		t.Errorf("the bad key Secret was overwritten with %x", k)
	}
}

// TestCityViewerRBAC binds the shipped reader ClusterRoles (loaded from
// config/rbac) as docs/rbac.md says, and checks with real users against the
// apiserver's RBAC what a city bureau and the province can read.
func TestCityViewerRBAC(t *testing.T) {
	cityA, cityB, province, opNS := "rbac-nanjing", "rbac-wuxi", "rbac-province", "rbac-op"
	for _, ns := range []string{cityA, cityB, province, opNS} {
		createNamespace(t, ns)
	}
	ctx := context.Background()
	for _, f := range []string{"city_viewer_role.yaml", "campaign_viewer_role.yaml", "province_admin_role.yaml"} {
		for _, obj := range rbacObjects(t, f) {
			apply(t, obj)
		}
	}
	// Objects as the operator would leave them.
	for _, ns := range []string{cityA, cityB, province} {
		mustCreate(t, newSample(ns, "sample", rosterFrame("roster")))
		mustCreate(t, frameConfigMap(ns, "roster", makeFrameCSV(testCity{"320100", 3, 1})))
	}
	if _, err := samplingKeyStore(k8sClient, k8sClient, opNS).get(ctx); err != nil {
		t.Fatal(err)
	}

	// docs/rbac.md: the Nanjing bureau's group gets flycheck-city-viewer in
	// its namespace and flycheck-campaign-viewer cluster-wide.
	const group = "flycheck:city:nanjing"
	mustCreate(t, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: cityA, Name: "flycheck-city-viewer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "flycheck-city-viewer"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}},
	})
	mustCreate(t, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "flycheck-campaign-viewer-nanjing"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "flycheck-campaign-viewer"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}},
	})
	mustCreate(t, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "flycheck-province-admin-it"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "flycheck-province-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "province-it"}},
	})
	userClient := func(u envtest.User) client.Client {
		au, err := testEnv.AddUser(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(au.Config(), client.Options{Scheme: testScheme})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	city := userClient(envtest.User{Name: "zhang.wei", Groups: []string{group}})
	admin := userClient(envtest.User{Name: "province-it"})

	key := func(ns, name string) types.NamespacedName { return types.NamespacedName{Namespace: ns, Name: name} }
	type check struct {
		what    string
		call    func(c client.Client) error
		allowed bool
	}
	getSampleIn := func(ns string) func(client.Client) error {
		return func(c client.Client) error { return c.Get(ctx, key(ns, "sample"), &flycheckv1.InspectionSample{}) }
	}
	listSamplesIn := func(ns string) func(client.Client) error {
		return func(c client.Client) error {
			var l flycheckv1.InspectionSampleList
			if err := c.List(ctx, &l, client.InNamespace(ns)); err != nil {
				return err
			}
			if ns != "" && len(l.Items) != 1 {
				return fmt.Errorf("listed %d samples in %s", len(l.Items), ns)
			}
			return nil
		}
	}
	getKey := func(c client.Client) error { return c.Get(ctx, key(opNS, SamplingKeySecretName), &corev1.Secret{}) }
	cityChecks := []check{
		{"get the sample in its city", getSampleIn(cityA), true},
		{"list samples in its city", listSamplesIn(cityA), true},
		{"get its city's frame ConfigMap", func(c client.Client) error { return c.Get(ctx, key(cityA, "roster"), &corev1.ConfigMap{}) }, true},
		{"list ScreeningJobs in its city", func(c client.Client) error {
			return c.List(ctx, &flycheckv1.ScreeningJobList{}, client.InNamespace(cityA))
		}, true},
		{"list campaigns", func(c client.Client) error { return c.List(ctx, &flycheckv1.CampaignList{}) }, true},
		{"get a sample in another city", getSampleIn(cityB), false},
		{"list samples in another city", listSamplesIn(cityB), false},
		{"get the province's fly-check sample", getSampleIn(province), false},
		{"list samples in the province", listSamplesIn(province), false},
		{"list samples in all namespaces", listSamplesIn(""), false},
		{"get another city's ConfigMap", func(c client.Client) error { return c.Get(ctx, key(cityB, "roster"), &corev1.ConfigMap{}) }, false},
		{"get the sampling key Secret", getKey, false},
		{"list Secrets in its city", func(c client.Client) error { return c.List(ctx, &corev1.SecretList{}, client.InNamespace(cityA)) }, false},
		{"create a sample in its city", func(c client.Client) error {
			return c.Create(ctx, newSample(cityA, "forged", rosterFrame("roster")))
		}, false},
		{"delete the sample in its city", func(c client.Client) error {
			return c.Delete(ctx, &flycheckv1.InspectionSample{ObjectMeta: metav1.ObjectMeta{Namespace: cityA, Name: "sample"}})
		}, false},
	}
	adminChecks := []check{
		{"list samples in all namespaces", listSamplesIn(""), true},
		{"get the province's fly-check sample", getSampleIn(province), true},
		{"get a city's frame ConfigMap", func(c client.Client) error { return c.Get(ctx, key(cityB, "roster"), &corev1.ConfigMap{}) }, true},
		{"create a sample", func(c client.Client) error {
			s := newSample(province, "by-admin", rosterFrame("roster"))
			if err := c.Create(ctx, s); err != nil {
				return err
			}
			return k8sClient.Delete(ctx, s)
		}, true},
		{"get the sampling key Secret", getKey, false},
		{"write a sample's status", func(c client.Client) error {
			s := &flycheckv1.InspectionSample{}
			if err := c.Get(ctx, key(province, "sample"), s); err != nil {
				return err
			}
			s.Status.Seed = "forged"
			return c.Status().Update(ctx, s)
		}, false},
	}
	run := func(who string, c client.Client, checks []check) {
		for _, ch := range checks {
			err := ch.call(c)
			switch {
			case ch.allowed && err != nil:
				t.Errorf("%s cannot %s: %v", who, ch.what, err)
			case !ch.allowed && !apierrors.IsForbidden(err):
				t.Errorf("%s can %s (err %v), want Forbidden", who, ch.what, err)
			}
		}
	}
	run("the Nanjing bureau", city, cityChecks)
	run("province IT", admin, adminChecks)

	// The denials are RBAC's, not missing objects: the admin of the test
	// suite reads the same objects.
	for _, ns := range []string{cityB, province} {
		if err := getSampleIn(ns)(k8sClient); err != nil {
			t.Fatal(err)
		}
	}
	if err := getKey(k8sClient); err != nil {
		t.Fatal(err)
	}
}

// TestInspectionSampleSpecImmutable: the apiserver rejects any change of
// spec, naming the field.
func TestInspectionSampleSpecImmutable(t *testing.T) {
	ns := "isimm-city"
	createNamespace(t, ns)
	ctx := context.Background()
	s := newSample(ns, "spotcheck", rosterFrame("roster"))
	mustCreate(t, s)

	for name, mutate := range map[string]func(*flycheckv1.InspectionSample){
		"seed":       func(s *flycheckv1.InspectionSample) { s.Spec.Seed = "chosen-after-the-fact" },
		"minPercent": func(s *flycheckv1.InspectionSample) { s.Spec.Policy.MinPercent = 50 },
		"frames":     func(s *flycheckv1.InspectionSample) { s.Spec.Frames = append(s.Spec.Frames, rosterFrame("more")) },
	} {
		cur := getSample(t, ns, s.Name)
		mutate(cur)
		err := k8sClient.Update(ctx, cur)
		if !apierrors.IsInvalid(err) {
			t.Errorf("changing spec.%s: err %v, want Invalid", name, err)
			continue
		}
		var se *apierrors.StatusError
		if !errors.As(err, &se) || se.ErrStatus.Details == nil || len(se.ErrStatus.Details.Causes) == 0 ||
			se.ErrStatus.Details.Causes[0].Field != "spec" || !strings.Contains(err.Error(), "spec is immutable") {
			t.Errorf("changing spec.%s: %v; want a cause on field spec saying it is immutable", name, err)
		}
	}
	// Metadata is not spec: labels may still change.
	cur := getSample(t, ns, s.Name)
	cur.Labels = map[string]string{"reviewed": "yes"}
	if err := k8sClient.Update(ctx, cur); err != nil {
		t.Errorf("updating labels: %v", err)
	}
	// The policy defaults when a manifest omits it.
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(`
apiVersion: flycheck.medfund.io/v1alpha1
kind: InspectionSample
metadata: {name: defaults, namespace: `+ns+`}
spec:
  purpose: Recheck
  frames: [{configMap: roster}]
`), &u.Object); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, u)
	if p := getSample(t, ns, "defaults").Spec.Policy; p.MinPercent != 10 || p.MinTertiaryPerCity != 2 {
		t.Errorf("policy of a manifest without one: %+v, want the Campaign defaults 10/2", p)
	}
}
