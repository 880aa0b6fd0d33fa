package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/controllers/testenv"
	"github.com/medfund/flycheck-operator/internal/sampling"
)

// runSampleController runs the InspectionSample controller against the
// package's envtest apiserver until the returned stop is called.
func runSampleController(t *testing.T, opNS string) (stop func()) {
	t.Helper()
	return testenv.StartManager(t, testCfg, func(mgr ctrl.Manager) error {
		return (&controllers.InspectionSampleReconciler{
			Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: clock.RealClock{},
			Recorder: mgr.GetEventRecorder("flycheck-inspectionsample-controller"), OperatorNamespace: opNS,
		}).SetupWithManager(mgr)
	})
}

// splitFrame returns the header plus the rows of testFrame whose cityCode
// is city.
func splitFrame(city string) string {
	lines := strings.Split(strings.TrimSpace(testFrame), "\n")
	out := []string{lines[0]}
	for _, l := range lines[1:] {
		if strings.Split(l, ",")[1] == city {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// TestSampleVerifyFromCluster draws a real sample with the controller over
// two roster ConfigMaps, then verifies it through a kubeconfig: match for
// the real draw, the first difference for a tampered copy and for a frame
// changed after the draw.
func TestSampleVerifyFromCluster(t *testing.T) {
	ns, opNS := "verify-province", "verify-op"
	testenv.CreateNamespace(t, testClient, ns)
	testenv.CreateNamespace(t, testClient, opNS)
	ctx := context.Background()

	rosters := map[string]string{"roster-nanjing": splitFrame("320100"), "roster-wuxi": splitFrame("320200")}
	for name, csv := range rosters {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Data: map[string]string{flycheckv1.FrameKey: csv}}
		if err := testClient.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}
	manifest := func(name string) *flycheckv1.InspectionSample {
		return &flycheckv1.InspectionSample{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: flycheckv1.InspectionSampleSpec{
				CampaignRef: &flycheckv1.CampaignReference{Name: "jiangsu-2020"},
				Purpose:     flycheckv1.PurposeFlyCheck,
				Policy:      flycheckv1.SamplingPolicy{MinPercent: 40, MinTertiaryPerCity: 2, MinTotal: 7, RiskBasedPercent: 50},
				Frames:      []flycheckv1.FrameSource{{ConfigMap: "roster-nanjing"}, {ConfigMap: "roster-wuxi"}},
				Scope:       "province",
			},
		}
	}
	real := manifest("flycheck")
	if err := testClient.Create(ctx, real); err != nil {
		t.Fatal(err)
	}
	stop := runSampleController(t, opNS)
	testenv.Eventually(t, 20*time.Second, func() error {
		if err := testClient.Get(ctx, client.ObjectKeyFromObject(real), real); err != nil {
			return err
		}
		if real.Status.DrawnAt == nil {
			return errors.New("not drawn yet")
		}
		return nil
	})
	// Nothing may change the objects behind the test's back from here on.
	stop()
	if real.Status.Seed == "" || real.Status.Algorithm != sampling.Algorithm || len(real.Status.Selected) != 7 {
		t.Fatalf("the controller's draw: seed %q, %d selected", real.Status.Seed, len(real.Status.Selected))
	}

	ref := ns + "/" + real.Name
	stdout, stderr, err := run(t, "", "sample", "verify", "--from-cluster", ref, "--kubeconfig", testKubeconfig)
	if err != nil || stdout != "match\n" {
		t.Fatalf("verify the real draw: %q %q %v", stdout, stderr, err)
	}
	if !strings.Contains(stderr, "from ConfigMap "+real.Status.Frame.Snapshot+" (the snapshot of roster-nanjing, roster-wuxi") ||
		!strings.Contains(stderr, real.Status.Seed) {
		t.Errorf("stderr %q should say which ConfigMaps and seed were used", stderr)
	}
	// The same through $KUBECONFIG.
	t.Setenv("KUBECONFIG", testKubeconfig)
	if stdout, stderr, err := run(t, "", "sample", "verify", "--from-cluster", ref); err != nil || stdout != "match\n" {
		t.Fatalf("verify via KUBECONFIG: %q %q %v", stdout, stderr, err)
	}

	// A copy whose recorded selection was tampered with: entry 3 names an
	// institution the draw did not pick.
	picked := map[string]bool{}
	for _, s := range real.Status.Selected {
		picked[s.Code] = true
	}
	var other string
	for _, c := range []string{"A1", "A2", "A3", "A4", "A5", "B1", "B2", "B3", "B4"} {
		if !picked[c] {
			other = c
			break
		}
	}
	if other == "" {
		t.Fatal("fixture: every institution was picked")
	}
	cp := manifest("flycheck-copy")
	if err := testClient.Create(ctx, cp); err != nil {
		t.Fatal(err)
	}
	cp.Status = *real.Status.DeepCopy()
	cp.Status.Selected[2].Code = other
	if err := testClient.Status().Update(ctx, cp); err != nil {
		t.Fatal(err)
	}
	stdout, _, err = run(t, "", "sample", "verify", "--from-cluster", ns+"/flycheck-copy")
	want := `differs: entry 3: code is "` + real.Status.Selected[2].Code + `" in the draw but "` + other + `" in the record`
	if !errors.Is(err, errMismatch) || !strings.HasPrefix(stdout, want) {
		t.Fatalf("verify the tampered copy: %q %v, want %q", stdout, err, want)
	}

	// The frame changed after the draw: verify still reads the frame drawn
	// from, kept in the sample's own immutable snapshot.
	var wuxi corev1.ConfigMap
	if err := testClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "roster-wuxi"}, &wuxi); err != nil {
		t.Fatal(err)
	}
	wuxi.Data[flycheckv1.FrameKey] = strings.Replace(wuxi.Data[flycheckv1.FrameKey], "B2,320200,庚医院,2,public,hospital,7", "B2,320200,庚医院,2,public,hospital,8", 1)
	if wuxi.Data[flycheckv1.FrameKey] == rosters["roster-wuxi"] {
		t.Fatal("fixture: row B2 not found")
	}
	if err := testClient.Update(ctx, &wuxi); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, err := run(t, "", "sample", "verify", "--from-cluster", ref); err != nil || stdout != "match\n" {
		t.Fatalf("verify after the frame changed: %q %q %v", stdout, stderr, err)
	}
	var snap corev1.ConfigMap
	if err := testClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: real.Status.Frame.Snapshot}, &snap); err != nil {
		t.Fatal(err)
	}
	if !ptr.Deref(snap.Immutable, false) || !metav1.IsControlledBy(&snap, real) {
		t.Errorf("snapshot %s: immutable %v, owned by the sample %v", snap.Name, snap.Immutable, metav1.IsControlledBy(&snap, real))
	}
	// A record without a snapshot is checked against the frame as it is now:
	// not the frame drawn from.
	noSnap := manifest("flycheck-nosnap")
	if err := testClient.Create(ctx, noSnap); err != nil {
		t.Fatal(err)
	}
	noSnap.Status = *real.Status.DeepCopy()
	noSnap.Status.Frame.Snapshot = ""
	if err := testClient.Status().Update(ctx, noSnap); err != nil {
		t.Fatal(err)
	}
	stdout, _, err = run(t, "", "sample", "verify", "--from-cluster", ns+"/flycheck-nosnap")
	if !errors.Is(err, errMismatch) || !strings.HasPrefix(stdout, "differs: frame digest is ") || !strings.Contains(stdout, real.Status.Frame.Digest) {
		t.Fatalf("verify without a snapshot after the frame changed: %q %v", stdout, err)
	}
	// An auditor's own copy of the original frame (--frame) still matches.
	frameFile := writeFile(t, "frame.csv", testFrame)
	if stdout, stderr, err := run(t, "", "sample", "verify", "--from-cluster", ref, "--frame", frameFile); err != nil || stdout != "match\n" {
		t.Fatalf("verify with the original frame file: %q %q %v", stdout, stderr, err)
	}

	// Errors that are not differences.
	undrawn := manifest("undrawn")
	if err := testClient.Create(ctx, undrawn); err != nil {
		t.Fatal(err)
	}
	for what, args := range map[string][]string{
		"not drawn yet":                {"--from-cluster", ns + "/undrawn"},
		"not found":                    {"--from-cluster", ns + "/missing"},
		"NAMESPACE/NAME":               {"--from-cluster", "missing"},
		"exclude each other":           {"--from-cluster", ref, "--selection", "-"},
		"give --frame and --selection": {"--frame", frameFile},
	} {
		_, _, err := run(t, "", append([]string{"sample", "verify"}, args...)...)
		if err == nil || errors.Is(err, errMismatch) || !strings.Contains(err.Error(), what) {
			t.Errorf("verify %v: err %v, want an error saying %q", args, err, what)
		}
	}
}
