package controllers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
)

// readManifests decodes every document of the YAML files matching glob into
// objects of the test scheme.
func readManifests(t *testing.T, glob string) []client.Object {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests match %s (%v)", glob, err)
	}
	var out []client.Object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(data), "\n---") {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil || tm.Kind == "" || tm.Kind == "Kustomization" {
				continue
			}
			obj, err := testScheme.New(tm.GroupVersionKind())
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, obj.(client.Object))
		}
	}
	return out
}

// TestEverySampleReconciles applies every Campaign and TipOff in
// config/samples with the default rule catalogue and the namespaces they
// name, under a manager running every controller: each campaign and each
// child it creates ends up Ready, or waiting with a reason that says for
// what (a roster that is not there, a screening that has not run: no
// kubelet here), never Stalled and never with a reconcile error; each
// tip-off is Ready, and the case an accepted one opened is Ready too.
func TestEverySampleReconciles(t *testing.T) {
	ctx := context.Background()
	for _, obj := range readManifests(t, filepath.Join("..", "config", "rules", "*.yaml")) {
		if err := k8sClient.Create(ctx, obj); client.IgnoreAlreadyExists(err) != nil {
			t.Fatal(err)
		}
	}
	var campaigns []*flycheckv1.Campaign
	var tipOffs []*flycheckv1.TipOff
	namespaces := map[string]bool{}
	for _, obj := range readManifests(t, filepath.Join("..", "config", "samples", "*.yaml")) {
		switch o := obj.(type) {
		case *flycheckv1.Campaign:
			for _, ns := range campaignNamespaces(o) {
				namespaces[ns] = true
			}
			campaigns = append(campaigns, o)
		case *flycheckv1.TipOff:
			namespaces[o.Namespace] = true
			tipOffs = append(tipOffs, o)
		default:
			t.Fatalf("config/samples holds a %T; this test only knows Campaigns and TipOffs", obj)
		}
	}
	for ns := range namespaces {
		createNamespace(t, ns)
	}
	if len(campaigns) < 3 {
		t.Fatalf("%d sample campaigns, want the 3 of the seeds", len(campaigns))
	}
	opNS := "samples-operator"
	createNamespace(t, opNS)
	testenv.StartManager(t, cfg, func(mgr ctrl.Manager) error {
		return SetupWithManager(mgr, Options{OperatorNamespace: opNS})
	})
	for _, c := range campaigns {
		if err := k8sClient.Create(ctx, c); err != nil {
			t.Fatalf("applying sample %s: %v", c.Name, err)
		}
	}
	for _, to := range tipOffs {
		if err := k8sClient.Create(ctx, to); err != nil {
			t.Fatalf("applying sample tip-off %s/%s: %v", to.Namespace, to.Name, err)
		}
	}

	healthy := func(kind, name string, generation, observed int64, conds []metav1.Condition) error {
		ready := meta.FindStatusCondition(conds, flycheckv1.ConditionReady)
		switch {
		case ready == nil || observed != generation:
			return fmt.Errorf("%s %s: no Ready condition for generation %d yet", kind, name, generation)
		case ready.Reason == ReasonReconcileError:
			return fmt.Errorf("%s %s: reconcile error: %s", kind, name, ready.Message)
		case meta.IsStatusConditionTrue(conds, flycheckv1.ConditionStalled):
			return fmt.Errorf("%s %s: Stalled (%s): %s", kind, name, ready.Reason, ready.Message)
		case ready.Status != metav1.ConditionTrue && !meta.IsStatusConditionTrue(conds, flycheckv1.ConditionReconciling):
			return fmt.Errorf("%s %s: not Ready and not Reconciling", kind, name)
		case ready.Status != metav1.ConditionTrue && (ready.Reason == "" || ready.Message == ""):
			return fmt.Errorf("%s %s: waits without saying why", kind, name)
		}
		return nil
	}
	var report []string
	testenv.Eventually(t, 30*time.Second, func() error {
		report = report[:0]
		var errs []error
		for _, c := range campaigns {
			var got flycheckv1.Campaign
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(c), &got); err != nil {
				return err
			}
			errs = append(errs, healthy("Campaign", got.Name, got.Generation, got.Status.ObservedGeneration, got.Status.Conditions))
			launched := 0
			for _, p := range got.Status.Phases {
				if p.LaunchedAt != nil {
					launched++
				}
			}
			if launched == 0 {
				errs = append(errs, fmt.Errorf("campaign %s launched nothing", got.Name))
			}
			sel := client.MatchingLabels{flycheckv1.LabelCampaign: got.Name}
			var sjs flycheckv1.ScreeningJobList
			var samples flycheckv1.InspectionSampleList
			if err := errors.Join(k8sClient.List(ctx, &sjs, sel), k8sClient.List(ctx, &samples, sel)); err != nil {
				return err
			}
			for _, sj := range sjs.Items {
				errs = append(errs, healthy("ScreeningJob", sj.Namespace+"/"+sj.Name, sj.Generation, sj.Status.ObservedGeneration, sj.Status.Conditions))
				report = append(report, fmt.Sprintf("ScreeningJob %s/%s: %s", sj.Namespace, sj.Name, readyLine(sj.Status.Conditions)))
			}
			for _, s := range samples.Items {
				errs = append(errs, healthy("InspectionSample", s.Namespace+"/"+s.Name, s.Generation, s.Status.ObservedGeneration, s.Status.Conditions))
				report = append(report, fmt.Sprintf("InspectionSample %s/%s: %s", s.Namespace, s.Name, readyLine(s.Status.Conditions)))
			}
			if len(sjs.Items)+len(samples.Items) == 0 {
				errs = append(errs, fmt.Errorf("campaign %s has no children yet", got.Name))
			}
			report = append(report, fmt.Sprintf("Campaign %s: %s", got.Name, readyLine(got.Status.Conditions)))
		}
		// Tip-offs: Ready (overdue or not), and an accepted one about an
		// institution has opened its case, which is Ready too.
		for _, to := range tipOffs {
			var got flycheckv1.TipOff
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(to), &got); err != nil {
				return err
			}
			errs = append(errs, healthy("TipOff", got.Namespace+"/"+got.Name, got.Generation, got.Status.ObservedGeneration, got.Status.Conditions))
			report = append(report, fmt.Sprintf("TipOff %s/%s: %s, reward %+v, case %q", got.Namespace, got.Name,
				readyLine(got.Status.Conditions), got.Status.Reward, got.Status.Case))
			if got.Spec.AcceptedAt == "" || got.Spec.Subject.InstitutionCode == "" {
				continue
			}
			ns, name, ok := cutKey(got.Status.Case)
			if !ok {
				errs = append(errs, fmt.Errorf("tip-off %s opened no case", got.Name))
				continue
			}
			var ic flycheckv1.InspectionCase
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &ic); err != nil {
				return err
			}
			errs = append(errs, healthy("InspectionCase", ns+"/"+name, ic.Generation, ic.Status.ObservedGeneration, ic.Status.Conditions))
		}
		return errors.Join(errs...)
	})
	for _, line := range report {
		t.Log(line)
	}
}

func readyLine(conds []metav1.Condition) string {
	c := meta.FindStatusCondition(conds, flycheckv1.ConditionReady)
	if c == nil {
		return "no Ready condition"
	}
	return fmt.Sprintf("Ready=%s %s", c.Status, c.Reason)
}
