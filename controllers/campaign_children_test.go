package controllers

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
	"github.com/medfund/flycheck-operator/internal/sampling"
)

func TestScreeningPhaseCreatesOneJobPerCity(t *testing.T) {
	createNamespace(t, "screen-nj")
	createNamespace(t, "screen-wx")
	c := testCampaign("screening", []string{"screen-nj", "screen-wx"},
		phase("dataanalysis", "2023-04-01", "2023-05-31"),
		phase("selfinspection", "2023-06-01", "2023-06-30"))
	c.Spec.DataWindow = &flycheckv1.DataWindow{From: "2022-01-01", To: "2022-12-31"}
	c.Spec.DataSource = &flycheckv1.DataSource{PersistentVolumeClaim: "claims", Path: "extracts/2022", Format: flycheckv1.FormatCSV, Encoding: flycheckv1.EncodingGB18030}
	c.Spec.Phases[0].Screening = &flycheckv1.PhaseScreening{RuleSets: []string{"jiangsu-2024-duplicate-charge"}, Shards: 8}
	createCampaign(t, c)
	r, clk := newTestReconciler(shanghai(t, "2023-03-31 12:00:00"))
	reconcileCampaign(t, r, c.Name)
	var list flycheckv1.ScreeningJobList
	if err := k8sClient.List(context.Background(), &list, client.MatchingLabels{flycheckv1.LabelCampaign: c.Name}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Fatalf("%d ScreeningJobs before the phase started", len(list.Items))
	}

	clk.SetTime(shanghai(t, "2023-04-01 00:00:01"))
	reconcileCampaign(t, r, c.Name)
	camp := getCampaign(t, c.Name)
	for i, city := range camp.Spec.Cities {
		var sj flycheckv1.ScreeningJob
		name := "screening-dataanalysis-" + city.Name
		if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: city.Namespace, Name: name}, &sj); err != nil {
			t.Fatalf("city %d: %v", i, err)
		}
		if sj.Labels[flycheckv1.LabelCampaign] != c.Name || sj.Labels[flycheckv1.LabelPhase] != "dataanalysis" || sj.Labels[flycheckv1.LabelCity] != city.Name {
			t.Errorf("%s labels %v", name, sj.Labels)
		}
		// Owned by the cluster-scoped Campaign, so garbage collection
		// deletes it with the campaign (envtest runs no collector: the
		// reference is what we can check).
		ref := metav1.GetControllerOf(&sj)
		if ref == nil || ref.Kind != "Campaign" || ref.UID != camp.UID || !ptr.Deref(ref.BlockOwnerDeletion, false) {
			t.Errorf("%s owner %+v", name, ref)
		}
		s := sj.Spec
		if s.CityCode != city.Code || s.DataWindow.From != "2022-01-01" || s.Source.Encoding != flycheckv1.EncodingGB18030 ||
			s.Shards != 8 || s.RuleSets[0] != "jiangsu-2024-duplicate-charge" || s.CampaignRef.Name != c.Name ||
			s.Output.Path != "flycheck-findings/screening/dataanalysis/"+city.Name {
			t.Errorf("%s spec %+v", name, s)
		}
	}
	if camp.Status.Phases[0].LaunchedAt == nil {
		t.Error("the launch is not recorded in status")
	}
	waitForEvents(t, c.Name, []string{CampaignReasonPhaseStarted, CampaignReasonScreeningJobCreated, CampaignReasonScreeningJobCreated})

	// A ScreeningJob deleted by a person is not brought back.
	victim := &flycheckv1.ScreeningJob{ObjectMeta: metav1.ObjectMeta{Namespace: "screen-wx", Name: "screening-dataanalysis-city1"}}
	if err := k8sClient.Delete(context.Background(), victim); err != nil {
		t.Fatal(err)
	}
	clk.Step(time.Hour)
	reconcileCampaign(t, r, c.Name)
	if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(victim), victim); err == nil {
		t.Error("a deleted ScreeningJob was recreated")
	}
}

// randomProvince builds a Jiangsu-sized frame: 13 cities, 30–90 designated
// institutions each, 2–6 of them tertiary, some with screening risk.
func randomProvince(seed uint64) map[string][]sampling.Institution {
	rng := rand.New(rand.NewPCG(seed, 2020))
	out := map[string][]sampling.Institution{}
	for c := 1; c <= 13; c++ {
		city := fmt.Sprintf("32%02d00", c)
		n, tertiary := 30+rng.IntN(61), 2+rng.IntN(5)
		for i := range n {
			level := 1 + rng.IntN(2)
			if i < tertiary {
				level = 3
			}
			risk := sampling.Risk(0)
			if rng.IntN(3) == 0 {
				risk = sampling.Risk(rng.Int64N(sampling.RiskScale))
			}
			out[city] = append(out[city], sampling.Institution{Code: fmt.Sprintf("H%s%05d", city, i), CityCode: city,
				Name: fmt.Sprintf("医院%d", i), Level: level, Ownership: "public", Type: "hospital", Risk: risk})
		}
	}
	return out
}

