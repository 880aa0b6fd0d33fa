package controllers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
)

// TestCampaignValidation sends the manifests of testdata/campaigns/bad to the
// API server: each is the valid base (testdata/campaigns/valid.yaml) with one
// mistake, and its first comments name the field and the words the refusal
// must carry. `flycheck plan` is held to the same files (cmd/flycheck).
func TestCampaignValidation(t *testing.T) {
	read := func(t *testing.T, data []byte) *flycheckv1.Campaign {
		t.Helper()
		var c flycheckv1.Campaign
		if err := yaml.UnmarshalStrict(data, &c); err != nil {
			t.Fatal(err)
		}
		return &c
	}
	// The valid base must itself be accepted, or every case passes vacuously.
	data, err := os.ReadFile(filepath.Join("testdata", "campaigns", "valid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Create(context.Background(), read(t, data), client.DryRunAll); err != nil {
		t.Fatalf("the valid base campaign was rejected: %v", err)
	}
	cases, err := testenv.Refusals(filepath.Join("testdata", "campaigns", "bad"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 27 {
		t.Fatalf("only %d bad manifests", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			err := k8sClient.Create(context.Background(), read(t, tc.Manifest), client.DryRunAll)
			if err == nil {
				t.Fatal("the apiserver accepted an invalid campaign")
			}
			if !strings.Contains(err.Error(), tc.Field) || !strings.Contains(err.Error(), tc.Message) {
				t.Errorf("error does not name %q with %q:\n%v", tc.Field, tc.Message, err)
			}
			// A user reads the schema's own words, never CEL's.
			for _, leak := range []string{"evaluation error", "no such overload", "compilation failed", "parsing time"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("the error leaks CEL text %q:\n%v", leak, err)
				}
			}
		})
	}
}

func TestStartedPhaseCannotBeRenamedOrMoved(t *testing.T) {
	createNamespace(t, "immut-a")
	c := testCampaign("immutable", []string{"immut-a"},
		phase("selfinspection", "2020-05-01", "2020-06-30"),
		phase("spotcheck", "2020-07-01", "2020-08-31"))
	createCampaign(t, c)
	r, _ := newTestReconciler(shanghai(t, "2020-05-10 09:00:00"))
	reconcileCampaign(t, r, c.Name)

	update := func(mutate func(*flycheckv1.Campaign)) error {
		cur := getCampaign(t, c.Name)
		mutate(cur)
		return k8sClient.Update(context.Background(), cur)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*flycheckv1.Campaign)
	}{
		{"rename", func(c *flycheckv1.Campaign) { c.Spec.Phases[0].Name = "self-inspection" }},
		{"move start", func(c *flycheckv1.Campaign) { c.Spec.Phases[0].Start = "2020-05-02" }},
		{"remove", func(c *flycheckv1.Campaign) { c.Spec.Phases = c.Spec.Phases[1:] }},
	} {
		err := update(tc.mutate)
		if err == nil {
			t.Errorf("%s of a started phase was accepted", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), "spec.phases") || !strings.Contains(err.Error(), "cannot be renamed, removed or have its start moved") {
			t.Errorf("%s: error does not explain itself: %v", tc.name, err)
		}
	}
	// What has not started may change, and a started phase may be extended.
	if err := update(func(c *flycheckv1.Campaign) {
		c.Spec.Phases[0].End = "2020-07-15"
		c.Spec.Phases[1].Name = "recheck"
		c.Spec.Phases[1].Start = "2020-07-16"
	}); err != nil {
		t.Errorf("extending a started phase and renaming a pending one was refused: %v", err)
	}
}

func TestSampleCampaignsAreAccepted(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "config", "samples", "campaign_*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("expected the three sample campaigns, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var c flycheckv1.Campaign
			if err := yaml.UnmarshalStrict(data, &c); err != nil {
				t.Fatal(err)
			}
			if err := k8sClient.Create(context.Background(), &c, client.DryRunAll); err != nil {
				t.Fatalf("sample rejected: %v", err)
			}
		})
	}
}

