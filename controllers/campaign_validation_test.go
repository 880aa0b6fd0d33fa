package controllers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

func TestCampaignValidation(t *testing.T) {
	valid := func() *flycheckv1.Campaign {
		c := testCampaign("", []string{"a", "b"},
			phase("selfinspection", "2020-05-01", "2020-06-30"),
			phase("spotcheck", "2020-07-01", "2020-08-31"))
		c.Spec.Phases[1].Sampling = &flycheckv1.PhaseSampling{Purpose: flycheckv1.PurposeRecheck,
			SamplingPolicy: flycheckv1.SamplingPolicy{MinPercent: 10, MinTertiaryPerCity: 2, MinTotal: 26}}
		c.Spec.Roster = "designated-institutions"
		return c
	}
	cases := []struct {
		name   string
		mutate func(c *flycheckv1.Campaign)
		field  string // the error must name it
		msg    string
	}{
		{"duplicate phase names", func(c *flycheckv1.Campaign) { c.Spec.Phases[1].Name = "selfinspection" },
			"spec.phases", "phase names must be unique"},
		{"start after end", func(c *flycheckv1.Campaign) { c.Spec.Phases[0].End = "2020-04-30" },
			"spec.phases[0].end", "phase start must not be after its end"},
		{"start after end, date-times", func(c *flycheckv1.Campaign) {
			c.Spec.Phases[0].Start, c.Spec.Phases[0].End = "2020-05-01T10:00:00+08:00", "2020-05-01T09:59:59+08:00"
		}, "spec.phases[0].end", "phase start must not be after its end"},
		{"no phases", func(c *flycheckv1.Campaign) { c.Spec.Phases = []flycheckv1.Phase{} },
			"spec.phases", "at least 1 items"},
		{"not a date", func(c *flycheckv1.Campaign) { c.Spec.Phases[0].Start = "May 1st" },
			"spec.phases[0].start", "should match"},
		{"duplicate city names", func(c *flycheckv1.Campaign) { c.Spec.Cities[1].Name = c.Spec.Cities[0].Name },
			"spec.cities", "city names must be unique"},
		{"duplicate city namespaces", func(c *flycheckv1.Campaign) { c.Spec.Cities[1].Namespace = c.Spec.Cities[0].Namespace },
			"spec.cities", "city namespaces must be unique"},
		{"duplicate city codes", func(c *flycheckv1.Campaign) { c.Spec.Cities[1].Code = c.Spec.Cities[0].Code },
			"spec.cities", "city codes must be unique"},
		{"minPercent above 100", func(c *flycheckv1.Campaign) { c.Spec.Phases[1].Sampling.MinPercent = 101 },
			"spec.phases[1].sampling.minPercent", "less than or equal to 100"},
		{"negative minPercent", func(c *flycheckv1.Campaign) { c.Spec.Phases[1].Sampling.MinPercent = -1 },
			"spec.phases[1].sampling.minPercent", "greater than or equal to 0"},
		{"riskBasedPercent above 100", func(c *flycheckv1.Campaign) { c.Spec.Phases[1].Sampling.RiskBasedPercent = 150 },
			"spec.phases[1].sampling.riskBasedPercent", "less than or equal to 100"},
		{"negative minTertiaryPerCity", func(c *flycheckv1.Campaign) { c.Spec.Phases[1].Sampling.MinTertiaryPerCity = -2 },
			"spec.phases[1].sampling.minTertiaryPerCity", "greater than or equal to 0"},
		{"fly-check without a province namespace", func(c *flycheckv1.Campaign) {
			c.Spec.Phases[1].Sampling.Purpose = flycheckv1.PurposeFlyCheck
		}, "spec.provinceNamespace", "required when a phase samples for FlyCheck"},
		{"screening without a data source", func(c *flycheckv1.Campaign) {
			c.Spec.Phases[0].Screening = &flycheckv1.PhaseScreening{RuleSets: []string{"duplicate-charge"}}
		}, "spec.dataSource", "required when a phase has screening"},
		{"screening and sampling in one phase", func(c *flycheckv1.Campaign) {
			c.Spec.DataSource = &flycheckv1.DataSource{PersistentVolumeClaim: "claims"}
			c.Spec.Phases[1].Screening = &flycheckv1.PhaseScreening{RuleSets: []string{"duplicate-charge"}}
		}, "spec.phases[1]", "a phase either screens or samples"},
		{"too many shards", func(c *flycheckv1.Campaign) {
			c.Spec.DataSource = &flycheckv1.DataSource{PersistentVolumeClaim: "claims"}
			c.Spec.Phases[0].Screening = &flycheckv1.PhaseScreening{RuleSets: []string{"x"}, Shards: 257}
		}, "spec.phases[0].screening.shards", "less than or equal to 256"},
		{"data window backwards", func(c *flycheckv1.Campaign) {
			c.Spec.DataWindow = &flycheckv1.DataWindow{From: "2020-01-01", To: "2019-12-31"}
		}, "spec.dataWindow", "dataWindow.from must not be after dataWindow.to"},
		{"phase name not a DNS label", func(c *flycheckv1.Campaign) { c.Spec.Phases[0].Name = "Self_Inspection" },
			"spec.phases[0].name", "should match"},
		{"recheck with no frame", func(c *flycheckv1.Campaign) { c.Spec.Roster = "" },
			"spec.roster", "a Recheck phase draws from the latest screening phase"},
		// The lengths in this message are spelt digit by digit from a list
		// in the messageExpression: CEL's cost estimate takes string(int) to
		// be of unbounded size and refuses it there.
		{"children names over 63 characters", func(c *flycheckv1.Campaign) {
			c.Name, c.Spec.Phases[0].Name, c.Spec.Cities[0].Name = "jiangsu-2024-medical-insurance-funds", "selfinspection", "lianyungang-x"
		}, "", "campaign 36 + longest phase 14 + longest city 13 + 2 separators = 65"},
		{"campaign name over 63 characters", func(c *flycheckv1.Campaign) {
			c.Name = strings.Repeat("c", 64)
			c.Spec.Phases[0].Name, c.Spec.Phases[1].Name, c.Spec.Cities[0].Name, c.Spec.Cities[1].Name = "p", "q", "a", "b"
		}, "metadata.name", "may not be more than 63"},
		{"month 13", func(c *flycheckv1.Campaign) { c.Spec.Phases[0].Start = "2020-13-01" },
			"spec.phases[0].start", "2020-13-01 is not a calendar date"},
		{"30 February", func(c *flycheckv1.Campaign) { c.Spec.Phases[0].End = "2020-02-30" },
			"spec.phases[0].end", "2020-02-30 is not a calendar date"},
		{"29 February of a common year", func(c *flycheckv1.Campaign) { c.Spec.Phases[0].Start = "2019-02-29" },
			"spec.phases[0].start", "2019-02-29 is not a calendar date"},
		{"year 0000", func(c *flycheckv1.Campaign) {
			c.Spec.DataWindow = &flycheckv1.DataWindow{From: "0000-01-01", To: "2019-12-31"}
		},
			"spec.dataWindow.from", "0000-01-01 is not a calendar date"},
		{"hour 24", func(c *flycheckv1.Campaign) {
			c.Spec.Phases[0].Start, c.Spec.Phases[0].End = "2020-05-01T24:00:00+08:00", "2020-05-02T10:00:00+08:00"
		}, "spec.phases[0].start", "has no valid time of day"},
		{"30 February with a time", func(c *flycheckv1.Campaign) {
			c.Spec.Phases[0].Start, c.Spec.Phases[0].End = "2020-02-30T10:00:00+08:00", "2020-05-02T10:00:00+08:00"
		}, "spec.phases[0].start", "2020-02-30T10:00:00+08:00 is not a calendar date"},
	}
	// The valid base must itself be accepted, or every case passes vacuously.
	base := valid()
	base.Name = "validation-base"
	if err := k8sClient.Create(context.Background(), base, client.DryRunAll); err != nil {
		t.Fatalf("the valid base campaign was rejected: %v", err)
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			c.Name = fmt.Sprintf("validation-%d", i)
			tc.mutate(c)
			err := k8sClient.Create(context.Background(), c, client.DryRunAll)
			if err == nil {
				t.Fatal("the apiserver accepted an invalid campaign")
			}
			if !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error does not name %q with %q:\n%v", tc.field, tc.msg, err)
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
