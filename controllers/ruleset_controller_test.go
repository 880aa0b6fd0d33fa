package controllers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// TestCatalogueRuleSetsAreAccepted: the same files work as rule files for
// the screener and as RuleSets in the cluster.
func TestCatalogueRuleSetsAreAccepted(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "config", "rules", "*.yaml"))
	bench, _ := filepath.Glob(filepath.Join("..", "config", "rules", "bench", "*.yaml"))
	files = append(files, bench...)
	var n int
	for _, f := range files {
		if filepath.Base(f) == "Kustomization" {
			continue
		}
		cat, err := rules.LoadFiles(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, set := range cat.Sets {
			rs := &flycheckv1.RuleSet{ObjectMeta: metav1.ObjectMeta{Name: set.Name + "-dryrun"}, Spec: set.Spec}
			if err := k8sClient.Create(context.Background(), rs, client.DryRunAll); err != nil {
				t.Errorf("%s: RuleSet %s rejected by the apiserver: %v", f, set.Name, err)
			}
			n++
		}
	}
	if n < 9 {
		t.Errorf("only %d RuleSets found in config/rules", n)
	}
}

func TestRuleSetValidation(t *testing.T) {
	r := &RuleSetReconciler{Client: k8sClient, Clock: clocktesting.NewFakeClock(time.Now()), Recorder: recorder}
	reconcileRS := func(name string) *flycheckv1.RuleSet {
		t.Helper()
		if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Name: name}}); err != nil {
			t.Fatal(err)
		}
		var rs flycheckv1.RuleSet
		if err := k8sClient.Get(context.Background(), types.NamespacedName{Name: name}, &rs); err != nil {
			t.Fatal(err)
		}
		return &rs
	}
	good := &flycheckv1.RuleSet{ObjectMeta: metav1.ObjectMeta{Name: "validation-good"}, Spec: rules.RuleSetSpec{Version: "1", Rules: []rules.Rule{
		{ID: "DUP-1", Category: rules.DuplicateCharge, Template: rules.DuplicateLine},
	}}}
	// What the schema cannot say (a parameter the template does not use,
	// which would silently drop a condition) the controller does.
	bad := &flycheckv1.RuleSet{ObjectMeta: metav1.ObjectMeta{Name: "validation-bad"}, Spec: rules.RuleSetSpec{Rules: []rules.Rule{
		{ID: "DUP-LINE-1", Category: rules.DuplicateCharge, Template: rules.DuplicateLine, Params: rules.Params{MaxPrice: "10.00"}},
	}}}
	for _, rs := range []*flycheckv1.RuleSet{good, bad} {
		if err := k8sClient.Create(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
	}
	got := reconcileRS(good.Name)
	c := meta.FindStatusCondition(got.Status.Conditions, flycheckv1.ConditionReady)
	if c == nil || c.Status != metav1.ConditionTrue || got.Status.Rules != 1 || len(got.Status.Digest) != 64 {
		t.Errorf("valid RuleSet: %+v", got.Status)
	}
	got = reconcileRS(bad.Name)
	c = meta.FindStatusCondition(got.Status.Conditions, flycheckv1.ConditionReady)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != RuleSetReasonInvalid || !strings.Contains(c.Message, "DUP-LINE-1") {
		t.Errorf("invalid RuleSet: %+v", c)
	}
	rv := got.ResourceVersion
	if reconcileRS(bad.Name).ResourceVersion != rv {
		t.Error("an unchanged RuleSet was written again")
	}

	// What the schema can say, it says before anything runs, naming the field.
	for _, tc := range []struct {
		rule         rules.Rule
		field, words string
	}{
		{rules.Rule{ID: "G", Category: rules.BeyondPaymentScope, Template: rules.GenderRestriction, Params: rules.Params{Items: []string{"250310001"}}},
			"spec.rules[0].params.gender", "params.gender is required by GenderRestriction"},
		{rules.Rule{ID: "P", Category: rules.DuplicateCharge, Template: rules.PriceCap, Params: rules.Params{Items: []string{"x"}, MaxPrice: "1"}},
			"spec.rules[0].category", "category does not match the template"},
		{rules.Rule{ID: "R", Category: rules.OverExamination, Template: rules.RepeatExamination, Params: rules.Params{Items: []string{"x"}}},
			"spec.rules[0].params.withinDays", "params.withinDays is required"},
		{rules.Rule{ID: "B", Category: rules.InpatientBehaviour, Template: rules.BedOnlyDays, Params: rules.Params{MinDays: ptr.To[int32](3)}},
			"spec.rules[0].params.items", "params.items is required"},
	} {
		rs := &flycheckv1.RuleSet{ObjectMeta: metav1.ObjectMeta{Name: "schema-" + strings.ToLower(tc.rule.ID)}, Spec: rules.RuleSetSpec{Rules: []rules.Rule{tc.rule}}}
		err := k8sClient.Create(context.Background(), rs, client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), tc.words) {
			t.Errorf("rule %s: %v", tc.rule.ID, err)
		}
	}

	data, err := os.ReadFile(filepath.Join("..", "config", "rules", "duplicate-charge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ from, to, field string }{
		{"template: DuplicateLine", "template: DuplicateLines", "template"},
		{"category: DuplicateCharge", "category: Duplicate", "category"},
	} {
		mangled := strings.Replace(string(data), tc.from, tc.to, 1)
		sets, err := rules.Parse("mangled", []byte(mangled))
		if err == nil && len(sets) > 0 {
			rs := &flycheckv1.RuleSet{ObjectMeta: metav1.ObjectMeta{Name: "mangled"}, Spec: sets[0].Spec}
			err = k8sClient.Create(context.Background(), rs, client.DryRunAll)
		}
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s → %s: %v", tc.from, tc.to, err)
		}
	}
}
