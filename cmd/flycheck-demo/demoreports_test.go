package main

import (
	"context"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// The demo's milestones fall due after the spot-check opened its cases,
// in order, and the campaign with them passes the schema and CEL rules.
func TestDemoMilestones(t *testing.T) {
	d := 15 * time.Second
	camp := demoCampaign(time.Now(), d, []string{"jiangsu-2024-excess-quantity"})
	withDemoReports(camp, d)
	if err := testClient.Create(context.Background(), camp, client.DryRunAll); err != nil {
		t.Fatalf("the apiserver refuses the demo campaign with milestones: %v", err)
	}
	at := func(s flycheckv1.Date) time.Time {
		v, err := time.Parse(time.RFC3339, string(s))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var spotEnd, summaryEnd time.Time
	for _, p := range camp.Spec.Phases {
		switch p.Name {
		case "spotcheck":
			spotEnd = at(p.End)
		case "summary":
			summaryEnd = at(p.End)
		}
	}
	inspected, decided := at(camp.Spec.Milestones[0].Due), at(camp.Spec.Milestones[1].Due)
	if !spotEnd.Before(inspected) || !inspected.Before(decided) || !decided.Before(summaryEnd) {
		t.Errorf("due instants spot-check end %s, inspected %s, decided %s, summary end %s", spotEnd, inspected, decided, summaryEnd)
	}
	if r := camp.Spec.Reporting; r == nil || r.Every == nil || r.Every.Duration != d || r.SummaryPhase != "summary" {
		t.Errorf("reporting %+v", r)
	}
	// One city green, one yellow, one red.
	if !demoPlays["nanjing"].decide || !demoPlays["wuxi"].inspect || demoPlays["wuxi"].decide || demoPlays["xuzhou"].inspect {
		t.Errorf("bureaus %+v", demoPlays)
	}
}