// TestJiangsuPolicyCampaign runs the whole manager over a 13-city roster:
// each city's recheck meets ≥10 % and ≥2 tertiary, ≥26 in all; the
// province fly-check has ≥2 tertiary per city and ≥30 in all.
func TestJiangsuPolicyCampaign(t *testing.T) {
	province := randomProvince(7)
	opNS := "js-operator"
	createNamespace(t, opNS)
	createNamespace(t, "js-province")
	var namespaces []string
	for c := 1; c <= 13; c++ {
		namespaces = append(namespaces, fmt.Sprintf("js-city%02d", c))
	}
	camp := testCampaign("jiangsu-policy", namespaces,
		phase("spotcheck", "2020-07-01", "2020-08-31"),
		phase("flycheck", "2020-07-01", "2020-11-30"))
	camp.Spec.ProvinceNamespace = "js-province"
	camp.Spec.Roster = "designated-institutions"
	camp.Spec.Phases[0].Sampling = &flycheckv1.PhaseSampling{Purpose: flycheckv1.PurposeRecheck,
		SamplingPolicy: flycheckv1.SamplingPolicy{MinPercent: 10, MinTertiaryPerCity: 2, MinTotal: 26, RiskBasedPercent: 50}}
	camp.Spec.Phases[1].Sampling = &flycheckv1.PhaseSampling{Purpose: flycheckv1.PurposeFlyCheck,
		SamplingPolicy: flycheckv1.SamplingPolicy{MinPercent: 0, MinTertiaryPerCity: 2, MinTotal: 30, RiskBasedPercent: 50}}
	for i, ns := range namespaces {
		createNamespace(t, ns)
		code := fmt.Sprintf("32%02d00", i+1)
		camp.Spec.Cities[i].Code = code
		var buf bytes.Buffer
		if err := sampling.WriteFrame(&buf, province[code]); err != nil {
			t.Fatal(err)
		}
		roster := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "designated-institutions"},
			Data: map[string]string{flycheckv1.FrameKey: buf.String()}}
		if err := k8sClient.Create(context.Background(), roster); err != nil {
			t.Fatal(err)
		}
	}
	createCampaign(t, camp)

	testenv.StartManager(t, cfg, func(mgr ctrl.Manager) error {
		return SetupWithManager(mgr, Options{Clock: clocktesting.NewFakeClock(shanghai(t, "2020-07-15 09:00:00")), OperatorNamespace: opNS})
	})

	// Every city's recheck and the province fly-check get drawn.
	drawn := func(ns, name string) (*flycheckv1.InspectionSample, error) {
		var is flycheckv1.InspectionSample
		if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &is); err != nil {
			return nil, err
		}
		if is.Status.DrawnAt == nil {
			return nil, fmt.Errorf("%s/%s not drawn yet: %v", ns, name, is.Status.Conditions)
		}
		return &is, nil
	}
	var fly *flycheckv1.InspectionSample
	testenv.Eventually(t, 60*time.Second, func() error {
		for _, city := range camp.Spec.Cities {
			if _, err := drawn(city.Namespace, ChildName(camp.Name, "spotcheck", city.Name)); err != nil {
				return err
			}
		}
		var err error
		fly, err = drawn("js-province", camp.Name+"-flycheck")
		return err
	})

	total := 0
	for _, city := range camp.Spec.Cities {
		is, _ := drawn(city.Namespace, ChildName(camp.Name, "spotcheck", city.Name))
		n := len(province[city.Code])
		want := (10*n + 99) / 100
		c := is.Status.Counts
		t.Logf("recheck %s (%s): %d institutions, %d selected, %d tertiary", city.Name, city.Code, n, c.Selected, c.Tertiary)
		if int(c.Selected) < want || c.Tertiary < 2 {
			t.Errorf("city %s: %d selected (need ≥%d), %d tertiary (need ≥2)", city.Code, c.Selected, want, c.Tertiary)
		}
		total += int(c.Selected)
		// The province minimum is split across the independent city draws,
		// and the seed scope names the phase, so another recheck phase of
		// the same campaign would draw anew.
		if is.Spec.Policy.MinTotal != 2 || is.Spec.Scope != "spotcheck/"+city.Code {
			t.Errorf("city %s: minTotal %d, scope %q", city.Code, is.Spec.Policy.MinTotal, is.Spec.Scope)
		}
		for _, s := range is.Status.Selected {
			if s.CityCode != city.Code {
				t.Errorf("city %s's recheck drew %s from %s", city.Code, s.Code, s.CityCode)
			}
		}
	}
	t.Logf("recheck total %d", total)
	if total < 26 {
		t.Errorf("recheck total %d < 26", total)
	}
	perCity := map[string]int{}
	for _, s := range fly.Status.Selected {
		if s.Level == 3 {
			perCity[s.CityCode]++
		}
	}
	t.Logf("fly-check: %d selected, %d tertiary, tertiary per city %v", fly.Status.Counts.Selected, fly.Status.Counts.Tertiary, perCity)
	if fly.Status.Counts.Selected < 30 || len(perCity) != 13 {
		t.Errorf("fly-check: %d selected over %d cities", fly.Status.Counts.Selected, len(perCity))
	}
	for code, n := range perCity {
		if n < 2 {
			t.Errorf("fly-check: city %s has %d tertiary", code, n)
		}
	}
	// The campaign shows counts per city, and only the recheck's.
	testenv.Eventually(t, 20*time.Second, func() error {
		got := getCampaign(t, camp.Name)
		for i, row := range got.Status.Cities {
			is, _ := drawn(camp.Spec.Cities[i].Namespace, ChildName(camp.Name, "spotcheck", camp.Spec.Cities[i].Name))
			if row.Sampled != is.Status.Counts.Selected || row.TertiarySampled != is.Status.Counts.Tertiary {
				return fmt.Errorf("city %s: status %+v, sample %+v", row.Name, row, is.Status.Counts)
			}
		}
		return nil
	})
}