// Once a phase has started, the time zone is fixed (it would move the
// boundaries already passed); once the campaign has created children for a
// city, that city's name, code and namespace are fixed and it cannot be
// removed, while new cities may still be added.
func TestEditsAfterLaunch(t *testing.T) {
	for _, ns := range []string{"launch-a", "launch-b", "launch-c"} {
		createNamespace(t, ns)
	}
	c := testCampaign("launched", []string{"launch-a", "launch-b"},
		phase("selfinspection", "2020-05-01", "2020-06-30"),
		phase("spotcheck", "2020-07-01", "2020-08-31"))
	c.Spec.Roster = "designated-institutions"
	c.Spec.Phases[1].Sampling = &flycheckv1.PhaseSampling{Purpose: flycheckv1.PurposeRecheck,
		SamplingPolicy: flycheckv1.SamplingPolicy{MinPercent: 10, MinTertiaryPerCity: 2}}
	createCampaign(t, c)
	update := func(mutate func(*flycheckv1.Campaign)) error {
		cur := getCampaign(t, c.Name)
		mutate(cur)
		return k8sClient.Update(context.Background(), cur)
	}
	// Nothing has started: everything may change.
	if err := update(func(c *flycheckv1.Campaign) { c.Spec.TimeZone = "Asia/Urumqi" }); err != nil {
		t.Fatalf("changing the zone before any phase started: %v", err)
	}
	if err := update(func(c *flycheckv1.Campaign) { c.Spec.TimeZone = "Asia/Shanghai" }); err != nil {
		t.Fatal(err)
	}

	r, clk := newTestReconciler(shanghai(t, "2020-05-10 09:00:00"))
	reconcileCampaign(t, r, c.Name)
	err := update(func(c *flycheckv1.Campaign) { c.Spec.TimeZone = "Asia/Urumqi" })
	if err == nil || !strings.Contains(err.Error(), "spec.timeZone") || !strings.Contains(err.Error(), "cannot change once a phase has started") {
		t.Errorf("changing the zone after the start: %v", err)
	}
	// Started but nothing launched yet (the first phase creates nothing):
	// cities may still change.
	if err := update(func(c *flycheckv1.Campaign) { c.Spec.Cities[1].Code = "320199" }); err != nil {
		t.Fatalf("changing a city before anything was created for it: %v", err)
	}

	clk.SetTime(shanghai(t, "2020-07-02 09:00:00")) // the recheck launches
	reconcileCampaign(t, r, c.Name)
	for name, mutate := range map[string]func(*flycheckv1.Campaign){
		"code":      func(c *flycheckv1.Campaign) { c.Spec.Cities[0].Code = "320188" },
		"name":      func(c *flycheckv1.Campaign) { c.Spec.Cities[0].Name = "renamed" },
		"namespace": func(c *flycheckv1.Campaign) { c.Spec.Cities[0].Namespace = "launch-c" },
		"removal":   func(c *flycheckv1.Campaign) { c.Spec.Cities = c.Spec.Cities[1:] },
	} {
		err := update(mutate)
		if err == nil || !strings.Contains(err.Error(), "spec.cities") || !strings.Contains(err.Error(), "cannot change") {
			t.Errorf("city %s after launch: %v", name, err)
		}
	}
	if err := update(func(c *flycheckv1.Campaign) {
		c.Spec.Cities = append(c.Spec.Cities, flycheckv1.City{Name: "added", Namespace: "launch-c", Code: "320177"})
	}); err != nil {
		t.Errorf("adding a city after launch: %v", err)
	}
}

// A campaign whose child names are exactly 63 characters long runs end to
// end: the ScreeningJob, its Job (whose own name is shortened with a hash so
// that its pods' names fit), its labels, the frame and the recheck drawn
// from it with its snapshot.
func TestNamesAtTheLimitWorkEndToEnd(t *testing.T) {
	ctx := context.Background()
	ns := "limit-city"
	createNamespace(t, ns)
	dup := createCatalogueRuleSet(t, "duplicate-charge.yaml")
	city := "limitcity"
	name := strings.Repeat("x", 63-2-len("screen")-len(city)) // <campaign>-screen-<city> is 63
	c := testCampaign(name, []string{ns},
		phase("screen", "2020-05-01", "2020-05-31"),
		phase("sample", "2020-06-01", "2020-06-30"))
	c.Spec.Cities[0].Name = city
	c.Spec.DataSource = &flycheckv1.DataSource{PersistentVolumeClaim: "claims"}
	c.Spec.Phases[0].Screening = &flycheckv1.PhaseScreening{RuleSets: []string{dup.Name}}
	c.Spec.Phases[1].Sampling = &flycheckv1.PhaseSampling{Purpose: flycheckv1.PurposeRecheck,
		SamplingPolicy: flycheckv1.SamplingPolicy{MinPercent: 50, MinTertiaryPerCity: 1}}
	createCampaign(t, c)
	over := c.DeepCopy()
	over.Name, over.ResourceVersion = name+"y", ""
	if err := k8sClient.Create(ctx, over, client.DryRunAll); err == nil || !strings.Contains(err.Error(), "= 64") {
		t.Fatalf("one character more was not refused with its length: %v", err)
	}

	r, clk := newTestReconciler(shanghai(t, "2020-05-10 09:00:00"))
	reconcileCampaign(t, r, c.Name)
	sjName := ChildName(name, "screen", city)
	if len(sjName) != 63 {
		t.Fatalf("fixture: %s is %d characters", sjName, len(sjName))
	}
	sjr := newSJReconciler()
	reconcileSJ(t, sjr, ns, sjName)
	sj := getSJ(t, ns, sjName)
	var job batchv1.Job
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: sj.Status.JobName}, &job); err != nil {
		t.Fatalf("the Job of a 63-character ScreeningJob: %v", err)
	}
	if len(job.Name) > maxJobNameLength || job.Labels[flycheckv1.LabelScreeningJob] != sjName {
		t.Errorf("Job %s (%d characters), label %q", job.Name, len(job.Name), job.Labels[flycheckv1.LabelScreeningJob])
	}
	mustCreate(t, shardResultConfigMap(t, sjr, sj, 0, inst("H34060000001", 3, 1, "10.00", "0.500000"), inst("H34060000002", 1, 0, "0.00", "0.000000")))
	completeJob(t, sj, 1)
	reconcileSJ(t, sjr, ns, sjName)
	if st := getSJ(t, ns, sjName).Status; st.State != flycheckv1.ScreeningSucceeded {
		t.Fatalf("ScreeningJob %s: %+v", sjName, st)
	}

	clk.SetTime(shanghai(t, "2020-06-02 09:00:00"))
	reconcileCampaign(t, r, c.Name)
	sampleName := ChildName(name, "sample", city)
	opNS := "limit-op"
	createNamespace(t, opNS)
	sr := &InspectionSampleReconciler{Client: k8sClient, APIReader: k8sClient, Clock: clk, Recorder: recorder, OperatorNamespace: opNS}
	if err := sr.reconcileSample(ctx, getSample(t, ns, sampleName)); err != nil {
		t.Fatal(err)
	}
	s := getSample(t, ns, sampleName)
	if s.Status.DrawnAt == nil || s.Status.Frame.Snapshot == "" || s.Labels[flycheckv1.LabelCampaign] != name {
		t.Fatalf("sample %s: %+v", sampleName, s.Status)
	}
}
