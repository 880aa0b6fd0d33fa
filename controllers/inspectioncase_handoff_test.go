package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
)

// bindCityGroup binds the shipped city roles for a city's group as
// docs/rbac.md says: viewer and editor in the city's namespace, campaign
// viewer cluster-wide.
func bindCityGroup(t *testing.T, group, ns string) {
	t.Helper()
	for _, role := range []string{"flycheck-city-viewer", "flycheck-city-editor"} {
		mustCreate(t, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}},
		})
	}
	mustCreate(t, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "flycheck-campaign-viewer-" + ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "flycheck-campaign-viewer"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}},
	})
}

func userClient(t *testing.T, u envtest.User) client.Client {
	t.Helper()
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

func casesSeenBy(t *testing.T, c client.Client, ns string) (int, error) {
	t.Helper()
	var list flycheckv1.InspectionCaseList
	if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		return 0, err
	}
	return len(list.Items), nil
}

// TestCaseFlyCheckHandOff: a fly-check case lives in the province namespace,
// invisible to the cities (cases and Campaign figures alike), until the
// province hands it off; then its city, and only its city, sees it with the
// province's findings and decision, and works on it. A city editor cannot
// touch another city's cases.
func TestCaseFlyCheckHandOff(t *testing.T) {
	nanjing, wuxi, province, opNS := "ho-nanjing", "ho-wuxi", "ho-province", "ho-op"
	for _, ns := range []string{nanjing, wuxi, province, opNS} {
		createNamespace(t, ns)
	}
	for _, f := range []string{"city_viewer_role.yaml", "city_editor_role.yaml", "campaign_viewer_role.yaml"} {
		for _, obj := range rbacObjects(t, f) {
			apply(t, obj)
		}
	}
	camp := testCampaign("handoff", []string{nanjing, wuxi}, phase("flycheck", "2020-07-01", "2020-11-30"))
	camp.Spec.ProvinceNamespace = province
	camp.Spec.Roster = "designated-institutions"
	camp.Spec.Phases[0].Sampling = &flycheckv1.PhaseSampling{Purpose: flycheckv1.PurposeFlyCheck,
		SamplingPolicy: flycheckv1.SamplingPolicy{MinPercent: 0, MinTertiaryPerCity: 2, MinTotal: 4}}
	for i, ns := range []string{nanjing, wuxi} {
		mustCreate(t, frameConfigMap(ns, "designated-institutions", makeFrameCSV(testCity{camp.Spec.Cities[i].Code, 12, 3})))
	}
	createCampaign(t, camp)
	bindCityGroup(t, "flycheck:city:nanjing", nanjing)
	bindCityGroup(t, "flycheck:city:wuxi", wuxi)
	nj := userClient(t, envtest.User{Name: "zhang.wei", Groups: []string{"flycheck:city:nanjing"}})
	wx := userClient(t, envtest.User{Name: "li.na", Groups: []string{"flycheck:city:wuxi"}})
	startCaseManager(t, cfg, clocktesting.NewFakeClock(shanghai(t, "2020-09-15 09:00:00")), opNS)

	var fly *flycheckv1.InspectionSample
	testenv.Eventually(t, 60*time.Second, func() error {
		var err error
		if fly, err = drawnSample(province, FlyCheckSampleName(camp.Name, "flycheck")); err != nil {
			return err
		}
		if fly.Annotations[flycheckv1.AnnotationCasesOpened] == "" {
			return fmt.Errorf("fly-check cases not opened")
		}
		return nil
	})
	var target flycheckv1.SelectedInstitution
	for _, s := range fly.Status.Selected {
		if s.CityCode == camp.Spec.Cities[0].Code {
			target = s
		}
	}
	name := CaseName(camp.Name, target.Code)
	ctx := context.Background()

	// Before the hand-off, Nanjing sees nothing of the fly-check.
	assertHidden := func(when string) {
		t.Helper()
		if n, err := casesSeenBy(t, nj, nanjing); err != nil || n != 0 {
			t.Errorf("%s: Nanjing lists %d cases in its namespace (%v), want 0", when, n, err)
		}
		if _, err := casesSeenBy(t, nj, province); !apierrors.IsForbidden(err) {
			t.Errorf("%s: Nanjing lists the province's cases: %v", when, err)
		}
		if err := nj.Get(ctx, types.NamespacedName{Namespace: province, Name: name}, &flycheckv1.InspectionCase{}); !apierrors.IsForbidden(err) {
			t.Errorf("%s: Nanjing reads the province's case: %v", when, err)
		}
		var c flycheckv1.Campaign
		if err := nj.Get(ctx, types.NamespacedName{Name: camp.Name}, &c); err != nil {
			t.Fatal(err)
		}
		for _, row := range c.Status.Cities {
			if row.Cases != 0 || row.Inspected != 0 || row.Found != "" {
				t.Errorf("%s: the Campaign Nanjing reads shows %s: %+v", when, row.Name, row)
			}
		}
	}
	assertHidden("drawn")

	// The province inspects and decides; still hidden.
	updateCase(t, province, name, func(s *flycheckv1.InspectionCaseSpec) {
		s.OnSite = inspected("20000.00", "5000.50")
		s.OnSite.From, s.OnSite.To = "2020-09-08", "2020-09-10"
		s.Decision = &flycheckv1.CaseDecision{DecidedAt: "2020-09-14", RectificationDue: "2020-12-31", Actions: []flycheckv1.DecisionAction{
			{Type: flycheckv1.ActionRefund, Amount: "25000.50"}, {Type: flycheckv1.ActionFine, Multiple: 2},
			{Type: flycheckv1.ActionSuspendAgreement, Months: 6}}}
	})
	waitCase(t, province, name, stageIs("Rectifying"))
	time.Sleep(500 * time.Millisecond) // past the roll-up delay
	assertHidden("decided")

	// Hand-off (移交属地).
	updateCase(t, province, name, func(s *flycheckv1.InspectionCaseSpec) { s.HandOff = true })
	prov := waitCase(t, province, name, func(ic *flycheckv1.InspectionCase) error {
		if ic.Status.HandOff == nil || ic.Status.HandOff.To != nanjing+"/"+name || ic.Status.Stage != "Decided" {
			return fmt.Errorf("handOff %+v stage %s", ic.Status.HandOff, ic.Status.Stage)
		}
		return nil
	})
	var city flycheckv1.InspectionCase
	testenv.Eventually(t, 15*time.Second, func() error {
		return nj.Get(ctx, types.NamespacedName{Namespace: nanjing, Name: name}, &city)
	})
	if len(city.Status.Origins) != 1 || city.Status.Origins[0].Type != flycheckv1.OriginFlyCheck ||
		city.Status.Origins[0].HandedOffFrom != province+"/"+name || city.Status.Origins[0].Reason != target.Reason {
		t.Errorf("city case origins %+v", city.Status.Origins)
	}
	if h := city.Status.HandOff; h == nil || !equality.Semantic.DeepEqual(h.Decision, prov.Spec.Decision) || !equality.Semantic.DeepEqual(h.OnSite, prov.Spec.OnSite) {
		t.Errorf("city case hand-off %+v", city.Status.HandOff)
	}
	if a := city.Status.Amounts; city.Status.Stage != "Rectifying" || a.Found != "25000.50" || a.Ordered != "75001.50" || a.Outstanding != "75001.50" {
		t.Errorf("city case: stage %s, amounts %+v", city.Status.Stage, a)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		var c flycheckv1.Campaign
		if err := nj.Get(ctx, types.NamespacedName{Name: camp.Name}, &c); err != nil {
			return err
		}
		r0, r1 := c.Status.Cities[0], c.Status.Cities[1]
		if r0.Cases != 1 || r0.Inspected != 1 || r0.Found != "25000.50" || r0.Ordered != "75001.50" || r1.Cases != 0 || r1.Found != "" {
			return fmt.Errorf("rows %+v / %+v", r0, r1)
		}
		return nil
	})
	if n, err := casesSeenBy(t, nj, nanjing); err != nil || n != 1 {
		t.Errorf("Nanjing lists %d cases, %v; want the handed-off one", n, err)
	}
	if n, err := casesSeenBy(t, wx, wuxi); err != nil || n != 0 {
		t.Errorf("Wuxi lists %d cases in its namespace, %v; want 0", n, err)
	}
	if err := wx.Get(ctx, types.NamespacedName{Namespace: nanjing, Name: name}, &flycheckv1.InspectionCase{}); !apierrors.IsForbidden(err) {
		t.Errorf("Wuxi reads Nanjing's case: %v", err)
	}

	// Nanjing works on it: records recoveries (allowed), but cannot write
	// status or delete the case.
	city.Spec.Recoveries = []flycheckv1.Recovery{{Amount: "25000.50", At: "2020-10-20", Ref: "宁医保追〔2020〕3号"}}
	if err := nj.Update(ctx, &city); err != nil {
		t.Fatalf("Nanjing records a recovery: %v", err)
	}
	waitCase(t, nanjing, name, func(ic *flycheckv1.InspectionCase) error {
		if ic.Status.Amounts.Recovered != "25000.50" || ic.Status.Amounts.Outstanding != "50001.00" {
			return fmt.Errorf("amounts %+v", ic.Status.Amounts)
		}
		return nil
	})
	forged := getCase(t, nanjing, name)
	forged.Status.Stage = "Closed"
	if err := nj.Status().Update(ctx, forged); !apierrors.IsForbidden(err) {
		t.Errorf("Nanjing writes its case's status: %v", err)
	}
	if err := nj.Delete(ctx, getCase(t, nanjing, name)); !apierrors.IsForbidden(err) {
		t.Errorf("Nanjing deletes its case: %v", err)
	}
	tip := handCase(nanjing, camp.Name, "H3201009999", nil)
	if err := nj.Create(ctx, tip); err != nil {
		t.Errorf("Nanjing opens an ad-hoc case: %v", err)
	}
	// …and cannot touch Wuxi's.
	wxCase := handCase(wuxi, camp.Name, "H3201010001", nil)
	mustCreate(t, wxCase)
	if err := nj.Create(ctx, handCase(wuxi, camp.Name, "H3201010002", nil)); !apierrors.IsForbidden(err) {
		t.Errorf("Nanjing creates a case in Wuxi: %v", err)
	}
	stolen := getCase(t, wuxi, wxCase.Name)
	stolen.Spec.RectifiedAt = "2020-10-01"
	if err := nj.Update(ctx, stolen); !apierrors.IsForbidden(err) {
		t.Errorf("Nanjing updates Wuxi's case: %v", err)
	}
	if err := nj.Patch(ctx, stolen, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"handOff":true}}`))); !apierrors.IsForbidden(err) {
		t.Errorf("Nanjing patches Wuxi's case: %v", err)
	}

	// The province amends its decision: the city case follows. A hand-off
	// cannot be withdrawn.
	updateCase(t, province, name, func(s *flycheckv1.InspectionCaseSpec) { s.Decision.Actions[1].Multiple = 3 })
	waitCase(t, nanjing, name, func(ic *flycheckv1.InspectionCase) error {
		if ic.Status.Amounts.Ordered != "100002.00" {
			return fmt.Errorf("ordered %s after the amendment, want 100002.00 (25000.50 + 3 × 25000.50)", ic.Status.Amounts.Ordered)
		}
		return nil
	})
	if err := tryUpdateCase(t, province, name, func(s *flycheckv1.InspectionCaseSpec) { s.HandOff = false }); !apierrors.IsInvalid(err) {
		t.Errorf("withdrawing the hand-off: %v", err)
	}
}
