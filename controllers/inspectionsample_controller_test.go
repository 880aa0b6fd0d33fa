package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
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

var recheckPolicy = flycheckv1.SamplingPolicy{MinPercent: 10, MinTertiaryPerCity: 2, MinTotal: 8, RiskBasedPercent: 50}

// ---------------------------------------------------------------------------
// Managers and identities

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
